/* Tasks and processes of the light guest: pids, the process tree, exit,
 * zombies, and the one way a task waits (lg_task_sleep). */
#include "vm/guest/lg.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"

struct lg_task *lg_task_alloc(struct lg *lg)
{
	struct lg_task *t = xcalloc(1, sizeof(*t));
	t->lg = lg;
	return t;
}

static int grow_pids(struct lg *lg)
{
	int n = lg->maxpid ? lg->maxpid * 2 : 64;
	if (n > 32768)
		n = 32768;
	if (n <= lg->maxpid)
		return -EAGAIN;
	lg->procs = xrealloc(lg->procs, (size_t)n * sizeof(*lg->procs));
	memset(lg->procs + lg->maxpid, 0, (size_t)(n - lg->maxpid) * sizeof(*lg->procs));
	lg->maxpid = n;
	return 0;
}

/* lg->lock held.  pids count up from 1 and wrap, skipping live ones; the
 * slot maps to p (a thread id maps to its process). */
int lg_pid_alloc(struct lg *lg, struct lg_proc *p)
{
	if (lg->nprocs + 1 >= lg->maxpid && grow_pids(lg) < 0)
		return -EAGAIN;
	for (int i = 0; i < lg->maxpid; i++) {
		int pid = lg->next_pid;
		lg->next_pid = pid + 1 >= lg->maxpid ? 2 : pid + 1;
		if (pid > 0 && !lg->procs[pid]) {
			lg->procs[pid] = p;
			lg->nprocs++;
			return pid;
		}
	}
	return -EAGAIN;
}

struct lg_proc *lg_proc_find(struct lg *lg, int pid)
{
	if (pid <= 0 || pid >= lg->maxpid)
		return NULL;
	return lg->procs[pid];
}

void lg_task_kick(struct lg_task *t)
{
	if (t->worker)
		vcpu_kick(t->worker->vcpu);
}

static void kick_proc(struct lg_proc *p)
{
	for (struct lg_task *t = p->threads; t; t = t->next_thread)
		lg_task_kick(t);
}

/* Marked idle meanwhile when CPU limits are watched: the RLIMIT_CPU timer
 * plans only for tasks that may be using CPU, and is told when one that
 * slept runs again (rlimit.c). */
static void set_idle(struct lg_task *t, bool idle)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	t->cpu_idle = idle;
	if (!idle)
		lg_rlimit_cpu_wake_locked(t);
	pthread_mutex_unlock(&lg->lock);
}

int lg_task_sleep(struct lg_task *t, struct pollfd *fds, unsigned n, int64_t timeout_ns)
{
	bool watch = __atomic_load_n(&t->lg->cpu_watch, __ATOMIC_RELAXED);
	if (watch)
		set_idle(t, true);
	int r = vcpu_wait_fds(fds, n, timeout_ns);
	if (watch)
		set_idle(t, false);
	return r;
}

/* ---- signals: queueing ----------------------------------------------------- */

static lg_sigset_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

static bool ignored(struct lg_proc *p, int sig)
{
	uint64_t h = p->sighand->action[sig - 1].handler;
	if (h == (uint64_t)(uintptr_t)SIG_IGN)
		return sig != SIGKILL && sig != SIGSTOP;
	if (h == (uint64_t)(uintptr_t)SIG_DFL)
		return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
	return false;
}

static void make_fatal(struct lg_proc *p, int sig)
{
	if (p->exiting)
		return;
	p->exiting = true;
	p->exit_code = sig; /* a wait status: killed by sig */
	kick_proc(p);
}

void lg_signal_task_locked(struct lg_task *t, const struct lg_siginfo *info)
{
	int sig = info->signo;
	if (sig < 1 || sig > LG_NSIG)
		return;
	if (sig == SIGKILL) {
		make_fatal(t->proc, SIGKILL);
		return;
	}
	if (ignored(t->proc, sig) && !(t->blocked & bit(sig)))
		return;
	if (!(t->pending.set & bit(sig))) {
		t->pending.set |= bit(sig);
		t->pending.info[sig - 1] = *info;
	}
	lg_task_kick(t);
}

void lg_signal_proc_locked(struct lg_proc *p, const struct lg_siginfo *info)
{
	int sig = info->signo;
	if (sig < 1 || sig > LG_NSIG || p->state != LG_PROC_ALIVE)
		return;
	if (sig == SIGKILL) {
		make_fatal(p, SIGKILL);
		return;
	}
	if (ignored(p, sig))
		return;
	if (!(p->shared_pending.set & bit(sig))) {
		p->shared_pending.set |= bit(sig);
		p->shared_pending.info[sig - 1] = *info;
	}
	/* A thread that does not block it takes it; kick that one.  If all
	 * block it, kick all: one may be in sigtimedwait. */
	for (struct lg_task *t = p->threads; t; t = t->next_thread)
		if (!(t->blocked & bit(sig))) {
			lg_task_kick(t);
			return;
		}
	kick_proc(p);
}

bool lg_signal_pending(struct lg_task *t)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	bool r = t->proc->exiting || t->exit_requested ||
		 ((t->pending.set | t->proc->shared_pending.set) & ~t->blocked);
	pthread_mutex_unlock(&lg->lock);
	return r;
}

void lg_kill_all_locked(struct lg *lg, int sig)
{
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (p && p->state == LG_PROC_ALIVE)
			make_fatal(p, sig);
	}
}

/* ---- exit ------------------------------------------------------------------ */

static void unlink_thread(struct lg_task *t)
{
	struct lg_proc *p = t->proc;
	for (struct lg_task **pp = &p->threads; *pp; pp = &(*pp)->next_thread)
		if (*pp == t) {
			*pp = t->next_thread;
			break;
		}
	p->nthreads--;
}

static void reparent_children(struct lg *lg, struct lg_proc *p)
{
	struct lg_proc *init = lg->init;
	while (p->children) {
		struct lg_proc *c = p->children;
		p->children = c->sibling;
		if (init && init != p && init->state == LG_PROC_ALIVE) {
			c->parent = init;
			c->sibling = init->children;
			init->children = c;
		} else {
			c->parent = NULL;
			if (c->state == LG_PROC_ZOMBIE) { /* nobody will reap it */
				lg->procs[c->pid] = NULL;
				lg->nprocs--;
				free(c->exe);
				free(c);
			}
		}
	}
	if (init && init != p)
		kick_proc(init);
}

void lg_proc_free_locked(struct lg *lg, struct lg_proc *p)
{
	struct lg_proc *par = p->parent;
	if (par)
		for (struct lg_proc **pp = &par->children; *pp; pp = &(*pp)->sibling)
			if (*pp == p) {
				*pp = p->sibling;
				break;
			}
	if (lg->procs[p->pid] == p) {
		lg->procs[p->pid] = NULL;
		lg->nprocs--;
	}
	free(p->exe);
	free(p);
}

/* The last thread is gone: the process becomes a zombie for its parent. */
static void proc_died(struct lg *lg, struct lg_proc *p, int status)
{
	p->state = LG_PROC_ZOMBIE;
	p->wait_status = status;
	struct lg_sighand *sh = p->sighand;
	p->sighand = NULL;
	reparent_children(lg, p);
	struct lg_proc *par = p->parent;
	if (p == lg->init) {
		lg->result.exited = WIFEXITED(status);
		lg->result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
		lg->result.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		lg->result.core = WIFSIGNALED(status) && WCOREDUMP(status);
		if (WIFSIGNALED(status) && p->fault[0] && p->fault_sig == WTERMSIG(status))
			snprintf(lg->result.report, sizeof(lg->result.report), "%s", p->fault);
		lg->done = true;
		lg_kill_all_locked(lg, SIGKILL);
	} else if (par) {
		const struct lg_sigaction *a = &par->sighand->action[SIGCHLD - 1];
		if (p->exit_signal == SIGCHLD && (a->handler == (uint64_t)(uintptr_t)SIG_IGN ||
						  (a->flags & SA_NOCLDWAIT))) {
			lg_proc_free_locked(lg, p); /* auto-reaped */
		} else {
			struct lg_siginfo si = {
				.signo = p->exit_signal, .pid = p->pid, .uid = lg->cfg.uid,
				.code = WIFEXITED(status) ? CLD_EXITED
					: (WCOREDUMP(status) ? CLD_DUMPED : CLD_KILLED),
				.status = WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			};
			if (si.signo > 0)
				lg_signal_proc_locked(par, &si);
		}
		if (par->state == LG_PROC_ALIVE)
			kick_proc(par); /* wait4 sleepers */
	}
	if (sh && --sh->refs == 0)
		free(sh);
}

void lg_task_exit(struct lg_task *t)
{
	struct lg *lg = t->lg;
	struct lg_proc *p = t->proc;
	pthread_mutex_lock(&lg->lock);
	if (t->vfork_parent) {
		t->vfork_parent->proc->vfork_done = true;
		lg_task_kick(t->vfork_parent);
		t->vfork_parent = NULL;
	}
	unlink_thread(t);
	if (t->tid != p->pid && lg->procs[t->tid] == p) {
		lg->procs[t->tid] = NULL; /* a thread's id */
		lg->nprocs--;
	}
	if (p->nthreads == 0) {
		int status = p->exiting ? p->exit_code : ((t->exit_code & 0xff) << 8);
		proc_died(lg, p, status);
	}
	t->exited = true;
	pthread_mutex_unlock(&lg->lock);
}

void lg_task_free(struct lg_task *t)
{
	if (!t)
		return;
	lg_mm_put(t->mm);
	lg_files_put(t->files);
	if (t->fs && __atomic_sub_fetch(&t->fs->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(t->fs->cwd);
		free(t->fs);
	}
	free(t->fpu);
	free(t);
}
