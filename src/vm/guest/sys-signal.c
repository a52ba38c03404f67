/* Signal calls: actions, masks, sending, waiting; alarm timers. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "base/util.h"
#include "vm/guest/io.h"

#define SIGSET_SIZE 8
#define MINSIGSTKSZ_ 2048
#define SS_ONSTACK_ 1
#define SS_DISABLE_ 2

static lg_sigset_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

static const lg_sigset_t unblockable = (1ULL << (SIGKILL - 1)) | (1ULL << (SIGSTOP - 1));

LG_SYS(rt_sigaction)
{
	int sig = (int)a[0];
	if (a[3] != SIGSET_SIZE || sig < 1 || sig > LG_NSIG)
		return -EINVAL;
	struct lg_sigaction act, old;
	if (a[1]) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (lg_copy_from(t->mm, &act, a[1], sizeof(act)) < 0)
			return -EFAULT;
	}
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	old = t->proc->sighand->action[sig - 1];
	if (a[1]) {
		act.mask &= ~unblockable;
		t->proc->sighand->action[sig - 1] = act;
		/* POSIX: setting SIG_IGN discards what is pending. */
		if (act.handler == (uint64_t)(uintptr_t)SIG_IGN ||
		    (act.handler == (uint64_t)(uintptr_t)SIG_DFL && !lg_sig_is_fatal_default(sig))) {
			t->proc->shared_pending.set &= ~bit(sig);
			for (struct lg_task *o = t->proc->threads; o; o = o->next_thread)
				o->pending.set &= ~bit(sig);
		}
	}
	pthread_mutex_unlock(&lg->lock);
	if (a[2] && lg_copy_to(t->mm, a[2], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

LG_SYS(rt_sigprocmask)
{
	int how = (int)a[0];
	if (a[3] != SIGSET_SIZE)
		return -EINVAL;
	lg_sigset_t set = 0, old;
	if (a[1] && lg_copy_from(t->mm, &set, a[1], sizeof(set)) < 0)
		return -EFAULT;
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	old = t->blocked;
	long r = 0;
	if (a[1]) {
		switch (how) {
		case SIG_BLOCK: t->blocked |= set; break;
		case SIG_UNBLOCK: t->blocked &= ~set; break;
		case SIG_SETMASK: t->blocked = set; break;
		default: r = -EINVAL; break;
		}
		t->blocked &= ~unblockable;
	}
	pthread_mutex_unlock(&lg->lock);
	if (r == 0 && a[2] && lg_copy_to(t->mm, a[2], &old, sizeof(old)) < 0)
		r = -EFAULT;
	return r;
}

LG_SYS(rt_sigreturn)
{
	(void)a;
	return lg_signal_sigreturn(t);
}

LG_SYS(sigaltstack)
{
	struct {
		uint64_t sp;
		int32_t flags, pad;
		uint64_t size;
	} ss, old = { t->altstack_sp, 0, 0, t->altstack_size };
	uint64_t rsp = t->uctx->r.rsp;
	bool on = t->altstack_size && rsp > t->altstack_sp && rsp - t->altstack_sp <= t->altstack_size;
	old.flags = !t->altstack_size ? SS_DISABLE_ : on ? SS_ONSTACK_ : 0;
	if (a[0]) {
		if (lg_copy_from(t->mm, &ss, a[0], sizeof(ss)) < 0)
			return -EFAULT;
		if (on)
			return -EPERM;
		if ((uint32_t)ss.flags & ~(uint32_t)(SS_DISABLE_ | (1u << 31) /* SS_AUTODISARM */))
			return -EINVAL;
		if (ss.flags & SS_DISABLE_) {
			t->altstack_sp = t->altstack_size = 0;
		} else {
			if (ss.size < MINSIGSTKSZ_)
				return -ENOMEM;
			t->altstack_sp = ss.sp;
			t->altstack_size = ss.size;
		}
	}
	if (a[1] && lg_copy_to(t->mm, a[1], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

LG_SYS(rt_sigpending)
{
	if (a[1] > SIGSET_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&t->lg->lock);
	lg_sigset_t s = (t->pending.set | t->proc->shared_pending.set) & t->blocked;
	pthread_mutex_unlock(&t->lg->lock);
	return lg_copy_to(t->mm, a[0], &s, a[1]) < 0 ? -EFAULT : 0;
}

static long wait_for_signal(struct lg_task *t)
{
	while (!lg_signal_pending(t))
		lg_task_sleep(t, NULL, 0, -1);
	return -LG_ERESTARTNOHAND;
}

LG_SYS(rt_sigsuspend)
{
	int r = lg_temp_sigmask(t, a[0], a[1]);
	return r < 0 ? r : wait_for_signal(t);
}

LG_SYS(pause)
{
	(void)a;
	return wait_for_signal(t);
}

LG_SYS(rt_sigtimedwait)
{
	if (a[3] != SIGSET_SIZE)
		return -EINVAL;
	lg_sigset_t set;
	if (lg_copy_from(t->mm, &set, a[0], sizeof(set)) < 0)
		return -EFAULT;
	set &= ~unblockable;
	int64_t timeout = -1, deadline = -1;
	if (a[2]) {
		struct timespec ts;
		if (lg_copy_from(t->mm, &ts, a[2], sizeof(ts)) < 0)
			return -EFAULT;
		timeout = ts.tv_sec * 1000000000 + ts.tv_nsec;
		deadline = (int64_t)cell_now_ns() + timeout;
	}
	struct lg *lg = t->lg;
	for (;;) {
		pthread_mutex_lock(&lg->lock);
		lg_sigset_t mine = t->pending.set & set, sh = t->proc->shared_pending.set & set;
		int sig = (mine | sh) ? __builtin_ctzll(mine | sh) + 1 : 0;
		struct lg_siginfo si = { 0 };
		if (sig && (mine & bit(sig))) {
			t->pending.set &= ~bit(sig);
			si = t->pending.info[sig - 1];
		} else if (sig) {
			t->proc->shared_pending.set &= ~bit(sig);
			si = t->proc->shared_pending.info[sig - 1];
		}
		pthread_mutex_unlock(&lg->lock);
		if (sig) {
			if (a[1]) {
				uint8_t out[128] = { 0 };
				int32_t hdr[3] = { si.signo, si.errnum, si.code };
				int32_t body[2] = { si.pid, (int32_t)si.uid };
				memcpy(out, hdr, sizeof(hdr));
				memcpy(out + 16, body, sizeof(body));
				if (lg_copy_to(t->mm, a[1], out, sizeof(out)) < 0)
					return -EFAULT;
			}
			return sig;
		}
		int64_t left = deadline < 0 ? -1 : deadline - (int64_t)cell_now_ns();
		if (deadline >= 0 && left <= 0)
			return -EAGAIN;
		lg_task_sleep(t, NULL, 0, left);
		if (lg_signal_pending(t))
			return -LG_ERESTARTNOHAND;
	}
}

/* ---- sending ------------------------------------------------------------------ */

static long send_group(struct lg_task *t, int pgid, int sig, const struct lg_siginfo *si)
{
	struct lg *lg = t->lg;
	long found = -ESRCH;
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (!p || p->pid != pid || p->state != LG_PROC_ALIVE)
			continue;
		if (pgid > 0 ? p->pgid != pgid : (p == lg->init || p == t->proc))
			continue;
		found = 0;
		if (sig)
			lg_signal_proc_locked(p, si);
	}
	return found;
}

LG_SYS(kill)
{
	int pid = (int)a[0], sig = (int)a[1];
	if (sig < 0 || sig > LG_NSIG)
		return -EINVAL;
	struct lg *lg = t->lg;
	struct lg_siginfo si = { .signo = sig, .code = 0, .pid = t->proc->pid, .uid = lg->cfg.uid };
	pthread_mutex_lock(&lg->lock);
	long r;
	if (pid > 0) {
		struct lg_proc *p = lg_proc_find(lg, pid);
		r = p && p->state == LG_PROC_ALIVE ? 0 : -ESRCH;
		if (r == 0 && sig)
			lg_signal_proc_locked(p, &si);
	} else {
		r = send_group(t, pid == 0 ? t->proc->pgid : pid == -1 ? 0 : -pid, sig, &si);
	}
	pthread_mutex_unlock(&lg->lock);
	return r;
}

static long send_thread(struct lg_task *t, int tgid, int tid, int sig)
{
	if (sig < 0 || sig > LG_NSIG || tid <= 0)
		return -EINVAL;
	struct lg *lg = t->lg;
	struct lg_siginfo si = { .signo = sig, .code = -6 /* SI_TKILL */, .pid = t->proc->pid,
				 .uid = lg->cfg.uid };
	pthread_mutex_lock(&lg->lock);
	struct lg_proc *p = lg_proc_find(lg, tid);
	long r = -ESRCH;
	if (p && p->state == LG_PROC_ALIVE && (tgid <= 0 || p->pid == tgid))
		for (struct lg_task *o = p->threads; o; o = o->next_thread)
			if (o->tid == tid) {
				r = 0;
				if (sig)
					lg_signal_task_locked(o, &si);
				break;
			}
	pthread_mutex_unlock(&lg->lock);
	return r;
}

LG_SYS(tkill) { return send_thread(t, 0, (int)a[0], (int)a[1]); }
LG_SYS(tgkill) { return send_thread(t, (int)a[0], (int)a[1], (int)a[2]); }

/* ---- ITIMER_REAL / alarm ------------------------------------------------------ */

static void timeval_of(int64_t ns, struct timeval *tv)
{
	if (ns < 0)
		ns = 0;
	tv->tv_sec = ns / 1000000000;
	tv->tv_usec = ns % 1000000000 / 1000;
}

static long itimer(struct lg_task *t, int64_t value_ns, int64_t interval_ns,
		   int64_t *old_value, int64_t *old_interval)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	struct lg_proc *p = t->proc;
	int64_t now = (int64_t)cell_now_ns();
	*old_value = p->alarm_ns ? (int64_t)p->alarm_ns - now : 0;
	if (p->alarm_ns && *old_value <= 0)
		*old_value = 1000;
	*old_interval = (int64_t)p->alarm_interval_ns;
	if (value_ns >= 0) {
		p->alarm_ns = value_ns ? (uint64_t)(now + value_ns) : 0;
		p->alarm_interval_ns = (uint64_t)interval_ns;
		pthread_cond_broadcast(&lg->cond);
	}
	pthread_mutex_unlock(&lg->lock);
	return value_ns >= 0 ? lg_timer_start(lg) : 0;
}

LG_SYS(alarm)
{
	int64_t ov, oi;
	long r = itimer(t, (int64_t)(uint32_t)a[0] * 1000000000, 0, &ov, &oi);
	if (r < 0)
		return r;
	return ov ? (ov + 999999999) / 1000000000 : 0;
}

LG_SYS(setitimer)
{
	if ((int)a[0] != ITIMER_REAL)
		return -EINVAL; /* virtual and profiling timers: not kept */
	struct timeval v[2] = { { 0 } };
	if (a[1] && lg_copy_from(t->mm, v, a[1], sizeof(v)) < 0)
		return -EFAULT;
	int64_t ov, oi;
	long r = itimer(t, a[1] ? v[1].tv_sec * 1000000000 + v[1].tv_usec * 1000 : -1,
			v[0].tv_sec * 1000000000 + v[0].tv_usec * 1000, &ov, &oi);
	if (r < 0)
		return r;
	if (a[2]) {
		struct timeval o[2];
		timeval_of(oi, &o[0]);
		timeval_of(ov, &o[1]);
		if (lg_copy_to(t->mm, a[2], o, sizeof(o)) < 0)
			return -EFAULT;
	}
	return 0;
}

LG_SYS(getitimer)
{
	if ((int)a[0] != ITIMER_REAL)
		return -EINVAL;
	int64_t ov, oi;
	itimer(t, -1, 0, &ov, &oi);
	struct timeval o[2];
	timeval_of(oi, &o[0]);
	timeval_of(ov, &o[1]);
	return lg_copy_to(t->mm, a[1], o, sizeof(o)) < 0 ? -EFAULT : 0;
}
