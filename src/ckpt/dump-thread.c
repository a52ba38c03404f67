/* Per-thread state: registers (with the syscall-restart and rseq fix-ups),
 * xstate, signal mask, pending signals, rseq, robust list, clear_child_tid,
 * sigaltstack, comm. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/batch.h"
#include "ckpt/internal.h"

/* Inside an rseq critical section the thread must restart at abort_ip,
 * as the kernel would do on preemption. */
static int fix_rseq(pid_t tid, uint64_t rseq_ptr, struct user_regs_struct *regs,
		    struct cell_err **err)
{
	uint64_t cs;
	if (!rseq_ptr)
		return 0;
	int r = ck_mem_read(tid, rseq_ptr + 8, &cs, sizeof(cs), err);
	if (r < 0 || !cs)
		return r;
	uint64_t c[4]; /* version+flags, start_ip, post_commit_offset, abort_ip */
	r = ck_mem_read(tid, cs, c, sizeof(c), err);
	if (r < 0)
		return r;
	if (regs->rip >= c[1] && regs->rip - c[1] < c[2])
		regs->rip = c[3];
	return 0;
}

static int peek_signals(struct ck_dump *d, struct ck_dtask *t, pid_t tid, uint32_t vtid,
			bool shared, struct cell_err **err)
{
	for (uint64_t off = 0;; off++) {
		struct __ptrace_peeksiginfo_args a = { .off = off, .nr = 1,
						     .flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0 };
		uint8_t info[128];
		long n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, info);
		if (n < 0)
			return cell_err_sys(err, "peek pending signals of %d", tid);
		if (n == 0)
			return 0;
		struct ck_siginfo s = { .pid = t->vpid, .tid = shared ? 0 : vtid, .info = info,
					.info_len = sizeof(info) };
		int r = img_write(d->core, &ck_siginfo_schema, &s, err);
		if (r < 0)
			return r;
	}
}

/* Signals that arrived while we held the thread go back where they were:
 * queued to itself, which rt_tgsigqueueinfo allows whatever the si_code. */
static int requeue_deferred(struct ck_dtask *t, struct ck_dthread *th, struct cell_err **err)
{
	for (int i = 0; i < th->thr.ndeferred; i++) {
		int r = ck_mem_write(t->pid, t->scratch + CK_SCRATCH_IO, th->thr.deferred[i], 128, err);
		if (r < 0)
			return r;
		int sig;
		memcpy(&sig, th->thr.deferred[i], sizeof(sig));
		r = ck_sys(&th->thr, "rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, t->vpid, th->vtid,
			   (uint64_t)sig, t->scratch + CK_SCRATCH_IO, 0, 0, NULL, err);
		if (r < 0)
			return r;
	}
	th->thr.ndeferred = 0;
	return 0;
}

static int thread_extras(struct ck_dtask *t, struct ck_dthread *th, struct ck_thread *out,
			 struct cell_err **err)
{
	struct { uint64_t ptr; uint32_t size, sig, flags, pad; } rc = { 0 };
	if (ptrace((enum __ptrace_request)CK_PTRACE_GET_RSEQ_CONFIGURATION, th->thr.tid, sizeof(rc), &rc) < 0)
		return cell_err_sys(err, "rseq configuration of %d", th->thr.tid);
	out->rseq_ptr = rc.ptr;
	out->rseq_len = rc.ptr ? rc.size : 0;
	out->rseq_sig = rc.sig;
	if (ptrace(PTRACE_GETSIGMASK, th->thr.tid, sizeof(out->sigmask), &out->sigmask) < 0)
		return cell_err_sys(err, "signal mask of %d", th->thr.tid);
	uint64_t head = 0, len = 0;
	if (syscall(SYS_get_robust_list, th->thr.tid, &head, &len) < 0)
		return cell_err_sys(err, "robust list of %d", th->thr.tid);
	out->robust_list = head;
	out->robust_len = len;
	th->thr.sc_insn = t->threads[0].thr.sc_insn;
	/* Both asked by the thread itself, in one batch. */
	struct ck_batch *b = xmalloc(sizeof(*b));
	ck_batch_init(b, t->scratch);
	uint64_t a_tid = ck_batch_data(b, 8), a_ss = ck_batch_data(b, 24);
	ck_batch_add(b, "prctl(PR_GET_TID_ADDRESS)", SYS_prctl, PR_GET_TID_ADDRESS, a_tid, 0, 0, 0,
		     0);
	ck_batch_add(b, "sigaltstack", SYS_sigaltstack, 0, a_ss, 0, 0, 0, 0);
	uint64_t o[4]; /* clear_tid; stack_t: ss_sp, ss_flags (int, padded), ss_size */
	int r = ck_batch_run(b, &th->thr, t->pid, o, sizeof(o), err);
	if (r == 0)
		r = ck_batch_check(b, th->thr.tid, err);
	free(b);
	if (r < 0)
		return r;
	out->clear_tid = o[0];
	out->ss_sp = o[1];
	out->ss_flags = (int32_t)o[2];
	out->ss_size = o[3];
	return 0;
}

static int dump_thread(struct ck_dump *d, struct ck_dtask *t, struct ck_dthread *th,
		       struct cell_err **err)
{
	struct ck_thread out = { .pid = t->vpid, .tid = th->vtid };
	int r = thread_extras(t, th, &out, err);
	if (r == 0)
		r = fix_rseq(th->thr.tid, out.rseq_ptr, &th->fixed, err);
	if (r == 0)
		r = requeue_deferred(t, th, err);
	if (r < 0)
		return r;
	_cleanup_free_ void *xs = NULL;
	r = ck_thr_get_xstate(&th->thr, &xs, &out.xstate_len, err);
	if (r < 0)
		return r;
	out.xstate = xs;
#define CK_REG_COPY(reg) out.regs.reg = th->fixed.reg;
	CK_GREGS(CK_REG_COPY)
#undef CK_REG_COPY
	_cleanup_free_ char *what = xasprintf("task/%d/comm", th->thr.tid), *comm = NULL;
	r = ck_proc_read(d->procfd, t->pid, what, &comm, NULL, err);
	if (r < 0)
		return r;
	char spath[64];
	snprintf(spath, sizeof(spath), "%d/task/%d", t->pid, th->thr.tid);
	struct ck_pstatus st;
	r = ck_proc_status(d->procfd, spath, &st, err);
	if (r < 0)
		return r;
	ck_pstatus_free(&st);
	r = ck_dump_seccomp(d, th->thr.tid, st.seccomp, &out.seccomp_id, err);
	if (r < 0)
		return r;
	comm[strcspn(comm, "\n")] = '\0';
	out.comm = comm;
	r = img_write(d->core, &ck_thread_schema, &out, err);
	if (r == 0)
		r = peek_signals(d, t, th->thr.tid, th->vtid, false, err);
	return r;
}

int ck_dump_threads(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	for (size_t i = 0; i < t->nthreads; i++) {
		int r = dump_thread(d, t, &t->threads[i], err);
		if (r < 0)
			return cell_err_wrap(err, "thread %d", t->threads[i].thr.tid);
	}
	return peek_signals(d, t, t->pid, 0, true, err);
}
