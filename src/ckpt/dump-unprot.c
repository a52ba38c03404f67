/* Pages of private mappings without PROT_READ (data made PROT_NONE, the
 * protected part of a JVM-style reservation, -w- or --x mappings) on a
 * kernel that refuses forced reads of /proc/PID/mem
 * (CONFIG_PROC_MEM_NO_FORCE; dump-mm.c tries a forced read first).  With
 * the task stopped, each such mapping that holds pages to dump gets
 * PROT_READ added for as long as they are read (process_vm_readv, which
 * honours the protection), then its protection back.
 *
 * The whole mapping, so that it is never split: mprotect_fixup() splits a
 * VMA changed in part (mm/mprotect.c), and a split VMA stays split.  Adding
 * PROT_READ charges no commit: a private mapping is charged (VM_ACCOUNT)
 * only when it gains VM_WRITE, and the charge is never dropped by taking
 * a protection away, so none changes here (checked on 6.18: Committed_AS
 * the same before, during and after, for a 1 GiB PROT_NONE reservation and
 * for a charged 1 GiB mapping made PROT_NONE).  Made readable, a mapping
 * may merge with a readable neighbour; the mprotect back over its own
 * range splits it off again as it was.  A sealed mapping (mseal) refuses
 * both: the dump fails, naming it.  Both directions run as one
 * batch of injected mprotect calls each (batch.h: one ptrace round trip)
 * in a scratch page mapped for the purpose after the mappings were read
 * (ck_collect_vmas) and unmapped after: the image holds the mappings and
 * protections as they were. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "ckpt/batch.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"

/* Why the mappings had to be made readable, for messages. */
static const char *why_unforced(const struct ck_dump *d, char *buf, size_t n)
{
	return ck_unforced_why("read", d->force_errno, d->sim_no_force, buf, n);
}

static int map_scratch(struct ck_dtask *t, struct cell_err **err)
{
	if (t->unprot_scratch)
		return 0;
	int64_t a;
	int r = ck_dsys(t, "mmap", SYS_mmap, 0, CK_BATCH_SCRATCH,
			PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, &a, err);
	if (r < 0)
		return r;
	t->unprot_scratch = (uint64_t)a;
	return ck_mem_write(t->pid, t->unprot_scratch, ck_batch_code, sizeof(ck_batch_code), err);
}

static int protect_failed(struct ck_dump *d, struct ck_dtask *t, const struct ck_unprot *u,
			  bool open, int64_t ret, struct cell_err **err)
{
	char p[4], why[160];
	if (open)
		return cell_err(err, (int)-ret, "process %u (pid %d): %s, and making %#llx-%#llx "
				"(%s) readable for its pages failed: mprotect", t->vpid, t->pid,
				why_unforced(d, why, sizeof(why)), (unsigned long long)u->start,
				(unsigned long long)u->end, ck_prot_str(u->prot, p));
	return cell_err(err, (int)-ret, "process %u (pid %d): protect %#llx-%#llx back to %s "
			"after its pages were read: mprotect", t->vpid, t->pid,
			(unsigned long long)u->start, (unsigned long long)u->end,
			ck_prot_str(u->prot, p));
}

/* mprotect every mapping of t->unprot[from..] to its own protection, with
 * PROT_READ added when open.  Opening stops at the first failure; closing
 * goes on through all of them (each one that can be is put back) and
 * reports the first. */
static int protect(struct ck_dump *d, struct ck_dtask *t, size_t from, bool open,
		   struct cell_err **err)
{
	_cleanup_free_ struct ck_batch *b = xmalloc(sizeof(*b));
	int first_err = 0;
	for (size_t i = from; i < t->nunprot;) {
		ck_batch_init(b, t->unprot_scratch);
		size_t first = i;
		for (; i < t->nunprot && b->n < CK_BATCH_MAX; i++) {
			const struct ck_unprot *u = &t->unprot[i];
			ck_batch_add(b, "mprotect", SYS_mprotect, u->start, u->end - u->start,
				     open ? u->prot | PROT_READ : u->prot, 0, 0, 0);
		}
		int r = ck_batch_run(b, &t->threads[0].thr, t->pid, NULL, 0, err);
		if (r < 0)
			return cell_err_wrap(err, "process %u (pid %d): %zu mprotect calls", t->vpid,
					     t->pid, b->n);
		for (size_t j = 0; j < b->n; j++) {
			int64_t ret = ck_batch_ret(b, j);
			if (ret == 0 || first_err)
				continue;
			first_err = protect_failed(d, t, &t->unprot[first + j], open, ret, err);
			if (open)
				return first_err;
		}
	}
	return first_err;
}

int ck_unprot_open(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *vmas,
		   size_t n, const struct ck_run *runs, size_t nruns, struct cell_err **err)
{
	size_t from = t->nunprot;
	/* Runs come in address order, as the mappings do. */
	for (size_t i = 0, k = 0; i < n && k < nruns; i++) {
		const struct ck_vma *v = &vmas[i].v;
		while (k < nruns && runs[k].addr < v->start)
			k++;
		if (k == nruns || runs[k].addr >= v->end || (v->prot & PROT_READ) ||
		    (v->flags & CK_VMA_SHARED))
			continue;
		t->unprot = xrealloc(t->unprot, (t->nunprot + 1) * sizeof(*t->unprot));
		t->unprot[t->nunprot++] = (struct ck_unprot){ v->start, v->end, v->prot };
	}
	if (t->nunprot == from)
		return 0;
	int r = map_scratch(t, err);
	if (r < 0) {
		size_t k = t->nunprot - from;
		t->nunprot = from; /* nothing was opened */
		return cell_err_wrap(err, "process %u (pid %d): a scratch page to make %zu "
				     "mappings without PROT_READ readable", t->vpid, t->pid, k);
	}
	/* A failure leaves them listed: ck_unprot_close() puts back what was
	 * changed, and setting a protection a mapping has already is a no-op. */
	return protect(d, t, from, true, err);
}

int ck_unprot_close(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	int r = 0;
	if (t->nunprot)
		r = protect(d, t, 0, false, err);
	free(t->unprot);
	t->unprot = NULL;
	t->nunprot = 0;
	if (t->unprot_scratch) {
		int u = ck_dsys(t, "munmap", SYS_munmap, t->unprot_scratch, CK_BATCH_SCRATCH, 0, 0,
				NULL, r < 0 ? NULL : err);
		t->unprot_scratch = 0;
		if (r == 0 && u < 0)
			r = cell_err_wrap(err, "process %u (pid %d): unmap the scratch page",
					  t->vpid, t->pid);
	}
	return r;
}

static bool refusal(int e)
{
	return e == EIO || e == EPERM || e == EACCES;
}

int ck_unprot_read(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *vmas,
		   size_t n, const struct ck_run *runs, size_t nruns,
		   int (*read)(void *ctx, bool forced, struct cell_err **err), void *ctx,
		   struct cell_err **err)
{
	uint64_t t0 = cell_now_ns(), pages = 0;
	for (size_t i = 0; i < nruns; i++)
		pages += runs[i].npages;
	if (!d->force_refused) {
		int r = read(ctx, true, err);
		if (r == 0 || !refusal(-r)) {
			d->unread_ns += cell_now_ns() - t0;
			d->unread_pages += r == 0 ? pages : 0;
			return r;
		}
		/* Nothing of the failed read was recorded: it is read again. */
		cell_err_freep(err);
		d->force_refused = true;
		d->force_errno = -r;
		char why[160];
		ck_logf(&d->log, "process %d: %s; mappings without PROT_READ are made readable "
			"for their pages instead", t->pid, why_unforced(d, why, sizeof(why)));
	}
	uint64_t t1 = cell_now_ns();
	int r = ck_unprot_open(d, t, vmas, n, runs, nruns, err);
	d->unprot_vmas += t->nunprot;
	uint64_t t2 = cell_now_ns();
	if (r == 0)
		r = read(ctx, false, err);
	if (r < 0)
		cell_err_wrap(err, "%llu pages of mappings without PROT_READ, made readable "
			      "meanwhile", (unsigned long long)pages);
	uint64_t t3 = cell_now_ns();
	int c = ck_unprot_close(d, t, r < 0 ? NULL : err);
	d->unread_ns += cell_now_ns() - t0;
	d->unprot_ns += (t2 - t1) + (cell_now_ns() - t3);
	if (r == 0 && c == 0) {
		d->unread_pages += pages;
		d->stats->pages_unprotected += pages;
	}
	return r < 0 ? r : c;
}
