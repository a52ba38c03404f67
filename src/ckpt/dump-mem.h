/* Inside the memory dump: the page batch and the dirty-page filter that an
 * incremental dump (parent image + tracking armed by a pre-dump) uses. */
#ifndef CELL_CKPT_DUMP_MEM_H
#define CELL_CKPT_DUMP_MEM_H

#include "ckpt/internal.h"

struct batch;

/* A VMA as the page scan sees it. */
struct ck_scan_vma {
	struct ck_vma v;
	bool tracked; /* registered with our uffd for write-protect */
};

/* Scan the VMAs of t and emit their pages: copied now (batch), or planned
 * for later (t->plan, pre-dump), or recorded as kept in the parent when the
 * tracker says they were not written since. */
int ck_dump_pages(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *vmas,
		  size_t n, bool plan_only, struct cell_err **err);
int ck_collect_vmas(struct ck_dump *d, struct ck_dtask *t, bool write, struct ck_scan_vma **ret,
		    size_t *ret_n, struct cell_err **err);
void ck_scan_vmas_free(struct ck_scan_vma *v, size_t n);
/* dump-unprot.c, for a kernel that refuses forced reads of /proc/PID/mem:
 * with t stopped, ck_unprot_open() gives each private mapping of t (vmas)
 * without PROT_READ that holds one of the runs PROT_READ on top of its
 * protection, the whole mapping, in one batch of injected mprotect calls;
 * process_vm_readv then reads the runs.  ck_unprot_close() gives them
 * their protection back (one batch) and unmaps the scratch page the
 * batches ran in; it is due on every path before t runs again or is
 * killed, and does nothing when nothing is open.  The VMA records were
 * written before (ck_collect_vmas): the image never sees PROT_READ. */
int ck_unprot_open(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *vmas,
		   size_t n, const struct ck_run *runs, size_t nruns, struct cell_err **err);
int ck_unprot_close(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
/* The stopped task t, the rest of its pages read: the runs of its mappings
 * without PROT_READ, read by read(ctx, forced) (dump-mm.c's batch, which
 * records nothing of a read that fails): forced first; once a forced read
 * is refused, for t and every task after, between ck_unprot_open() and
 * ck_unprot_close(). */
int ck_unprot_read(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *vmas,
		   size_t n, const struct ck_run *runs, size_t nruns,
		   int (*read)(void *ctx, bool forced, struct cell_err **err), void *ctx,
		   struct cell_err **err);
/* Copy t->plan while the tree runs: ranges that vanished are skipped. */
int ck_copy_plan(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);

#endif
