/* wait4/waitid, process groups and sessions, prctl, arch_prctl. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "base/util.h"
#include "vm/arch/x86/layout.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ARCH_GET_CPUID 0x1011

struct reaped {
	int pid;
	int status;
	uint64_t utime_ns, stime_ns;
};

static bool matches(const struct lg_proc *self, const struct lg_proc *c, int idtype, int id)
{
	switch (idtype) {
	case P_PID:
		return c->pid == id;
	case P_PGID:
		return c->pgid == (id ? id : self->pgid);
	default:
		return true;
	}
}

/* Find a dead child matching (idtype, id); reap it unless nowait.
 * 1 found, 0 only live ones, -ECHILD none. lg->lock held. */
static int find_zombie(struct lg_task *t, int idtype, int id, bool nowait, struct reaped *out)
{
	bool any = false;
	for (struct lg_proc *c = t->proc->children; c; c = c->sibling) {
		if (!matches(t->proc, c, idtype, id))
			continue;
		any = true;
		if (c->state != LG_PROC_ZOMBIE)
			continue;
		*out = (struct reaped){ c->pid, c->wait_status, c->utime_ns, c->stime_ns };
		if (!nowait) {
			t->proc->cutime_ns += c->utime_ns + c->cutime_ns;
			t->proc->cstime_ns += c->stime_ns + c->cstime_ns;
			lg_proc_free_locked(t->lg, c);
		}
		return 1;
	}
	return any ? 0 : -ECHILD;
}

static long do_wait(struct lg_task *t, int idtype, int id, int options, struct reaped *out)
{
	struct lg *lg = t->lg;
	for (;;) {
		pthread_mutex_lock(&lg->lock);
		int r = find_zombie(t, idtype, id, options & WNOWAIT, out);
		pthread_mutex_unlock(&lg->lock);
		if (r != 0)
			return r < 0 ? r : 1;
		if (options & WNOHANG)
			return 0;
		lg_task_sleep(t, NULL, 0, -1);
		if (lg_signal_pending(t))
			return -LG_ERESTARTSYS;
	}
}

static void put_rusage(struct lg_task *t, uint64_t va, const struct reaped *r)
{
	if (!va)
		return;
	struct rusage ru = { 0 };
	ru.ru_utime.tv_sec = (time_t)(r->utime_ns / 1000000000);
	ru.ru_utime.tv_usec = (suseconds_t)(r->utime_ns % 1000000000 / 1000);
	ru.ru_stime.tv_sec = (time_t)(r->stime_ns / 1000000000);
	ru.ru_stime.tv_usec = (suseconds_t)(r->stime_ns % 1000000000 / 1000);
	lg_copy_to(t->mm, va, &ru, sizeof(ru));
}

LG_SYS(wait4)
{
	int pid = (int)a[0], options = (int)a[2];
	if (options & ~(WNOHANG | WUNTRACED | WCONTINUED | __WALL | __WCLONE | __WNOTHREAD))
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH; /* as kernel_wait4: -pid would overflow */
	int idtype = pid > 0 ? P_PID : pid == -1 ? P_ALL : P_PGID;
	int id = pid < -1 ? -pid : (pid == 0 ? 0 : pid);
	struct reaped r;
	long n = do_wait(t, idtype, id, options & WNOHANG, &r);
	if (n <= 0)
		return n;
	if (a[1] && lg_copy_to(t->mm, a[1], &r.status, sizeof(r.status)) < 0)
		return -EFAULT;
	put_rusage(t, a[3], &r);
	return r.pid;
}

LG_SYS(waitid)
{
	int idtype = (int)a[0], id = (int)a[1], options = (int)a[3];
	if (idtype != P_ALL && idtype != P_PID && idtype != P_PGID)
		return -EINVAL;
	if (!(options & (WEXITED | WSTOPPED | WCONTINUED)))
		return -EINVAL;
	struct reaped r;
	long n = do_wait(t, idtype, id, options & (WNOHANG | WNOWAIT), &r);
	if (n < 0)
		return n;
	uint8_t si[128] = { 0 };
	if (n > 0) {
		int32_t hdr[3] = { SIGCHLD, 0,
				   WIFEXITED(r.status) ? CLD_EXITED
				   : WCOREDUMP(r.status) ? CLD_DUMPED : CLD_KILLED };
		int32_t body[3] = { r.pid, (int32_t)t->lg->cfg.uid,
				    WIFEXITED(r.status) ? WEXITSTATUS(r.status) : WTERMSIG(r.status) };
		memcpy(si, hdr, sizeof(hdr));
		memcpy(si + 16, body, sizeof(body));
	}
	if (a[2] && lg_copy_to(t->mm, a[2], si, sizeof(si)) < 0)
		return -EFAULT;
	if (n > 0)
		put_rusage(t, a[4], &r);
	return 0;
}

LG_SYS(set_tid_address)
{
	t->clear_child_tid = a[0];
	return t->tid;
}

LG_SYS(set_robust_list)
{
	(void)t;
	return a[1] == 24 ? 0 : -EINVAL;
}

LG_SYS(sched_yield)
{
	(void)t;
	(void)a;
	sched_yield();
	return 0;
}

LG_SYS(getpgrp) { (void)a; return t->proc->pgid; }
LG_SYS(getsid) { return lg_sys_getpgid(t, a) < 0 ? -ESRCH : t->proc->sid; }

LG_SYS(getpgid)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	struct lg_proc *p = a[0] ? lg_proc_find(lg, (int)a[0]) : t->proc;
	long r = p ? p->pgid : -ESRCH;
	pthread_mutex_unlock(&lg->lock);
	return r;
}

LG_SYS(setpgid)
{
	struct lg *lg = t->lg;
	int pid = (int)a[0], pgid = (int)a[1];
	if (pgid < 0)
		return -EINVAL;
	pthread_mutex_lock(&lg->lock);
	struct lg_proc *p = pid ? lg_proc_find(lg, pid) : t->proc;
	long r = 0;
	if (!p || (p != t->proc && p->parent != t->proc))
		r = -ESRCH;
	else if (p->pid == p->sid)
		r = -EPERM;
	else
		p->pgid = pgid ? pgid : p->pid;
	pthread_mutex_unlock(&lg->lock);
	return r;
}

LG_SYS(setsid)
{
	(void)a;
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	long r;
	if (t->proc->pgid == t->proc->pid) {
		r = -EPERM;
	} else {
		t->proc->pgid = t->proc->sid = t->proc->pid;
		r = t->proc->pid;
	}
	pthread_mutex_unlock(&lg->lock);
	return r;
}

LG_SYS(prctl)
{
	switch ((int)a[0]) {
	case PR_SET_NAME: {
		char name[16];
		int n = lg_strncpy_from(t->mm, name, a[1], sizeof(name));
		if (n == -EFAULT)
			return -EFAULT;
		name[15] = '\0';
		pthread_mutex_lock(&t->lg->lock);
		memcpy(t->proc->comm, name, sizeof(name));
		pthread_mutex_unlock(&t->lg->lock);
		return 0;
	}
	case PR_GET_NAME:
		return lg_copy_to(t->mm, a[1], t->proc->comm, 16) < 0 ? -EFAULT : 0;
	case PR_SET_PDEATHSIG:
		if (a[1] > LG_NSIG)
			return -EINVAL;
		t->proc->pdeath_sig = (int)a[1];
		return 0;
	case PR_GET_PDEATHSIG:
		return lg_copy_to(t->mm, a[1], &t->proc->pdeath_sig, sizeof(int)) < 0 ? -EFAULT : 0;
	case PR_SET_NO_NEW_PRIVS:
	case PR_SET_DUMPABLE:
	case PR_SET_KEEPCAPS:
		return 0;
	case PR_GET_NO_NEW_PRIVS:
	case PR_GET_DUMPABLE:
		return 1;
	case PR_GET_KEEPCAPS:
	case PR_GET_SECCOMP:
		return 0;
	default:
		return -EINVAL;
	}
}

LG_SYS(arch_prctl)
{
	uint64_t addr = a[1];
	switch ((int)a[0]) {
	case ARCH_SET_FS:
	case ARCH_SET_GS:
		if (addr >= LG_VA_USER_END)
			return -EPERM;
		if ((int)a[0] == ARCH_SET_FS) {
			t->fs_base = addr;
			t->fs_base_dirty = true;
		} else {
			t->gs_base = addr; /* loaded when the task next starts */
		}
		return 0;
	case ARCH_GET_FS:
		return lg_copy_to(t->mm, addr, &t->fs_base, 8) < 0 ? -EFAULT : 0;
	case ARCH_GET_GS:
		return lg_copy_to(t->mm, addr, &t->gs_base, 8) < 0 ? -EFAULT : 0;
	case ARCH_GET_CPUID:
		return 1;
	default:
		return -EINVAL;
	}
}
