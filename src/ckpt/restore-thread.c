/* Threads, credentials and registers: the last steps of a process.
 *
 * Threads are created with clone3(CLONE_THREAD, set_tid) injected into the
 * main thread while it is still privileged (set_tid needs CAP_SYS_ADMIN);
 * credentials are per thread, so each thread drops to the image's in turn;
 * pending signals are queued by each thread to itself (allowed whatever the
 * si_code) while every signal is still blocked; the scratch page goes, and
 * each thread gets its xstate, registers and signal mask. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

static int tsys(struct ck_rthread *th, const char *name, long nr, uint64_t a0, uint64_t a1,
		uint64_t a2, uint64_t a3, struct cell_err **err)
{
	return ck_sys(&th->thr, name, nr, a0, a1, a2, a3, 0, 0, NULL, err);
}

static int new_thread(struct ck_restore *r, struct ck_rtask *t, size_t i, struct cell_err **err)
{
	pid_t tid = (pid_t)t->p->threads[i].tid;
	uint64_t a_tid, a_args;
	int k = ck_scratch_put(r, t, 0, &tid, sizeof(tid), &a_tid, err);
	struct clone_args ca = {
		.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			 CLONE_SYSVSEM,
		.set_tid = a_tid, .set_tid_size = 1,
	};
	if (k == 0)
		k = ck_scratch_put(r, t, 64, &ca, sizeof(ca), &a_args, err);
	int64_t got;
	t->threads[0].thr.event_msg = 0;
	if (k == 0)
		k = ck_rsys(t, "clone3", SYS_clone3, a_args, sizeof(ca), 0, 0, 0, 0, &got, err);
	if (k < 0)
		return cell_err_wrap(err, "create thread %d", tid);
	struct ck_thr *thr = &t->threads[i].thr;
	*thr = (struct ck_thr){ .tid = (pid_t)t->threads[0].thr.event_msg, .seized = true,
				.sc_insn = r->scratch };
	t->nthreads = i + 1;
	int status;
	return ck_thr_wait(thr, &status, err);
}

static int thread_state(struct ck_restore *r, struct ck_rtask *t, struct ck_rthread *th,
			struct cell_err **err)
{
	const struct ck_thread *m = th->img;
	uint64_t a;
	int k = 0;
	if (m->rseq_ptr)
		k = tsys(th, "rseq", SYS_rseq, m->rseq_ptr, m->rseq_len, 0, m->rseq_sig, err);
	if (k == 0)
		k = tsys(th, "set_tid_address", SYS_set_tid_address, m->clear_tid, 0, 0, 0, err);
	if (k == 0 && m->robust_list)
		k = tsys(th, "set_robust_list", SYS_set_robust_list, m->robust_list, m->robust_len,
			 0, 0, err);
	if (k == 0 && !(m->ss_flags & SS_DISABLE)) {
		uint64_t ss[3] = { m->ss_sp, (uint64_t)(uint32_t)(m->ss_flags & ~SS_ONSTACK),
				   m->ss_size };
		k = ck_scratch_put(r, t, 0, ss, sizeof(ss), &a, err);
		if (k == 0)
			k = tsys(th, "sigaltstack", SYS_sigaltstack, a, 0, 0, 0, err);
	}
	if (k == 0 && m->comm) {
		k = ck_scratch_path(r, t, m->comm, &a, err);
		if (k == 0)
			k = tsys(th, "prctl(PR_SET_NAME)", SYS_prctl, PR_SET_NAME, a, 0, 0, err);
	}
	return k;
}

int ck_restore_threads(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (size_t i = 1; i < t->p->nthreads; i++) {
		int k = new_thread(r, t, i, err);
		if (k < 0)
			return k;
	}
	for (size_t i = 0; i < t->nthreads; i++) {
		int k = thread_state(r, t, &t->threads[i], err);
		if (k < 0)
			return cell_err_wrap(err, "thread %u", t->threads[i].img->tid);
	}
	return 0;
}

static int drop_bounding(struct ck_rthread *th, uint64_t keep, struct cell_err **err)
{
	/* Caps the kernel knows; dropping one already gone is harmless. */
	int last = 0;
	while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	for (int cap = 0; cap <= last; cap++) {
		if (keep & (1ULL << cap))
			continue;
		int k = tsys(th, "prctl(PR_CAPBSET_DROP)", SYS_prctl, PR_CAPBSET_DROP, (uint64_t)cap,
			     0, 0, err);
		if (k < 0)
			return k;
	}
	return 0;
}

static int thread_creds(struct ck_restore *r, struct ck_rtask *t, struct ck_rthread *th,
			struct cell_err **err)
{
	const struct ck_creds *c = &t->p->creds;
	uint64_t a;
	int k = drop_bounding(th, c->cap_bnd, err);
	if (k == 0)
		k = tsys(th, "prctl(PR_SET_SECUREBITS)", SYS_prctl, PR_SET_SECUREBITS,
			 c->securebits & ~(uint32_t)SECBIT_KEEP_CAPS, 0, 0, err);
	if (k == 0)
		k = tsys(th, "prctl(PR_SET_KEEPCAPS)", SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, err);
	if (k == 0)
		k = ck_scratch_put(r, t, 1024, c->groups, c->ngroups * 4, &a, err);
	if (k == 0)
		k = tsys(th, "setgroups", SYS_setgroups, c->ngroups, a, 0, 0, err);
	if (k == 0)
		k = tsys(th, "setresgid", SYS_setresgid, c->gid, c->egid, c->sgid, 0, err);
	if (k == 0)
		k = tsys(th, "setfsgid", SYS_setfsgid, c->fsgid, 0, 0, 0, err);
	if (k == 0)
		k = tsys(th, "setresuid", SYS_setresuid, c->uid, c->euid, c->suid, 0, err);
	if (k == 0)
		k = tsys(th, "setfsuid", SYS_setfsuid, c->fsuid, 0, 0, 0, err);
	uint32_t hdr[2] = { _LINUX_CAPABILITY_VERSION_3, 0 };
	uint32_t data[6] = {
		(uint32_t)c->cap_eff, (uint32_t)c->cap_prm, (uint32_t)c->cap_inh,
		(uint32_t)(c->cap_eff >> 32), (uint32_t)(c->cap_prm >> 32), (uint32_t)(c->cap_inh >> 32),
	};
	uint64_t ah, ad;
	if (k == 0)
		k = ck_scratch_put(r, t, 0, hdr, sizeof(hdr), &ah, err);
	if (k == 0)
		k = ck_scratch_put(r, t, 64, data, sizeof(data), &ad, err);
	if (k == 0)
		k = tsys(th, "capset", SYS_capset, ah, ad, 0, 0, err);
	for (int cap = 0; k == 0 && cap < 64; cap++)
		if (c->cap_amb & (1ULL << cap))
			k = tsys(th, "prctl(PR_CAP_AMBIENT_RAISE)", SYS_prctl, PR_CAP_AMBIENT,
				 PR_CAP_AMBIENT_RAISE, (uint64_t)cap, 0, err);
	if (k == 0 && !(c->securebits & SECBIT_KEEP_CAPS))
		k = tsys(th, "prctl(PR_SET_KEEPCAPS)", SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, err);
	return k;
}

int ck_restore_creds(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	const struct ck_task *tk = &t->p->task;
	for (size_t i = 0; i < t->nthreads; i++) {
		struct ck_rthread *th = &t->threads[i];
		int k = thread_creds(r, t, th, err);
		/* Changing credentials resets these: they come after. */
		if (k == 0 && (tk->flags & CK_TASK_NO_NEW_PRIVS))
			k = tsys(th, "prctl", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, err);
		if (k < 0)
			return cell_err_wrap(err, "credentials of thread %u", th->img->tid);
	}
	int k = ck_rsys(t, "prctl(PR_SET_PDEATHSIG)", SYS_prctl, PR_SET_PDEATHSIG,
			(uint64_t)tk->pdeathsig, 0, 0, 0, 0, NULL, err);
	if (k == 0 && (tk->dumpable == 0 || tk->dumpable == 1))
		k = ck_rsys(t, "prctl(PR_SET_DUMPABLE)", SYS_prctl, PR_SET_DUMPABLE,
			    (uint64_t)tk->dumpable, 0, 0, 0, 0, NULL, err);
	return k;
}

static int queue_signals(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (size_t i = 0; i < t->p->nsigs; i++) {
		const struct ck_siginfo *s = &t->p->sigs[i];
		int sig;
		memcpy(&sig, s->info, sizeof(sig));
		uint64_t a;
		int k = ck_scratch_put(r, t, 0, s->info, 128, &a, err);
		for (size_t j = 0; k == 0 && j < t->nthreads; j++) {
			struct ck_rthread *th = &t->threads[j];
			if (s->tid == 0 && j == 0)
				k = tsys(th, "rt_sigqueueinfo", SYS_rt_sigqueueinfo, t->p->task.pid,
					 (uint64_t)sig, a, 0, err);
			else if (s->tid == th->img->tid)
				k = tsys(th, "rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo,
					 t->p->task.pid, s->tid, (uint64_t)sig, a, err);
		}
		if (k < 0)
			return cell_err_wrap(err, "queue signal %d", sig);
	}
	return 0;
}

static int thread_regs(struct ck_rthread *th, struct cell_err **err)
{
	const struct ck_thread *m = th->img;
	struct user_regs_struct regs = { 0 };
#define CK_REG_SET(reg) regs.reg = m->regs.reg;
	CK_GREGS(CK_REG_SET)
#undef CK_REG_SET
	int k = ck_thr_park(&th->thr, err);
	if (k == 0 && m->xstate_len)
		k = ck_thr_set_xstate(&th->thr, m->xstate, m->xstate_len, err);
	if (k == 0)
		k = ck_thr_set_regs(&th->thr, &regs, err);
	uint64_t mask = m->sigmask;
	if (k == 0 && ptrace(PTRACE_SETSIGMASK, th->thr.tid, sizeof(mask), &mask) < 0)
		k = cell_err_sys(err, "set the signal mask of %d", th->thr.tid);
	return k;
}

int ck_restore_regs(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	int k = queue_signals(r, t, err);
	if (k == 0)
		k = ck_rsys(t, "munmap", SYS_munmap, r->scratch, CK_SCRATCH_SIZE, 0, 0, 0, 0, NULL,
			    err);
	for (size_t i = 0; k == 0 && i < t->nthreads; i++)
		k = thread_regs(&t->threads[i], err);
	return k;
}
