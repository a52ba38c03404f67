/* Seccomp filters (what runc, podman and containerd give nearly every
 * container).  Dump: each thread's chain, newest first, through
 * PTRACE_SECCOMP_GET_FILTER (and PTRACE_GET_SECCOMP_METADATA for the log
 * flag); identical chains (the usual case: every thread and process of a
 * container shares one) are stored once, as SECCOMP records each naming the
 * filter installed before it.
 *
 * Restore: after the threads exist and before the credentials change (so
 * the process is still allowed to install a filter whatever its image
 * credentials), each filter is installed oldest first by an injected
 * seccomp(SECCOMP_SET_MODE_FILTER).  When all threads of a process share
 * one chain it is installed once with SECCOMP_FILTER_FLAG_TSYNC, so the
 * threads share it again, as a later TSYNC by the program requires.  The
 * filters do not hinder the rest of the restore: the tasks are traced with
 * PTRACE_O_SUSPEND_SECCOMP until they are let go.
 *
 * Refused: strict mode, and filters that hand syscalls to a user-space
 * listener (SECCOMP_RET_USER_NOTIF): the listener's fd lives outside. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "ckpt/internal.h"
#include "img/le.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef PTRACE_GET_SECCOMP_METADATA
#define PTRACE_GET_SECCOMP_METADATA 0x420d
#endif

struct ck_dseccomp {
	uint32_t id, parent, flags;
	uint8_t *insns; /* little-endian, as in the image */
	size_t len;
};

/* A filter as the image has it: each sock_filter as u16 code, u8 jt, u8 jf,
 * u32 k, little-endian. */
static uint8_t *encode(const struct sock_filter *f, size_t n)
{
	uint8_t *p = xmalloc(n * 8);
	for (size_t i = 0; i < n; i++) {
		le_put16(p + 8 * i, f[i].code);
		p[8 * i + 2] = f[i].jt;
		p[8 * i + 3] = f[i].jf;
		le_put32(p + 8 * i + 4, f[i].k);
	}
	return p;
}

static bool user_notif(const struct sock_filter *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].code == (BPF_RET | BPF_K) &&
		    (f[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
			return true;
	return false;
}

/* The id of (parent, flags, insns), stored the first time it is seen. */
static int intern(struct ck_dump *d, uint32_t parent, uint32_t flags, uint8_t *insns,
		  size_t len, uint32_t *ret, struct cell_err **err)
{
	for (size_t i = 0; i < d->nseccomps; i++) {
		const struct ck_dseccomp *s = &d->seccomps[i];
		if (s->parent == parent && s->flags == flags && s->len == len &&
		    !memcmp(s->insns, insns, len)) {
			free(insns);
			*ret = s->id;
			return 0;
		}
	}
	if (d->nseccomps >= CK_SECCOMP_MAX) {
		free(insns);
		return cell_err(err, E2BIG, "more than %u distinct seccomp filters", CK_SECCOMP_MAX);
	}
	d->seccomps = xrealloc(d->seccomps, (d->nseccomps + 1) * sizeof(*d->seccomps));
	struct ck_dseccomp *s = &d->seccomps[d->nseccomps++];
	*s = (struct ck_dseccomp){ .id = ck_dump_new_id(d), .parent = parent, .flags = flags,
				   .insns = insns, .len = len };
	struct ck_seccomp rec = { .id = s->id, .parent = parent, .flags = flags, .insns = insns,
				  .insns_len = len };
	*ret = s->id;
	return img_write(d->core, &ck_seccomp_schema, &rec, err);
}

/* Filter number idx of tid (0: the newest): its instructions, or -ENOENT
 * past the oldest. */
static int get_filter(pid_t tid, long idx, struct sock_filter **ret, size_t *ret_n,
		      uint32_t *ret_flags, struct cell_err **err)
{
	long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
	if (n < 0 && errno == ENOENT)
		return -ENOENT;
	if (n < 0)
		return cell_err_sys(err, "seccomp filter %ld of thread %d", idx, tid);
	if (n == 0 || n > CK_SECCOMP_MAX_INSNS)
		return cell_err(err, E2BIG, "seccomp filter %ld of thread %d: %ld instructions", idx,
				tid, n);
	struct sock_filter *f = xcalloc((size_t)n, sizeof(*f));
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, f) != n) {
		free(f);
		return cell_err_sys(err, "seccomp filter %ld of thread %d", idx, tid);
	}
	struct { uint64_t filter_off, flags; } md = { (uint64_t)idx, 0 };
	if (ptrace(PTRACE_GET_SECCOMP_METADATA, tid, (void *)sizeof(md), &md) < 0)
		md.flags = 0; /* before Linux 4.16: no flags to keep */
	*ret = f;
	*ret_n = (size_t)n;
	*ret_flags = (uint32_t)(md.flags & SECCOMP_FILTER_FLAG_LOG);
	return 0;
}

int ck_dump_seccomp(struct ck_dump *d, pid_t tid, int mode, uint32_t *ret_id,
		    struct cell_err **err)
{
	*ret_id = 0;
	if (mode == 0)
		return 0;
	if (mode != 2)
		return cell_err(err, EOPNOTSUPP, "thread %d is in strict seccomp mode", tid);
	/* Newest first from the kernel; the records go oldest first. */
	long depth = 0;
	for (;; depth++) {
		long n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)depth, NULL);
		if (n < 0 && errno == ENOENT)
			break;
		if (n < 0)
			return cell_err_sys(err, "seccomp filters of thread %d (needs CAP_SYS_ADMIN)",
					    tid);
		if (depth >= 1024)
			return cell_err(err, E2BIG, "thread %d: over 1024 seccomp filters", tid);
	}
	uint32_t parent = 0;
	for (long idx = depth - 1; idx >= 0; idx--) {
		struct sock_filter *f = NULL;
		size_t n = 0;
		uint32_t flags = 0;
		int r = get_filter(tid, idx, &f, &n, &flags, err);
		if (r < 0)
			return r;
		if (user_notif(f, n)) {
			free(f);
			return cell_err(err, EOPNOTSUPP, "thread %d: a seccomp filter hands syscalls to "
					"a user-space listener (SECCOMP_RET_USER_NOTIF): not supported",
					tid);
		}
		uint8_t *enc = encode(f, n);
		free(f);
		r = intern(d, parent, flags, enc, n * 8, &parent, err);
		if (r < 0)
			return r;
	}
	*ret_id = parent;
	return 0;
}

void ck_dump_seccomp_free(struct ck_dump *d)
{
	for (size_t i = 0; i < d->nseccomps; i++)
		free(d->seccomps[i].insns);
	free(d->seccomps);
	d->seccomps = NULL;
	d->nseccomps = 0;
}

/* Install filter s and, first, the ones before it, in thread th. */
static int install(struct ck_restore *r, struct ck_rtask *t, struct ck_thr *th,
		   const struct ck_seccomp *s, unsigned flags, struct cell_err **err)
{
	if (s->parent) {
		int k = install(r, t, th, ck_image_seccomp(r->img, s->parent), flags, err);
		if (k < 0)
			return k;
	}
	size_t n = s->insns_len / 8;
	struct sock_filter *f = xcalloc(n, sizeof(*f));
	const uint8_t *p = s->insns;
	for (size_t i = 0; i < n; i++)
		f[i] = (struct sock_filter){ le_get16(p + 8 * i), p[8 * i + 2], p[8 * i + 3],
					     le_get32(p + 8 * i + 4) };
	uint64_t a_insns, a_prog;
	int k = ck_scratch_put(r, t, 1024, f, n * sizeof(*f), &a_insns, err);
	free(f);
	uint64_t prog[2] = { n, a_insns }; /* struct sock_fprog: len (padded), filter */
	if (k == 0)
		k = ck_scratch_put(r, t, 0, prog, sizeof(prog), &a_prog, err);
	if (k == 0)
		k = ck_sys(th, "seccomp", SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags | s->flags,
			   a_prog, 0, 0, 0, NULL, err);
	return k < 0 ? cell_err_wrap(err, "seccomp filter %u", s->id) : 0;
}

int ck_restore_seccomp(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	bool any = false, same = true;
	for (size_t i = 0; i < t->nthreads; i++) {
		any |= t->threads[i].img->seccomp_id != 0;
		same &= t->threads[i].img->seccomp_id == t->threads[0].img->seccomp_id;
	}
	if (!any)
		return 0;
	if (same)
		return install(r, t, &t->threads[0].thr,
			       ck_image_seccomp(r->img, t->threads[0].img->seccomp_id),
			       SECCOMP_FILTER_FLAG_TSYNC, err);
	for (size_t i = 0; i < t->nthreads; i++) {
		const struct ck_thread *m = t->threads[i].img;
		if (!m->seccomp_id)
			continue;
		int k = install(r, t, &t->threads[i].thr, ck_image_seccomp(r->img, m->seccomp_id), 0,
				err);
		if (k < 0)
			return cell_err_wrap(err, "thread %u", m->tid);
	}
	return 0;
}
