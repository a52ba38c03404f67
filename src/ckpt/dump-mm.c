/* Memory: the VMA list, and the pages worth keeping.  Which pages those are
 * comes from PAGEMAP_SCAN (present or swapped, and for private file
 * mappings only the copied-on-write ones); their contents are read with
 * process_vm_readv in batches of up to 8 MiB and 1024 ranges into the page
 * writer's buffers, which its thread writes as PAGES records while the
 * next batch is read (pagewriter.h).  In a mapping tracked since the
 * parent image, the tree stopped, one scan finds what the parent must not
 * give (written, or discarded since: scan_frozen) and only that is looked
 * at closely; in the live precopy round, the written pages are found with
 * the scan's cheapest path (scan_tracked).
 *
 * Pages of private mappings without PROT_READ are read after the others
 * of their task by a forced read of /proc/PID/mem or, once one is refused
 * (CONFIG_PROC_MEM_NO_FORCE), with the mappings made readable meanwhile
 * (dump-unprot.c), which needs the task stopped: while the tree runs they
 * are left to the stopped dump (see emit), and a range that could not be
 * read then is marked written again in its tracker (mark_written). */
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
#include <linux/userfaultfd.h>

#include "base/util.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"
#include "ckpt/pagemap.h"
#include "ckpt/pagewriter.h"
#include "ckpt/parent.h"

#define BATCH_IOV 1024

/* A batch of ranges read in one process_vm_readv into a page writer
 * buffer (pagewriter.h), then handed to the writer thread. */
struct batch {
	struct ck_dump *d;
	pid_t pid;
	uint32_t vpid;
	int memfd; /* /proc/PID/mem, for mappings without PROT_READ */
	int uffd;  /* the task's tracker (our copy), -1 if none: see mark_written */
	uint8_t *buf; /* the writer's buffer being filled */
	size_t used;
	struct iovec remote[BATCH_IOV];
	size_t lens[BATCH_IOV]; /* as queued: a dropped range keeps its room */
	size_t n;
	bool forced;   /* this batch goes through /proc/PID/mem */
	bool tolerant; /* the tree runs: a range may vanish under us; skip it */
};

/* A forced read: /proc/PID/mem reads past the protection (FOLL_FORCE), as
 * a debugger does.  Kernels built with CONFIG_PROC_MEM_NO_FORCE refuse it
 * (EIO), as do those with CONFIG_PROC_MEM_FORCE_PTRACE unless the reader
 * is the tracer (we are).  With CELL_CKPT_NO_FORCE it is refused the same
 * way here, so that the other path can be tested. */
static ssize_t read_forced(const struct batch *b, void *buf, size_t len, uint64_t addr)
{
	if (b->d->sim_no_force) {
		errno = EIO;
		return -1;
	}
	return pread(b->memfd, buf, len, (off_t)addr);
}

/* The tree runs and [addr, addr + len) could not be read: unmapped, or
 * made unreadable meanwhile with forced reads refused.  If its pages were
 * write-protected as clean (a pre-dump's arming, the precopy round's
 * scan), the next dump would take them from a parent that never got
 * them: mark them written again.  ENOENT: nothing tracked there (gone, or
 * a mapping made since, which the next dump copies whole). */
static int mark_written(const struct batch *b, uint64_t addr, uint64_t len, struct cell_err **err)
{
	struct uffdio_writeprotect wp = { .range = { addr, len }, .mode = 0 };
	if (b->uffd < 0 || ioctl(b->uffd, UFFDIO_WRITEPROTECT, &wp) == 0 || errno == ENOENT ||
	    errno == EINVAL)
		return 0;
	return cell_err_sys(err, "process %d: mark %#llx-%#llx written again after it could not "
			    "be read", b->pid, (unsigned long long)addr,
			    (unsigned long long)(addr + len));
}

/* The tree runs: some range was unmapped (or made unreadable) meanwhile.
 * Read the ranges one by one and drop those that fail; the next dump sees
 * them as they are then. */
static int retry_each(struct batch *b, struct cell_err **err)
{
	size_t off = 0;
	for (size_t i = 0; i < b->n; i++) {
		struct iovec local = { b->buf + off, b->remote[i].iov_len };
		ssize_t k = process_vm_readv(b->pid, &local, 1, &b->remote[i], 1, 0);
		/* Made unreadable meanwhile (mprotect) but still there. */
		if (k != (ssize_t)local.iov_len)
			k = read_forced(b, local.iov_base, local.iov_len,
					(uint64_t)(uintptr_t)b->remote[i].iov_base);
		off += b->lens[i];
		if (k == (ssize_t)local.iov_len)
			continue;
		int r = mark_written(b, (uint64_t)(uintptr_t)b->remote[i].iov_base,
				     b->remote[i].iov_len, err);
		if (r < 0)
			return r;
		b->remote[i].iov_len = 0;
	}
	return 0;
}

static int batch_read(struct batch *b, struct cell_err **err)
{
	if (b->forced) {
		size_t off = 0;
		for (size_t i = 0; i < b->n; i++) {
			uint64_t at = (uint64_t)(uintptr_t)b->remote[i].iov_base;
			ssize_t k = read_forced(b, b->buf + off, b->remote[i].iov_len, at);
			if (k != (ssize_t)b->remote[i].iov_len && b->tolerant) {
				int r = mark_written(b, at, b->remote[i].iov_len, err);
				if (r < 0)
					return r;
				b->remote[i].iov_len = 0;
			} else if (k != (ssize_t)b->remote[i].iov_len) {
				return cell_err(err, k < 0 ? errno : EIO, "read %zu bytes of memory "
						"of %d at %#llx without PROT_READ (forced)",
						b->remote[i].iov_len, b->pid, (unsigned long long)at);
			}
			off += b->lens[i];
		}
		return 0;
	}
	struct iovec local = { b->buf, b->used };
	ssize_t k = process_vm_readv(b->pid, &local, 1, b->remote, b->n, 0);
	if (k != (ssize_t)b->used && !b->tolerant)
		return cell_err(err, k < 0 ? errno : EIO, "read %zu bytes of memory of %d (got %zd)",
				b->used, b->pid, k);
	if (k != (ssize_t)b->used)
		return retry_each(b, err);
	return 0;
}

static int batch_flush(struct batch *b, struct cell_err **err)
{
	if (!b->n)
		return 0;
	int r = batch_read(b, err);
	size_t off = 0;
	for (size_t i = 0; r == 0 && i < b->n; i++) {
		if (b->remote[i].iov_len) {
			struct ck_pages p = { .pid = b->vpid,
					      .addr = (uint64_t)(uintptr_t)b->remote[i].iov_base,
					      .npages = (uint32_t)(b->remote[i].iov_len / IMG_PAGE_SIZE) };
			r = ck_pw_record(b->d->pw, &ck_pages_schema, &p, off, b->remote[i].iov_len, err);
			b->d->stats->pages_written += p.npages;
		}
		off += b->lens[i];
	}
	b->n = 0;
	b->used = 0;
	b->buf = NULL;
	/* The next batch reads into another buffer while this one is written. */
	return r < 0 ? r : ck_pw_submit(b->d->pw, err);
}

/* Queue [addr, addr + npages) for copying, in record-sized pieces. */
static int queue(struct batch *b, uint64_t addr, uint64_t npages, bool forced,
		 struct cell_err **err)
{
	while (npages > 0) {
		if (b->n && b->forced != forced) {
			int r = batch_flush(b, err);
			if (r < 0)
				return r;
		}
		if (!b->buf && !(b->buf = ck_pw_buffer(b->d->pw, err)))
			return -EIO;
		b->forced = forced;
		uint64_t room = (CK_PW_BUF - b->used) / IMG_PAGE_SIZE;
		uint64_t take = npages < room ? npages : room;
		if (take > IMG_PAGES_MAX)
			take = IMG_PAGES_MAX;
		if (take == 0 || b->n == BATCH_IOV) {
			int r = batch_flush(b, err);
			if (r < 0)
				return r;
			continue;
		}
		b->lens[b->n] = take * IMG_PAGE_SIZE;
		b->remote[b->n++] = (struct iovec){ (void *)(uintptr_t)addr, take * IMG_PAGE_SIZE };
		b->used += take * IMG_PAGE_SIZE;
		addr += take * IMG_PAGE_SIZE;
		npages -= take;
	}
	return 0;
}

static int in_parent(struct ck_dump *d, uint32_t vpid, uint64_t addr, uint64_t npages,
		     struct cell_err **err)
{
	while (npages > 0) {
		uint64_t take = npages < IMG_PAGES_MAX ? npages : IMG_PAGES_MAX;
		struct ck_pages p = { .pid = vpid, .addr = addr, .npages = (uint32_t)take,
				      .flags = CK_PAGES_IN_PARENT };
		int r = ck_pw_record(d->pw, &ck_pages_schema, &p, 0, 0, err);
		if (r < 0)
			return r;
		d->stats->pages_skipped += take;
		addr += take * IMG_PAGE_SIZE;
		npages -= take;
	}
	return 0;
}

static void plan_add(struct ck_dtask *t, uint64_t addr, uint64_t npages, bool forced)
{
	if ((t->nplan & (t->nplan - 1)) == 0) /* grow to the next power of two */
		t->plan = xrealloc(t->plan, (t->nplan ? 2 * t->nplan : 1) * sizeof(*t->plan));
	t->plan[t->nplan++] = (struct ck_run){ addr, npages, forced };
}

struct runs {
	struct ck_run *v;
	size_t n;
};

struct emit {
	struct ck_dump *d;
	struct ck_dtask *t;
	struct batch *b;
	bool plan_only;
	bool rewp; /* write-protect the written pages as they are found (live pass) */
	struct runs *unread; /* stopped tree: runs without PROT_READ, read last */
};

/* Pages [start, end) hold state.  Those not written since the parent image
 * (tracked, and the chain has them) are recorded as kept there; the rest
 * are copied now, or planned for after the tree runs again. */
static int emit(const struct emit *e, uint64_t start, uint64_t end, bool written, bool forced,
		struct cell_err **err)
{
	uint64_t len = end - start;
	if (!written && e->d->parent) {
		uint64_t have = ck_parent_covers(e->d->parent, e->t->vpid, start, len);
		if (have) {
			int r = in_parent(e->d, e->t->vpid, start, have / IMG_PAGE_SIZE, err);
			if (r < 0 || have == len)
				return r;
			start += have;
			len -= have;
		}
		/* Tracked, not written since we armed, and no copy of it
		 * anywhere: a write-protect marker on a page never populated
		 * (PAGEMAP_SCAN counts markers as swapped).  It reads as
		 * zeros, as a fresh mapping does. */
		return 0;
	}
	/* No PROT_READ, tree stopped: read once the rest is (read_unreadable).
	 * A pre-dump does not plan them: its copy runs with the tree running,
	 * where they could only be forced; the next dump takes them, as their
	 * mapping is not armed (predump.c). */
	if (forced && e->plan_only)
		return 0;
	if (forced && !e->d->live) {
		struct runs *u = e->unread;
		if ((u->n & (u->n - 1)) == 0) /* grow to the next power of two */
			u->v = xrealloc(u->v, (u->n ? 2 * u->n : 1) * sizeof(*u->v));
		u->v[u->n++] = (struct ck_run){ start, len / IMG_PAGE_SIZE, true };
		return 0;
	}
	if (e->plan_only) {
		plan_add(e->t, start, len / IMG_PAGE_SIZE, forced);
		return 0;
	}
	return queue(e->b, start, len / IMG_PAGE_SIZE, forced, err);
}

/* Which pages of a VMA hold state of their own. */
static bool wanted(const struct ck_vma *v, uint64_t cat)
{
	if (cat & CK_PAGE_IS_GUARD)
		return false;
	if (cat & CK_PAGE_IS_SWAPPED)
		return true;
	if (!(cat & CK_PAGE_IS_PRESENT))
		return false;
	if (v->kind == CK_VMA_ANON)
		return !(cat & CK_PAGE_IS_PFNZERO);
	/* Private file or shmem mapping: only what was copied on write. */
	return !(cat & CK_PAGE_IS_FILE);
}

/* Pages of [start, end) of a VMA, with every category that decides
 * whether a page is kept (wanted()) and, when tracked, whether it was
 * written since tracking was armed (all_written: known to be, by a scan
 * that may have write-protected them again since). */
static int scan_range(const struct emit *e, int pmfd, const struct ck_scan_vma *sv, uint64_t start,
		      uint64_t end, bool all_written, struct cell_err **err)
{
	const struct ck_vma *v = &sv->v;
	struct ck_page_region regs[512];
	uint64_t at = start;
	while (at < end) {
		struct ck_pm_scan_arg a = {
			.size = sizeof(a), .start = at, .end = end,
			.vec = (uint64_t)(uintptr_t)regs, .vec_len = ARRAY_SIZE(regs),
			.category_anyof_mask = CK_PAGE_IS_PRESENT | CK_PAGE_IS_SWAPPED,
			.return_mask = CK_PAGE_IS_PRESENT | CK_PAGE_IS_SWAPPED | CK_PAGE_IS_FILE |
				       CK_PAGE_IS_PFNZERO | CK_PAGE_IS_GUARD |
				       (sv->tracked ? CK_PAGE_IS_WRITTEN : 0),
		};
		int n = ioctl(pmfd, CK_PAGEMAP_SCAN, &a);
		if (n < 0)
			return cell_err_sys(err, "PAGEMAP_SCAN of %d at %#llx", e->t->pid,
					    (unsigned long long)at);
		for (int i = 0; i < n; i++) {
			if (!wanted(v, regs[i].categories))
				continue;
			bool written = all_written || !sv->tracked ||
				       (regs[i].categories & CK_PAGE_IS_WRITTEN);
			int r = emit(e, regs[i].start, regs[i].end, written, !(v->prot & PROT_READ),
				     err);
			if (r < 0)
				return r;
		}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return 0;
}

/* Whether a page reported swapped but not written by PAGEMAP_SCAN still
 * holds what was tracked: really swapped out (or migrating), or a uffd-wp
 * marker the kernel left where a write-protected page was discarded
 * (MADV_DONTNEED, reclaim of a file page), which PAGEMAP_SCAN counts as
 * swapped too: the mapping gives its content now (the file's, or zeros),
 * not the parent.  /proc/PID/pagemap tells them apart by the swap type in
 * the frame bits, SWP_PTE_MARKER being the last of the five-bit types
 * (include/linux/swap.h); it shows them to CAP_SYS_ADMIN only, and
 * without (frame 0) the page is copied, which reads right either way. */
#define PM_SWAP (1ULL << 62)
#define PM_FRAME ((1ULL << 55) - 1)
#define SWP_TYPE_BITS 5
#define SWP_PTE_MARKER ((1u << SWP_TYPE_BITS) - 1)

enum swapped { SW_GONE, SW_KEEP, SW_COPY };

static enum swapped swapped_kind(uint64_t ent)
{
	if (!(ent & PM_SWAP))
		return SW_GONE; /* not swapped after all: none, a hole */
	if (!(ent & PM_FRAME))
		return SW_COPY;
	return (ent & ((1u << SWP_TYPE_BITS) - 1)) == SWP_PTE_MARKER ? SW_GONE : SW_KEEP;
}

/* [start, end) of pages the parent chain holds, swapped and not written. */
static int keep_swapped(const struct emit *e, int pmfd, const struct ck_vma *v, uint64_t start,
			uint64_t end, struct cell_err **err)
{
	uint64_t ent[512];
	while (start < end) {
		uint64_t n = (end - start) / IMG_PAGE_SIZE;
		if (n > ARRAY_SIZE(ent))
			n = ARRAY_SIZE(ent);
		ssize_t k = pread(pmfd, ent, n * sizeof(*ent), (off_t)(start / IMG_PAGE_SIZE * 8));
		if (k != (ssize_t)(n * sizeof(*ent)))
			return cell_err(err, k < 0 ? errno : EIO, "read the pagemap of %d at %#llx",
					e->t->pid, (unsigned long long)start);
		for (uint64_t i = 0, j; i < n; i = j) {
			enum swapped kind = swapped_kind(ent[i]);
			for (j = i + 1; j < n && swapped_kind(ent[j]) == kind;)
				j++;
			uint64_t s = start + i * IMG_PAGE_SIZE, t = start + j * IMG_PAGE_SIZE;
			int r = 0;
			if (kind == SW_KEEP)
				r = in_parent(e->d, e->t->vpid, s, j - i, err);
			else if (kind == SW_COPY)
				r = emit(e, s, t, true, !(v->prot & PROT_READ), err);
			if (r < 0)
				return r;
		}
		start += n * IMG_PAGE_SIZE;
	}
	return 0;
}

/* [start, end) of a tracked VMA was not written since tracking was armed:
 * what the parent chain holds of it stays there.  The rest was never
 * populated (or is a write-protect marker on such a page): zeros.  With
 * pmfd >= 0 the range is not present and reported swapped: only what
 * keep_swapped() finds really swapped stays in the parent. */
static int keep_parent(const struct emit *e, int pmfd, const struct ck_vma *v, uint64_t start,
		       uint64_t end, struct cell_err **err)
{
	const struct ck_parent_index *ix = e->d->parent;
	while (ix && start < end) {
		const struct ck_pidx_ent *p = ck_parent_next(ix, e->t->vpid, start);
		if (!p || p->addr >= end)
			break;
		uint64_t at = p->addr > start ? p->addr : start;
		uint64_t have = ck_parent_covers(ix, e->t->vpid, at, end - at);
		if (have) {
			int r = pmfd >= 0 ? keep_swapped(e, pmfd, v, at, at + have, err)
					  : in_parent(e->d, e->t->vpid, at, have / IMG_PAGE_SIZE, err);
			if (r < 0)
				return r;
		}
		start = have ? at + have : p->addr + (uint64_t)p->npages * IMG_PAGE_SIZE;
	}
	return 0;
}

/* The scan `a` asks for, over the whole of a tracked VMA: written runs are
 * stored, swapped ones checked against the parent (keep_parent with the
 * pagemap), runs reported otherwise get no record, and the gaps between
 * the runs are what the parent keeps. */
static int scan_runs(const struct emit *e, int pmfd, const struct ck_scan_vma *sv,
		     struct ck_pm_scan_arg a, struct cell_err **err)
{
	const struct ck_vma *v = &sv->v;
	struct ck_page_region regs[512];
	uint64_t at = v->start, clean = v->start;
	a.size = sizeof(a);
	a.vec = (uint64_t)(uintptr_t)regs;
	a.vec_len = ARRAY_SIZE(regs);
	while (at < v->end) {
		a.start = at;
		a.end = v->end;
		int n = ioctl(pmfd, CK_PAGEMAP_SCAN, &a);
		/* Not ours after all (the program's own, synchronous
		 * write-protect): nothing of it was protected again, so what
		 * the parent says of the rest still holds. */
		if (n < 0 && errno == EPERM && (a.flags & CK_PM_SCAN_WP_MATCHING))
			break;
		if (n < 0)
			return cell_err_sys(err, "PAGEMAP_SCAN of %d at %#llx", e->t->pid,
					    (unsigned long long)at);
		for (int i = 0; i < n; i++) {
			uint64_t cat = regs[i].categories;
			int r = keep_parent(e, -1, v, clean, regs[i].start, err);
			if (r == 0 && (cat & CK_PAGE_IS_WRITTEN))
				r = scan_range(e, pmfd, sv, regs[i].start, regs[i].end, true, err);
			else if (r == 0 && (cat & CK_PAGE_IS_SWAPPED))
				r = keep_parent(e, pmfd, v, regs[i].start, regs[i].end, err);
			if (r < 0)
				return r;
			clean = regs[i].end;
		}
		if (a.walk_end <= at)
			break;
		at = a.walk_end;
	}
	return keep_parent(e, -1, v, clean, v->end, err);
}

/* A tracked VMA of a stopped tree: one scan for every page the parent must
 * not give, that is what was written since tracking was armed and what no
 * longer holds the data tracked: not present (discarded, a marker left by
 * a discard, a freed page table), or present but the file's page or the
 * zero page again (a discarded page read since: the fault keeps the
 * write-protect bit).  A discarded page is neither written nor gone from
 * the parent chain, so without this the parent's old copy came back.  The
 * scan leaves what the parent keeps between its runs: present,
 * anonymous, not written.  FILE costs a look at each page, so it is asked
 * of file and shmem mappings only. */
static int scan_frozen(const struct emit *e, int pmfd, const struct ck_scan_vma *sv,
		       struct cell_err **err)
{
	uint64_t file = sv->v.kind == CK_VMA_ANON ? 0 : CK_PAGE_IS_FILE;
	return scan_runs(e, pmfd, sv, (struct ck_pm_scan_arg){
		.category_inverted = CK_PAGE_IS_PRESENT,
		.category_anyof_mask = CK_PAGE_IS_WRITTEN | CK_PAGE_IS_PRESENT |
				       CK_PAGE_IS_PFNZERO | file,
		.return_mask = CK_PAGE_IS_WRITTEN | CK_PAGE_IS_SWAPPED,
	}, err);
}

/* A tracked VMA while the tree runs (precopy.c's round, e->rewp): the
 * written pages first, with the kernel's fast path
 * (category and return mask exactly PAGE_IS_WRITTEN: one look at each
 * PTE's write-protect bit, not at its page), then the full categories of
 * those runs only.  About ten times cheaper than the full scan of a large
 * mapping of which little was written.  With e->rewp the scan
 * write-protects what it reports, atomically: a later write is seen by the
 * next round (the tree runs meanwhile). */
static int scan_tracked(const struct emit *e, int pmfd, const struct ck_scan_vma *sv,
			struct cell_err **err)
{
	return scan_runs(e, pmfd, sv, (struct ck_pm_scan_arg){
		.flags = e->rewp ? CK_PM_SCAN_WP_MATCHING | CK_PM_SCAN_CHECK_WPASYNC : 0,
		.category_mask = CK_PAGE_IS_WRITTEN, .return_mask = CK_PAGE_IS_WRITTEN,
	}, err);
}

static int scan_vma(const struct emit *e, int pmfd, const struct ck_scan_vma *sv,
		    struct cell_err **err)
{
	/* Without a parent, nothing is "kept": every page is stored. */
	if (sv->tracked && e->d->fast_scan && e->d->parent)
		return e->rewp ? scan_tracked(e, pmfd, sv, err) : scan_frozen(e, pmfd, sv, err);
	return scan_range(e, pmfd, sv, sv->v.start, sv->v.end, false, err);
}

static int open_mem(struct ck_dump *d, pid_t pid, int *pmfd, int *memfd, struct cell_err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/pagemap", pid);
	*pmfd = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%d/mem", pid);
	*memfd = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	if (*pmfd < 0 || *memfd < 0)
		return cell_err_sys(err, "open /proc/%d/pagemap and mem", pid);
	return 0;
}

static int queue_runs(struct batch *b, const struct runs *u, bool forced, struct cell_err **err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < u->n; i++)
		r = queue(b, u->v[i].addr, u->v[i].npages, forced, err);
	return r < 0 ? r : batch_flush(b, err);
}

static int read_runs(void *ctx, bool forced, struct cell_err **err)
{
	const struct emit *e = ctx;
	return queue_runs(e->b, e->unread, forced, err);
}

int ck_dump_pages(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *vmas,
		  size_t n, bool plan_only, struct cell_err **err)
{
	_cleanup_close_ int pmfd = -1, memfd = -1;
	int r = open_mem(d, t->pid, &pmfd, &memfd, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct batch *b = xcalloc(1, sizeof(*b));
	*b = (struct batch){ .d = d, .pid = t->pid, .vpid = t->vpid, .memfd = memfd,
			     .uffd = t->uffd };
	b->tolerant = d->live;
	struct runs unread = { 0 };
	struct emit e = { .d = d, .t = t, .b = b, .plan_only = plan_only, .rewp = d->live,
			  .unread = &unread };
	for (size_t i = 0; i < n; i++) {
		const struct ck_vma *v = &vmas[i].v;
		if (v->kind == CK_VMA_VDSO || v->kind == CK_VMA_VVAR || v->kind == CK_VMA_VVAR_VCLOCK)
			continue;
		if (v->flags & CK_VMA_SHARED) /* in the file or the shmem object */
			continue;
		/* The live round (precopy.c) only helps with what is tracked:
		 * the rest is copied whole by the dump that follows anyway. */
		if (d->live && !(vmas[i].tracked && d->fast_scan))
			continue;
		/* Tracked but made read-only or PROT_NONE since (precopy.c):
		 * only what the parent holds is carried; the stopped dump
		 * finds the rest written. */
		if (d->live && (v->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
			r = keep_parent(&e, -1, v, v->start, v->end, err);
		else
			r = scan_vma(&e, pmfd, &vmas[i], err);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = batch_flush(b, err);
	if (r == 0 && unread.n)
		r = ck_unprot_read(d, t, vmas, n, unread.v, unread.n, read_runs, &e, err);
	free(unread.v);
	return r;
}

int ck_copy_plan(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	_cleanup_close_ int pmfd = -1, memfd = -1;
	int r = open_mem(d, t->pid, &pmfd, &memfd, err);
	if (r < 0)
		return r;
	_cleanup_free_ struct batch *b = xcalloc(1, sizeof(*b));
	*b = (struct batch){ .d = d, .pid = t->pid, .vpid = t->vpid, .memfd = memfd,
			     .uffd = t->uffd, .tolerant = true };
	for (size_t i = 0; i < t->nplan && r == 0; i++)
		r = queue(b, t->plan[i].addr, t->plan[i].npages, t->plan[i].forced, err);
	return r < 0 ? r : batch_flush(b, err);
}
