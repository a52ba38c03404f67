/* Loading a program: a fresh address space with the ELF's segments, a
 * stack holding argv, envp and the auxiliary vector exactly as Linux lays
 * them out (fs/binfmt_elf.c create_elf_tables), and "#!" scripts. */
#include "vm/guest/exec.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/arch/x86/layout.h"
#include "vm/guest/elf.h"
#include "vm/guest/path.h"

#define PAGE X86_PAGE_SIZE
#define STACK_EAGER (128ULL << 10)  /* populated up front */
#define MMAP_GAP (256ULL << 20)     /* between the stack and mmap_top */
#define ARG_MAX_BYTES (2ULL << 20)  /* a quarter of the stack, as Linux */
#define SCRIPT_DEPTH 4
#define BINPRM_BUF 256

static int read_fd(void *ctx, void *buf, size_t len, uint64_t off)
{
	int fd = *(int *)ctx;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* preadv fills iov from off, whatever the short reads; it may advance iov.
 * The frames are fresh guest RAM: populating each run first (one call, no
 * page-fault exception per page inside the copy) makes the load ~20%
 * cheaper here; where the kernel lacks it, the copy faults them in. */
static int preadv_all(int fd, struct iovec *iov, int n, uint64_t off)
{
	for (int i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)iov[i].iov_base & ~(uintptr_t)(PAGE - 1);
		madvise((void *)a, (uintptr_t)iov[i].iov_base + iov[i].iov_len - a,
			MADV_POPULATE_WRITE);
	}
	while (n > 0) {
		ssize_t got = preadv(fd, iov, n, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		off += (uint64_t)got;
		while (n > 0 && (size_t)got >= iov->iov_len) {
			got -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + got;
			iov->iov_len -= (size_t)got;
		}
	}
	return 0;
}

/* Read file bytes straight into the (already mapped) program memory: one
 * preadv per READ_IOV frames (runs of host-adjacent frames merged), not a
 * pread per page. */
#define READ_IOV 64
static int read_into(struct lg_mm *mm, int fd, uint64_t va, uint64_t off, uint64_t len)
{
	struct iovec iov[READ_IOV];
	int n = 0;
	uint64_t batch_off = off;
	while (len > 0) {
		uint64_t gpa;
		if (lg_mm_translate(mm, va, false, &gpa) < 0)
			return -ENOEXEC;
		size_t k = PAGE - (va & (PAGE - 1));
		if (k > len)
			k = len;
		uint8_t *host = lg_frame_host(mm->lg, gpa) + (gpa & (PAGE - 1));
		if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == host) {
			iov[n - 1].iov_len += k;
		} else {
			if (n == READ_IOV) {
				int r = preadv_all(fd, iov, n, batch_off);
				if (r < 0)
					return r;
				batch_off = off;
				n = 0;
			}
			iov[n++] = (struct iovec){ .iov_base = host, .iov_len = k };
		}
		va += k;
		off += k;
		len -= k;
	}
	return n > 0 ? preadv_all(fd, iov, n, batch_off) : 0;
}

static int map_segments(struct lg_mm *mm, int fd, const struct lg_elf *e, uint64_t base)
{
	uint64_t prev_end = 0;
	uint32_t prev_prot = 0;
	for (unsigned i = 0; i < e->nload; i++) {
		const struct lg_elf_load *l = &e->load[i];
		uint64_t s = (base + l->vaddr) & ~(PAGE - 1);
		uint64_t end = (base + l->vaddr + l->memsz + PAGE - 1) & ~(PAGE - 1);
		int r;
		if (s < prev_end) { /* the previous segment's last page */
			if ((r = lg_mm_protect(mm, s, PAGE, prev_prot | l->prot)) < 0)
				return r;
			s += PAGE;
		}
		if (s < end && (r = lg_mm_map(mm, s, end - s, l->prot, 0)) < 0)
			return r;
		if ((r = read_into(mm, fd, base + l->vaddr, l->offset, l->filesz)) < 0)
			return r;
		prev_end = end;
		prev_prot = l->prot;
	}
	return 0;
}

struct auxv_in {
	uint64_t phdr, phnum, entry, execfn, random, platform;
	uint32_t uid, gid;
};

static size_t fill_auxv(uint64_t *w, const struct auxv_in *a)
{
	unsigned eax, ebx, ecx, edx = 0;
	__get_cpuid(1, &eax, &ebx, &ecx, &edx);
	const uint64_t v[][2] = {
		{ AT_HWCAP, edx }, { AT_PAGESZ, PAGE }, { AT_CLKTCK, 100 },
		{ AT_PHDR, a->phdr }, { AT_PHENT, sizeof(Elf64_Phdr) }, { AT_PHNUM, a->phnum },
		{ AT_BASE, 0 }, { AT_FLAGS, 0 }, { AT_ENTRY, a->entry },
		{ AT_UID, a->uid }, { AT_EUID, a->uid }, { AT_GID, a->gid }, { AT_EGID, a->gid },
		{ AT_SECURE, 0 }, { AT_RANDOM, a->random }, { AT_HWCAP2, 0 },
		{ AT_EXECFN, a->execfn }, { AT_PLATFORM, a->platform }, { AT_NULL, 0 },
	};
	memcpy(w, v, sizeof(v));
	return sizeof(v) / sizeof(uint64_t);
}

/* Build the initial stack; returns the program's rsp in *ret_sp. */
static int setup_stack(struct lg_mm *mm, char *const *argv, char *const *envp,
		       const char *execfn, struct auxv_in *a, uint64_t *ret_sp)
{
	size_t argc = cell_strv_len(argv), envc = envp ? cell_strv_len(envp) : 0;
	size_t strsz = strlen(execfn) + 1 + 16 + sizeof("x86_64");
	for (size_t i = 0; i < argc; i++)
		strsz += strlen(argv[i]) + 1;
	for (size_t i = 0; i < envc; i++)
		strsz += strlen(envp[i]) + 1;
	if (strsz > ARG_MAX_BYTES)
		return -E2BIG;
	size_t nwords = 1 + (argc + 1) + (envc + 1) + 64;
	size_t total = strsz + 8 + 16 + nwords * 8;
	_cleanup_free_ uint8_t *buf = xcalloc(1, total + 16);
	uint64_t top = mm->stack_top - 8; /* an 8-byte end marker, as Linux */
	uint64_t p = top;
#define PUSH_STR(s, addr)                                                     \
	do {                                                                  \
		size_t l_ = strlen(s) + 1;                                    \
		p -= l_;                                                      \
		memcpy(buf + total - (top - p), (s), l_);                     \
		(addr) = p;                                                   \
	} while (0)
	uint64_t *envs = xcalloc(envc + 1, 8), *args = xcalloc(argc + 1, 8);
	PUSH_STR(execfn, a->execfn);
	for (size_t i = envc; i-- > 0;)
		PUSH_STR(envp[i], envs[i]);
	mm->env_start = p;
	mm->env_end = a->execfn;
	for (size_t i = argc; i-- > 0;)
		PUSH_STR(argv[i], args[i]);
	mm->arg_start = p;
	mm->arg_end = mm->env_start;
	PUSH_STR("x86_64", a->platform);
	p -= 16;
	a->random = p;
	getrandom(buf + total - (top - p), 16, 0);
#undef PUSH_STR
	uint64_t words[64];
	size_t naux = fill_auxv(words, a);
	size_t n = 1 + argc + 1 + envc + 1 + naux;
	uint64_t sp = ((p - n * 8) & ~15ULL);
	_cleanup_free_ uint64_t *w = xcalloc(n, 8);
	size_t k = 0;
	w[k++] = argc;
	for (size_t i = 0; i < argc; i++)
		w[k++] = args[i];
	w[k++] = 0;
	for (size_t i = 0; i < envc; i++)
		w[k++] = envs[i];
	w[k++] = 0;
	memcpy(w + k, words, naux * 8);
	memcpy(buf + total - (top - sp), w, n * 8);
	free(envs);
	free(args);
	*ret_sp = sp;
	return lg_poke(mm, sp, buf + total - (top - sp), top - sp);
}

/* What is populated now; faults grow it down to RLIMIT_STACK (mm.c). */
static int map_stack(struct lg_mm *mm, bool exec, uint64_t rlim_stack)
{
	uint32_t prot = PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0);
	mm->stack_limit = mm->stack_top - lg_rlimit_stack_size(rlim_stack);
	int r = lg_mm_map(mm, mm->stack_top - STACK_EAGER, STACK_EAGER, prot,
			  LG_VMA_LAZY | LG_VMA_STACK);
	for (uint64_t va = mm->stack_top - STACK_EAGER; r == 0 && va < mm->stack_top; va += PAGE)
		r = lg_mm_fault(mm, va, true, false);
	mm->mmap_top = mm->stack_limit - MMAP_GAP;
	return r;
}

static int load_elf(struct lg_task *t, int fd, uint64_t size, char *const *argv,
		    char *const *envp, const char *execfn, struct lg_image *img,
		    struct cell_err **err)
{
	struct lg_elf e;
	const char *why = NULL;
	int r = lg_elf_parse(read_fd, &fd, size, &e, &why);
	if (r < 0)
		return cell_err(err, ENOEXEC, "%s: %s", execfn, why);
	if (e.interp)
		return cell_err(err, ENOEXEC,
				"%s: dynamically linked; the light guest runs static programs only",
				execfn);
	uint64_t base = lg_elf_base(&e);
	struct lg_mm *mm;
	if ((r = lg_mm_new(t->lg, &mm)) < 0)
		return cell_err(err, -r, "%s: address space", execfn);
	if ((r = map_segments(mm, fd, &e, base)) < 0 ||
	    (r = map_stack(mm, e.exec_stack, lg_rlimit(t, RLIMIT_STACK))) < 0) {
		lg_mm_put(mm);
		return cell_err(err, -r, "%s: loading segments", execfn);
	}
	mm->brk_start = mm->brk = base + e.hi;
	mm->brk_max = mm->mmap_top;
	struct auxv_in a = {
		.phdr = e.phdr_vaddr ? base + e.phdr_vaddr : 0, .phnum = e.phnum,
		.entry = base + e.entry, .uid = t->lg->cfg.uid, .gid = t->lg->cfg.gid,
	};
	uint64_t sp;
	if ((r = setup_stack(mm, argv, envp, execfn, &a, &sp)) < 0) {
		lg_mm_put(mm);
		return cell_err(err, -r, "%s: arguments", execfn);
	}
	img->mm = mm;
	img->entry = base + e.entry;
	img->sp = sp;
	return 0;
}

/* "#!interp [arg]" -> argv = interp [arg] path argv[1..] */
static int parse_script(const char *buf, size_t n, const char *path, char *const *argv,
			char ***ret_argv, char **ret_interp)
{
	char line[BINPRM_BUF];
	size_t len = 0;
	for (size_t i = 2; i < n && buf[i] != '\n' && len < sizeof(line) - 1; i++)
		line[len++] = buf[i];
	line[len] = '\0';
	char *s = line;
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	if (*s == '\0')
		return -ENOEXEC;
	char *arg = s + strcspn(s, " \t");
	if (*arg) {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	char **v = NULL;
	cell_strv_push(&v, s);
	if (*arg)
		cell_strv_push(&v, arg);
	cell_strv_push(&v, path);
	for (size_t i = 1; argv[0] && argv[i]; i++)
		cell_strv_push(&v, argv[i]);
	*ret_argv = v;
	*ret_interp = xstrdup(s);
	return 0;
}

static int open_exec(struct lg_task *t, const char *path, int *ret_fd, struct stat *st)
{
	int fd, r = lg_path_open(t, AT_FDCWD, path, O_RDONLY, 0, 0, &fd);
	if (r < 0)
		return r;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || !(st->st_mode & 0111)) {
		close(fd);
		return S_ISDIR(st->st_mode) ? -EACCES : -EACCES;
	}
	*ret_fd = fd;
	return 0;
}

int lg_exec_prepare(struct lg_task *t, const char *path, char *const *argv, char *const *envp,
		    struct lg_image *img, struct cell_err **err)
{
	_cleanup_strv_ char **own_argv = NULL;
	_cleanup_free_ char *own_path = NULL;
	const char *execfn = path;
	for (int depth = 0;; depth++) {
		int fd;
		struct stat st;
		int r = open_exec(t, path, &fd, &st);
		if (r < 0)
			return cell_err(err, -r, "%s", path);
		char buf[BINPRM_BUF];
		ssize_t n = pread(fd, buf, sizeof(buf), 0);
		if (n >= 2 && buf[0] == '#' && buf[1] == '!') {
			close(fd);
			if (depth == SCRIPT_DEPTH)
				return cell_err(err, ELOOP, "%s: too many levels of #! interpreters", path);
			char **v;
			char *interp;
			if (parse_script(buf, (size_t)n, path, argv, &v, &interp) < 0)
				return cell_err(err, ENOEXEC, "%s: bad #! line", path);
			cell_strv_free(own_argv);
			free(own_path);
			own_argv = v;
			own_path = interp;
			argv = own_argv;
			path = own_path;
			continue;
		}
		r = load_elf(t, fd, (uint64_t)st.st_size, argv, envp, execfn, img, err);
		close(fd);
		if (r < 0)
			return r;
		const char *slash = strrchr(path, '/');
		snprintf(img->comm, sizeof(img->comm), "%s", slash ? slash + 1 : path);
		img->exe = xstrdup(path);
		return 0;
	}
}
