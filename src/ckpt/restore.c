/* ckpt_restore(): the phases of a restore, in order.  Everything is done
 * from outside by ptrace on a tree forked from the caller's pid 1:
 *
 *   load    the image, validated in full (core.img, and the framing and
 *           ranges of pages.img), before pid 1 is touched
 *   seize   pid 1; block every signal in it (the mask is restored last, so
 *           nothing is delivered while we work); map the scratch page
 *   tree    fork every process from its parent with clone3(set_tid);
 *           sessions and process groups
 *   files   the fd tables (files.c)
 *   memory  the layout of each process, then the pages of all
 *   state   per process and per thread: signals, timers, limits, threads,
 *           credentials; then the scratch page goes and registers are set
 *   resume  detach every thread at once
 *
 * Any failure kills pid 1, and with it every process of the namespace. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"
#include "ckpt/internal.h"
#include "ckpt/netlock.h"
#include "ckpt/parent.h"

#define CK_CHILD_READY 'R'

int ck_rsys(struct ck_rtask *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	    uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret, struct cell_err **err)
{
	return ck_sys(&t->threads[0].thr, name, nr, a0, a1, a2, a3, a4, a5, ret, err);
}

int ck_scratch_put(struct ck_restore *r, struct ck_rtask *t, size_t off, const void *p, size_t n,
		   uint64_t *ret_addr, struct cell_err **err)
{
	/* The first 256 bytes hold code; data starts after. */
	if (off + n > CK_SCRATCH_SIZE - 256)
		return cell_err(err, E2BIG, "%zu bytes do not fit the scratch area", n);
	uint64_t a = r->scratch + 256 + off;
	if (n) {
		int k = ck_mem_write(t->pid, a, p, n, err);
		if (k < 0)
			return k;
	}
	*ret_addr = a;
	return 0;
}

int ck_scratch_path(struct ck_restore *r, struct ck_rtask *t, const char *path,
		    uint64_t *ret_addr, struct cell_err **err)
{
	return ck_scratch_put(r, t, 32 * 1024, path, strlen(path) + 1, ret_addr, err);
}

int ck_rtask_getfd(struct ck_rtask *t, int fd, int *ret, struct cell_err **err)
{
	int pidfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (pidfd < 0)
		return cell_err_sys(err, "pidfd_open %d", t->pid);
	int lfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	int e = errno;
	close(pidfd);
	if (lfd < 0)
		return cell_err(err, e, "take fd %d of %d", fd, t->pid);
	*ret = lfd;
	return 0;
}

void ck_restore_stash(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int fd)
{
	for (size_t i = 0; i < r->img->nfiles; i++) {
		if (r->img->files[i].id == id) {
			t->file_fd[i] = fd;
			r->file_home[i] = t - r->tasks;
		}
	}
}

static void kill_all(struct ck_restore *r)
{
	if (!r->tasks) { /* failed before the tree was built: pid 1 only */
		kill(r->o->init_pid, SIGKILL);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < r->ntasks; i++)
		n += r->tasks[i].nthreads;
	_cleanup_free_ struct ck_thr **all = xcalloc(n ? n : 1, sizeof(*all));
	n = 0;
	kill(r->o->init_pid, SIGKILL);
	for (size_t i = 0; i < r->ntasks; i++)
		for (size_t k = 0; k < r->tasks[i].nthreads; k++)
			all[n++] = &r->tasks[i].threads[k].thr;
	/* pid 1 is the caller's child: the caller reaps it. */
	ck_thr_wait_gone(all, n, r->o->init_pid);
}

static int detach_all(struct ck_restore *r, struct cell_err **err)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		for (size_t k = 0; k < t->nthreads; k++) {
			int e = ck_thr_detach(&t->threads[k].thr, err);
			if (e < 0)
				return e;
		}
	}
	return 0;
}

static void free_tasks(struct ck_restore *r)
{
	for (size_t i = 0; r->tasks && i < r->ntasks; i++) {
		free(r->tasks[i].threads);
		free(r->tasks[i].file_fd);
		free(r->tasks[i].shm_fd);
	}
	free(r->tasks);
	free(r->file_home);
	free(r->shm_home);
	if (r->shm_lfd)
		for (size_t i = 0; i < r->img->nshmems; i++)
			if (r->shm_lfd[i] >= 0)
				close(r->shm_lfd[i]);
	free(r->shm_lfd);
	r->tasks = NULL;
}

static int run_phases(struct ck_restore *r, struct cell_err **err)
{
	int k = ck_restore_tree(r, err);
	ck_logf(&r->log, "tree of %zu processes forked", r->ntasks);
	if (k == 0)
		k = ck_restore_files(r, err);
	for (size_t i = 0; k == 0 && i < r->ntasks; i++)
		k = ck_restore_mm(r, &r->tasks[i], err);
	if (k == 0)
		k = ck_restore_pages(r, err);
	ck_logf(&r->log, "memory restored");
	for (size_t i = 0; k == 0 && i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		k = ck_restore_mm_finish(r, t, err);
		if (k == 0)
			k = ck_restore_task_state(r, t, err);
		if (k == 0)
			k = ck_restore_threads(r, t, err);
		/* Filters before credentials: installing one may need root. */
		if (k == 0)
			k = ck_restore_seccomp(r, t, err);
		if (k == 0)
			k = ck_restore_creds(r, t, err);
		if (k == 0)
			k = ck_restore_regs(r, t, err);
		if (k < 0)
			cell_err_wrap(err, "process %u", t->p->task.pid);
	}
	return k;
}

/* pid 1 says it is in ckpt_restore_child() (its caller's setup done)
 * before anything touches it. */
static int wait_child(int fd, struct cell_err **err)
{
	if (fd < 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		char c = 0;
		int n = poll(&p, 1, 60000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return cell_err(err, ETIMEDOUT, "pid 1 never got ready for the restore");
		ssize_t k = recv(fd, &c, 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return cell_err(err, ESRCH, "pid 1 went away before the restore");
		if (c == CK_CHILD_READY)
			return 0;
	}
	return cell_err(err, EPROTO, "pid 1 did not say it was ready");
}

static void tell_child(int fd, const char *msg)
{
	if (fd >= 0)
		(void)!send(fd, msg, strlen(msg), MSG_NOSIGNAL);
}

int ckpt_restore(const struct ckpt_restore_opts *o, struct ckpt_stats *ret_stats,
		 struct cell_err **err)
{
	struct ckpt_stats stats = { 0 };
	struct ck_restore r = { .o = o, .stats = &stats, .dirfd = -1 };
	r.sim_no_force = ck_no_force_knob();
	uint64_t t0 = cell_now_ns();
	int k = ck_log_open(&r.log, o->work_dir, "restore.log", err);
	if (k < 0)
		return k;
	r.dirfd = open(o->image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.dirfd < 0)
		k = cell_err_sys(err, "image directory %s", o->image_dir);
	if (k == 0)
		k = ck_image_load(r.dirfd, &r.img, err);
	if (k == 0 && (r.img->inv.flags & CK_INV_PREDUMP))
		k = cell_err(err, EINVAL, "a pre-dump image holds memory only: restore the dump "
			     "made after it");
	if (k == 0 && r.img->inv.parent)
		k = ck_parent_open(r.dirfd, r.img->inv.parent, &r.parent, err);
	if (k == 0)
		k = ck_pages_precheck(&r, err);
	if (k == 0)
		k = ck_restore_files_precheck(&r, err);
	if (k < 0) {
		/* Nothing touched yet: pid 1 is told and left to exit. */
		tell_child(o->sync_fd, (*err)->msg);
		ck_pages_free(&r);
		ck_image_free(r.img);
		ck_parent_free(r.parent);
		ck_log_close(&r.log);
		if (r.dirfd >= 0)
			close(r.dirfd);
		return cell_err_wrap(err, "restore from %s", o->image_dir);
	}
	ck_logf(&r.log, "image loaded: %zu processes, %zu files", r.img->nprocs, r.img->nfiles);
	k = wait_child(o->sync_fd, err);
	/* Once pid 1 is in its namespaces (its readiness says so), before any
	 * socket exists in its network namespace (net.c). */
	if (k == 0)
		k = ck_restore_netlock(&r, true, err);
	if (k == 0)
		k = run_phases(&r, err);
	if (k == 0)
		k = ck_restore_files_final(&r, err);
	if (k == 0)
		k = ck_restore_netlock(&r, false, err);
	if (k == 0)
		k = detach_all(&r, err);
	if (k < 0) {
		ck_logf(&r.log, "error: %s", (*err)->msg);
		kill_all(&r);
	}
	stats.total_ns = cell_now_ns() - t0;
	stats.tasks = (uint32_t)r.ntasks;
	ck_logf(&r.log, "%s in %llu us", k ? "failed" : "done",
		(unsigned long long)(stats.total_ns / 1000));
	ck_nft_stop(r.nft); /* a restore that failed between lock and unlock */
	free_tasks(&r);
	ck_pages_free(&r);
	ck_image_free(r.img);
	ck_parent_free(r.parent);
	free(r.buf);
	close(r.dirfd);
	ck_log_close(&r.log);
	if (k < 0)
		return cell_err_wrap(err, "restore from %s", o->image_dir);
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}

int ckpt_restore_child(int fd, struct cell_err **err)
{
	char msg[4096];
	ssize_t n;
	const char ready = CK_CHILD_READY;
	(void)!send(fd, &ready, 1, MSG_NOSIGNAL);
	/* Blocks until the restorer replaces this process, or gives up. */
	while ((n = recv(fd, msg, sizeof(msg) - 1, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return cell_err_sys(err, "wait for the restorer");
	msg[n] = '\0';
	return cell_err(err, ECANCELED, "%s", n ? msg : "the restorer went away");
}
