/* Resource limits in the light guest (guest/rlimit.c) and the OOM killer
 * (guest/oom.c): the rules of getrlimit/setrlimit/prlimit64 and the checks
 * behind EMFILE, EFBIG + SIGXFSZ, ENOMEM and EAGAIN, SIGXCPU and SIGKILL for
 * RLIMIT_CPU, as Linux makes them. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "t.h"
#include "vmtest.h"

#define RAM (16ULL << 20)
#define BUF 0x10000000ULL /* 4 RW pages */
#define PG 4096ULL

static char root[64];

static struct lg_task *setup(struct lg **ret)
{
	if (!root[0]) {
		snprintf(root, sizeof(root), "/tmp/cell-vmrl-XXXXXX");
		if (!mkdtemp(root))
			abort();
		char p[128];
		snprintf(p, sizeof(p), "%s/tmp", root);
		mkdir(p, 0755);
	}
	struct lg *lg = vt_lg(RAM, root);
	struct lg_task *t = vt_task(lg);
	if (lg_mm_map(t->mm, BUF, 4 * PG, PROT_READ | PROT_WRITE, 0) < 0)
		abort();
	*ret = lg;
	return t;
}

static long set(struct lg_task *t, int res, uint64_t soft, uint64_t hard)
{
	uint64_t v[2] = { soft, hard };
	lg_copy_to(t->mm, BUF, v, sizeof(v));
	return SYS2(t, SYS_setrlimit, res, BUF);
}

static uint64_t get(struct lg_task *t, int res, int which)
{
	uint64_t v[2] = { 0, 0 };
	if (SYS2(t, SYS_getrlimit, res, BUF + PG) != 0)
		return 12345;
	lg_copy_from(t->mm, v, BUF + PG, sizeof(v));
	return v[which];
}

static void rules(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS2(t, SYS_getrlimit, RLIM_NLIMITS, BUF), -EINVAL);
	T_ASSERT_INT(SYS2(t, SYS_getrlimit, -1, BUF), -EINVAL);
	T_ASSERT_INT(SYS2(t, SYS_getrlimit, RLIMIT_CORE, 0x5000), -EFAULT);
	T_ASSERT_INT(set(t, RLIMIT_CORE, 20, 10), -EINVAL);
	T_ASSERT_INT(set(t, RLIMIT_CORE, 10, 20), 0);
	T_ASSERT_INT((long)get(t, RLIMIT_CORE, 0), 10);
	T_ASSERT_INT((long)get(t, RLIMIT_CORE, 1), 20);
	/* uid 0 may raise a hard limit (CAP_SYS_RESOURCE), never NOFILE past nr_open */
	T_ASSERT_INT(set(t, RLIMIT_CORE, 10, 40), 0);
	T_ASSERT_INT(set(t, RLIMIT_NOFILE, 64, LG_NOFILE_MAX + 1ULL), -EPERM);
	T_ASSERT_INT(set(t, RLIMIT_NOFILE, 64, LG_NOFILE_MAX), 0);
	t->proc->uid = 1000;
	T_ASSERT_INT(set(t, RLIMIT_CORE, 10, 41), -EPERM);
	T_ASSERT_INT(set(t, RLIMIT_CORE, 5, 30), 0);
	T_ASSERT_INT(set(t, RLIMIT_CORE, 5, 31), -EPERM);
	/* prlimit64: oneself by 0 or pid, no such pid, a bad old pointer */
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, 0, RLIMIT_CORE, 0, BUF + 2 * PG), 0);
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, t->proc->pid, RLIMIT_CORE, 0, BUF + 2 * PG), 0);
	uint64_t v[2];
	lg_copy_from(t->mm, v, BUF + 2 * PG, sizeof(v));
	T_ASSERT_INT((long)v[0], 5);
	T_ASSERT_INT((long)v[1], 30);
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, 4242, RLIMIT_CORE, 0, BUF), -ESRCH);
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, -3, RLIMIT_CORE, 0, BUF), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, 0, RLIMIT_CORE, 0, 0x5000), -EFAULT);
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, 0, RLIMIT_CORE, 0x5000, 0), -EFAULT);
	vt_free(lg, t);
}

static void initial(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	uint64_t r[LG_NRLIMITS][2];
	struct rlimit own;
	getrlimit(RLIMIT_FSIZE, &own);
	lg->cfg.rlimits_set = 1u << RLIMIT_NOFILE | 1u << RLIMIT_NPROC;
	lg->cfg.rlimits[RLIMIT_NOFILE][0] = 100;
	lg->cfg.rlimits[RLIMIT_NOFILE][1] = 1ULL << 40; /* capped at nr_open */
	lg->cfg.rlimits[RLIMIT_NPROC][0] = 7;
	lg->cfg.rlimits[RLIMIT_NPROC][1] = 8;
	lg_rlimits_init(lg, r);
	T_ASSERT_INT((long)r[RLIMIT_NOFILE][0], 100);
	T_ASSERT_INT((long)r[RLIMIT_NOFILE][1], LG_NOFILE_MAX);
	T_ASSERT_INT((long)r[RLIMIT_NPROC][0], 7);
	T_ASSERT(r[RLIMIT_FSIZE][0] == own.rlim_cur && r[RLIMIT_FSIZE][1] == own.rlim_max);
	vt_free(lg, t);
}

static void nofile(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	lg_copy_to(t->mm, BUF + 3 * PG, "/", 2);
	T_ASSERT_INT(set(t, RLIMIT_NOFILE, 5, 10), 0);
	T_ASSERT_INT(SYS4(t, SYS_openat, AT_FDCWD, BUF + 3 * PG, O_RDONLY, 0), 3);
	T_ASSERT_INT(SYS4(t, SYS_openat, AT_FDCWD, BUF + 3 * PG, O_RDONLY, 0), 4);
	T_ASSERT_INT(SYS4(t, SYS_openat, AT_FDCWD, BUF + 3 * PG, O_RDONLY, 0), -EMFILE);
	T_ASSERT_INT(SYS1(t, SYS_dup, 0), -EMFILE);
	T_ASSERT_INT(SYS1(t, SYS_pipe, BUF), -EMFILE);
	T_ASSERT_INT(SYS2(t, SYS_dup2, 0, 5), -EBADF);
	T_ASSERT_INT(SYS3(t, SYS_fcntl, 0, F_DUPFD, 5), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_fcntl, 0, F_DUPFD, 4), -EMFILE);
	T_ASSERT_INT(SYS3(t, SYS_poll, BUF, 6, 0), -EINVAL); /* nfds above RLIMIT_NOFILE */
	T_ASSERT_INT(set(t, RLIMIT_NOFILE, 7, 10), 0);
	T_ASSERT_INT(SYS2(t, SYS_dup2, 0, 6), 6);
	T_ASSERT_INT(SYS1(t, SYS_dup, 0), 5);
	/* lowering it keeps the fds already open */
	T_ASSERT_INT(set(t, RLIMIT_NOFILE, 3, 10), 0);
	T_ASSERT_INT(SYS1(t, SYS_close, 6), 0);
	T_ASSERT_INT(SYS1(t, SYS_dup, 0), -EMFILE);
	T_ASSERT_INT(SYS3(t, SYS_close_range, 3, ~0U, 0), 0);
	vt_free(lg, t);
}

static bool pending(struct lg_task *t, int sig)
{
	return ((t->pending.set | t->proc->shared_pending.set) >> (sig - 1)) & 1;
}

static void fsize(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	lg_copy_to(t->mm, BUF + 3 * PG, "/tmp/f", 7);
	int fd = (int)SYS4(t, SYS_openat, AT_FDCWD, BUF + 3 * PG, O_CREAT | O_RDWR | O_TRUNC, 0644);
	T_ASSERT_INT(fd, 3);
	T_ASSERT_INT(set(t, RLIMIT_FSIZE, 100, 200), 0);
	T_ASSERT_INT(SYS3(t, SYS_write, fd, BUF, 60), 60);
	T_ASSERT(!pending(t, SIGXFSZ));
	T_ASSERT_INT(SYS3(t, SYS_write, fd, BUF, 60), 40); /* short, no signal */
	T_ASSERT(!pending(t, SIGXFSZ));
	T_ASSERT_INT(SYS3(t, SYS_write, fd, BUF, 0), 0);
	T_ASSERT(!pending(t, SIGXFSZ));
	T_ASSERT_INT(SYS3(t, SYS_write, fd, BUF, 1), -EFBIG);
	T_ASSERT(pending(t, SIGXFSZ));
	t->pending.set = 0;
	T_ASSERT_INT(SYS4(t, SYS_pwrite64, fd, BUF, 10, 95), 5);
	T_ASSERT_INT(SYS4(t, SYS_pwrite64, fd, BUF, 10, 100), -EFBIG);
	T_ASSERT(pending(t, SIGXFSZ));
	t->pending.set = 0;
	T_ASSERT_INT(SYS2(t, SYS_ftruncate, fd, 50), 0);   /* shrinking is fine */
	T_ASSERT_INT(SYS2(t, SYS_ftruncate, fd, 100), 0);  /* up to the limit too */
	T_ASSERT(!pending(t, SIGXFSZ));
	T_ASSERT_INT(SYS2(t, SYS_ftruncate, fd, 101), -EFBIG);
	T_ASSERT(pending(t, SIGXFSZ));
	t->pending.set = 0;
	/* not a regular file: no limit */
	T_ASSERT_INT(SYS3(t, SYS_write, 1, BUF, 300), 300);
	T_ASSERT(!pending(t, SIGXFSZ));
	T_ASSERT_INT(SYS1(t, SYS_unlink, BUF + 3 * PG), 0);
	vt_free(lg, t);
}

static void address_space(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	uint64_t total = 0;
	for (size_t i = 0; i < t->mm->nvmas; i++)
		total += t->mm->vmas[i].end - t->mm->vmas[i].start;
	T_ASSERT_INT(set(t, RLIMIT_AS, total + 4 * PG + 100, RLIM_INFINITY), 0);
	long a = SYS6(t, SYS_mmap, 0, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(a > 0);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		     -ENOMEM);
	/* replacing a mapping in place does not grow the address space */
	T_ASSERT_INT(SYS6(t, SYS_mmap, a, 4 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), a);
	T_ASSERT_INT(SYS2(t, SYS_munmap, a, 4 * PG), 0);
	T_ASSERT_INT(SYS4(t, SYS_mremap, BUF, 4 * PG, 9 * PG, MREMAP_MAYMOVE), -ENOMEM);
	long brk = SYS1(t, SYS_brk, 0);
	T_ASSERT_INT(SYS1(t, SYS_brk, brk + 8 * PG), brk); /* refused: brk stays */
	T_ASSERT_INT(SYS1(t, SYS_brk, brk + 2 * PG), brk + 2 * (long)PG);
	T_ASSERT_INT(set(t, RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY), 0);
	/* RLIMIT_DATA: private writable mappings only */
	uint64_t data = 0;
	for (size_t i = 0; i < t->mm->nvmas; i++)
		if ((t->mm->vmas[i].prot & PROT_WRITE) && !(t->mm->vmas[i].flags & LG_VMA_SHARED))
			data += t->mm->vmas[i].end - t->mm->vmas[i].start;
	T_ASSERT_INT(set(t, RLIMIT_DATA, data + 2 * PG, RLIM_INFINITY), 0);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, 4 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -ENOMEM);
	T_ASSERT(SYS6(t, SYS_mmap, 0, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) > 0);
	T_ASSERT(SYS6(t, SYS_mmap, 0, 4 * PG, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0) > 0);
	T_ASSERT_INT(SYS1(t, SYS_brk, brk + 6 * PG), brk + 2 * (long)PG);
	/* mprotect making private pages writable makes them data */
	long ro = SYS6(t, SYS_mmap, 0, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(ro > 0);
	T_ASSERT_INT(SYS3(t, SYS_mprotect, ro, 4 * PG, PROT_READ | PROT_WRITE), -ENOMEM);
	T_ASSERT_INT(SYS3(t, SYS_mprotect, ro, 2 * PG, PROT_READ | PROT_WRITE), 0);
	T_ASSERT_INT(SYS3(t, SYS_mprotect, ro, 2 * PG, PROT_READ | PROT_WRITE), 0); /* data already */
	T_ASSERT_INT(SYS3(t, SYS_mprotect, ro + 2 * PG, PG, PROT_READ | PROT_WRITE), -ENOMEM);
	T_ASSERT_INT(SYS3(t, SYS_mprotect, ro + 2 * PG, PG, PROT_EXEC), 0);
	vt_free(lg, t);
}

static void nproc(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	t->proc->rlim[RLIMIT_NPROC][0] = 1;
	pthread_mutex_lock(&lg->lock);
	T_ASSERT_INT(lg_rlimit_nproc_locked(t), 0); /* uid 0: exempt, as INIT_USER */
	t->proc->uid = 1000;
	T_ASSERT_INT(lg_rlimit_nproc_locked(t), -EAGAIN);
	t->proc->rlim[RLIMIT_NPROC][0] = 2;
	T_ASSERT_INT(lg_rlimit_nproc_locked(t), 0);
	pthread_mutex_unlock(&lg->lock);
	T_ASSERT_INT(lg_rlimit_stack_size(RLIM_INFINITY), 4LL << 30);
	T_ASSERT_INT(lg_rlimit_stack_size(0), 128 << 10);
	T_ASSERT_INT(lg_rlimit_stack_size((2 << 20) + 5), 2 << 20);
	vt_free(lg, t);
}

/* RLIMIT_CPU as check_process_timers: the process's CPU time (here its
 * exited threads', p->utime_ns) against the limits; what getrusage and
 * times() report is that same time. */
static void cpu(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	struct lg_task *other = vt_task(lg); /* no limit: never signalled */
	lg->init = t->proc;
	struct lg_proc *p = t->proc;
	const uint64_t s = 1000000000ULL;
	pthread_mutex_lock(&lg->lock);
	p->rlim[RLIMIT_CPU][0] = 1;
	p->rlim[RLIMIT_CPU][1] = 2;
	p->utime_ns = s / 2;
	other->proc->utime_ns = 100 * s;
	/* below the soft limit; nothing runs, so no check is planned */
	T_ASSERT_INT((long)lg_rlimit_cpu_check_locked(lg), 0);
	T_ASSERT_INT((long)p->shared_pending.set, 0);
	T_ASSERT_INT((long)p->cpu_next_ns, (long)s);
	/* the soft limit: SIGXCPU (SI_KERNEL), and the soft limit moves a second on */
	p->utime_ns = s;
	lg_rlimit_cpu_check_locked(lg);
	T_ASSERT(p->shared_pending.set & (1ULL << (SIGXCPU - 1)));
	T_ASSERT_INT(p->shared_pending.info[SIGXCPU - 1].code, 0x80);
	T_ASSERT_INT((long)p->rlim[RLIMIT_CPU][0], 2);
	T_ASSERT_INT((long)p->cpu_next_ns, (long)(2 * s));
	T_ASSERT(!p->exiting && !other->proc->exiting && !other->proc->shared_pending.set);
	p->shared_pending.set = 0;
	p->utime_ns = s + s / 2;
	lg_rlimit_cpu_check_locked(lg);
	T_ASSERT_INT((long)p->shared_pending.set, 0);
	/* without a soft limit the hard one is not checked (as Linux) */
	p->rlim[RLIMIT_CPU][0] = RLIM_INFINITY;
	p->utime_ns = 3 * s;
	lg_rlimit_cpu_check_locked(lg);
	T_ASSERT(!p->exiting && !p->shared_pending.set);
	/* the hard limit: SIGKILL, not SIGXCPU */
	p->rlim[RLIMIT_CPU][0] = 2;
	lg_rlimit_cpu_check_locked(lg);
	T_ASSERT(p->exiting && p->exit_code == SIGKILL && !p->shared_pending.set);
	p->exiting = false;
	/* getrusage and the process CPU clock count the whole process, the thread clock its own */
	p->rlim[RLIMIT_CPU][0] = p->rlim[RLIMIT_CPU][1] = RLIM_INFINITY;
	p->utime_ns = s + s / 2;
	pthread_mutex_unlock(&lg->lock);
	struct rusage ru;
	T_ASSERT_INT(SYS2(t, SYS_getrusage, RUSAGE_SELF, BUF), 0);
	lg_copy_from(t->mm, &ru, BUF, sizeof(ru));
	T_ASSERT_INT((long)ru.ru_utime.tv_sec, 1);
	T_ASSERT_INT((long)ru.ru_utime.tv_usec, 500000);
	T_ASSERT_INT(SYS2(t, SYS_getrusage, RUSAGE_THREAD, BUF), 0);
	lg_copy_from(t->mm, &ru, BUF, sizeof(ru));
	T_ASSERT_INT((long)ru.ru_utime.tv_sec, 0);
	struct timespec ts;
	T_ASSERT_INT(SYS2(t, SYS_clock_gettime, CLOCK_PROCESS_CPUTIME_ID, BUF), 0);
	lg_copy_from(t->mm, &ts, BUF, sizeof(ts));
	T_ASSERT_INT((long)ts.tv_sec, 1);
	T_ASSERT_INT(ts.tv_nsec, 500000000);
	struct lg_proc *op = other->proc;
	lg_task_free(other);
	lg->procs[op->pid] = NULL;
	free(op->sighand);
	free(op);
	vt_free(lg, t);
}

/* Two processes, the second filling guest RAM through a lazy mapping. */
static void oom(void)
{
	struct lg *lg;
	struct lg_task *small = setup(&lg);
	struct lg_task *big = vt_task(lg);
	memcpy(big->proc->comm, "hog", 4);
	uint64_t at = 0x20000000, len = RAM;
	T_ASSERT_INT(lg_mm_map(big->mm, at, len, PROT_READ | PROT_WRITE, LG_VMA_LAZY), 0);
	int r = 0;
	uint64_t va;
	for (va = at; va < at + len && r == 0; va += PG)
		r = lg_mm_fault(big->mm, va, true, false);
	T_ASSERT_INT(r, -ENOMEM);
	T_ASSERT(big->mm->pages > small->mm->pages);
	/* the small one faults: the big one dies, the small one retries */
	T_ASSERT(lg_oom(lg, small->mm));
	T_ASSERT(big->proc->oom_killed && !small->proc->oom_killed);
	T_ASSERT(big->proc->exiting && big->proc->exit_code == SIGKILL);
	T_ASSERT_INT((long)lg->stats.oom_kills, 1);
	T_ASSERT_INT((long)lg->result.oom_kills, 1);
	T_ASSERT(strstr(big->proc->fault, "out of guest memory: killed pid 2 (hog)") != NULL);
	T_ASSERT_INT(big->proc->fault_sig, SIGKILL);
	/* one victim at a time: while it dies nobody else is killed */
	T_ASSERT(lg_oom(lg, small->mm));
	T_ASSERT_INT((long)lg->stats.oom_kills, 1);
	/* the victim's own fault fails (the SIGKILL ends it) */
	T_ASSERT(!lg_oom(lg, big->mm));
	/* once it is gone, its frames are back */
	struct lg_proc *bp = big->proc;
	lg_task_free(big);
	bp->state = LG_PROC_ZOMBIE;
	pthread_mutex_lock(&lg->lock);
	uint64_t nfree = lg->frames.nfree;
	pthread_mutex_unlock(&lg->lock);
	T_ASSERT(nfree > (RAM / PG) / 2);
	vt_free(lg, small);
	/* the last case: the scratch root goes */
	char p[128];
	snprintf(p, sizeof(p), "%s/tmp", root);
	rmdir(p);
	rmdir(root);
}

T_MAIN("vm-rlimits", T_CASE(rules), T_CASE(initial), T_CASE(nofile), T_CASE(fsize),
       T_CASE(address_space), T_CASE(nproc), T_CASE(cpu), T_CASE(oom))
