/* The worker pool: host threads with their vCPUs, created on demand (up to
 * one per CPU area) and reused by later tasks. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "base/log.h"
#include "base/util.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"

#define WORKER_STACK (256u << 10)

uint64_t lg_task_cpu_ns_locked(const struct lg_task *t)
{
	clockid_t c;
	if (!t->cpu_on || pthread_getcpuclockid(t->worker->thread, &c) != 0)
		return 0;
	uint64_t now = cell_clock_ns(c);
	return now > t->cpu0 ? now - t->cpu0 : 0;
}

uint64_t lg_proc_cpu_ns_locked(const struct lg_proc *p)
{
	uint64_t ns = p->utime_ns;
	for (const struct lg_task *t = p->threads; t; t = t->next_thread)
		ns += lg_task_cpu_ns_locked(t);
	return ns;
}

/* CLONE_CHILD_CLEARTID: zero the tid word and wake one waiter (pthread_join). */
static void clear_child_tid(struct lg_task *t)
{
	if (!t->clear_child_tid || !t->mm)
		return;
	uint32_t zero = 0;
	if (lg_copy_to(t->mm, t->clear_child_tid, &zero, sizeof(zero)) == 0)
		lg_futex_wake(t->lg, t->mm, t->clear_child_tid, 1, ~0u);
}

static void *worker_main(void *arg)
{
	struct lg_worker *w = arg;
	struct lg *lg = w->lg;
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	_cleanup_err_ struct cell_err *err = NULL;
	if (vcpu_thread_init(w->vcpu, &err) < 0)
		lg_fatal(lg, -EIO, "%s", err->msg);
	if (lg->cfg_hooks.enter_thread)
		lg->cfg_hooks.enter_thread(lg->cfg_hooks.ctx, w->vcpu->tid);
	/* A name in /proc/PID/task/TID/comm (top -H, the tests) tells the
	 * vCPU threads from the monitor's others. */
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", w->slot);
	prctl(PR_SET_NAME, name);
	pthread_mutex_lock(&lg->lock);
	for (;;) {
		while (!w->task && !w->quit)
			pthread_cond_wait(&w->wake, &lg->lock);
		if (!w->task)
			break;
		struct lg_task *t = w->task;
		/* The worker served earlier tasks: this one's CPU time is
		 * what its clock says beyond this point. */
		t->cpu0 = cell_clock_ns(CLOCK_THREAD_CPUTIME_ID);
		t->cpu_on = true;
		if (lg->cpu_watch) /* the RLIMIT_CPU timer plans for it from now */
			pthread_cond_broadcast(&lg->cond);
		pthread_mutex_unlock(&lg->lock);
		if (!err)
			lg_worker_run_task(w, t);
		clear_child_tid(t);
		pthread_mutex_lock(&lg->lock);
		t->proc->utime_ns += cell_clock_ns(CLOCK_THREAD_CPUTIME_ID) - t->cpu0;
		t->cpu_on = false;
		/* As Linux's exit_mm() before exit_notify(): the frames are
		 * free by the time a parent's wait returns (the OOM killer's
		 * victim has given them back). */
		struct lg_mm *mm = t->mm;
		t->mm = NULL;
		pthread_mutex_unlock(&lg->lock);
		lg_mm_put(mm);
		lg_task_exit(t);
		lg_task_free(t);
		pthread_mutex_lock(&lg->lock);
		w->task = NULL;
		w->next_idle = lg->idle;
		lg->idle = w;
		lg->nrunning--;
		pthread_cond_broadcast(&lg->cond);
	}
	pthread_mutex_unlock(&lg->lock);
	return NULL;
}

static int worker_new(struct lg *lg, struct lg_worker **ret, struct cell_err **err)
{
	pthread_mutex_lock(&lg->lock);
	unsigned slot = lg->nworkers;
	if (slot >= LG_MAX_VCPUS) {
		pthread_mutex_unlock(&lg->lock);
		return cell_err(err, EAGAIN, "light guest: all %u vCPU slots in use",
				(unsigned)LG_MAX_VCPUS);
	}
	struct lg_worker *w = xcalloc(1, sizeof(*w));
	w->lg = lg;
	w->slot = slot;
	pthread_cond_init(&w->wake, NULL);
	lg->workers[lg->nworkers++] = w; /* reserved; vcpu filled in below */
	pthread_mutex_unlock(&lg->lock);

	lg_cpu_area_build(lg->kvm->ram, slot);
	int r = vcpu_create(lg->kvm, slot, &w->vcpu, err);
	if (r == 0) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, WORKER_STACK);
		if ((r = -pthread_create(&w->thread, &attr, worker_main, w)) < 0)
			cell_err(err, -r, "light guest: starting a vCPU thread");
		pthread_attr_destroy(&attr);
	}
	if (r < 0) {
		/* The slot stays reserved but unusable; the VM goes on. */
		w->quit = true;
		return r;
	}
	w->started = true;
	*ret = w;
	return 0;
}

int lg_worker_prestart(struct lg *lg, struct cell_err **err)
{
	struct lg_worker *w;
	int r = worker_new(lg, &w, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&lg->lock);
	w->next_idle = lg->idle;
	lg->idle = w;
	pthread_mutex_unlock(&lg->lock);
	return 0;
}

int lg_task_start(struct lg *lg, struct lg_task *t, struct cell_err **err)
{
	pthread_mutex_lock(&lg->lock);
	struct lg_worker *w = lg->idle;
	if (w)
		lg->idle = w->next_idle;
	pthread_mutex_unlock(&lg->lock);
	if (!w) {
		int r = worker_new(lg, &w, err);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&lg->lock);
	t->worker = w;
	w->task = t;
	w->first_syscall_seen = false;
	lg->nrunning++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&lg->lock);
	return 0;
}

void lg_workers_stop(struct lg *lg)
{
	pthread_mutex_lock(&lg->lock);
	for (unsigned i = 0; i < lg->nworkers; i++) {
		lg->workers[i]->quit = true;
		pthread_cond_signal(&lg->workers[i]->wake);
	}
	pthread_mutex_unlock(&lg->lock);
	for (unsigned i = 0; i < lg->nworkers; i++) {
		struct lg_worker *w = lg->workers[i];
		if (w->started)
			pthread_join(w->thread, NULL);
		vcpu_free(w->vcpu);
		pthread_cond_destroy(&w->wake);
		free(w);
	}
	lg->nworkers = 0;
	lg->idle = NULL;
}
