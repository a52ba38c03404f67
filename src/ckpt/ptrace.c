#include "ckpt/ptrace.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "base/util.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

int ck_thr_seize(struct ck_thr *t, unsigned flags, struct cell_err **err)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP;
	if (flags & CK_SEIZE_CHILDREN)
		opts |= PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
	if (flags & CK_SEIZE_EXITKILL)
		opts |= PTRACE_O_EXITKILL;
	if (ptrace(PTRACE_SEIZE, t->tid, NULL, (void *)opts) < 0)
		return cell_err_sys(err, "seize thread %d", t->tid);
	t->seized = true;
	return 0;
}

/* Keep a signal that the thread dequeued while we held it. */
int ck_thr_keep_signal(struct ck_thr *t, int sig, struct cell_err **err)
{
	if (t->ndeferred >= CK_DEFERRED_MAX)
		return cell_err(err, EBUSY, "thread %d: more than %d signals arrived while stopped",
				t->tid, CK_DEFERRED_MAX);
	siginfo_t si;
	if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si) < 0)
		return cell_err_sys(err, "thread %d: get siginfo of signal %d", t->tid, sig);
	memcpy(t->deferred[t->ndeferred++], &si, sizeof(si));
	return 0;
}

int ck_thr_wait(struct ck_thr *t, int *ret_status, struct cell_err **err)
{
	int status;
	for (;;) {
		pid_t p = waitpid(t->tid, &status, __WALL);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return cell_err_sys(err, "wait for thread %d", t->tid);
		break;
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->seized = false;
		return cell_err(err, ESRCH, "thread %d died (%s %d)", t->tid,
				WIFEXITED(status) ? "exit status" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	*ret_status = status;
	return 0;
}

static bool is_event_stop(int status, int event)
{
	return WIFSTOPPED(status) && (status >> 16) == event;
}

/* A plain signal-delivery stop: not a syscall stop, not an event stop. */
static bool is_signal_stop(int status)
{
	return WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) != (SIGTRAP | 0x80);
}

int ck_thr_interrupt_wait(struct ck_thr *t, bool *ret_group_stop, struct cell_err **err)
{
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0)
		return cell_err_sys(err, "interrupt thread %d", t->tid);
	for (;;) {
		int status, r = ck_thr_wait(t, &status, err);
		if (r < 0)
			return r;
		if (is_event_stop(status, PTRACE_EVENT_STOP)) {
			if (ret_group_stop)
				*ret_group_stop = WSTOPSIG(status) != SIGTRAP;
			return 0;
		}
		if (is_signal_stop(status)) {
			r = ck_thr_keep_signal(t, WSTOPSIG(status), err);
			if (r < 0)
				return r;
		}
		/* The interrupt is still pending: resume until it is reported. */
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0)
			return cell_err_sys(err, "resume thread %d", t->tid);
	}
}

int ck_thr_park(struct ck_thr *t, struct cell_err **err)
{
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0)
		return cell_err_sys(err, "interrupt thread %d", t->tid);
	for (;;) {
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0)
			return cell_err_sys(err, "resume thread %d", t->tid);
		int status, r = ck_thr_wait(t, &status, err);
		if (r < 0)
			return r;
		if (is_event_stop(status, PTRACE_EVENT_STOP))
			return 0;
		if (is_signal_stop(status)) {
			r = ck_thr_keep_signal(t, WSTOPSIG(status), err);
			if (r < 0)
				return r;
		}
	}
}

int ck_thr_detach(struct ck_thr *t, struct cell_err **err)
{
	if (!t->seized)
		return 0;
	if (ptrace(PTRACE_DETACH, t->tid, NULL, NULL) < 0)
		return cell_err_sys(err, "detach thread %d", t->tid);
	t->seized = false;
	return 0;
}

int ck_thr_get_regs(struct ck_thr *t, struct user_regs_struct *ret, struct cell_err **err)
{
	if (ptrace(PTRACE_GETREGS, t->tid, NULL, ret) < 0)
		return cell_err_sys(err, "get registers of thread %d", t->tid);
	return 0;
}

int ck_thr_set_regs(struct ck_thr *t, const struct user_regs_struct *regs, struct cell_err **err)
{
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, regs) < 0)
		return cell_err_sys(err, "set registers of thread %d", t->tid);
	return 0;
}

int ck_thr_get_xstate(struct ck_thr *t, void **ret, size_t *ret_len, struct cell_err **err)
{
	size_t cap = 64 * 1024;
	_cleanup_free_ void *buf = xcalloc(1, cap);
	struct iovec iov = { buf, cap };
	if (ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return cell_err_sys(err, "get xstate of thread %d", t->tid);
	*ret_len = iov.iov_len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int ck_thr_set_xstate(struct ck_thr *t, const void *x, size_t len, struct cell_err **err)
{
	struct iovec iov = { (void *)x, len };
	if (ptrace(PTRACE_SETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) < 0)
		return cell_err_sys(err, "set xstate of thread %d", t->tid);
	return 0;
}

/* Resume t with PTRACE_SYSCALL until the next syscall stop, keeping any
 * signal that arrives meanwhile and recording event messages (a clone's
 * new pid). */
static int next_syscall_stop(struct ck_thr *t, struct cell_err **err)
{
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, t->tid, NULL, NULL) < 0)
			return cell_err_sys(err, "resume thread %d", t->tid);
		int status, r = ck_thr_wait(t, &status, err);
		if (r < 0)
			return r;
		if (WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80))
			return 0;
		if ((status >> 16) != 0) {
			if (ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &t->event_msg) < 0)
				return cell_err_sys(err, "event of thread %d", t->tid);
			continue;
		}
		if (is_signal_stop(status)) {
			r = ck_thr_keep_signal(t, WSTOPSIG(status), err);
			if (r < 0)
				return r;
		}
	}
}

int ck_inject(struct ck_thr *t, long nr, const uint64_t args[6], int64_t *ret,
	      struct cell_err **err)
{
	struct user_regs_struct regs;
	int r = ck_thr_get_regs(t, &regs, err);
	if (r < 0)
		return r;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1; /* no syscall restart on the way out */
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	regs.rip = t->sc_insn;
	r = ck_thr_set_regs(t, &regs, err);
	if (r < 0)
		return r;
	r = next_syscall_stop(t, err); /* entry */
	if (r < 0)
		return r;
	r = next_syscall_stop(t, err); /* exit */
	if (r < 0)
		return r;
	r = ck_thr_get_regs(t, &regs, err);
	if (r < 0)
		return r;
	*ret = (int64_t)regs.rax;
	return 0;
}

int ck_sys(struct ck_thr *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	   uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret, struct cell_err **err)
{
	const uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };
	int64_t v;
	int r = ck_inject(t, nr, args, &v, err);
	if (r < 0)
		return r;
	if (v < 0 && v > -4096)
		return cell_err(err, (int)-v, "%s in thread %d", name, t->tid);
	if (ret)
		*ret = v;
	return 0;
}

int ck_find_vdso_syscall(pid_t tid, uint64_t vdso, uint64_t len, uint64_t *ret,
			 struct cell_err **err)
{
	if (len > 64 * 1024)
		return cell_err(err, EINVAL, "vdso of %d is %llu bytes, too large", tid,
				(unsigned long long)len);
	_cleanup_free_ uint8_t *b = xmalloc(len);
	int r = ck_mem_read(tid, vdso, b, len, err);
	if (r < 0)
		return cell_err_wrap(err, "read the vdso of %d", tid);
	/* `mov $imm32,%eax; syscall` with a small syscall number: the vDSO's
	 * fallback paths.  The pattern cannot start inside another
	 * instruction by accident often enough to matter, and the hit is an
	 * instruction boundary because the mov precedes it. */
	for (size_t i = 0; i + 7 <= len; i++) {
		if (b[i] == 0xb8 && b[i + 3] == 0 && b[i + 4] == 0 && b[i + 5] == 0x0f &&
		    b[i + 6] == 0x05) {
			*ret = vdso + i + 5;
			return 0;
		}
	}
	return cell_err(err, ENOENT, "no syscall instruction in the vdso of %d", tid);
}

static int mem_rw(pid_t pid, uint64_t addr, void *buf, size_t len, bool write,
		  struct cell_err **err)
{
	size_t done = 0;
	while (done < len) {
		struct iovec l = { (char *)buf + done, len - done };
		struct iovec rv = { (void *)(uintptr_t)(addr + done), len - done };
		ssize_t n = write ? process_vm_writev(pid, &l, 1, &rv, 1, 0)
				  : process_vm_readv(pid, &l, 1, &rv, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cell_err(err, n < 0 ? errno : EFAULT, "%s %zu bytes at %#llx in %d",
					write ? "write" : "read", len - done,
					(unsigned long long)(addr + done), pid);
		done += (size_t)n;
	}
	return 0;
}

int ck_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len, struct cell_err **err)
{
	return mem_rw(pid, addr, buf, len, false, err);
}

int ck_mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len, struct cell_err **err)
{
	return mem_rw(pid, addr, (void *)buf, len, true, err);
}

int ck_thr_wait_gone(struct ck_thr **thr, size_t n, pid_t no_reap)
{
	size_t left = 0;
	for (size_t i = 0; i < n; i++)
		left += thr[i]->seized;
	/* Poll them all: a dying pid 1 waits for its traced children, so no
	 * order of blocking waits is safe. */
	for (int round = 0; left > 0 && round < 100000; round++) {
		bool progress = false;
		for (size_t i = 0; i < n; i++) {
			struct ck_thr *t = thr[i];
			if (!t->seized)
				continue;
			siginfo_t si = { 0 };
			int flags = WEXITED | WSTOPPED | WNOHANG | __WALL;
			if (t->tid == no_reap)
				flags |= WNOWAIT;
			if (waitid(P_PID, (id_t)t->tid, &si, flags) < 0) {
				t->seized = false; /* gone already */
				left--;
				continue;
			}
			if (si.si_pid == 0)
				continue;
			progress = true;
			if (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
			    si.si_code == CLD_DUMPED) {
				t->seized = false;
				left--;
			} else {
				ptrace(PTRACE_CONT, t->tid, NULL, NULL);
			}
		}
		if (!progress)
			usleep(1000);
	}
	return left ? -ETIMEDOUT : 0;
}
