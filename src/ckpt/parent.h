/* The page index of a parent image chain (see parent.c). */
#ifndef CELL_CKPT_PARENT_H
#define CELL_CKPT_PARENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"

struct ck_pidx_ent {
	uint32_t pid;
	uint64_t addr;
	uint32_t npages;
	bool in_parent; /* the record says: further up the chain */
	uint64_t off;	/* of its data in this level's pages.img */
};

struct ck_parent_index {
	int fd;
	struct ck_pidx_ent *e; /* sorted by pid, addr */
	size_t n;
	struct ck_parent_index *up;
};

/* path is relative to basefd (an image directory), or absolute. */
int ck_parent_open(int basefd, const char *path, struct ck_parent_index **ret,
		   struct cell_err **err);
/* The record of pid that holds addr, or NULL; _next: that record or, if
 * none, the first of pid after addr. */
const struct ck_pidx_ent *ck_parent_next(const struct ck_parent_index *ix, uint32_t pid,
					 uint64_t addr);
const struct ck_pidx_ent *ck_parent_find(const struct ck_parent_index *ix, uint32_t pid,
					 uint64_t addr);
uint64_t ck_parent_covers(const struct ck_parent_index *ix, uint32_t pid, uint64_t addr,
			  uint64_t len);
int ck_parent_read(const struct ck_parent_index *ix, uint32_t pid, uint64_t addr, void *buf,
		   uint64_t len, struct cell_err **err);
void ck_parent_free(struct ck_parent_index *ix);

#endif
