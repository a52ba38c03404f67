/* Pre-dump and dirty tracking, without soft-dirty (compiled out here):
 * a userfaultfd is created inside each task by injection, with
 * UFFD_USER_MODE_ONLY so that no privilege is needed, and moved to the
 * task's highest fd number, where it keeps the registration alive after we
 * are gone.  Through our copy (pidfd_getfd) we enable asynchronous
 * write-protect (UFFD_FEATURE_WP_ASYNC: writes fault in the kernel only, no
 * handler), register the private writable mappings, and write-protect them
 * with PAGEMAP_SCAN(PM_SCAN_WP_MATCHING).  From then on PAGEMAP_SCAN reports
 * PAGE_IS_WRITTEN for exactly the pages written since the last
 * write-protect (Linux 6.7).
 *
 * A pre-dump arms (or re-arms) tracking while the tree is stopped, plans
 * the copy, lets the tree run, and copies: what is written meanwhile is
 * dirty again for the next round.  The next dump, given this image as its
 * parent, stores only pages written since, and closes the tracker.  Where
 * tracking cannot be armed (no userfaultfd, a seccomp filter, a kernel
 * before 6.7) or the tracker vanished (the task closed the fd), every page
 * is copied in full; the log says so. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"
#include "ckpt/pagemap.h"

static int inject_uffd(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	int64_t fd;
	int r = ck_dsys(t, "userfaultfd", SYS_userfaultfd,
			O_CLOEXEC | O_NONBLOCK | CK_UFFD_USER_MODE_ONLY, 0, 0, 0, &fd, err);
	if (r < 0)
		return r;
	/* Out of the way of the program: its highest allowed fd. */
	uint64_t rl[2] = { 0, 0 };
	int64_t scratch;
	r = ck_dsys(t, "mmap", SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, &scratch, err);
	if (r == 0)
		r = ck_dsys(t, "prlimit64", SYS_prlimit64, 0, RLIMIT_NOFILE, 0, (uint64_t)scratch,
			    NULL, err);
	if (r == 0)
		r = ck_mem_read(t->pid, (uint64_t)scratch, rl, sizeof(rl), err);
	ck_dsys(t, "munmap", SYS_munmap, (uint64_t)scratch, 4096, 0, 0, NULL, NULL);
	int64_t high = rl[0] > 1 && rl[0] < (1u << 20) ? (int64_t)rl[0] - 1 : fd;
	if (r == 0 && high != fd)
		r = ck_dsys(t, "dup3", SYS_dup3, (uint64_t)fd, (uint64_t)high, O_CLOEXEC, 0, NULL, err);
	if (high != fd)
		ck_dsys(t, "close", SYS_close, (uint64_t)fd, 0, 0, 0, NULL, NULL);
	if (r < 0)
		return r;
	t->tracker_fd = (int)high;
	t->uffd = (int)syscall(SYS_pidfd_getfd, t->pidfd, t->tracker_fd, 0);
	if (t->uffd < 0)
		return cell_err_sys(err, "take the userfaultfd of %d", t->pid);
	struct uffdio_api api = { .api = UFFD_API,
				  .features = CK_UFFD_FEATURE_WP_ASYNC | CK_UFFD_FEATURE_WP_UNPOPULATED };
	if (ioctl(t->uffd, UFFDIO_API, &api) < 0)
		return cell_err_sys(err, "userfaultfd of %d: asynchronous write-protect", t->pid);
	(void)d;
	return 0;
}

/* Arming write-protects never-touched pages too (WP_UNPOPULATED markers),
 * and each 2 MiB of them costs a page table: 8 MiB of kernel memory per
 * 4 GiB armed.  A sanitizer's shadow or a huge reservation (terabytes,
 * mostly untouched) would exhaust the host, so mappings above this size
 * are not tracked: every dump copies their present pages in full. */
#define CK_TRACK_MAX (16ULL << 30)

/* Not a mapping without PROT_READ either: its pages are copied by the
 * stopped dump only (dump-mm.c), so they must stay "written" until then;
 * one armed while readable keeps what was armed (still tracked, not
 * write-protected again). */
static bool trackable(const struct ck_vma *v)
{
	return !(v->flags & CK_VMA_SHARED) && (v->prot & PROT_WRITE) && (v->prot & PROT_READ) &&
	       v->end - v->start <= CK_TRACK_MAX &&
	       (v->kind == CK_VMA_ANON || v->kind == CK_VMA_FILE || v->kind == CK_VMA_SHMEM);
}

/* Register what is not yet, then write-protect every tracked page. */
static int arm(struct ck_dump *d, struct ck_dtask *t, const struct ck_scan_vma *v, size_t n,
	       struct cell_err **err)
{
	char path[64];
	/* d->procfd: the dumper's root is the tree's by now, and so is /proc. */
	snprintf(path, sizeof(path), "%d/pagemap", t->pid);
	_cleanup_close_ int pm = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return cell_err_sys(err, "open /proc/%s", path);
	for (size_t i = 0; i < n; i++) {
		if (!trackable(&v[i].v)) {
			if (v[i].v.end - v[i].v.start > CK_TRACK_MAX && (v[i].v.prot & PROT_WRITE))
				ck_logf(&d->log, "process %d: mapping %#llx-%#llx is over %llu GiB: "
					"not tracked, copied in full by every dump", t->pid,
					(unsigned long long)v[i].v.start,
					(unsigned long long)v[i].v.end, CK_TRACK_MAX >> 30);
			continue;
		}
		uint64_t len = v[i].v.end - v[i].v.start;
		struct uffdio_register reg = { .range = { v[i].v.start, len },
					       .mode = UFFDIO_REGISTER_MODE_WP };
		if (!v[i].tracked && ioctl(t->uffd, UFFDIO_REGISTER, &reg) < 0)
			continue; /* not trackable after all: the next dump copies it */
		struct ck_page_region regs[64];
		for (uint64_t at = v[i].v.start; at < v[i].v.end;) {
			struct ck_pm_scan_arg a = {
				.size = sizeof(a), .flags = CK_PM_SCAN_WP_MATCHING | CK_PM_SCAN_CHECK_WPASYNC,
				.start = at, .end = v[i].v.end, .vec = (uint64_t)(uintptr_t)regs,
				.vec_len = ARRAY_SIZE(regs), .category_mask = CK_PAGE_IS_WRITTEN,
				.return_mask = CK_PAGE_IS_WRITTEN,
			};
			if (ioctl(pm, CK_PAGEMAP_SCAN, &a) < 0)
				return cell_err_sys(err, "write-protect %#llx in %d",
						    (unsigned long long)at, t->pid);
			if (a.walk_end <= at)
				break;
			at = a.walk_end;
		}
	}
	return 0;
}

static const struct ck_tracker *tracker_of(const struct ck_dump *d, uint32_t vpid)
{
	for (size_t i = 0; i < d->ntrackers; i++)
		if (d->trackers[i].pid == vpid)
			return &d->trackers[i];
	return NULL;
}

int ck_tracker_adopt(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	const struct ck_tracker *tr = tracker_of(d, t->vpid);
	if (!tr)
		return 0;
	int fd = (int)syscall(SYS_pidfd_getfd, t->pidfd, tr->fd, 0);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != tr->ino) {
		ck_logf(&d->log, "process %d: the dirty tracker is gone: full copy", t->pid);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	t->uffd = fd;
	t->tracker_fd = tr->fd;
	(void)err;
	return 0;
}

int ck_tracker_drop(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	if (t->tracker_fd < 0)
		return 0;
	int r = ck_dsys(t, "close", SYS_close, (uint64_t)t->tracker_fd, 0, 0, 0, NULL, err);
	t->tracker_fd = -1;
	(void)d;
	return r;
}

int ck_predump_task(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	int r = ck_tracker_adopt(d, t, err);
	if (r == 0 && t->uffd < 0) {
		struct cell_err *e = NULL;
		if (inject_uffd(d, t, &e) < 0) {
			ck_logf(&d->log, "process %d: no dirty tracking (%s): the next dump copies "
				"everything", t->pid, e->msg);
			if (t->uffd >= 0)
				close(t->uffd);
			t->uffd = -1;
			ck_tracker_drop(d, t, NULL);
		}
		cell_err_free(e);
	}
	struct ck_scan_vma *v = NULL;
	size_t n = 0;
	if (r == 0)
		r = ck_collect_vmas(d, t, false, &v, &n, err);
	/* Plan first (what was written since the last round), then re-arm:
	 * the task is stopped, so nothing falls between the two. */
	if (r == 0)
		r = ck_dump_pages(d, t, v, n, true, err);
	if (r == 0 && t->uffd >= 0)
		r = arm(d, t, v, n, err);
	if (r == 0 && t->uffd >= 0) {
		struct stat st;
		fstat(t->uffd, &st);
		struct ck_tracker tr = { .pid = t->vpid, .fd = t->tracker_fd, .ino = st.st_ino };
		r = img_write(d->core, &ck_tracker_schema, &tr, err);
		d->stats->dirty_tracking = true;
	}
	ck_scan_vmas_free(v, n);
	return r < 0 ? cell_err_wrap(err, "pre-dump of process %d", t->pid) : 0;
}

int ck_predump_copy(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	int r = ck_copy_plan(d, t, err);
	/* It exited while the tree ran on (a shell's short-lived child):
	 * nothing of it is needed, the next dump will not find it. */
	if (r == -ENOENT || r == -ESRCH) {
		ck_logf(&d->log, "process %d (%u) exited before its memory was copied", t->pid,
			t->vpid);
		cell_err_freep(err);
		return 0;
	}
	return r;
}

/* The trackers a parent pre-dump left: its core.img's TRACKER records. */
int ck_load_trackers(int basefd, const char *path, struct ck_tracker **ret, size_t *ret_n,
		     struct cell_err **err)
{
	_cleanup_close_ int dirfd = openat(basefd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cell_err_sys(err, "parent image %s", path);
	_cleanup_img_reader_ struct img_reader *rd = NULL;
	int k = img_reader_open_at(dirfd, "core.img", IMG_KIND_CORE, &rd, err);
	struct img_rec rec;
	struct ck_tracker *v = NULL;
	size_t n = 0;
	while (k == 0) {
		k = img_read(rd, &rec, err);
		if (k <= 0)
			break;
		k = 0;
		if (rec.type != CK_REC_TRACKER)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		k = img_decode(&rec, &ck_tracker_schema, &v[n], err);
		if (k == 0)
			n++;
	}
	if (k < 0) {
		free(v);
		return cell_err_wrap(err, "parent image %s", path);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
