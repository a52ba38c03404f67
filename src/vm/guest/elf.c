/* ELF64 program headers (System V gABI, "Program Loading"). */
#include "vm/guest/elf.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/arch/x86/layout.h"

#define PAGE X86_PAGE_SIZE

static uint64_t page_down(uint64_t v)
{
	return v & ~(PAGE - 1);
}

/* Round up; false on overflow. */
static bool page_up(uint64_t v, uint64_t *ret)
{
	if (v > UINT64_MAX - (PAGE - 1))
		return false;
	*ret = (v + PAGE - 1) & ~(PAGE - 1);
	return true;
}

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return -ENOEXEC;
}

static int check_ehdr(const Elf64_Ehdr *h, uint64_t file_size, const char **why)
{
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
		return fail(why, "not an ELF file");
	if (h->e_ident[EI_CLASS] != ELFCLASS64 || h->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(why, "not a 64-bit little-endian ELF file");
	if (h->e_ident[EI_VERSION] != EV_CURRENT || h->e_version != EV_CURRENT)
		return fail(why, "unknown ELF version");
	if (h->e_machine != EM_X86_64)
		return fail(why, "not an x86-64 program");
	if (h->e_type != ET_EXEC && h->e_type != ET_DYN)
		return fail(why, "not an executable (ELF type is neither EXEC nor DYN)");
	if (h->e_phentsize != sizeof(Elf64_Phdr))
		return fail(why, "bad program header size");
	if (h->e_phnum == 0 || h->e_phnum > LG_ELF_MAX_PHNUM)
		return fail(why, "too many or no program headers");
	uint64_t phbytes = (uint64_t)h->e_phnum * sizeof(Elf64_Phdr);
	if (h->e_phoff > file_size || phbytes > file_size - h->e_phoff)
		return fail(why, "program headers past end of file");
	return 0;
}

static int add_load(struct lg_elf *e, const Elf64_Phdr *p, uint64_t file_size, const char **why)
{
	if (p->p_memsz == 0)
		return 0;
	if (e->nload == LG_ELF_MAX_LOADS)
		return fail(why, "too many loadable segments");
	if (p->p_filesz > p->p_memsz)
		return fail(why, "segment file size exceeds its memory size");
	if (p->p_offset > file_size || p->p_filesz > file_size - p->p_offset)
		return fail(why, "segment file range past end of file");
	if ((p->p_vaddr - p->p_offset) % PAGE != 0)
		return fail(why, "segment address and file offset are not page-congruent");
	uint64_t end;
	if (p->p_vaddr > UINT64_MAX - p->p_memsz || !page_up(p->p_vaddr + p->p_memsz, &end) ||
	    end > LG_VA_USER_END)
		return fail(why, "segment outside the user address space");
	if (e->nload > 0) {
		const struct lg_elf_load *prev = &e->load[e->nload - 1];
		if (p->p_vaddr < prev->vaddr + prev->memsz)
			return fail(why, "segments overlap or are out of order");
	}
	uint32_t prot = 0;
	if (p->p_flags & PF_R)
		prot |= PROT_READ;
	if (p->p_flags & PF_W)
		prot |= PROT_WRITE;
	if (p->p_flags & PF_X)
		prot |= PROT_EXEC;
	e->load[e->nload++] = (struct lg_elf_load){
		.vaddr = p->p_vaddr, .memsz = p->p_memsz, .offset = p->p_offset,
		.filesz = p->p_filesz, .prot = prot,
	};
	return 0;
}

/* Where the program headers are in memory: PT_PHDR, or the load that
 * contains them in the file. */
static uint64_t find_phdr(const struct lg_elf *e, uint64_t phoff, uint64_t phbytes,
			  uint64_t pt_phdr)
{
	if (pt_phdr)
		return pt_phdr;
	for (unsigned i = 0; i < e->nload; i++) {
		const struct lg_elf_load *l = &e->load[i];
		if (phoff >= l->offset && phoff - l->offset <= l->filesz &&
		    phbytes <= l->filesz - (phoff - l->offset))
			return l->vaddr + (phoff - l->offset);
	}
	return 0;
}

static int check_span(struct lg_elf *e, const char **why)
{
	if (e->nload == 0)
		return fail(why, "no loadable segments");
	e->lo = page_down(e->load[0].vaddr);
	const struct lg_elf_load *last = &e->load[e->nload - 1];
	page_up(last->vaddr + last->memsz, &e->hi); /* checked in add_load */
	if (e->pie) {
		if (e->hi - e->lo > LG_VA_USER_END - LG_ELF_DYN_BASE)
			return fail(why, "program too large");
	} else if (e->lo < LG_VA_USER_MIN) {
		return fail(why, "segment below the lowest user address");
	}
	if (e->entry >= LG_VA_USER_END)
		return fail(why, "entry point outside the user address space");
	return 0;
}

int lg_elf_parse(lg_elf_read_fn read, void *ctx, uint64_t file_size, struct lg_elf *ret,
		 const char **why)
{
	Elf64_Ehdr h;
	if (file_size < sizeof(h) || read(ctx, &h, sizeof(h), 0) < 0)
		return fail(why, "not an ELF file (too short)");
	int r = check_ehdr(&h, file_size, why);
	if (r < 0)
		return r;
	Elf64_Phdr ph[LG_ELF_MAX_PHNUM];
	uint64_t phbytes = (uint64_t)h.e_phnum * sizeof(Elf64_Phdr);
	if (read(ctx, ph, phbytes, h.e_phoff) < 0)
		return fail(why, "cannot read the program headers");

	struct lg_elf e = { .pie = h.e_type == ET_DYN, .entry = h.e_entry, .phnum = h.e_phnum };
	uint64_t pt_phdr = 0;
	for (unsigned i = 0; i < h.e_phnum; i++) {
		switch (ph[i].p_type) {
		case PT_LOAD:
			if ((r = add_load(&e, &ph[i], file_size, why)) < 0)
				return r;
			break;
		case PT_INTERP:
			e.interp = true;
			break;
		case PT_GNU_STACK:
			e.exec_stack = ph[i].p_flags & PF_X;
			break;
		case PT_PHDR:
			pt_phdr = ph[i].p_vaddr;
			break;
		default:
			break;
		}
	}
	if ((r = check_span(&e, why)) < 0)
		return r;
	e.phdr_vaddr = find_phdr(&e, h.e_phoff, phbytes, pt_phdr);
	*ret = e;
	return 0;
}

uint64_t lg_elf_base(const struct lg_elf *e)
{
	return e->pie ? LG_ELF_DYN_BASE - e->lo : 0;
}
