/* The alarm clock: one thread per VM, started by the first alarm(), that
 * sleeps until the earliest ITIMER_REAL deadline and sends SIGALRM. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "base/util.h"

static void *timer_main(void *arg)
{
	struct lg *lg = arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&lg->lock);
	while (!lg->done) {
		uint64_t now = cell_now_ns(), next = 0;
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
		/* lg->cond uses CLOCK_MONOTONIC (lg.c sets it up). */
		struct timespec ts;
		uint64_t until = next ? next : now + 3600ULL * 1000000000;
		ts.tv_sec = (time_t)(until / 1000000000);
		ts.tv_nsec = (long)(until % 1000000000);
		pthread_cond_timedwait(&lg->cond, &lg->lock, &ts);
	}
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
