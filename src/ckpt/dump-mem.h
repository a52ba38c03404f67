/* Inside the memory dump: the page batch and the dirty-page filter that an
 * incremental dump (parent image + tracking armed by a pre-dump) uses. */
#ifndef CELL_CKPT_DUMP_MEM_H
#define CELL_CKPT_DUMP_MEM_H

#include "ckpt/internal.h"

struct batch;

/* What changed since the parent image, for one task: NULL means everything
 * is copied. */
struct ck_dirty {
	struct ck_page_region_list *written; /* sorted ranges written since */
	size_t nwritten;
	const struct ck_parent_index *parent;
};

int ck_batch_add(struct batch *b, uint64_t addr, uint64_t npages, bool forced,
		 struct cell_err **err);
/* Pages [start, end) hold state: copy those written since the parent, and
 * record the others as kept in the parent. */
int ck_dirty_emit(struct ck_dump *d, struct batch *b, const struct ck_dirty *dirty,
		  uint64_t start, uint64_t end, bool forced, struct cell_err **err);
int ck_dump_pages(struct ck_dump *d, struct ck_dtask *t, const struct ck_vma *vmas, size_t n,
		  const struct ck_dirty *dirty, struct cell_err **err);

#endif
