/* The monitor's other guest-facing parts: the 16550 console, the control
 * socket's request parser, the Linux boot loader (synthetic images), and
 * the light guest's system area as the monitor writes it. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/util.h"
#include "t.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"
#include "vm/arch/x86/linux-boot.h"
#include "vm/control.h"
#include "vm/devices/serial.h"

static bool irq;
static void set_irq(void *ctx, bool level)
{
	(void)ctx;
	irq = level;
}

static void serial_registers(void)
{
	int p[2];
	T_ASSERT_INT(pipe(p), 0);
	struct serial s;
	serial_init(&s, p[1], set_irq, NULL);
	T_ASSERT_INT(serial_read(&s, 5) & 0x60, 0x60); /* LSR: THRE | TEMT */
	T_ASSERT_INT(serial_read(&s, 2) & 0x0f, 0x01); /* IIR: nothing pending */
	serial_write(&s, 3, 0x80);                      /* DLAB */
	serial_write(&s, 0, 0x01);
	serial_write(&s, 1, 0x00);
	T_ASSERT_INT(serial_read(&s, 0), 0x01);         /* DLL, not RBR */
	serial_write(&s, 3, 0x03);
	serial_write(&s, 0, 'h');
	serial_write(&s, 0, 'i');
	char buf[4] = { 0 };
	T_ASSERT_INT(read(p[0], buf, 2), 2);
	T_ASSERT_STR(buf, "hi");
	/* THRE interrupt: raised when enabled, acknowledged by reading IIR */
	serial_write(&s, 1, 0x02);
	T_ASSERT(irq);
	T_ASSERT_INT(serial_read(&s, 2) & 0x0f, 0x02);
	T_ASSERT(!irq);
	/* input: DR, RBR, an RX interrupt */
	serial_write(&s, 1, 0x01);
	T_ASSERT_INT(serial_input(&s, (const uint8_t *)"ok", 2), 2);
	T_ASSERT(irq && (serial_read(&s, 5) & 1));
	T_ASSERT_INT(serial_read(&s, 0), 'o');
	T_ASSERT_INT(serial_read(&s, 0), 'k');
	T_ASSERT(!(serial_read(&s, 5) & 1) && !irq);
	/* out-of-range offsets are ignored */
	serial_write(&s, 8, 1);
	serial_write(&s, 0xffff, 1);
	T_ASSERT_INT(serial_read(&s, 9), 0xff);
	T_ASSERT_INT(s.tx_bytes, 2);
	serial_fini(&s);
	close(p[0]);
	close(p[1]);
}

static void control_requests(void)
{
	struct control_request q;
	struct cell_err *err = NULL;
	T_ASSERT_INT(control_parse("{\"cmd\":\"pause\"}", 15, &q, &err), 0);
	T_ASSERT_INT(q.cmd, CONTROL_PAUSE);
	const char *sig = "{\"cmd\":\"signal\",\"signal\":15}";
	T_ASSERT_INT(control_parse(sig, strlen(sig), &q, &err), 0);
	T_ASSERT(q.cmd == CONTROL_SIGNAL && q.signal == 15);
	const char *bad[] = { "", "[]", "{}", "{\"cmd\":\"reboot\"}", "{\"cmd\":1}",
			      "{\"cmd\":\"signal\"}", "{\"cmd\":\"signal\",\"signal\":0}",
			      "{\"cmd\":\"signal\",\"signal\":99}", "{\"cmd\":\"stats\",\"x\":1}",
			      "{\"cmd\":\"stats\"", "{\"cmd\":\"stats\"}garbage" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ASSERT(control_parse(bad[i], strlen(bad[i]), &q, &err) < 0);
		T_ASSERT_CONTAINS(err->msg, "control request");
	}
	char *big = xmalloc(CONTROL_REQUEST_MAX + 10);
	memset(big, ' ', CONTROL_REQUEST_MAX + 10);
	T_ASSERT_INT(control_parse(big, CONTROL_REQUEST_MAX + 10, &q, &err), -E2BIG);
	free(big);
	cell_err_free(err);
}

#define GMEM (128ULL << 20)

static struct lx_guest_mem gmem(void)
{
	struct lx_guest_mem m = { .size = GMEM };
	m.host = mmap(NULL, GMEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return m;
}

static void linux_vmlinux_and_boot_params(void)
{
	struct lx_guest_mem m = gmem();
	uint8_t img[8192] = { 0 };
	Elf64_Ehdr *h = (Elf64_Ehdr *)img;
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_machine = EM_X86_64;
	h->e_entry = 0x1000000;
	h->e_phoff = 64;
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = 1;
	Elf64_Phdr *p = (Elf64_Phdr *)(img + 64);
	*p = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 4096, .p_paddr = 0x1000000,
			   .p_filesz = 16, .p_memsz = 8192 };
	memcpy(img + 4096, "kernel-code-here", 16);
	struct lx_kernel k;
	struct cell_err *err = NULL;
	T_ASSERT_INT(lx_load_kernel(&m, img, sizeof(img), "vmlinux", &k, &err), 0);
	T_ASSERT(!k.bzimage && k.entry == 0x1000000 && k.load_end == 0x1002000);
	T_ASSERT(memcmp(m.host + 0x1000000, "kernel-code-here", 16) == 0);
	uint8_t rd[100] = { 1 };
	uint64_t ia;
	T_ASSERT_INT(lx_load_initrd(&m, &k, rd, sizeof(rd), "initrd", &ia, &err), 0);
	T_ASSERT(ia > k.load_end && ia + sizeof(rd) <= GMEM && (ia & 0xfff) == 0);
	T_ASSERT_INT(lx_setup_boot_params(&m, &k, "console=ttyS0", ia, sizeof(rd), &err), 0);
	struct boot_params *bp = (struct boot_params *)(m.host + LX_GPA_BOOT_PARAMS);
	T_ASSERT(bp->hdr.boot_flag == 0xaa55 && bp->hdr.header == 0x53726448);
	T_ASSERT_STR((char *)m.host + bp->hdr.cmd_line_ptr, "console=ttyS0");
	T_ASSERT_INT(bp->e820_entries, 3);
	T_ASSERT(bp->e820_table[2].addr == LX_GPA_HIMEM && bp->e820_table[2].size == GMEM - LX_GPA_HIMEM);
	T_ASSERT(bp->hdr.ramdisk_image == ia && bp->hdr.ramdisk_size == sizeof(rd));
	/* hostile vmlinux: a segment past the file, one outside RAM */
	p->p_filesz = 1 << 20;
	T_ASSERT_INT(lx_load_kernel(&m, img, sizeof(img), "vmlinux", &k, &err), -ENOEXEC);
	T_ASSERT_CONTAINS(err->msg, "past end of file");
	p->p_filesz = 16;
	p->p_paddr = GMEM - 100;
	T_ASSERT_INT(lx_load_kernel(&m, img, sizeof(img), "vmlinux", &k, &err), -ENOMEM);
	p->p_paddr = ~0ULL - 10;
	T_ASSERT(lx_load_kernel(&m, img, sizeof(img), "vmlinux", &k, &err) < 0);
	/* a command line too long */
	char *cl = xmalloc(LX_CMDLINE_MAX + 1);
	memset(cl, 'x', LX_CMDLINE_MAX);
	cl[LX_CMDLINE_MAX] = 0;
	T_ASSERT_INT(lx_setup_boot_params(&m, &k, cl, 0, 0, &err), -E2BIG);
	free(cl);
	cell_err_free(err);
	munmap(m.host, GMEM);
}

static void linux_bzimage(void)
{
	struct lx_guest_mem m = gmem();
	size_t len = 5 * 512 + 4096;
	uint8_t *img = xcalloc(1, len);
	img[0x1f1] = 4;                /* setup_sects */
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	img[0x201] = 0x6a;             /* header length: 0x202 + 0x6a */
	memcpy(img + 0x202, "HdrS", 4);
	uint16_t ver = 0x020f;
	memcpy(img + 0x206, &ver, 2);
	uint16_t xlf = 1;              /* XLF_KERNEL_64 */
	memcpy(img + 0x236, &xlf, 2);
	uint32_t init_size = 1 << 20;
	memcpy(img + 0x260, &init_size, 4);
	memcpy(img + 5 * 512, "protected-mode", 14);
	struct lx_kernel k;
	struct cell_err *err = NULL;
	T_ASSERT_INT(lx_load_kernel(&m, img, len, "bzImage", &k, &err), 0);
	T_ASSERT(k.bzimage && k.entry == LX_GPA_HIMEM + 0x200);
	T_ASSERT(memcmp(m.host + LX_GPA_HIMEM, "protected-mode", 14) == 0);
	T_ASSERT_INT(lx_setup_boot_params(&m, &k, "quiet", 0, 0, &err), 0);
	struct boot_params *bp = (struct boot_params *)(m.host + LX_GPA_BOOT_PARAMS);
	T_ASSERT(bp->hdr.version == 0x020f && bp->hdr.type_of_loader == 0xff);
	/* old protocol, no 64-bit entry, setup past the end, too big for RAM */
	ver = 0x0206;
	memcpy(img + 0x206, &ver, 2);
	T_ASSERT_INT(lx_load_kernel(&m, img, len, "bzImage", &k, &err), -ENOEXEC);
	T_ASSERT_CONTAINS(err->msg, "64-bit entry");
	ver = 0x020f;
	memcpy(img + 0x206, &ver, 2);
	img[0x1f1] = 200;
	T_ASSERT_INT(lx_load_kernel(&m, img, len, "bzImage", &k, &err), -ENOEXEC);
	img[0x1f1] = 4;
	init_size = 0xfffffff0;
	memcpy(img + 0x260, &init_size, 4);
	T_ASSERT_INT(lx_load_kernel(&m, img, len, "bzImage", &k, &err), -ENOMEM);
	T_ASSERT_INT(lx_load_kernel(&m, img, 100, "bzImage", &k, &err), -ENOEXEC);
	free(img);
	cell_err_free(err);
	munmap(m.host, GMEM);
}

static void light_guest_sys_area(void)
{
	uint8_t *ram = mmap(NULL, LG_SYS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lg_sys_build(ram);
	lg_cpu_area_build(ram, 3);
	/* the doorbell: one store to the page with no memslot */
	const uint8_t *tr = ram + LG_GPA_TRAMPOLINE;
	uint32_t disp;
	memcpy(&disp, tr + 3, 4);
	T_ASSERT(tr[0] == 0x88 && tr[1] == 0x04 && tr[2] == 0x25);
	T_ASSERT((uint64_t)(int64_t)(int32_t)disp == LG_VA_DOORBELL);
	/* page-table leaves: trampoline user RX, stubs supervisor, IDT NX, doorbell to the MMIO GPA */
	uint64_t *pt = (uint64_t *)(ram + LG_GPA_KPT);
	T_ASSERT((pt[LG_GPA_TRAMPOLINE >> 12] & (PTE_U | PTE_W | PTE_NX)) == PTE_U);
	T_ASSERT(!(pt[LG_GPA_STUBS >> 12] & PTE_U) && !(pt[LG_GPA_STUBS >> 12] & PTE_NX));
	T_ASSERT(!(pt[LG_GPA_IDT >> 12] & PTE_U) && (pt[LG_GPA_IDT >> 12] & PTE_NX));
	T_ASSERT((pt[511] & PTE_ADDR) == LG_GPA_DOORBELL && (pt[511] & PTE_U));
	T_ASSERT_INT(pt[0], 0);
	/* IDT: #PF to its stub in ring 0, int3 reachable from ring 3, #DF on IST1 */
	const uint8_t *idt = ram + LG_GPA_IDT;
	T_ASSERT(idt[14 * 16 + 5] == 0x8e && idt[3 * 16 + 5] == 0xee && idt[8 * 16 + 4] == 1);
	/* the TSS has no I/O bitmap: ring 3 reaches no port */
	const uint8_t *tss = ram + LG_GPA_CPU_AREAS + 3 * LG_CPU_AREA_SIZE + LG_CPU_TSS_OFF;
	uint16_t iomap;
	memcpy(&iomap, tss + 102, 2);
	T_ASSERT_INT(iomap, 0x68);
	struct kvm_sregs s = { 0 };
	lg_user_sregs(&s, 3, 0x2000000000ULL, false);
	T_ASSERT(s.cs.dpl == 3 && s.cs.l == 1 && s.ss.dpl == 3 && (s.efer & X86_EFER_SCE));
	munmap(ram, LG_SYS_SIZE);
}

T_MAIN("vm-devices", T_CASE(serial_registers), T_CASE(control_requests),
       T_CASE(linux_vmlinux_and_boot_params), T_CASE(linux_bzimage), T_CASE(light_guest_sys_area))
