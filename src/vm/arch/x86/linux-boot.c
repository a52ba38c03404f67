/* x86 Linux boot protocol, 64-bit entry. */
#include "vm/arch/x86/linux-boot.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "vm/arch/x86/layout.h"

#define HDR_OFFSET 0x1f1
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define MIN_PROTOCOL 0x020c   /* 2.12: xloadflags, 64-bit entry */
#define E820_RAM 1
#define E820_RESERVED 2

uint8_t *lx_gpa(const struct lx_guest_mem *m, uint64_t gpa, uint64_t len)
{
	uint64_t low = m->size < LX_GPA_MMIO_GAP ? m->size : LX_GPA_MMIO_GAP;
	if (gpa > UINT64_MAX - len)
		return NULL;
	if (gpa + len <= low)
		return m->host + gpa;
	uint64_t high = m->size - low;
	if (gpa >= LX_GPA_4G && gpa - LX_GPA_4G <= high && len <= high - (gpa - LX_GPA_4G))
		return m->host + low + (gpa - LX_GPA_4G);
	return NULL;
}

static int load_elf(const struct lx_guest_mem *m, const uint8_t *buf, size_t len, const char *name,
		    struct lx_kernel *k, struct cell_err **err)
{
	const Elf64_Ehdr *h = (const Elf64_Ehdr *)buf;
	if (len < sizeof(*h) || h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_machine != EM_X86_64 ||
	    h->e_phentsize != sizeof(Elf64_Phdr) || h->e_phnum == 0 || h->e_phnum > 64)
		return cell_err(err, ENOEXEC, "%s: not an x86-64 vmlinux", name);
	if (h->e_phoff > len || (uint64_t)h->e_phnum * sizeof(Elf64_Phdr) > len - h->e_phoff)
		return cell_err(err, ENOEXEC, "%s: program headers past end of file", name);
	uint64_t end = 0;
	for (unsigned i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr p;
		memcpy(&p, buf + h->e_phoff + i * sizeof(p), sizeof(p));
		if (p.p_type != PT_LOAD || p.p_memsz == 0)
			continue;
		if (p.p_filesz > p.p_memsz || p.p_offset > len || p.p_filesz > len - p.p_offset)
			return cell_err(err, ENOEXEC, "%s: segment %u past end of file", name, i);
		uint8_t *dst = lx_gpa(m, p.p_paddr, p.p_memsz);
		if (!dst || p.p_paddr < LX_GPA_HIMEM)
			return cell_err(err, ENOMEM, "%s: segment %u at 0x%llx+0x%llx does not fit in guest RAM",
					name, i, (unsigned long long)p.p_paddr, (unsigned long long)p.p_memsz);
		memcpy(dst, buf + p.p_offset, p.p_filesz);
		memset(dst + p.p_filesz, 0, p.p_memsz - p.p_filesz);
		if (p.p_paddr + p.p_memsz > end)
			end = p.p_paddr + p.p_memsz;
	}
	if (!end)
		return cell_err(err, ENOEXEC, "%s: no loadable segments", name);
	k->bzimage = false;
	k->entry = h->e_entry; /* phys_startup_64 (vmlinux.lds: ENTRY) */
	k->load_end = end;
	k->initrd_addr_max = LX_INITRD_ADDR_MAX;
	return 0;
}

static int load_bzimage(const struct lx_guest_mem *m, const uint8_t *buf, size_t len,
			const char *name, struct lx_kernel *k, struct cell_err **err)
{
	struct setup_header hdr;
	if (len < HDR_OFFSET + sizeof(hdr))
		return cell_err(err, ENOEXEC, "%s: truncated bzImage header", name);
	memcpy(&hdr, buf + HDR_OFFSET, sizeof(hdr));
	if (hdr.version < MIN_PROTOCOL || !(hdr.xloadflags & XLF_KERNEL_64))
		return cell_err(err, ENOEXEC, "%s: boot protocol %u.%02u has no 64-bit entry (2.12+ needed)",
				name, hdr.version >> 8, hdr.version & 0xff);
	size_t setup = ((size_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (setup >= len)
		return cell_err(err, ENOEXEC, "%s: setup sectors past end of file", name);
	size_t kernel_len = len - setup;
	uint64_t need = hdr.init_size > kernel_len ? hdr.init_size : kernel_len;
	uint8_t *dst = lx_gpa(m, LX_GPA_HIMEM, need);
	if (!dst)
		return cell_err(err, ENOMEM, "%s: needs %llu MiB of guest RAM above 1 MiB", name,
				(unsigned long long)(need >> 20) + 1);
	memcpy(dst, buf + setup, kernel_len);
	k->bzimage = true;
	k->entry = LX_GPA_HIMEM + 0x200; /* startup_64, boot.rst "64-bit boot protocol" */
	k->load_end = LX_GPA_HIMEM + need;
	size_t hl = (size_t)(0x202 + buf[0x201]) - HDR_OFFSET; /* the header's own length byte */
	if (hl > sizeof(k->setup_header))
		hl = sizeof(k->setup_header);
	if (hl > len - HDR_OFFSET)
		hl = len - HDR_OFFSET;
	memcpy(k->setup_header, buf + HDR_OFFSET, hl);
	k->setup_header_len = hl;
	k->initrd_addr_max = hdr.initrd_addr_max ? hdr.initrd_addr_max : LX_INITRD_ADDR_MAX;
	return 0;
}

int lx_load_kernel(const struct lx_guest_mem *m, const uint8_t *buf, size_t len, const char *name,
		   struct lx_kernel *ret, struct cell_err **err)
{
	memset(ret, 0, sizeof(*ret));
	if (len >= 4 && memcmp(buf, ELFMAG, SELFMAG) == 0)
		return load_elf(m, buf, len, name, ret, err);
	uint32_t magic;
	if (len > 0x210 && buf[0x1fe] == 0x55 && buf[0x1ff] == 0xaa &&
	    (memcpy(&magic, buf + 0x202, 4), magic == HDRS_MAGIC))
		return load_bzimage(m, buf, len, name, ret, err);
	return cell_err(err, ENOEXEC, "%s: neither a vmlinux (ELF) nor a bzImage", name);
}

int lx_load_initrd(const struct lx_guest_mem *m, const struct lx_kernel *k, const uint8_t *buf,
		   size_t len, const char *name, uint64_t *ret_addr, struct cell_err **err)
{
	uint64_t low = m->size < LX_GPA_MMIO_GAP ? m->size : LX_GPA_MMIO_GAP;
	uint64_t top = low < k->initrd_addr_max + 1 ? low : k->initrd_addr_max + 1;
	if (len == 0 || len > top)
		return cell_err(err, ENOMEM, "%s: initrd does not fit in guest RAM", name);
	uint64_t addr = (top - len) & ~0xfffULL;
	if (addr < k->load_end)
		return cell_err(err, ENOMEM, "%s: initrd (%zu bytes) overlaps the kernel; give the VM more memory",
				name, len);
	memcpy(lx_gpa(m, addr, len), buf, len);
	*ret_addr = addr;
	return 0;
}

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	if (bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];
	e->addr = addr;
	e->size = size;
	e->type = type;
}

int lx_setup_boot_params(const struct lx_guest_mem *m, const struct lx_kernel *k,
			 const char *cmdline, uint64_t initrd_addr, uint64_t initrd_len,
			 struct cell_err **err)
{
	size_t cl = strlen(cmdline);
	if (cl >= LX_CMDLINE_MAX)
		return cell_err(err, E2BIG, "kernel command line longer than %llu bytes", LX_CMDLINE_MAX - 1);
	struct boot_params *bp = (struct boot_params *)lx_gpa(m, LX_GPA_BOOT_PARAMS, sizeof(*bp));
	memset(bp, 0, sizeof(*bp));
	if (k->bzimage)
		memcpy((uint8_t *)bp + HDR_OFFSET, k->setup_header, k->setup_header_len);
	struct setup_header *h = &bp->hdr;
	h->boot_flag = 0xaa55;
	h->header = HDRS_MAGIC;
	if (!k->bzimage)
		h->version = 0x020f;
	h->type_of_loader = 0xff;
	h->loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	h->heap_end_ptr = 0xfe00;
	memcpy(lx_gpa(m, LX_GPA_CMDLINE, cl + 1), cmdline, cl + 1);
	h->cmd_line_ptr = (uint32_t)LX_GPA_CMDLINE;
	h->cmdline_size = (uint32_t)cl;
	h->ramdisk_image = (uint32_t)initrd_addr;
	h->ramdisk_size = (uint32_t)initrd_len;
	uint64_t low = m->size < LX_GPA_MMIO_GAP ? m->size : LX_GPA_MMIO_GAP;
	e820_add(bp, 0, LX_GPA_EBDA, E820_RAM);
	e820_add(bp, LX_GPA_EBDA, LX_GPA_HIMEM - LX_GPA_EBDA, E820_RESERVED);
	e820_add(bp, LX_GPA_HIMEM, low - LX_GPA_HIMEM, E820_RAM);
	if (m->size > low)
		e820_add(bp, LX_GPA_4G, m->size - low, E820_RAM);
	return 0;
}
