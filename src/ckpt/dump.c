/* ckpt_dump(): the phases of a checkpoint, in order.
 *
 * The work is done in a child process (the "dumper") that first enters the
 * tree's mount namespace and root, so that every path read from /proc (fd
 * links, mapped files, cwd, exe) is the path as the tree sees it, which is
 * what a restore inside the same root needs.  The caller's process keeps
 * its own namespaces.  The dumper reports its result over a pipe.
 *
 * An incremental dump first makes a precopy round while the tree runs
 * (precopy.c), then stops it: the frozen time is then mostly the read of
 * /proc/PID/smaps (which walks every page table for its counters, about
 * 8 ms per GiB mapped here, and has no cheaper source of VmFlags). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"
#include "ckpt/netlock.h"
#include "ckpt/pagewriter.h"
#include "ckpt/parent.h"
#include "cell-config.h"


int ck_dump_write_inventory(struct ck_dump *d, struct cell_err **err)
{
	struct utsname u;
	uname(&u);
	_cleanup_free_ char *engine = xasprintf("cell %s", CELL_VERSION);
	bool pre = d->o->pre_dump || d->live; /* a precopy round's image is a pre-dump */
	struct ck_inventory inv = {
		.flags = pre ? CK_INV_PREDUMP : 0, .root_pid = 1,
		.ntasks = pre ? 0 : (uint32_t)d->ntasks, .page_size = IMG_PAGE_SIZE, .engine = engine,
		.kernel = u.release, .arch = "x86_64", .parent = (char *)d->parent_name,
		.created = (uint64_t)time(NULL), .vdso_pages = (uint32_t)d->vdso_pages,
		.vvar_pages = (uint32_t)d->vvar_pages, .vvar_vclock_pages = (uint32_t)d->vclock_pages,
		.pages_written = d->stats->pages_written, .pages_parent = d->stats->pages_skipped,
		.netlock = d->netlock,
	};
	int r = img_writer_create_at(d->dirfd, "inventory.img", IMG_KIND_INVENTORY, &d->inv, err);
	if (r == 0)
		r = img_write(d->inv, &ck_inventory_schema, &inv, err);
	if (r == 0)
		r = img_writer_finish(d->inv, err);
	return r;
}

/* Enter the tree's mount namespace and root, keeping our /proc and image
 * directory fds from before. */
static int enter_root(struct ck_dump *d, struct cell_err **err)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/ns/mnt", d->o->root_pid);
	_cleanup_close_ int ns = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%d/root", d->o->root_pid);
	_cleanup_close_ int root = openat(d->procfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%d/ns/net", d->o->root_pid);
	_cleanup_close_ int net = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || root < 0 || net < 0)
		return cell_err_sys(err, "open the namespaces and root of %d", d->o->root_pid);
	/* sock_diag answers for the namespace its socket lives in. */
	if (setns(net, CLONE_NEWNET) < 0)
		return cell_err_sys(err, "enter the network namespace of %d", d->o->root_pid);
	if (setns(ns, CLONE_NEWNS) < 0)
		return cell_err_sys(err, "enter the mount namespace of %d", d->o->root_pid);
	if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return cell_err_sys(err, "enter the root of %d", d->o->root_pid);
	return 0;
}

int ck_dump_open_writers(struct ck_dump *d, struct cell_err **err)
{
	int r = img_writer_create_at(d->dirfd, "core.img", IMG_KIND_CORE, &d->core, err);
	if (r == 0)
		r = img_writer_create_at(d->dirfd, "pages.img", IMG_KIND_PAGES, &d->pages, err);
	if (r == 0)
		r = ck_pw_start(d->pages, &d->pw, err);
	return r;
}

/* Pre-dump: arm tracking and plan with the tree stopped, copy with the
 * tree running. */
static int predump_all(struct ck_dump *d, uint64_t *frozen, struct cell_err **err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < d->ntasks; i++) {
		r = ck_dump_find_vdso(d, &d->tasks[i], err);
		if (r == 0)
			r = ck_predump_task(d, &d->tasks[i], err);
	}
	if (r < 0)
		return r;
	/* The copy marks what it cannot read written again (dump-mm.c): it
	 * needs the trackers, which letting the tree go closes. */
	_cleanup_free_ int *keep = xcalloc(d->ntasks ? d->ntasks : 1, sizeof(*keep));
	for (size_t i = 0; i < d->ntasks; i++)
		keep[i] = d->tasks[i].uffd >= 0 ? fcntl(d->tasks[i].uffd, F_DUPFD_CLOEXEC, 0) : -1;
	r = ck_dump_finish_tasks(d, false, err);
	*frozen = cell_now_ns();
	ck_logf(&d->log, "tracking armed, tree running again; copying");
	for (size_t i = 0; i < d->ntasks; i++) {
		d->tasks[i].uffd = keep[i];
		if (r == 0)
			r = ck_predump_copy(d, &d->tasks[i], err);
		if (keep[i] >= 0)
			close(keep[i]);
		d->tasks[i].uffd = -1;
	}
	return r;
}

static int dump_all(struct ck_dump *d, uint64_t *frozen, struct cell_err **err)
{
	int r = ck_dump_tree(d, err);
	ck_logf(&d->log, "seized %zu processes", d->ntasks);
	/* Before any socket is read (net.c). */
	if (r == 0 && !d->o->pre_dump)
		r = ck_dump_netlock(d, err);
	if (r == 0 && d->o->pre_dump)
		r = predump_all(d, frozen, err);
	for (size_t i = 0; r == 0 && !d->o->pre_dump && i < d->ntasks; i++) {
		struct ck_dtask *t = &d->tasks[i];
		r = ck_dump_find_vdso(d, t, err);
		if (r == 0)
			r = ck_dump_task(d, t, err);
		ck_logf(&d->log, "process %d (%u): %s", t->pid, t->vpid, r ? "failed" : "dumped");
	}
	if (r == 0)
		r = img_writer_finish(d->core, err);
	int w = ck_pw_finish(d->pw, r < 0 ? NULL : err);
	d->pw = NULL;
	if (r == 0)
		r = w;
	if (r == 0)
		r = img_writer_finish(d->pages, err);
	if (r == 0)
		r = ck_dump_write_inventory(d, err);
	/* Read back with the restore's own loader: what it would refuse (a
	 * process whose session leader is gone, say) is refused now, while
	 * the tree can still run on. */
	if (r == 0 && !d->o->pre_dump) {
		struct ck_image *img = NULL;
		r = ck_image_load(d->dirfd, &img, err);
		ck_image_free(img);
		ck_logf(&d->log, "image read back");
		if (r < 0)
			cell_err_wrap(err, "the image would not restore");
	}
	return r;
}

/* The dumper: everything happens here; returns the result to report. */
/* An incremental dump: the parent chain's pages, and the trackers a
 * parent pre-dump left (opened before we change root: the path is the
 * caller's). */
static int open_parent(struct ck_dump *d, struct cell_err **err)
{
	if (!d->o->parent_dir)
		return 0;
	int r = ck_parent_open(d->dirfd, d->o->parent_dir, &d->parent, err);
	if (r == 0)
		r = ck_load_trackers(d->dirfd, d->o->parent_dir, &d->trackers, &d->ntrackers, err);
	return r;
}

/* Linux 6.10 or later (see fast_scan in internal.h). */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &a, &b) != 2)
		return false;
	return a > major || (a == major && b >= minor);
}

static int dumper(struct ck_dump *d, struct cell_err **err)
{
	d->fast_scan = kernel_at_least(6, 10);
	if (!d->fast_scan)
		ck_logf(&d->log, "kernel before 6.10: full PAGEMAP_SCAN of tracked mappings");
	ck_dump_nft_prepare(d); /* loads while we get ready: not frozen time */
	int r = open_parent(d, err);
	d->hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && d->hostroot < 0)
		r = cell_err_sys(err, "open /");
	if (r == 0)
		r = enter_root(d, err);
	if (r == 0)
		r = ck_precopy(d, err);
	if (r == 0)
		r = ck_dump_open_writers(d, err);
	uint64_t t0 = cell_now_ns(), thawed = 0;
	if (r == 0)
		r = dump_all(d, &thawed, err);
	/* Mappings made readable for their pages get their protection back
	 * before anything runs or dies (dump-mm.c does it as it goes; this is
	 * for a failure on the way). */
	for (size_t i = 0; i < d->ntasks; i++) {
		int u = ck_unprot_close(d, &d->tasks[i], r < 0 ? NULL : err);
		if (r == 0)
			r = u;
	}
	if (d->unread_pages && !d->force_refused)
		ck_logf(&d->log, "%llu pages of mappings without PROT_READ in %llu us (forced "
			"reads)", (unsigned long long)d->unread_pages,
			(unsigned long long)(d->unread_ns / 1000));
	else if (d->unread_pages)
		ck_logf(&d->log, "%llu pages of mappings without PROT_READ in %llu us (%llu "
			"mappings made readable meanwhile, and back, in %llu us)",
			(unsigned long long)d->unread_pages,
			(unsigned long long)(d->unread_ns / 1000),
			(unsigned long long)d->unprot_vmas,
			(unsigned long long)(d->unprot_ns / 1000));
	bool kill_tree = r == 0 && !d->o->leave_running && !d->o->pre_dump;
	/* Sockets leave repair mode before the tree runs; a killed tree's
	 * close silently, after it is gone. */
	if (!kill_tree)
		ck_dump_net_release(d, false);
	int f = ck_dump_finish_tasks(d, kill_tree, r < 0 ? NULL : err);
	if (kill_tree)
		ck_dump_net_release(d, true);
	d->stats->frozen_ns = (thawed ? thawed : d->killed_ns ? d->killed_ns : cell_now_ns()) - t0;
	if (r == 0)
		r = f;
	if (d->pages)
		d->stats->bytes_written = img_writer_bytes(d->pages);
	ck_logf(&d->log, "%s in %llu us frozen", r ? "failed" : "done",
		(unsigned long long)(d->stats->frozen_ns / 1000));
	if (r < 0)
		ck_logf(&d->log, "error: %s", (*err)->msg);
	ck_precopy_end(d, r == 0);
	ck_pw_finish(d->pw, NULL); /* a failure before dump_all got to it */
	d->pw = NULL;
	ck_nft_stop(d->nft);
	d->nft = NULL;
	ck_parent_free(d->parent);
	free(d->trackers);
	ck_dump_seccomp_free(d);
	return r;
}

struct report {
	int code;
	struct ckpt_stats stats;
	char msg[4000];
};

static void run_dumper(struct ck_dump *d, int wfd)
{
	struct cell_err *e = NULL;
	struct report rep = { 0 };
	rep.code = dumper(d, &e);
	rep.stats = *d->stats;
	if (e)
		snprintf(rep.msg, sizeof(rep.msg), "%s", e->msg);
	(void)!write(wfd, &rep, sizeof(rep));
	_exit(0);
}

static int check_opts(const struct ckpt_dump_opts *o, int *ret_dirfd, struct cell_err **err)
{
	if (o->root_pid <= 0)
		return cell_err(err, EINVAL, "no process to checkpoint (pid %d)", o->root_pid);
	if (!o->image_dir)
		return cell_err(err, EINVAL, "no image directory");
	int fd = open(o->image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "image directory %s", o->image_dir);
	if (faccessat(fd, "inventory.img", F_OK, 0) == 0 || faccessat(fd, "core.img", F_OK, 0) == 0) {
		close(fd);
		return cell_err(err, EEXIST, "image directory %s already holds an image",
				o->image_dir);
	}
	*ret_dirfd = fd;
	return 0;
}

int ckpt_dump(const struct ckpt_dump_opts *o, struct ckpt_stats *ret_stats, struct cell_err **err)
{
	struct ckpt_stats stats = { 0 };
	struct ck_dump d = { .o = o, .stats = &stats, .procfd = -1, .dirfd = -1, .hostroot = -1,
			     .parent_name = o->parent_dir };
	d.sim_no_force = ck_no_force_knob();
	uint64_t t0 = cell_now_ns();
	_cleanup_close_ int dirfd = -1;
	int r = check_opts(o, &dirfd, err);
	if (r < 0)
		return r;
	d.dirfd = dirfd;
	r = ck_log_open(&d.log, o->work_dir, o->pre_dump ? "pre-dump.log" : "dump.log", err);
	if (r < 0)
		return r;
	_cleanup_close_ int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d.procfd = procfd;
	int p[2];
	if (procfd < 0 || pipe2(p, O_CLOEXEC) < 0) {
		ck_log_close(&d.log);
		return cell_err_sys(err, "open /proc");
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		run_dumper(&d, p[1]);
	}
	close(p[1]);
	struct report rep = { .code = -EIO };
	ssize_t n = pid < 0 ? -1 : read(p[0], &rep, sizeof(rep));
	close(p[0]);
	int status;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	ck_log_close(&d.log);
	if (pid < 0)
		return cell_err_sys(err, "fork the dumper");
	if (n != (ssize_t)sizeof(rep))
		return cell_err(err, EIO, "checkpoint of %d: the dumper died", o->root_pid);
	rep.stats.total_ns = cell_now_ns() - t0;
	if (ret_stats)
		*ret_stats = rep.stats;
	if (rep.code < 0) {
		cell_err(err, 0, "checkpoint of %d: %s", o->root_pid, rep.msg);
		return rep.code; /* the dumper's own, for the caller to tell -EAGAIN */
	}
	return 0;
}
