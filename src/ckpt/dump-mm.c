/* Memory: the VMA list, and the pages worth keeping.  Which pages those are
 * comes from PAGEMAP_SCAN (present or swapped, and for private file
 * mappings only the copied-on-write ones); their contents are read with
 * process_vm_readv in batches of up to 16 MiB and 1024 ranges, and written
 * as PAGES records straight from that buffer (img_write_bulk). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"
#include "ckpt/pagemap.h"

#define BATCH_BYTES (16u << 20)
#define BATCH_IOV 1024

struct batch {
	struct ck_dump *d;
	pid_t pid;
	uint32_t vpid;
	int memfd; /* /proc/PID/mem, for mappings without PROT_READ */
	size_t used;
	struct iovec remote[BATCH_IOV];
	size_t n;
	bool forced; /* this batch goes through /proc/PID/mem */
};

static int batch_flush(struct batch *b, struct cell_err **err)
{
	if (!b->n)
		return 0;
	size_t off = 0;
	if (b->forced) {
		for (size_t i = 0; i < b->n; i++) {
			ssize_t k = pread(b->memfd, b->d->buf + off, b->remote[i].iov_len,
					  (off_t)(uintptr_t)b->remote[i].iov_base);
			if (k != (ssize_t)b->remote[i].iov_len)
				return cell_err(err, k < 0 ? errno : EIO, "read memory of %d at %p",
						b->pid, b->remote[i].iov_base);
			off += (size_t)k;
		}
	} else {
		struct iovec local = { b->d->buf, b->used };
		ssize_t k = process_vm_readv(b->pid, &local, 1, b->remote, b->n, 0);
		if (k != (ssize_t)b->used)
			return cell_err(err, k < 0 ? errno : EIO,
					"read %zu bytes of memory of %d (got %zd)", b->used, b->pid, k);
	}
	off = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct ck_pages p = { .pid = b->vpid,
				      .addr = (uint64_t)(uintptr_t)b->remote[i].iov_base,
				      .npages = (uint32_t)(b->remote[i].iov_len / IMG_PAGE_SIZE) };
		struct iovec data = { b->d->buf + off, b->remote[i].iov_len };
		int r = img_write_bulk(b->d->pages, &ck_pages_schema, &p, CK_PAGES_DATA_TAG, &data, 1,
				       err);
		if (r < 0)
			return r;
		off += data.iov_len;
		b->d->stats->pages_written += p.npages;
	}
	b->n = 0;
	b->used = 0;
	/* The buffer is about to be refilled: the records must be out. */
	return img_writer_flush(b->d->pages, err);
}

/* Queue [addr, addr + npages) for copying, in record-sized pieces. */
int ck_batch_add(struct batch *b, uint64_t addr, uint64_t npages, bool forced,
		 struct cell_err **err)
{
	while (npages > 0) {
		if (b->n && b->forced != forced) {
			int r = batch_flush(b, err);
			if (r < 0)
				return r;
		}
		b->forced = forced;
		uint64_t room = (BATCH_BYTES - b->used) / IMG_PAGE_SIZE;
		uint64_t take = npages < room ? npages : room;
		if (take > IMG_PAGES_MAX)
			take = IMG_PAGES_MAX;
		if (take == 0 || b->n == BATCH_IOV) {
			int r = batch_flush(b, err);
			if (r < 0)
				return r;
			continue;
		}
		b->remote[b->n++] = (struct iovec){ (void *)(uintptr_t)addr, take * IMG_PAGE_SIZE };
		b->used += take * IMG_PAGE_SIZE;
		addr += take * IMG_PAGE_SIZE;
		npages -= take;
	}
	return 0;
}

int ck_dirty_emit(struct ck_dump *d, struct batch *b, const struct ck_dirty *dirty,
		  uint64_t start, uint64_t end, bool forced, struct cell_err **err)
{
	(void)d;
	(void)dirty;
	return ck_batch_add(b, start, (end - start) / IMG_PAGE_SIZE, forced, err);
}

/* Which pages of a VMA hold state of their own. */
static bool wanted(const struct ck_vma *v, uint64_t cat)
{
	if (cat & CK_PAGE_IS_SWAPPED)
		return true;
	if (!(cat & CK_PAGE_IS_PRESENT))
		return false;
	if (v->kind == CK_VMA_ANON)
		return !(cat & CK_PAGE_IS_PFNZERO);
	/* Private file or shmem mapping: only what was copied on write. */
	return !(cat & CK_PAGE_IS_FILE);
}

static int scan_vma(struct ck_dump *d, struct batch *b, int pmfd, const struct ck_vma *v,
		    const struct ck_dirty *dirty, struct cell_err **err)
{
	struct ck_page_region regs[512];
	uint64_t at = v->start;
	while (at < v->end) {
		struct ck_pm_scan_arg a = {
			.size = sizeof(a), .start = at, .end = v->end,
			.vec = (uint64_t)(uintptr_t)regs, .vec_len = ARRAY_SIZE(regs),
			.category_anyof_mask = CK_PAGE_IS_PRESENT | CK_PAGE_IS_SWAPPED,
			.return_mask = CK_PAGE_IS_PRESENT | CK_PAGE_IS_SWAPPED | CK_PAGE_IS_FILE |
				       CK_PAGE_IS_PFNZERO,
		};
		int n = ioctl(pmfd, CK_PAGEMAP_SCAN, &a);
		if (n < 0)
			return cell_err_sys(err, "PAGEMAP_SCAN of %d at %#llx", b->pid,
					    (unsigned long long)at);
		for (int i = 0; i < n; i++) {
			if (!wanted(v, regs[i].categories))
				continue;
			int r = ck_dirty_emit(d, b, dirty, regs[i].start, regs[i].end,
					      !(v->prot & PROT_READ), err);
			if (r < 0)
				return r;
		}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return 0;
}

int ck_dump_pages(struct ck_dump *d, struct ck_dtask *t, const struct ck_vma *vmas, size_t n,
		  const struct ck_dirty *dirty, struct cell_err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/pagemap", t->pid);
	_cleanup_close_ int pmfd = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%d/mem", t->pid);
	_cleanup_close_ int memfd = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	if (pmfd < 0 || memfd < 0)
		return cell_err_sys(err, "open /proc/%d/pagemap and mem", t->pid);
	_cleanup_free_ struct batch *b = xcalloc(1, sizeof(*b));
	*b = (struct batch){ .d = d, .pid = t->pid, .vpid = t->vpid, .memfd = memfd };
	for (size_t i = 0; i < n; i++) {
		const struct ck_vma *v = &vmas[i];
		if (v->kind == CK_VMA_VDSO || v->kind == CK_VMA_VVAR || v->kind == CK_VMA_VVAR_VCLOCK)
			continue;
		if (v->flags & CK_VMA_SHARED) /* in the file or the shmem object */
			continue;
		int r = scan_vma(d, b, pmfd, v, dirty, err);
		if (r < 0)
			return r;
	}
	return batch_flush(b, err);
}
