/* Light-guest state without a VM behind it, for unit tests and fuzzers:
 * guest RAM is plain memory, page-table chunks are not installed in KVM,
 * and a task can be handed syscalls that need no vCPU. */
#ifndef CELL_TESTS_VMTEST_H
#define CELL_TESTS_VMTEST_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"
#include "vm/guest/lg.h"

static const char *vt_root_made;

static int vt_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void vt_rm_root(void)
{
	nftw(vt_root_made, vt_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh directory /tmp/NAME-XXXXXX in root (n bytes) for a guest's root
 * file system, removed with whatever the calls put in it when the
 * process exits. */
static inline void vt_tmp_root(char *root, size_t n, const char *name)
{
	snprintf(root, n, "/tmp/%s-XXXXXX", name);
	if (!mkdtemp(root))
		abort();
	vt_root_made = root;
	atexit(vt_rm_root);
}

static inline struct lg *vt_lg(uint64_t ram, const char *rootdir)
{
	struct lg *lg = xcalloc(1, sizeof(*lg));
	lg->kvm = xcalloc(1, sizeof(*lg->kvm));
	lg->kvm->fd = lg->kvm->kvm_fd = -1;
	struct cell_err *err = NULL;
	if (kvm_vm_alloc_ram(lg->kvm, ram, false, &err) < 0)
		abort();
	pthread_mutex_init(&lg->lock, NULL);
	pthread_mutex_init(&lg->futex_lock, NULL);
	pthread_cond_init(&lg->cond, NULL);
	lg_sys_build(lg->kvm->ram);
	if (lg_frames_init(lg, &err) < 0)
		abort();
	lg->root_fd = rootdir ? open(rootdir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	lg->root_host = xstrdup(rootdir ? rootdir : "/");
	lg->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	lg->zero_fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	lg->urandom_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	lg->next_pid = 1;
	lg->cfg.vcpus = 1;
	lg->workers = xcalloc(LG_MAX_VCPUS, sizeof(*lg->workers));
	lg_cpus_init(&lg->cpus, 1);
	lg->start_ns = cell_now_ns();
	return lg;
}

/* A task with an empty address space plus a stack, fds 0-2 on /dev/null. */
static inline struct lg_task *vt_task(struct lg *lg)
{
	struct lg_proc *p = xcalloc(1, sizeof(*p));
	struct lg_task *t = lg_task_alloc(lg);
	p->pid = lg_pid_alloc(lg, p);
	p->pgid = p->sid = p->pid;
	p->sighand = xcalloc(1, sizeof(*p->sighand));
	p->sighand->refs = 1;
	p->threads = t;
	p->nthreads = 1;
	p->exit_signal = 17;
	for (int i = 0; i < LG_NRLIMITS; i++)
		p->rlim[i][0] = p->rlim[i][1] = ~0ULL;
	p->rlim[7 /* RLIMIT_NOFILE */][0] = p->rlim[7][1] = 1024; /* Linux's default */
	t->proc = p;
	t->tid = p->pid;
	lg->init = p;
	if (lg_mm_new(lg, &t->mm) < 0)
		abort();
	t->mm->stack_limit = t->mm->stack_top - (1 << 20);
	t->mm->mmap_top = t->mm->stack_limit - (16 << 20);
	t->mm->brk_start = t->mm->brk = 0x600000;
	t->mm->brk_max = t->mm->mmap_top;
	if (lg_mm_map(t->mm, t->mm->stack_limit, 1 << 20, PROT_READ | PROT_WRITE, 0) < 0)
		abort();
	t->fs = xcalloc(1, sizeof(*t->fs));
	t->fs->refs = 1;
	t->fs->cwd = xstrdup("/");
	t->fs->umask = 022;
	t->files = lg_files_new();
	for (int fd = 0; fd < 3; fd++) {
		struct lg_file *f = lg_file_new(dup(lg->null_fd), LG_FILE_REG, O_RDWR, NULL);
		lg_fd_install_at(t->files, f, fd, false);
		lg_file_put(f);
	}
	return t;
}

/* One syscall as the program would make it; returns rax. */
static inline long vt_sys(struct lg_task *t, unsigned long nr, uint64_t a0, uint64_t a1,
			  uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct lg_uctx u = { .in_syscall = true, .orig_rax = nr };
	u.r.rax = nr;
	u.r.rdi = a0;
	u.r.rsi = a1;
	u.r.rdx = a2;
	u.r.r10 = a3;
	u.r.r8 = a4;
	u.r.r9 = a5;
	u.r.rsp = t->mm->stack_top - 4096;
	t->uctx = &u;
	lg_syscall(t);
	t->uctx = NULL;
	return (long)u.r.rax;
}

#define SYS0(t, nr) vt_sys(t, nr, 0, 0, 0, 0, 0, 0)
#define SYS1(t, nr, a) vt_sys(t, nr, (uint64_t)(a), 0, 0, 0, 0, 0)
#define SYS2(t, nr, a, b) vt_sys(t, nr, (uint64_t)(a), (uint64_t)(b), 0, 0, 0, 0)
#define SYS3(t, nr, a, b, c) vt_sys(t, nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0, 0)
#define SYS4(t, nr, a, b, c, d) \
	vt_sys(t, nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), 0, 0)
#define SYS6(t, nr, a, b, c, d, e, f)                                                  \
	vt_sys(t, nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), (uint64_t)(e), \
	       (uint64_t)(f))

static inline void vt_free(struct lg *lg, struct lg_task *t)
{
	/* As lg_free(): the threads that read the processes stop first (a
	 * guest's alarm or CPU limit started the clock thread). */
	lg_timer_stop(lg);
	lg_workers_stop(lg);
	struct lg_proc *p = t->proc;
	lg_task_free(t);
	for (int pid = 1; pid < lg->maxpid; pid++) { /* children that never ran */
		struct lg_proc *c = lg->procs[pid];
		if (c && c != p && c->pid == pid) {
			if (c->sighand && --c->sighand->refs == 0)
				free(c->sighand);
			free(c->exe);
			free(c);
		}
	}
	free(p->sighand);
	free(p);
	free(lg->procs);
	free(lg->workers);
	lg_frames_fini(lg);
	munmap(lg->kvm->ram, lg->kvm->ram_size);
	free(lg->kvm);
	if (lg->root_fd >= 0)
		close(lg->root_fd);
	close(lg->null_fd);
	close(lg->zero_fd);
	close(lg->urandom_fd);
	free(lg->root_host);
	free(lg);
}

/* Free frames now: everything allocated since must have come back. */
static inline uint64_t vt_free_frames(struct lg *lg)
{
	return lg->frames.nfree;
}

#endif
