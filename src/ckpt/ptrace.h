/* Tracing tasks from outside: seizing, stopping, registers, and running
 * syscalls inside a stopped thread ("injection").
 *
 * Injection sets the thread's registers so that it executes one `syscall`
 * instruction with our arguments, runs it between the syscall-entry and
 * syscall-exit stops (PTRACE_SYSCALL), and reads the result.  The
 * instruction is the vDSO's own (`mov $nr,%eax; syscall` in its fallback
 * paths), so no code of the target is modified; during a restore, a scratch
 * page of ours carries one too.  The thread's own registers are put back by
 * the caller (ck_thr_set_regs) when it is done. */
#ifndef CELL_CKPT_PTRACE_H
#define CELL_CKPT_PTRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "base/err.h"

/* Linux 5.13; not in every libc header yet. */
#define CK_PTRACE_GET_RSEQ_CONFIGURATION 0x420f

#define CK_DEFERRED_MAX 8

struct ck_thr {
	pid_t tid;	    /* as the tracer sees it */
	uint64_t sc_insn;   /* address of a `syscall` instruction in the thread's mm */
	bool seized;
	unsigned long event_msg; /* PTRACE_GETEVENTMSG of the last event stop */
	/* Signals that arrived while we held the thread (signal-delivery
	 * stops), with their siginfo, to be queued again so nothing is lost. */
	int ndeferred;
	uint8_t deferred[CK_DEFERRED_MAX][128];
};

enum {
	CK_SEIZE_CHILDREN = 1 << 0, /* follow clone/fork: restore builds the tree so */
	CK_SEIZE_EXITKILL = 1 << 1, /* kill the tracee if the tracer dies (restore) */
};

/* PTRACE_SEIZE with our options; stop it with PTRACE_INTERRUPT and wait for
 * the stop.  *ret_group_stop is set when the thread was in group-stop. */
int ck_thr_seize(struct ck_thr *t, unsigned flags, struct cell_err **err);
int ck_thr_interrupt_wait(struct ck_thr *t, bool *ret_group_stop, struct cell_err **err);
/* Wait for the next stop of t; *ret_status is the waitpid status. */
int ck_thr_wait(struct ck_thr *t, int *ret_status, struct cell_err **err);
int ck_thr_detach(struct ck_thr *t, struct cell_err **err);
/* t is in a signal-delivery stop for sig: keep the signal (deferred) to be
 * queued again, so resuming t without it loses nothing. */
int ck_thr_keep_signal(struct ck_thr *t, int sig, struct cell_err **err);
/* Bring a stopped thread (after injections: a syscall-exit stop) back to an
 * interrupt stop inside the kernel's signal path, without running any user
 * code.  Registers set there, with orig_rax and an -ERESTART* rax as the
 * kernel left them, get the kernel's own syscall restart on resume: a
 * handler that runs first makes the syscall fail with EINTR, as it would
 * have without us. */
int ck_thr_park(struct ck_thr *t, struct cell_err **err);
/* After SIGKILL: wait until every seized thread in thr is gone (a dying
 * tracee must be waited for by its tracer).  no_reap is a child of ours that
 * its caller reaps itself (observed with WNOWAIT). */
int ck_thr_wait_gone(struct ck_thr **thr, size_t n, pid_t no_reap);

int ck_thr_get_regs(struct ck_thr *t, struct user_regs_struct *ret, struct cell_err **err);
int ck_thr_set_regs(struct ck_thr *t, const struct user_regs_struct *regs, struct cell_err **err);
/* NT_X86_XSTATE: *ret malloc'd, *ret_len its size. */
int ck_thr_get_xstate(struct ck_thr *t, void **ret, size_t *ret_len, struct cell_err **err);
int ck_thr_set_xstate(struct ck_thr *t, const void *x, size_t len, struct cell_err **err);

/* Run syscall nr with up to six arguments in t; *ret is the raw return
 * value (-errno on failure).  Registers are left as the syscall left them. */
int ck_inject(struct ck_thr *t, long nr, const uint64_t args[6], int64_t *ret,
	      struct cell_err **err);
/* The same with arguments inline; a negative return becomes an error
 * "NAME in TID: strerror". */
int ck_sys(struct ck_thr *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	   uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret, struct cell_err **err);

/* Find a `syscall` instruction in the vDSO mapped at vdso (read from tid). */
int ck_find_vdso_syscall(pid_t tid, uint64_t vdso, uint64_t len, uint64_t *ret,
			 struct cell_err **err);

/* Copy to or from the memory of pid (process_vm_readv/writev). */
int ck_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len, struct cell_err **err);
int ck_mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len, struct cell_err **err);

#endif
