/* Time, identity, uname, randomness and other small calls (limits: rlimit.c). */
#include "vm/guest/sys.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/arch/x86/layout.h"

#define CLK_TCK 100

LG_SYS(uname)
{
	(void)a;
	struct utsname host, u;
	uname(&host);
	memset(&u, 0, sizeof(u));
	snprintf(u.sysname, sizeof(u.sysname), "Linux");
	snprintf(u.nodename, sizeof(u.nodename), "%s", t->lg->cfg.hostname ? t->lg->cfg.hostname : "cell");
	snprintf(u.release, sizeof(u.release), "%s", host.release);
	snprintf(u.version, sizeof(u.version), "%s", host.version);
	snprintf(u.machine, sizeof(u.machine), "x86_64");
	snprintf(u.domainname, sizeof(u.domainname), "(none)");
	return lg_copy_to(t->mm, a[0], &u, sizeof(u)) < 0 ? -EFAULT : 0;
}

LG_SYS(umask)
{
	pthread_mutex_lock(&t->lg->lock);
	uint32_t old = t->fs->umask;
	t->fs->umask = (uint32_t)a[0] & 0777;
	pthread_mutex_unlock(&t->lg->lock);
	return old;
}

/* The calling thread's CPU time, or its process's (exited threads too). */
static uint64_t cpu_ns(struct lg_task *t, bool process)
{
	pthread_mutex_lock(&t->lg->lock);
	uint64_t ns = process ? lg_proc_cpu_ns_locked(t->proc) : lg_task_cpu_ns_locked(t);
	pthread_mutex_unlock(&t->lg->lock);
	return ns;
}

static long get_clock(struct lg_task *t, clockid_t clk, struct timespec *ts)
{
	if (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID) {
		uint64_t ns = cpu_ns(t, clk == CLOCK_PROCESS_CPUTIME_ID);
		ts->tv_sec = (time_t)(ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
		return 0;
	}
	if (clk < 0 || clk > CLOCK_TAI)
		return -EINVAL;
	return clock_gettime(clk, ts) < 0 ? -errno : 0;
}

LG_SYS(clock_gettime)
{
	struct timespec ts;
	long r = get_clock(t, (clockid_t)a[0], &ts);
	if (r == 0 && lg_copy_to(t->mm, a[1], &ts, sizeof(ts)) < 0)
		r = -EFAULT;
	return r;
}

LG_SYS(clock_getres)
{
	struct timespec ts = { 0, 1 };
	if ((clockid_t)a[0] < 0 || (clockid_t)a[0] > CLOCK_TAI)
		return -EINVAL;
	if (a[1] && lg_copy_to(t->mm, a[1], &ts, sizeof(ts)) < 0)
		return -EFAULT;
	return 0;
}

LG_SYS(gettimeofday)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	if (a[0] && lg_copy_to(t->mm, a[0], &tv, sizeof(tv)) < 0)
		return -EFAULT;
	if (a[1]) {
		struct timezone tz = { 0, 0 };
		if (lg_copy_to(t->mm, a[1], &tz, sizeof(tz)) < 0)
			return -EFAULT;
	}
	return 0;
}

LG_SYS(time)
{
	time_t now = time(NULL);
	if (a[0] && lg_copy_to(t->mm, a[0], &now, sizeof(now)) < 0)
		return -EFAULT;
	return now;
}

/* Sleep until deadline on clock clk; -ERESTARTNOHAND when a signal comes. */
static long sleep_until(struct lg_task *t, clockid_t clk, int64_t deadline, int64_t *left)
{
	for (;;) {
		struct timespec now;
		clock_gettime(clk, &now);
		int64_t d = deadline - (now.tv_sec * 1000000000 + now.tv_nsec);
		*left = d > 0 ? d : 0;
		if (d <= 0)
			return 0;
		lg_task_sleep(t, NULL, 0, d);
		if (lg_signal_pending(t))
			return -LG_ERESTARTNOHAND;
	}
}

static long do_sleep(struct lg_task *t, clockid_t clk, bool abs, uint64_t ureq, uint64_t urem)
{
	struct timespec req, now;
	if (lg_copy_from(t->mm, &req, ureq, sizeof(req)) < 0)
		return -EFAULT;
	if (req.tv_sec < 0 || req.tv_nsec < 0 || req.tv_nsec >= 1000000000)
		return -EINVAL;
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
	    clk != CLOCK_TAI)
		return -EINVAL;
	int64_t ns = req.tv_sec > INT64_MAX / 2000000000 ? INT64_MAX / 2
			: req.tv_sec * 1000000000 + req.tv_nsec;
	clock_gettime(clk, &now);
	int64_t deadline = abs ? ns : now.tv_sec * 1000000000 + now.tv_nsec + ns;
	int64_t left;
	long r = sleep_until(t, clk, deadline, &left);
	if (r < 0 && !abs && urem) {
		struct timespec rem = { left / 1000000000, left % 1000000000 };
		if (lg_copy_to(t->mm, urem, &rem, sizeof(rem)) < 0)
			return -EFAULT;
	}
	return r;
}

LG_SYS(nanosleep) { return do_sleep(t, CLOCK_MONOTONIC, false, a[0], a[1]); }
LG_SYS(clock_nanosleep)
{
	return do_sleep(t, (clockid_t)a[0], a[1] & TIMER_ABSTIME, a[2], a[3]);
}

LG_SYS(getrusage)
{
	int who = (int)a[0];
	struct rusage ru = { 0 };
	uint64_t ns;
	if (who == RUSAGE_SELF || who == RUSAGE_THREAD)
		ns = cpu_ns(t, who == RUSAGE_SELF);
	else if (who == RUSAGE_CHILDREN)
		ns = t->proc->cutime_ns + t->proc->cstime_ns;
	else
		return -EINVAL;
	ru.ru_utime.tv_sec = (time_t)(ns / 1000000000);
	ru.ru_utime.tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
	ru.ru_maxrss = (long)(t->mm->pages * 4);
	return lg_copy_to(t->mm, a[1], &ru, sizeof(ru)) < 0 ? -EFAULT : 0;
}

LG_SYS(sysinfo)
{
	struct lg *lg = t->lg;
	struct sysinfo si = { 0 };
	pthread_mutex_lock(&lg->lock);
	si.uptime = (long)((cell_now_ns() - lg->start_ns) / 1000000000);
	si.totalram = lg->kvm->ram_size;
	si.freeram = lg->frames.nfree * X86_PAGE_SIZE;
	si.procs = (unsigned short)lg->nprocs;
	pthread_mutex_unlock(&lg->lock);
	si.mem_unit = 1;
	return lg_copy_to(t->mm, a[0], &si, sizeof(si)) < 0 ? -EFAULT : 0;
}

LG_SYS(times)
{
	uint64_t ns = cpu_ns(t, true);
	struct tms tm = {
		.tms_utime = (clock_t)(ns / (1000000000 / CLK_TCK)),
		.tms_cutime = (clock_t)(t->proc->cutime_ns / (1000000000 / CLK_TCK)),
	};
	if (a[0] && lg_copy_to(t->mm, a[0], &tm, sizeof(tm)) < 0)
		return -EFAULT;
	return (long)((cell_now_ns() - t->lg->start_ns) / (1000000000 / CLK_TCK));
}

/* ---- identity: one uid and gid per process, changed only by "root" ------- */

LG_SYS(getuid) { (void)a; return t->proc->uid; }
LG_SYS(geteuid) { (void)a; return t->proc->uid; }
LG_SYS(getgid) { (void)a; return t->proc->gid; }
LG_SYS(getegid) { (void)a; return t->proc->gid; }

static long set_id(struct lg_task *t, uint32_t *field, uint64_t want)
{
	if ((uint32_t)want == (uint32_t)-1 || (uint32_t)want == *field)
		return 0;
	if (t->proc->uid != 0)
		return -EPERM;
	*field = (uint32_t)want;
	return 0;
}

LG_SYS(setuid) { return set_id(t, &t->proc->uid, a[0]); }
LG_SYS(setgid) { return set_id(t, &t->proc->gid, a[0]); }
LG_SYS(setreuid) { return set_id(t, &t->proc->uid, a[1] != (uint32_t)-1 ? a[1] : a[0]); }
LG_SYS(setregid) { return set_id(t, &t->proc->gid, a[1] != (uint32_t)-1 ? a[1] : a[0]); }
LG_SYS(setresuid) { return set_id(t, &t->proc->uid, a[1] != (uint32_t)-1 ? a[1] : a[0]); }
LG_SYS(setresgid) { return set_id(t, &t->proc->gid, a[1] != (uint32_t)-1 ? a[1] : a[0]); }

static long put_three(struct lg_task *t, const uint64_t *a, uint32_t v)
{
	for (int i = 0; i < 3; i++)
		if (lg_copy_to(t->mm, a[i], &v, sizeof(v)) < 0)
			return -EFAULT;
	return 0;
}

LG_SYS(getresuid) { return put_three(t, a, t->proc->uid); }
LG_SYS(getresgid) { return put_three(t, a, t->proc->gid); }

LG_SYS(getgroups)
{
	(void)t;
	return (int)a[0] < 0 ? -EINVAL : 0; /* no supplementary groups */
}

LG_SYS(setgroups) { (void)a; return t->proc->uid == 0 ? 0 : -EPERM; }

LG_SYS(getrandom)
{
	size_t len = a[1] > (32u << 20) ? (32u << 20) : a[1];
	_cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
	ssize_t n = getrandom(buf, len, (unsigned)a[2] & (GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE));
	if (n < 0)
		return -errno;
	return lg_copy_to(t->mm, a[0], buf, (size_t)n) < 0 ? -EFAULT : n;
}

LG_SYS(sched_getaffinity)
{
	if (a[1] < 8 || (a[1] & 7))
		return -EINVAL;
	unsigned n = t->lg->cfg.vcpus ? t->lg->cfg.vcpus : 1;
	uint64_t mask = n >= 64 ? ~0ULL : (1ULL << n) - 1;
	return lg_copy_to(t->mm, a[2], &mask, sizeof(mask)) < 0 ? -EFAULT : 8;
}

LG_SYS(getcpu)
{
	unsigned zero = 0;
	if (a[0] && lg_copy_to(t->mm, a[0], &zero, sizeof(zero)) < 0)
		return -EFAULT;
	if (a[1] && lg_copy_to(t->mm, a[1], &zero, sizeof(zero)) < 0)
		return -EFAULT;
	return 0;
}

LG_SYS(sethostname) { (void)t; (void)a; return -EPERM; }
LG_SYS(syslog) { (void)t; (void)a; return -EPERM; }
LG_SYS(socket) { (void)t; (void)a; return -EAFNOSUPPORT; /* no network in the light guest */ }
LG_SYS(getpriority) { (void)t; (void)a; return 20; /* nice 0, as the raw syscall reports it */ }
LG_SYS(setpriority) { (void)t; (void)a; return 0; }
