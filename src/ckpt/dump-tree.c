/* Stopping the tree: every thread of every process is seized and
 * interrupted, parents before children, re-reading thread lists until they
 * stop changing (a thread may be created while we seize its siblings). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

static bool have_tid(const struct ck_dtask *t, pid_t tid)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].thr.tid == tid)
			return true;
	return false;
}

/* PTRACE_SEIZE of a task that has begun to exit (a shell's child ending
 * between the look at its state and the seize) fails with EPERM, not
 * ESRCH (kernel/ptrace.c, ptrace_attach: exit_state set): passing. */
static bool exiting(struct ck_dump *d, pid_t pid, pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/task/%d", pid, tid);
	struct ck_pstatus st;
	struct cell_err *e = NULL;
	if (ck_proc_status(d->procfd, path, &st, &e) < 0) {
		cell_err_free(e);
		return true;
	}
	ck_pstatus_free(&st);
	return st.state == 'Z' || st.state == 'X';
}

/* Seize threads of t not yet held; *ret_new counts them. */
static int seize_new_threads(struct ck_dump *d, struct ck_dtask *t, size_t *ret_new,
			     struct cell_err **err)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n;
	int r = ck_proc_threads(d->procfd, t->pid, &tids, &n, err);
	if (r < 0)
		return r;
	*ret_new = 0;
	for (size_t i = 0; i < n; i++) {
		if (have_tid(t, tids[i]))
			continue;
		struct ck_thr thr = { .tid = tids[i] };
		r = ck_thr_seize(&thr, 0, err);
		if (r == -ESRCH) /* it exited meanwhile */
			continue;
		if (r == -EPERM && exiting(d, t->pid, thr.tid)) {
			cell_err_wrap(err, "process %d exited while being stopped", t->pid);
			return -EAGAIN;
		}
		if (r < 0)
			return r;
		t->threads = xrealloc(t->threads, (t->nthreads + 1) * sizeof(*t->threads));
		t->threads[t->nthreads++] = (struct ck_dthread){ .thr = thr };
		bool group_stop = false;
		r = ck_thr_interrupt_wait(&t->threads[t->nthreads - 1].thr, &group_stop, err);
		/* Exiting as we stop it (a shell's child at its end): passing. */
		if (r == -ESRCH) {
			cell_err_wrap(err, "process %d exited while being stopped", t->pid);
			return -EAGAIN;
		}
		if (r < 0)
			return r;
		t->stopped |= group_stop;
		(*ret_new)++;
	}
	return 0;
}

static int check_task(struct ck_dump *d, struct ck_dtask *t, int depth, struct cell_err **err)
{
	char path[32];
	snprintf(path, sizeof(path), "%d", t->pid);
	struct ck_pstatus st;
	int r = ck_proc_status(d->procfd, path, &st, err);
	if (r < 0)
		return r;
	ck_pstatus_free(&st);
	/* EAGAIN: usually its parent is about to reap it (ckpt.h). */
	if (st.state == 'Z' || st.state == 'X')
		return cell_err(err, EAGAIN, "process %d is a zombie: not supported", t->pid);
	if (st.tracer && st.tracer != getpid())
		return cell_err(err, EBUSY, "process %d is traced by %d", t->pid, st.tracer);
	if (depth >= 0 && st.ns_depth != depth)
		return cell_err(err, EOPNOTSUPP, "process %d is in a nested PID namespace", t->pid);
	t->vpid = (uint32_t)st.ns_pid;
	return 0;
}

static int seize_task(struct ck_dump *d, struct ck_dtask *t, int depth, struct cell_err **err)
{
	int r = check_task(d, t, depth, err);
	if (r < 0)
		return r;
	size_t fresh;
	do {
		r = seize_new_threads(d, t, &fresh, err);
		if (r < 0)
			return r;
	} while (fresh > 0);
	/* Thread ids in the tree's namespace, now that none can come or go. */
	for (size_t i = 0; i < t->nthreads; i++) {
		char path[64];
		snprintf(path, sizeof(path), "%d/task/%d", t->pid, t->threads[i].thr.tid);
		struct ck_pstatus st;
		r = ck_proc_status(d->procfd, path, &st, err);
		if (r < 0)
			return r;
		ck_pstatus_free(&st);
		t->threads[i].vtid = (uint32_t)st.ns_pid;
		/* Before any injection changes them. */
		struct user_regs_struct regs;
		r = ck_thr_get_regs(&t->threads[i].thr, &regs, err);
		if (r < 0)
			return r;
		t->threads[i].regs = t->threads[i].fixed = regs;
	}
	t->pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (t->pidfd < 0)
		return cell_err_sys(err, "pidfd_open %d", t->pid);
	if (t->stopped)
		return cell_err(err, EOPNOTSUPP, "process %d is stopped by job control: not supported",
				t->pid);
	return 0;
}

static struct ck_dtask *add_task(struct ck_dump *d, pid_t pid, size_t parent)
{
	d->tasks = xrealloc(d->tasks, (d->ntasks + 1) * sizeof(*d->tasks));
	struct ck_dtask *t = &d->tasks[d->ntasks++];
	*t = (struct ck_dtask){ .pid = pid, .parent = parent, .pidfd = -1, .tracker_fd = -1,
				.uffd = -1 };
	return t;
}

int ck_dump_tree(struct ck_dump *d, struct cell_err **err)
{
	char path[32];
	snprintf(path, sizeof(path), "%d", d->o->root_pid);
	struct ck_pstatus st;
	int r = ck_proc_status(d->procfd, path, &st, err);
	if (r < 0)
		return cell_err_wrap(err, "process %d", d->o->root_pid);
	ck_pstatus_free(&st);
	if (st.ns_pid != 1)
		return cell_err(err, EINVAL, "process %d is not pid 1 of its PID namespace (it is %d)",
				d->o->root_pid, st.ns_pid);
	int depth = st.ns_depth;
	add_task(d, d->o->root_pid, (size_t)-1);
	/* Breadth first: a task is stopped before its children are listed,
	 * so it cannot fork behind our back. */
	for (size_t i = 0; i < d->ntasks; i++) {
		r = seize_task(d, &d->tasks[i], depth, err);
		if (r < 0)
			return r;
		_cleanup_free_ pid_t *kids = NULL;
		size_t nk;
		r = ck_proc_children(d->procfd, d->tasks[i].pid, &kids, &nk, err);
		if (r < 0)
			return r;
		if (d->ntasks + nk > CK_MAX_TASKS)
			return cell_err(err, E2BIG, "more than %d processes", CK_MAX_TASKS);
		for (size_t k = 0; k < nk; k++)
			add_task(d, kids[k], i);
	}
	for (size_t i = 0; i < d->ntasks; i++)
		d->stats->threads += (uint32_t)d->tasks[i].nthreads;
	d->stats->tasks = (uint32_t)d->ntasks;
	return 0;
}

/* Let the tree go: each thread back in an interrupt stop with its registers
 * as seized, so the kernel restarts an interrupted syscall itself; then
 * detach.  Or kill it. */
static void kill_tree(struct ck_dump *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->ntasks; i++)
		n += d->tasks[i].nthreads;
	_cleanup_free_ struct ck_thr **all = xcalloc(n ? n : 1, sizeof(*all));
	n = 0;
	/* Through pidfds, never by number: a task that died is reaped by its
	 * parent at once and its pid may already belong to someone else.
	 * pid 1 first: the kernel kills the rest of the namespace with it. */
	for (size_t i = 0; i < d->ntasks; i++) {
		if (d->tasks[i].pidfd >= 0)
			syscall(SYS_pidfd_send_signal, d->tasks[i].pidfd, SIGKILL, NULL, 0);
		for (size_t k = 0; k < d->tasks[i].nthreads; k++)
			all[n++] = &d->tasks[i].threads[k].thr;
	}
	/* The tree is gone for good from here: the kernel tearing down its
	 * memory (tens of ms per GiB) is not time it spends frozen. */
	d->killed_ns = cell_now_ns();
	ck_thr_wait_gone(all, n, 0);
}

int ck_dump_finish_tasks(struct ck_dump *d, bool kill_it, struct cell_err **err)
{
	int ret = 0;
	if (kill_it && d->ntasks > 0)
		kill_tree(d);
	for (size_t i = 0; i < d->ntasks; i++) {
		struct ck_dtask *t = &d->tasks[i];
		for (size_t k = 0; k < t->nthreads; k++) {
			struct ck_dthread *th = &t->threads[k];
			if (!th->thr.seized)
				continue;
			struct cell_err *e = NULL;
			if (ck_thr_park(&th->thr, &e) < 0 ||
			    ck_thr_set_regs(&th->thr, &th->regs, &e) < 0 ||
			    ck_thr_detach(&th->thr, &e) < 0) {
				if (!ret)
					ret = cell_err(err, -cell_err_code(e), "%s", e->msg);
			}
			cell_err_free(e);
		}
		if (t->pidfd >= 0)
			close(t->pidfd);
		t->pidfd = -1;
		if (t->uffd >= 0)
			close(t->uffd);
		t->uffd = -1;
	}
	return ret;
}
