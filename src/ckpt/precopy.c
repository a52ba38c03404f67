/* The precopy round of an incremental dump (internal.h: ck_precopy).
 *
 * A pre-dump left a tracker (an asynchronous write-protect userfaultfd) in
 * each task, and the dump that follows stores only what was written since.
 * Between the two, a live tree keeps writing: all of it used to be copied
 * with the tree stopped.  So before stopping it, the dump copies those
 * pages once more while it runs, into IMAGE/precopy, an ordinary pre-dump
 * image whose parent is the caller's parent; the dump then takes it as its
 * own parent and, stopped, copies only what was written during the round.
 *
 * Nothing is seized: the trackers are taken over with pidfd_getfd, the
 * mappings read from smaps (those registered with a tracker, "uw"), and
 * each scan both reports the written pages and write-protects them again,
 * atomically (PAGEMAP_SCAN with PM_SCAN_WP_MATCHING), before they are
 * read: a page written after its scan is written again for the dump.  A
 * range that cannot be read any more was unmapped meanwhile; whatever is
 * mapped there later is not registered, so the dump copies it whole.
 *
 * Once pages were write-protected, the caller's parent alone no longer
 * says what changed since it.  So if the dump fails, every tracked range
 * is write-unprotected again (UFFDIO_WRITEPROTECT, mode 0: PAGEMAP_SCAN
 * then reports it written) and the next dump from that parent copies it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"
#include "ckpt/pagewriter.h"
#include "ckpt/parent.h"

#define PRECOPY_DIR "precopy"

struct ck_range {
	int uffd;
	uint64_t start, end;
};

struct ck_precopy {
	int dirfd;
	char *parent; /* the caller's parent, as seen from PRECOPY_DIR */
	int *uffds;   /* our copies of the trackers */
	size_t nuffds;
	struct ck_range *ranges; /* what was tracked, for ck_precopy_end() */
	size_t nranges;
};

/* The tracked private mappings of t, as dump-mm.c wants them: the kind
 * only has to tell anonymous memory from a file's.  Only the readable and
 * writable ones are scanned (and write-protected again); of the others
 * (made read-only or PROT_NONE since they were armed: the pages of one
 * without PROT_READ could only be forced out of a running task) the round
 * only carries what the parent chain holds, as the dump takes this image
 * for its parent, and leaves what was written to the stopped dump, which
 * finds it still written (dump-mm.c, ck_dump_pages). */
static int tracked_vmas(struct ck_dump *d, struct ck_precopy *pc, struct ck_dtask *t,
			struct ck_scan_vma **ret, size_t *ret_n, struct cell_err **err)
{
	struct ck_pvma *pv = NULL;
	size_t n;
	int r = ck_proc_vmas(d->procfd, t->pid, &pv, &n, err);
	if (r < 0)
		return r;
	struct ck_scan_vma *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t nv = 0;
	for (size_t i = 0; i < n; i++) {
		if (!pv[i].uffd_wp || pv[i].shared)
			continue;
		v[nv].v = (struct ck_vma){ .pid = t->vpid, .start = pv[i].start, .end = pv[i].end,
					   .prot = pv[i].prot,
					   .kind = pv[i].ino == 0 ? CK_VMA_ANON : CK_VMA_FILE };
		v[nv++].tracked = true;
		if ((pv[i].prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
			continue; /* not write-protected by the round */
		pc->ranges = xrealloc(pc->ranges, (pc->nranges + 1) * sizeof(*pc->ranges));
		pc->ranges[pc->nranges++] = (struct ck_range){ t->uffd, pv[i].start, pv[i].end };
	}
	ck_pvmas_free(pv, n);
	*ret = v;
	*ret_n = nv;
	return 0;
}

/* One task: its tracker taken over (none: nothing to do), its written
 * pages copied, the tracker recorded for the dump. */
static int copy_task(struct ck_dump *s, struct ck_precopy *pc, pid_t pid, uint32_t vpid,
		     struct cell_err **err)
{
	struct ck_dtask t = { .pid = pid, .vpid = vpid, .tracker_fd = -1, .uffd = -1 };
	t.pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (t.pidfd < 0)
		return 0; /* gone: the dump will not find it either */
	int r = ck_tracker_adopt(s, &t, err);
	close(t.pidfd);
	if (r < 0 || t.uffd < 0)
		return r;
	pc->uffds = xrealloc(pc->uffds, (pc->nuffds + 1) * sizeof(*pc->uffds));
	pc->uffds[pc->nuffds++] = t.uffd;
	struct ck_scan_vma *v = NULL;
	size_t n = 0;
	r = tracked_vmas(s, pc, &t, &v, &n, err);
	if (r == 0)
		r = ck_dump_pages(s, &t, v, n, false, err);
	ck_scan_vmas_free(v, n);
	if (r == -ENOENT || r == -ESRCH) { /* it exited meanwhile */
		cell_err_freep(err);
		return 0;
	}
	struct stat st;
	if (r == 0 && fstat(t.uffd, &st) < 0)
		r = cell_err_sys(err, "stat the tracker of %d", pid);
	if (r < 0)
		return r;
	struct ck_tracker tr = { .pid = vpid, .fd = t.tracker_fd, .ino = st.st_ino };
	return img_write(s->core, &ck_tracker_schema, &tr, err);
}

/* Every process of the tree, parents first, without stopping any. */
static int copy_tree(struct ck_dump *s, struct ck_precopy *pc, struct cell_err **err)
{
	pid_t *todo = xmalloc(sizeof(*todo));
	size_t n = 1;
	todo[0] = s->o->root_pid;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n && i < CK_MAX_TASKS; i++) {
		char path[32];
		snprintf(path, sizeof(path), "%d", todo[i]);
		struct ck_pstatus st;
		if (ck_proc_status(s->procfd, path, &st, NULL) < 0)
			continue; /* exited */
		ck_pstatus_free(&st);
		r = copy_task(s, pc, todo[i], (uint32_t)st.ns_pid, err);
		_cleanup_free_ pid_t *kids = NULL;
		size_t nk = 0;
		if (r == 0 && ck_proc_children(s->procfd, todo[i], &kids, &nk, NULL) == 0 && nk) {
			todo = xrealloc(todo, (n + nk) * sizeof(*todo));
			memcpy(todo + n, kids, nk * sizeof(*kids));
			n += nk;
		}
	}
	free(todo);
	return r;
}

static int write_round(struct ck_dump *d, struct ck_precopy *pc, struct ckpt_stats *st,
		       struct cell_err **err)
{
	struct ck_dump s = { .o = d->o, .log = d->log, .procfd = d->procfd, .dirfd = pc->dirfd,
			     .parent = d->parent, .trackers = d->trackers,
			     .ntrackers = d->ntrackers, .stats = st, .hostroot = d->hostroot,
			     .fast_scan = true, .live = true, .parent_name = pc->parent,
			     .sim_no_force = d->sim_no_force };
	int r = ck_dump_open_writers(&s, err);
	if (r == 0)
		r = copy_tree(&s, pc, err);
	if (r == 0)
		r = img_writer_finish(s.core, err);
	int w = s.pw ? ck_pw_finish(s.pw, r < 0 ? NULL : err) : 0;
	if (r == 0)
		r = w;
	if (r == 0)
		r = img_writer_finish(s.pages, err);
	if (r == 0)
		r = ck_dump_write_inventory(&s, err);
	img_writer_free(s.core);
	img_writer_free(s.pages);
	img_writer_free(s.inv);
	return r;
}

/* The dump goes on from the round's image. */
static int take_as_parent(struct ck_dump *d, struct cell_err **err)
{
	ck_parent_free(d->parent);
	d->parent = NULL;
	free(d->trackers);
	d->trackers = NULL;
	d->ntrackers = 0;
	int r = ck_parent_open(d->dirfd, PRECOPY_DIR, &d->parent, err);
	if (r == 0)
		r = ck_load_trackers(d->dirfd, PRECOPY_DIR, &d->trackers, &d->ntrackers, err);
	if (r == 0)
		d->parent_name = PRECOPY_DIR;
	return r;
}

int ck_precopy(struct ck_dump *d, struct cell_err **err)
{
	if (d->o->pre_dump || !d->ntrackers || !d->parent)
		return 0;
	if (!d->fast_scan) {
		ck_logf(&d->log, "no precopy round: PAGEMAP_SCAN's written-only scan needs Linux "
			"6.10; the stopped tree gives every page written since the parent");
		return 0;
	}
	uint64_t t0 = cell_now_ns();
	if (mkdirat(d->dirfd, PRECOPY_DIR, 0700) < 0)
		return cell_err_sys(err, "create %s/%s", d->o->image_dir, PRECOPY_DIR);
	struct ck_precopy *pc = xcalloc(1, sizeof(*pc));
	pc->dirfd = -1;
	d->precopy = pc;
	pc->dirfd = openat(d->dirfd, PRECOPY_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pc->dirfd < 0)
		return cell_err_sys(err, "open %s/%s", d->o->image_dir, PRECOPY_DIR);
	const char *p = d->o->parent_dir;
	pc->parent = p[0] == '/' ? xstrdup(p) : xasprintf("../%s", p);
	struct ckpt_stats st = { 0 };
	int r = write_round(d, pc, &st, err);
	if (r == 0)
		r = take_as_parent(d, err);
	if (r < 0)
		return cell_err_wrap(err, "precopy round");
	d->stats->precopy_pages = st.pages_written;
	d->stats->precopy_ns = cell_now_ns() - t0;
	ck_logf(&d->log, "precopy round: %llu pages copied, %llu kept in the parent, %llu us",
		(unsigned long long)st.pages_written, (unsigned long long)st.pages_skipped,
		(unsigned long long)(d->stats->precopy_ns / 1000));
	return 0;
}

void ck_precopy_end(struct ck_dump *d, bool ok)
{
	struct ck_precopy *pc = d->precopy;
	if (!pc)
		return;
	for (size_t i = 0; !ok && i < pc->nranges; i++) {
		struct uffdio_writeprotect wp = {
			.range = { pc->ranges[i].start, pc->ranges[i].end - pc->ranges[i].start },
			.mode = 0,
		};
		/* ENOENT: unmapped meanwhile, nothing left to track there. */
		if (ioctl(pc->ranges[i].uffd, UFFDIO_WRITEPROTECT, &wp) < 0 && errno != ENOENT)
			ck_logf(&d->log, "precopy: cannot mark %#llx-%#llx written again: %m",
				(unsigned long long)pc->ranges[i].start,
				(unsigned long long)pc->ranges[i].end);
	}
	for (size_t i = 0; i < pc->nuffds; i++)
		close(pc->uffds[i]);
	if (!ok) {
		static const char *const files[] = { "inventory.img", "core.img", "pages.img" };
		for (size_t i = 0; pc->dirfd >= 0 && i < ARRAY_SIZE(files); i++)
			unlinkat(pc->dirfd, files[i], 0);
		unlinkat(d->dirfd, PRECOPY_DIR, AT_REMOVEDIR);
	}
	if (pc->dirfd >= 0)
		close(pc->dirfd);
	free(pc->parent);
	free(pc->uffds);
	free(pc->ranges);
	free(pc);
	d->precopy = NULL;
}
