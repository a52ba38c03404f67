/* Batches of injected syscalls (batch.h). */
#include "ckpt/batch.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "base/util.h"

/* r12: the table, r13: the count.  Each entry: nr, six arguments, result.
 *
 *   top:  test %r13,%r13 ; jz done
 *         mov (%r12),%rax ; mov 8(%r12),%rdi ; mov 16(%r12),%rsi ; mov 24(%r12),%rdx
 *         mov 32(%r12),%r10 ; mov 40(%r12),%r8 ; mov 48(%r12),%r9
 *         syscall ; mov %rax,56(%r12) ; add $64,%r12 ; dec %r13 ; jmp top
 *   done: int3 */
const uint8_t ck_batch_code[56] = {
	0x4d, 0x85, 0xed,	      /* test %r13,%r13 */
	0x74, 0x32,		      /* jz done (+50) */
	0x49, 0x8b, 0x04, 0x24,	      /* mov (%r12),%rax */
	0x49, 0x8b, 0x7c, 0x24, 0x08, /* mov 8(%r12),%rdi */
	0x49, 0x8b, 0x74, 0x24, 0x10, /* mov 16(%r12),%rsi */
	0x49, 0x8b, 0x54, 0x24, 0x18, /* mov 24(%r12),%rdx */
	0x4d, 0x8b, 0x54, 0x24, 0x20, /* mov 32(%r12),%r10 */
	0x4d, 0x8b, 0x44, 0x24, 0x28, /* mov 40(%r12),%r8 */
	0x4d, 0x8b, 0x4c, 0x24, 0x30, /* mov 48(%r12),%r9 */
	0x0f, 0x05,		      /* syscall */
	0x49, 0x89, 0x44, 0x24, 0x38, /* mov %rax,56(%r12) */
	0x49, 0x83, 0xc4, 0x40,	      /* add $64,%r12 */
	0x49, 0xff, 0xcd,	      /* dec %r13 */
	0xeb, 0xc9,		      /* jmp top (-55) */
	0xcc,			      /* done: int3 */
};

void ck_batch_init(struct ck_batch *b, uint64_t scratch)
{
	b->scratch = scratch;
	b->n = 0;
	b->data = 0;
	b->overflow = false;
}

uint64_t ck_batch_data(struct ck_batch *b, size_t len)
{
	len = (len + 7) & ~(size_t)7;
	if (CK_BATCH_DATA + b->data + len > CK_BATCH_END) {
		b->overflow = true;
		return 0;
	}
	uint64_t a = b->scratch + CK_BATCH_DATA + b->data;
	b->data += len;
	return a;
}

size_t ck_batch_add(struct ck_batch *b, const char *name, long nr, uint64_t a0, uint64_t a1,
		    uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	b->overflow |= b->n == CK_BATCH_MAX;
	size_t i = b->n < CK_BATCH_MAX ? b->n++ : CK_BATCH_MAX - 1;
	uint64_t *c = b->calls[i];
	c[0] = (uint64_t)nr, c[1] = a0, c[2] = a1, c[3] = a2, c[4] = a3, c[5] = a4, c[6] = a5;
	c[7] = (uint64_t)-ENOSYS;
	b->names[i] = name;
	return i;
}

/* Resume t until it reaches the loop's int3, keeping signals that arrive. */
static int run_to_trap(struct ck_thr *t, struct cell_err **err)
{
	for (;;) {
		if (ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0)
			return cell_err_sys(err, "resume thread %d", t->tid);
		int status;
		int r = ck_thr_wait(t, &status, err);
		if (r < 0)
			return r;
		if ((status >> 16) == 0 && WSTOPSIG(status) == SIGTRAP) {
			siginfo_t si;
			/* Ours is a kernel-made SIGTRAP at our int3: SI_KERNEL. */
			if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si) == 0 && si.si_code == SI_KERNEL)
				return 0;
		}
		if ((status >> 16) != 0) {
			ptrace(PTRACE_GETEVENTMSG, t->tid, NULL, &t->event_msg);
			continue;
		}
		r = ck_thr_keep_signal(t, WSTOPSIG(status), err);
		if (r < 0)
			return r;
	}
}

int ck_batch_run(struct ck_batch *b, struct ck_thr *t, pid_t pid, void *out, size_t out_len,
		 struct cell_err **err)
{
	if (b->overflow)
		return cell_err(err, E2BIG, "a batch over %d syscalls or %d bytes", CK_BATCH_MAX,
				CK_BATCH_END - CK_BATCH_DATA);
	size_t tlen = b->n * 64;
	/* The table, then a zeroed data area, in one write. */
	size_t dlen = b->data;
	_cleanup_free_ uint8_t *img = xcalloc(1, CK_BATCH_DATA - CK_BATCH_TABLE + dlen);
	memcpy(img, b->calls, tlen);
	int r = ck_mem_write(pid, b->scratch + CK_BATCH_TABLE, img,
			     CK_BATCH_DATA - CK_BATCH_TABLE + dlen, err);
	if (r < 0)
		return r;
	struct user_regs_struct regs;
	r = ck_thr_get_regs(t, &regs, err);
	if (r < 0)
		return r;
	regs.rip = b->scratch;
	regs.orig_rax = (uint64_t)-1; /* no syscall restart on the way out */
	regs.r12 = b->scratch + CK_BATCH_TABLE;
	regs.r13 = b->n;
	r = ck_thr_set_regs(t, &regs, err);
	if (r == 0)
		r = run_to_trap(t, err);
	if (r < 0)
		return cell_err_wrap(err, "a batch of %zu syscalls in thread %d", b->n, t->tid);
	/* Results and data in one read: the table ends where the data starts. */
	_cleanup_free_ uint8_t *back = xmalloc(CK_BATCH_DATA - CK_BATCH_TABLE + dlen);
	r = ck_mem_read(pid, b->scratch + CK_BATCH_TABLE, back, CK_BATCH_DATA - CK_BATCH_TABLE + dlen,
			err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b->n; i++)
		memcpy(&b->calls[i][7], back + i * 64 + 56, 8);
	if (out)
		memcpy(out, back + CK_BATCH_DATA - CK_BATCH_TABLE,
		       out_len < dlen ? out_len : dlen);
	return 0;
}

int ck_batch_check(const struct ck_batch *b, pid_t tid, struct cell_err **err)
{
	for (size_t i = 0; i < b->n; i++) {
		int64_t v = ck_batch_ret(b, i);
		if (v < 0 && v > -4096)
			return cell_err(err, (int)-v, "%s in thread %d", b->names[i], tid);
	}
	return 0;
}
