/* Out of guest memory.  Mappings are overcommitted as on Linux (a lazy
 * mapping takes frames on first touch), so a touch can find no frame left.
 * Then, as Linux's OOM killer, the process holding the most memory is
 * killed with SIGKILL, one at a time: while a victim is dying, faulting
 * tasks wait for the frames it gives back.  The VM counts the kills
 * (stats, result.json) and the victim's report names the cause. */
#include "vm/guest/lg.h"

#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "base/log.h"

#define OOM_WAIT_NS 1000000 /* between retries while a victim dies */

/* A process's own RSS: the present pages of its address space. */
static uint64_t rss_pages(const struct lg_proc *p)
{
	const struct lg_task *t = p->threads;
	return t && t->mm ? __atomic_load_n(&t->mm->pages, __ATOMIC_RELAXED) : 0;
}

/* A victim still dying (or a process exiting anyway), or the process to
 * kill (NULL: none left). */
static struct lg_proc *pick_locked(struct lg *lg, bool *ret_dying)
{
	struct lg_proc *best = NULL;
	uint64_t most = 0;
	*ret_dying = false;
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (!p || p->pid != pid || p->state != LG_PROC_ALIVE || !p->threads)
			continue;
		if (p->oom_killed || p->exiting) { /* it gives its frames back soon */
			*ret_dying = true;
			return p;
		}
		uint64_t n = rss_pages(p);
		if (!best || n > most) {
			best = p;
			most = n;
		}
	}
	return best;
}

static void kill_locked(struct lg *lg, struct lg_proc *p)
{
	uint64_t kib = rss_pages(p) * 4;
	p->oom_killed = true;
	snprintf(p->fault, sizeof(p->fault),
		 "out of guest memory: killed pid %d (%s), RSS %llu KiB; raise --memory", p->pid,
		 p->comm, (unsigned long long)kib);
	p->fault_sig = SIGKILL;
	lg->stats.oom_kills++;
	lg->result.oom_kills++;
	/* The first program's death reports it as the VM's result; another
	 * process's is only said here. */
	if (p != lg->init)
		cell_warn("light guest: %s", p->fault);
	struct lg_siginfo si = { .signo = SIGKILL, .code = 0x80 /* SI_KERNEL */ };
	lg_signal_proc_locked(p, &si);
}

bool lg_oom(struct lg *lg, struct lg_mm *mm)
{
	pthread_mutex_lock(&lg->lock);
	bool dying;
	struct lg_proc *v = pick_locked(lg, &dying);
	if (v && !dying)
		kill_locked(lg, v);
	/* The caller's own process is the victim (or there is nothing left to
	 * kill): its access fails and the pending SIGKILL ends it. */
	bool retry = v && v->threads && v->threads->mm != mm;
	pthread_mutex_unlock(&lg->lock);
	return retry;
}

bool lg_oom_task(struct lg_task *t)
{
	if (!lg_oom(t->lg, t->mm))
		return false;
	lg_task_sleep(t, NULL, 0, OOM_WAIT_NS);
	return true;
}
