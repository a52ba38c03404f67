/* The VM's clock thread, started by the first alarm() or CPU limit: it
 * sleeps until the earliest ITIMER_REAL deadline and sends SIGALRM, and
 * checks RLIMIT_CPU (rlimit.c) no later than a running process could
 * reach its next threshold.  A signal it sends kicks the task out of
 * KVM_RUN, so a program spinning without a syscall gets it too. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* SIGALRM for the due alarms; the next deadline (0: none).  lg->lock held. */
static uint64_t alarms_locked(struct lg *lg, uint64_t now)
{
	uint64_t next = 0;
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (!p || p->pid != pid || !p->alarm_ns || p->state != LG_PROC_ALIVE)
			continue;
		if (p->alarm_ns <= now) {
			struct lg_siginfo si = { .signo = SIGALRM, .code = 0x80 };
			lg_signal_proc_locked(p, &si);
			p->alarm_ns = p->alarm_interval_ns ? now + p->alarm_interval_ns : 0;
		}
		if (p->alarm_ns && (!next || p->alarm_ns < next))
			next = p->alarm_ns;
	}
	return next;
}

static void *timer_main(void *arg)
{
	struct lg *lg = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Started by the first alarm or CPU limit, on the vCPU thread serving
	 * that call: this thread was born in its cgroup, under the guest's
	 * CPU quota.  It is the monitor's. */
	if (lg->cfg_hooks.helper_thread)
		lg->cfg_hooks.helper_thread(lg->cfg_hooks.ctx, (pid_t)syscall(SYS_gettid));
	prctl(PR_SET_NAME, "lg-timer");
	pthread_mutex_lock(&lg->lock);
	while (!lg->done && lg->timer_running) {
		uint64_t now = cell_now_ns(), next = alarms_locked(lg, now);
		if (lg->cpu_watch) {
			uint64_t cpu = lg_rlimit_cpu_check_locked(lg);
			if (cpu && (!next || now + cpu < next))
				next = now + cpu;
		}
		lg->timer_next_ns = next;
		/* lg->cond uses CLOCK_MONOTONIC (lg.c sets it up). */
		struct timespec ts;
		uint64_t until = next ? next : now + 3600ULL * 1000000000;
		ts.tv_sec = (time_t)(until / 1000000000);
		ts.tv_nsec = (long)(until % 1000000000);
		pthread_cond_timedwait(&lg->cond, &lg->lock, &ts);
	}
	lg->timer_next_ns = 0;
	pthread_mutex_unlock(&lg->lock);
	return NULL;
}

long lg_timer_start(struct lg *lg)
{
	pthread_mutex_lock(&lg->lock);
	long r = 0;
	if (!lg->timer_running && !lg->done) {
		if (pthread_create(&lg->timer, NULL, timer_main, lg) == 0)
			lg->timer_running = true;
		else
			r = -EAGAIN;
	}
	pthread_mutex_unlock(&lg->lock);
	return r;
}

void lg_timer_stop(struct lg *lg)
{
	pthread_mutex_lock(&lg->lock);
	bool running = lg->timer_running;
	lg->timer_running = false;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
	if (running)
		pthread_join(lg->timer, NULL);
}
