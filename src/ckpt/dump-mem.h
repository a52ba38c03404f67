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
/* Copy t->plan while the tree runs: ranges that vanished are skipped. */
int ck_copy_plan(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);

#endif
