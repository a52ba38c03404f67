/* The pages of a parent image chain (pre-dump <- pre-dump <- dump), indexed
 * by task and address from the record headers of each pages.img, without
 * reading the data: a dump asks whether a page it need not copy is there,
 * a restore reads it from the image that holds it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"
#include "ckpt/parent.h"
#include "img/le.h"

#define CHAIN_MAX 64

static int cmp_ent(const void *a, const void *b)
{
	const struct ck_pidx_ent *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Walk the record headers of pages.img: PAGES records only. */
static int index_pages(struct ck_parent_index *ix, struct cell_err **err)
{
	uint64_t off = IMG_HEADER_SIZE;
	uint8_t magic[IMG_HEADER_SIZE];
	if (pread(ix->fd, magic, sizeof(magic), 0) != sizeof(magic) || memcmp(magic, IMG_MAGIC, 8))
		return cell_err(err, EINVAL, "not a cell image");
	for (;;) {
		uint8_t h[IMG_REC_HEADER_SIZE + 64];
		ssize_t n = pread(ix->fd, h, sizeof(h), (off_t)off);
		if (n < IMG_REC_HEADER_SIZE)
			return cell_err(err, EIO, "pages.img truncated at %llu", (unsigned long long)off);
		uint16_t type = le_get16(h);
		uint32_t len = le_get32(h + 4);
		if (type == IMG_REC_END)
			break;
		if (type == CK_REC_PAGES) {
			/* The writer's field order: pid, addr, npages, flags, data. */
			const uint8_t *p = h + IMG_REC_HEADER_SIZE;
			if (n < IMG_REC_HEADER_SIZE + 4 * 6 + 4 + 8 + 4 + 4 + 6 || le_get16(p) != 1 ||
			    le_get16(p + 10) != 2 || le_get16(p + 24) != 3 || le_get16(p + 34) != 4 ||
			    le_get16(p + 44) != CK_PAGES_DATA_TAG)
				return cell_err(err, EINVAL, "pages.img: unexpected record at %llu",
						(unsigned long long)off);
			if ((ix->n & (ix->n - 1)) == 0) /* grow to the next power of two */
				ix->e = xrealloc(ix->e, (ix->n ? 2 * ix->n : 1) * sizeof(*ix->e));
			ix->e[ix->n++] = (struct ck_pidx_ent){
				.pid = le_get32(p + 6), .addr = le_get64(p + 16),
				.npages = le_get32(p + 30), .in_parent = le_get32(p + 40) & 1,
				.off = off + IMG_REC_HEADER_SIZE + 50,
			};
		}
		off += IMG_REC_HEADER_SIZE + (uint64_t)len;
	}
	if (ix->n)
		qsort(ix->e, ix->n, sizeof(*ix->e), cmp_ent);
	return 0;
}

static int open_level(int basefd, const char *path, int depth, struct ck_parent_index **ret,
		      struct cell_err **err)
{
	if (depth >= CHAIN_MAX)
		return cell_err(err, ELOOP, "more than %d parent images", CHAIN_MAX);
	_cleanup_close_ int dirfd = openat(basefd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cell_err_sys(err, "parent image %s", path);
	struct ck_inventory inv;
	int k = ck_image_load_inventory(dirfd, &inv, err);
	if (k < 0)
		return cell_err_wrap(err, "parent image %s", path);
	struct ck_parent_index *ix = xcalloc(1, sizeof(*ix));
	ix->fd = openat(dirfd, "pages.img", O_RDONLY | O_CLOEXEC);
	k = ix->fd < 0 ? cell_err_sys(err, "open pages.img") : index_pages(ix, err);
	if (k == 0 && inv.parent)
		k = open_level(dirfd, inv.parent, depth + 1, &ix->up, err);
	img_obj_free(&ck_inventory_schema, &inv);
	if (k < 0) {
		ck_parent_free(ix);
		return cell_err_wrap(err, "parent image %s", path);
	}
	*ret = ix;
	return 0;
}

int ck_parent_open(int basefd, const char *path, struct ck_parent_index **ret,
		   struct cell_err **err)
{
	return open_level(basefd, path, 0, ret, err);
}

const struct ck_pidx_ent *ck_parent_next(const struct ck_parent_index *ix, uint32_t pid,
					 uint64_t addr)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct ck_pidx_ent *e = &ix->e[mid];
		if (e->pid < pid || (e->pid == pid && e->addr + (uint64_t)e->npages * IMG_PAGE_SIZE <= addr))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && ix->e[lo].pid == pid ? &ix->e[lo] : NULL;
}

const struct ck_pidx_ent *ck_parent_find(const struct ck_parent_index *ix, uint32_t pid,
					 uint64_t addr)
{
	const struct ck_pidx_ent *e = ck_parent_next(ix, pid, addr);
	return e && e->addr <= addr ? e : NULL;
}

/* Pages [addr, addr + len) of pid that the chain holds, starting at addr:
 * the length covered (0: not there). */
uint64_t ck_parent_covers(const struct ck_parent_index *ix, uint32_t pid, uint64_t addr,
			  uint64_t len)
{
	uint64_t done = 0;
	while (done < len) {
		const struct ck_pidx_ent *e = ck_parent_find(ix, pid, addr + done);
		if (!e)
			break;
		uint64_t end = e->addr + (uint64_t)e->npages * IMG_PAGE_SIZE;
		uint64_t take = end - (addr + done);
		if (take > len - done)
			take = len - done;
		if (e->in_parent && (!ix->up || ck_parent_covers(ix->up, pid, addr + done, take) != take))
			break;
		done += take;
	}
	return done;
}

int ck_parent_read(const struct ck_parent_index *ix, uint32_t pid, uint64_t addr, void *buf,
		   uint64_t len, struct cell_err **err)
{
	uint64_t done = 0;
	while (done < len) {
		const struct ck_pidx_ent *e = ck_parent_find(ix, pid, addr + done);
		if (!e)
			return cell_err(err, ENOENT, "page %#llx of task %u is in no parent image",
					(unsigned long long)(addr + done), pid);
		uint64_t end = e->addr + (uint64_t)e->npages * IMG_PAGE_SIZE;
		uint64_t take = end - (addr + done);
		if (take > len - done)
			take = len - done;
		if (e->in_parent) {
			if (!ix->up)
				return cell_err(err, ENOENT, "page %#llx of task %u: broken parent chain",
						(unsigned long long)(addr + done), pid);
			int k = ck_parent_read(ix->up, pid, addr + done, (char *)buf + done, take, err);
			if (k < 0)
				return k;
		} else {
			off_t at = (off_t)(e->off + (addr + done - e->addr));
			if (pread(ix->fd, (char *)buf + done, take, at) != (ssize_t)take)
				return cell_err(err, EIO, "read a parent's pages.img");
		}
		done += take;
	}
	return 0;
}

void ck_parent_free(struct ck_parent_index *ix)
{
	while (ix) {
		struct ck_parent_index *up = ix->up;
		if (ix->fd >= 0)
			close(ix->fd);
		free(ix->e);
		free(ix);
		ix = up;
	}
}
