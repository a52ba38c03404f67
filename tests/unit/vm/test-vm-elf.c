/* The ELF loader's parser against hostile files: every size, offset and
 * address is checked before the loader uses it. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"
#include "vm/arch/x86/layout.h"
#include "vm/guest/elf.h"

struct img {
	uint8_t buf[8192];
	size_t len;
};

static int rd(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct img *m = ctx;
	if (off > m->len || len > m->len - off)
		return -EIO;
	memcpy(buf, m->buf + off, len);
	return 0;
}

static Elf64_Ehdr *eh(struct img *m)
{
	return (Elf64_Ehdr *)m->buf;
}

static Elf64_Phdr *ph(struct img *m, unsigned i)
{
	return (Elf64_Phdr *)(m->buf + 64 + i * sizeof(Elf64_Phdr));
}

/* A well-formed static executable: text and data segments. */
static void good(struct img *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8192;
	Elf64_Ehdr *h = eh(m);
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_version = EV_CURRENT;
	h->e_entry = 0x401000;
	h->e_phoff = 64;
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = 3;
	*ph(m, 0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
				  .p_vaddr = 0x400000, .p_filesz = 4096, .p_memsz = 4096 };
	*ph(m, 1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 4096,
				  .p_vaddr = 0x401000, .p_filesz = 100, .p_memsz = 20000 };
	*ph(m, 2) = (Elf64_Phdr){ .p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W };
}

static int parse(struct img *m, struct lg_elf *e, const char **why)
{
	*why = NULL;
	return lg_elf_parse(rd, m, m->len, e, why);
}

static void accepts_good(void)
{
	struct img m;
	struct lg_elf e;
	const char *why;
	good(&m);
	T_ASSERT_INT(parse(&m, &e, &why), 0);
	T_ASSERT_INT(e.nload, 2);
	T_ASSERT(!e.pie && !e.interp && !e.exec_stack);
	T_ASSERT(e.lo == 0x400000 && e.hi == 0x406000);
	T_ASSERT(e.phdr_vaddr == 0x400040);
	T_ASSERT(e.load[0].prot == (PROT_READ | PROT_EXEC));
	T_ASSERT(lg_elf_base(&e) == 0);
	eh(&m)->e_type = ET_DYN;
	ph(&m, 0)->p_vaddr = 0;
	ph(&m, 1)->p_vaddr = 0x1000;
	T_ASSERT_INT(parse(&m, &e, &why), 0);
	T_ASSERT(e.pie && lg_elf_base(&e) == LG_ELF_DYN_BASE);
}

#define REJECT(mutation, words)                                        \
	do {                                                            \
		good(&m);                                               \
		mutation;                                               \
		T_ASSERT_INT(parse(&m, &e, &why), -ENOEXEC);            \
		T_ASSERT_CONTAINS(why, words);                          \
	} while (0)

static void rejects_hostile(void)
{
	struct img m;
	struct lg_elf e;
	const char *why;
	REJECT(m.len = 10, "too short");
	REJECT(eh(&m)->e_ident[0] = 0, "not an ELF");
	REJECT(eh(&m)->e_ident[EI_CLASS] = ELFCLASS32, "64-bit");
	REJECT(eh(&m)->e_machine = EM_AARCH64, "x86-64");
	REJECT(eh(&m)->e_type = ET_REL, "not an executable");
	REJECT(eh(&m)->e_phentsize = 32, "program header size");
	REJECT(eh(&m)->e_phnum = 0, "program headers");
	REJECT(eh(&m)->e_phnum = 65000, "program headers");
	REJECT(eh(&m)->e_phoff = 8190, "past end of file");
	REJECT(eh(&m)->e_phoff = ~0ULL - 8, "past end of file");
	REJECT(ph(&m, 1)->p_filesz = 30000, "exceeds");
	REJECT(ph(&m, 1)->p_offset = 8192, "past end of file");
	REJECT(ph(&m, 1)->p_offset = ~0xfffULL, "past end of file");
	REJECT(ph(&m, 1)->p_vaddr = 0x401001, "page-congruent");
	REJECT(ph(&m, 1)->p_vaddr = ~0ULL - 0xfff, "outside");
	REJECT((ph(&m, 1)->p_vaddr = 0x7ffffffff000ULL, ph(&m, 1)->p_memsz = 0x2000), "outside");
	REJECT(ph(&m, 1)->p_vaddr = 0x400000, "overlap");
	REJECT((ph(&m, 0)->p_vaddr = 0x1000, ph(&m, 1)->p_vaddr = 0x2000), "lowest user address");
	REJECT((ph(&m, 0)->p_type = PT_NULL, ph(&m, 1)->p_type = PT_NULL), "no loadable");
	REJECT(eh(&m)->e_entry = 0xffffffff80000000ULL, "entry point");
}

static void notes_interp_and_stack(void)
{
	struct img m;
	struct lg_elf e;
	const char *why;
	good(&m);
	ph(&m, 2)->p_type = PT_INTERP;
	T_ASSERT_INT(parse(&m, &e, &why), 0);
	T_ASSERT(e.interp);
	good(&m);
	ph(&m, 2)->p_flags |= PF_X;
	T_ASSERT_INT(parse(&m, &e, &why), 0);
	T_ASSERT(e.exec_stack);
}

static int rd_fd(void *ctx, void *buf, size_t len, uint64_t off)
{
	return pread(*(int *)ctx, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static void parses_busybox(void)
{
	int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		T_SKIP("no /bin/busybox (busybox-static)");
	struct stat st;
	fstat(fd, &st);
	struct lg_elf e;
	const char *why = NULL;
	int r = lg_elf_parse(rd_fd, &fd, (uint64_t)st.st_size, &e, &why);
	close(fd);
	T_ASSERT_INT(r, 0);
	T_ASSERT(!e.interp && e.nload >= 2 && e.entry >= e.lo && e.entry < e.hi);
}

T_MAIN("vm-elf", T_CASE(accepts_good), T_CASE(rejects_hostile), T_CASE(notes_interp_and_stack),
       T_CASE(parses_busybox))
