/* Resource limits of guest processes: getrlimit/setrlimit/prlimit64 and the
 * checks the rest of the light guest makes against them.  Limits are per
 * process, copied by fork and kept by execve (sys-proc.c), as Linux's
 * signal->rlim.  uid 0 may raise a hard limit, as root with
 * CAP_SYS_RESOURCE; RLIMIT_NOFILE never above LG_NOFILE_MAX (Linux's
 * nr_open).  None of this touches the monitor's own limits: what the host
 * enforces on the monitor still holds whatever the guest sets. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "vm/arch/x86/layout.h"

#define PAGE X86_PAGE_SIZE
#define STACK_MIN (128ULL << 10)   /* what exec populates up front */
#define STACK_MAX (4ULL << 30)     /* "unlimited": how far the main stack may grow */
#define NS 1000000000ULL
/* The finest RLIMIT_CPU is checked: Linux checks at its 250 Hz tick. */
#define CPU_TICK_NS 4000000ULL
/* How much CPU time before the monitor's own hard RLIMIT_CPU the VM's
 * processes are killed: enough for them to stop and the monitor to exit
 * and write its result before the host's SIGKILL. */
#define HOST_CPU_MARGIN_NS 250000000ULL

_Static_assert(RLIM_NLIMITS <= LG_NRLIMITS, "lg_proc.rlim holds every RLIMIT_*");
_Static_assert(LG_NRLIMITS == VM_RLIMITS, "vm_guest_config.rlimits matches lg_proc.rlim");

void lg_rlimits_init(struct lg *lg, uint64_t rlim[LG_NRLIMITS][2])
{
	for (unsigned i = 0; i < LG_NRLIMITS; i++) {
		struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
		if (i < RLIM_NLIMITS)
			getrlimit((int)i, &r);
		if (lg->cfg.rlimits_set & (1u << i)) {
			r.rlim_cur = lg->cfg.rlimits[i][0];
			r.rlim_max = lg->cfg.rlimits[i][1];
		}
		if (i == RLIMIT_NOFILE) {
			if (r.rlim_max > LG_NOFILE_MAX)
				r.rlim_max = LG_NOFILE_MAX;
			if (r.rlim_cur > r.rlim_max)
				r.rlim_cur = r.rlim_max;
		}
		rlim[i][0] = r.rlim_cur;
		rlim[i][1] = r.rlim_max;
	}
	/* Every guest fd is one of ours, besides our own: the guest's soft
	 * limit is counted per guest process above, ours may go to the hard
	 * limit (no privilege needed) so that our fds do not eat the guest's. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	/* Our own RLIMIT_CPU (cell's, inherited) counts every guest process
	 * together: SIGXCPU at its soft limit would kill the monitor, so the
	 * soft limit goes to the hard one (no privilege needed); just before
	 * the hard one the guest's processes are killed (lg_rlimit_cpu_check_locked)
	 * so the VM ends as a program killed by the host's SIGKILL would. */
	struct rlimit cpu;
	if (getrlimit(RLIMIT_CPU, &cpu) == 0 && cpu.rlim_max != RLIM_INFINITY) {
		uint64_t hard = cpu.rlim_max >= UINT64_MAX / NS ? UINT64_MAX : cpu.rlim_max * NS;
		lg->host_cpu_ns = hard > HOST_CPU_MARGIN_NS ? hard - HOST_CPU_MARGIN_NS : 1;
		cpu.rlim_cur = cpu.rlim_max;
		setrlimit(RLIMIT_CPU, &cpu);
	}
	lg->cpu_watch = lg->host_cpu_ns || rlim[RLIMIT_CPU][0] != RLIM_INFINITY;
}

uint64_t lg_rlimit(const struct lg_task *t, unsigned res)
{
	if (res >= LG_NRLIMITS)
		return RLIM_INFINITY;
	return __atomic_load_n(&t->proc->rlim[res][0], __ATOMIC_RELAXED);
}

unsigned lg_rlimit_nofile(const struct lg_task *t)
{
	uint64_t n = lg_rlimit(t, RLIMIT_NOFILE);
	return n > LG_NOFILE_MAX ? LG_NOFILE_MAX : (unsigned)n;
}

static void send_sigxfsz(struct lg_task *t)
{
	/* Linux: send_sig(SIGXFSZ, current, 0), to the thread, SI_USER */
	struct lg_siginfo si = { .signo = SIGXFSZ, .code = 0, .pid = t->proc->pid };
	pthread_mutex_lock(&t->lg->lock);
	lg_signal_task_locked(t, &si);
	pthread_mutex_unlock(&t->lg->lock);
}

long lg_rlimit_fsize(struct lg_task *t, const struct lg_file *f, int64_t off, uint64_t *max)
{
	uint64_t limit = lg_rlimit(t, RLIMIT_FSIZE);
	*max = UINT64_MAX;
	struct stat st;
	/* Linux checks regular files only (block devices have their size) */
	if (limit == RLIM_INFINITY || f->kind != LG_FILE_REG || fstat(f->hostfd, &st) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	uint64_t pos;
	if (off >= 0) {
		pos = (uint64_t)off;
	} else if (f->flags & O_APPEND) {
		pos = (uint64_t)st.st_size;
	} else {
		off_t p = lseek(f->hostfd, 0, SEEK_CUR);
		if (p < 0)
			return 0; /* not seekable: no position to limit */
		pos = (uint64_t)p;
	}
	if (pos >= limit) {
		send_sigxfsz(t);
		return -EFBIG;
	}
	*max = limit - pos;
	return 0;
}

long lg_rlimit_fsize_to(struct lg_task *t, uint64_t size)
{
	uint64_t limit = lg_rlimit(t, RLIMIT_FSIZE);
	if (limit == RLIM_INFINITY || size <= limit)
		return 0;
	send_sigxfsz(t);
	return -EFBIG;
}

int lg_rlimit_nproc_locked(struct lg_task *t)
{
	struct lg *lg = t->lg;
	uint32_t uid = t->proc->uid;
	uint64_t limit = t->proc->rlim[RLIMIT_NPROC][0];
	if (uid == 0 || limit == RLIM_INFINITY)
		return 0;
	/* Linux counts tasks (threads too) of the real uid. */
	uint64_t n = 0;
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (p && p->pid == pid && p->state == LG_PROC_ALIVE && p->uid == uid)
			n += (uint64_t)p->nthreads;
	}
	return n >= limit ? -EAGAIN : 0;
}

static bool is_data(uint32_t prot, uint32_t flags)
{
	return (prot & PROT_WRITE) && !(flags & (LG_VMA_SHARED | LG_VMA_STACK));
}

/* Bytes of [a, b) outside [s, e). */
static uint64_t outside(uint64_t a, uint64_t b, uint64_t s, uint64_t e)
{
	uint64_t lo = a > s ? a : s, hi = b < e ? b : e;
	return b - a - (lo < hi ? hi - lo : 0);
}

int lg_rlimit_may_expand(struct lg_task *t, uint64_t start, uint64_t len, uint32_t prot,
			 uint32_t flags)
{
	uint64_t as = lg_rlimit(t, RLIMIT_AS), data = lg_rlimit(t, RLIMIT_DATA);
	bool counts_data = is_data(prot, flags);
	if (as == RLIM_INFINITY && (data == RLIM_INFINITY || !counts_data))
		return 0;
	const struct lg_mm *mm = t->mm;
	uint64_t total = 0, data_vm = 0, end = start + len;
	for (size_t i = 0; i < mm->nvmas; i++) {
		const struct lg_vma *v = &mm->vmas[i];
		uint64_t n = outside(v->start, v->end, start, end);
		total += n;
		if (is_data(v->prot, v->flags))
			data_vm += n;
	}
	/* Linux compares pages against the limit rounded down to pages. */
	if (as != RLIM_INFINITY && total + len > (as & ~(PAGE - 1)))
		return -ENOMEM;
	if (counts_data && data != RLIM_INFINITY && data_vm + len > (data & ~(PAGE - 1)))
		return -ENOMEM;
	return 0;
}

int lg_rlimit_may_protect(struct lg_task *t, uint64_t start, uint64_t len, uint32_t prot)
{
	uint64_t data = lg_rlimit(t, RLIMIT_DATA);
	if (!(prot & PROT_WRITE) || data == RLIM_INFINITY)
		return 0;
	const struct lg_mm *mm = t->mm;
	uint64_t data_vm = 0, grow = 0, end = start + len;
	for (size_t i = 0; i < mm->nvmas; i++) {
		const struct lg_vma *v = &mm->vmas[i];
		uint64_t in = v->end - v->start - outside(v->start, v->end, start, end);
		if (is_data(v->prot, v->flags))
			data_vm += v->end - v->start;
		else if (in && is_data(prot, v->flags))
			grow += in;
	}
	return grow && data_vm + grow > (data & ~(PAGE - 1)) ? -ENOMEM : 0;
}

uint64_t lg_rlimit_stack_size(uint64_t rlim)
{
	uint64_t n = rlim & ~(PAGE - 1);
	return n < STACK_MIN ? STACK_MIN : n > STACK_MAX ? STACK_MAX : n;
}

/* ---- RLIMIT_CPU ------------------------------------------------------------ */

static uint64_t sec_ns(uint64_t s)
{
	return s == RLIM_INFINITY || s >= UINT64_MAX / NS ? UINT64_MAX : s * NS;
}

static void send_cpu_signal(struct lg_proc *p, int sig)
{
	/* Linux: send_signal_locked(signo, SEND_SIG_PRIV, current, PIDTYPE_TGID) */
	struct lg_siginfo si = { .signo = sig, .code = 0x80 /* SI_KERNEL */ };
	lg_signal_proc_locked(p, &si);
}

/* check_process_timers' RLIMIT_CPU part for one process: the CPU time
 * left to its next threshold (UINT64_MAX: none), which p->cpu_next_ns
 * keeps. */
static uint64_t check_proc(struct lg_proc *p)
{
	uint64_t *rl = p->rlim[RLIMIT_CPU];
	uint64_t soft = rl[0];
	p->cpu_next_ns = UINT64_MAX;
	/* As Linux: without a soft limit the hard one is not checked either. */
	if (soft == RLIM_INFINITY || p->exiting || p->state != LG_PROC_ALIVE)
		return UINT64_MAX;
	uint64_t used = lg_proc_cpu_ns_locked(p), hardns = sec_ns(rl[1]), softns = sec_ns(soft);
	if (used >= hardns) {
		send_cpu_signal(p, SIGKILL);
		return UINT64_MAX;
	}
	if (used >= softns) {
		send_cpu_signal(p, SIGXCPU);
		/* The next SIGXCPU a second later: Linux moves the soft limit
		 * itself (getrlimit shows it). */
		if (soft + 1 != RLIM_INFINITY)
			__atomic_store_n(&rl[0], soft + 1, __ATOMIC_RELAXED);
		softns = sec_ns(soft + 1);
	}
	p->cpu_next_ns = softns < hardns ? softns : hardns;
	return p->cpu_next_ns > used ? p->cpu_next_ns - used : 0;
}

/* Threads of p that may be using CPU now. */
static unsigned running(const struct lg_proc *p)
{
	unsigned n = 0;
	for (const struct lg_task *t = p->threads; t; t = t->next_thread)
		n += t->cpu_on && !t->cpu_idle;
	return n;
}

/* Wall time in which n threads (at most one vCPU each) can use left;
 * never 0, which means "no check planned". */
static uint64_t wall_for(const struct lg *lg, uint64_t left, unsigned n)
{
	unsigned vcpus = lg->cfg.vcpus ? lg->cfg.vcpus : 1;
	uint64_t w = left / (n == 0 ? 1 : n < vcpus ? n : vcpus);
	return w ? w : 1;
}

/* Wall time in which the monitor can use left: every vCPU busy and its
 * own threads beside them, the fastest it can go (so a task waking up
 * finds the plan made with this soon enough: lg_rlimit_cpu_wake_locked). */
static uint64_t host_wall(const struct lg *lg, uint64_t left)
{
	uint64_t w = left / ((uint64_t)(lg->cfg.vcpus ? lg->cfg.vcpus : 1) + 1);
	return w ? w : 1;
}

/* The monitor's CPU time left before the VM's processes are killed. */
static uint64_t host_cpu_left(const struct lg *lg)
{
	uint64_t used = cell_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	return lg->host_cpu_ns > used ? lg->host_cpu_ns - used : 0;
}

/* The monitor's own CPU time nears its hard limit: every process dies of
 * SIGKILL, as the host would have killed all of them with the monitor. */
static uint64_t check_host(struct lg *lg, unsigned nrun)
{
	if (!lg->host_cpu_ns || lg->done)
		return 0;
	uint64_t left = host_cpu_left(lg);
	if (left)
		return nrun ? host_wall(lg, left) : 0;
	struct lg_proc *init = lg->init;
	if (init && init->state == LG_PROC_ALIVE && !init->exiting) {
		uint64_t hard = (lg->host_cpu_ns + HOST_CPU_MARGIN_NS) / NS;
		snprintf(init->fault, sizeof(init->fault),
			 "the VM reached the CPU time limit cell runs under (RLIMIT_CPU hard "
			 "limit %llu s)", (unsigned long long)hard);
		init->fault_sig = SIGKILL;
	}
	lg_kill_all_locked(lg, SIGKILL);
	return 0;
}

uint64_t lg_rlimit_cpu_check_locked(struct lg *lg)
{
	uint64_t wait = 0;
	unsigned nrun = 0;
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (!p || p->pid != pid || p->state != LG_PROC_ALIVE)
			continue;
		unsigned n = running(p);
		nrun += n;
		uint64_t left = check_proc(p);
		if (n && left != UINT64_MAX) {
			uint64_t w = wall_for(lg, left, n);
			if (!wait || w < wait)
				wait = w;
		}
	}
	uint64_t w = check_host(lg, nrun);
	if (w && (!wait || w < wait))
		wait = w;
	return wait && wait < CPU_TICK_NS ? CPU_TICK_NS : wait;
}

void lg_rlimit_cpu_wake_locked(struct lg_task *t)
{
	struct lg *lg = t->lg;
	struct lg_proc *p = t->proc;
	/* The timer planned for the tasks running then: with this one
	 * running too, its process (or the VM, against the monitor's own
	 * limit) may reach a threshold sooner than planned. */
	uint64_t due = UINT64_MAX, now = cell_now_ns();
	if (p->cpu_next_ns != UINT64_MAX) {
		uint64_t used = lg_proc_cpu_ns_locked(p);
		uint64_t left = p->cpu_next_ns > used ? p->cpu_next_ns - used : 0;
		due = now + wall_for(lg, left, running(p));
	}
	if (lg->host_cpu_ns) {
		uint64_t d = now + host_wall(lg, host_cpu_left(lg));
		due = d < due ? d : due;
	}
	if (due != UINT64_MAX && (!lg->timer_next_ns || lg->timer_next_ns > due))
		pthread_cond_broadcast(&lg->cond);
}

/* ---- the system calls ------------------------------------------------------- */

static long rlimit(struct lg_task *t, int pid, unsigned res, const uint64_t *newv, uint64_t *oldv)
{
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	if (newv && newv[0] > newv[1])
		return -EINVAL;
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	struct lg_proc *p = pid ? lg_proc_find(lg, pid) : t->proc;
	long r = 0;
	if (!p || p->state != LG_PROC_ALIVE) {
		r = -ESRCH;
	} else if (p->uid != t->proc->uid && t->proc->uid != 0) {
		r = -EPERM; /* Linux: the same uids, or CAP_SYS_RESOURCE */
	} else {
		uint64_t *cur = p->rlim[res];
		if (oldv) {
			oldv[0] = cur[0];
			oldv[1] = cur[1];
		}
		if (newv && newv[1] > cur[1] && t->proc->uid != 0)
			r = -EPERM;
		else if (newv && res == RLIMIT_NOFILE && newv[1] > LG_NOFILE_MAX)
			r = -EPERM;
		else if (newv) {
			__atomic_store_n(&cur[0], newv[0], __ATOMIC_RELAXED);
			__atomic_store_n(&cur[1], newv[1], __ATOMIC_RELAXED);
		}
	}
	/* A CPU limit: the timer checks it now (Linux's update_rlimit_cpu). */
	bool cpu = r == 0 && newv && res == RLIMIT_CPU && newv[0] != RLIM_INFINITY;
	if (cpu) {
		__atomic_store_n(&lg->cpu_watch, true, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&lg->cond);
	}
	pthread_mutex_unlock(&lg->lock);
	return cpu ? lg_timer_start(lg) : r;
}

LG_SYS(getrlimit)
{
	uint64_t v[2];
	long r = rlimit(t, 0, (unsigned)a[0], NULL, v);
	if (r == 0 && lg_copy_to(t->mm, a[1], v, sizeof(v)) < 0)
		r = -EFAULT;
	return r;
}

LG_SYS(setrlimit)
{
	uint64_t v[2];
	if (lg_copy_from(t->mm, v, a[1], sizeof(v)) < 0)
		return -EFAULT;
	return rlimit(t, 0, (unsigned)a[0], v, NULL);
}

LG_SYS(prlimit64)
{
	int pid = (int)a[0];
	if (pid < 0)
		return -EINVAL;
	uint64_t nv[2], ov[2];
	if (a[2] && lg_copy_from(t->mm, nv, a[2], sizeof(nv)) < 0)
		return -EFAULT;
	long r = rlimit(t, pid, (unsigned)a[1], a[2] ? nv : NULL, ov);
	if (r == 0 && a[3] && lg_copy_to(t->mm, a[3], ov, sizeof(ov)) < 0)
		r = -EFAULT;
	return r;
}
