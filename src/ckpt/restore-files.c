/* The fd tables.  Every open file description is created once, by its
 * kind, in the first process that has it; the other processes take it with
 * pidfd_getfd (injected into them), so the description is shared as it was.
 * Each file first lands on a temporary number above the task's highest fd,
 * then all are moved into place with dup3 and the temporaries closed: no
 * creation can take a number another fd is waiting for. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

static size_t file_index(const struct ck_restore *r, uint32_t id)
{
	for (size_t i = 0; i < r->img->nfiles; i++)
		if (r->img->files[i].id == id)
			return i;
	return (size_t)-1;
}

/* Move fd to the next temporary number of t. */
static int to_tmp(struct ck_rtask *t, int fd, int *ret, struct cell_err **err)
{
	int tmp = t->next_tmp++;
	if (fd != tmp) {
		int k = ck_rsys(t, "dup3", SYS_dup3, (uint64_t)fd, (uint64_t)tmp, O_CLOEXEC, 0, 0, 0,
				NULL, err);
		if (k == 0)
			k = ck_rsys(t, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, NULL, err);
		if (k < 0)
			return k;
	}
	*ret = tmp;
	return 0;
}

/* Files a kind left at low numbers (its own, or stashed side effects like
 * a pipe's other end) move to temporaries before anything else is made. */
static int settle(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (size_t i = 0; i < r->img->nfiles; i++) {
		if (t->file_fd[i] < 0 || t->file_fd[i] > t->max_fd)
			continue;
		int k = to_tmp(t, t->file_fd[i], &t->file_fd[i], err);
		if (k < 0)
			return k;
	}
	return 0;
}

/* Get file fi into t: from the task that has it, or by creating it. */
static int obtain(struct ck_restore *r, struct ck_rtask *t, size_t fi, struct cell_err **err)
{
	const struct ck_file *f = &r->img->files[fi];
	int fd, k;
	if (r->file_home[fi] >= 0) {
		struct ck_rtask *home = &r->tasks[r->file_home[fi]];
		int64_t pidfd, got;
		k = ck_rsys(t, "pidfd_open", SYS_pidfd_open, home->p->task.pid, 0, 0, 0, 0, 0, &pidfd,
			    err);
		if (k < 0)
			return k;
		k = ck_rsys(t, "pidfd_getfd", SYS_pidfd_getfd, (uint64_t)pidfd,
			    (uint64_t)home->file_fd[fi], 0, 0, 0, 0, &got, err);
		ck_rsys(t, "close", SYS_close, (uint64_t)pidfd, 0, 0, 0, 0, 0, NULL, NULL);
		if (k < 0)
			return k;
		fd = (int)got;
	} else {
		k = f->ops->restore(r, t, f, &fd, err);
		if (k < 0)
			return cell_err_wrap(err, "%s file %u", f->ops->name, f->id);
		r->file_home[fi] = t - r->tasks;
	}
	t->file_fd[fi] = fd;
	return settle(r, t, err);
}

int ck_restore_obtain(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int *ret_fd,
		      struct cell_err **err)
{
	size_t fi = file_index(r, id);
	if (fi == (size_t)-1)
		return cell_err(err, EINVAL, "no file %u", id);
	int k = t->file_fd[fi] >= 0 ? 0 : obtain(r, t, fi, err);
	if (k == 0)
		*ret_fd = t->file_fd[fi];
	return k;
}

static int create_all(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	const struct ck_proc *p = t->p;
	for (size_t i = 0; i < p->nfds; i++) {
		size_t fi = file_index(r, p->fds[i].file_id);
		if (t->file_fd[fi] >= 0)
			continue; /* made already, or stashed by a kind */
		int k = obtain(r, t, fi, err);
		if (k < 0)
			return cell_err_wrap(err, "fd %d", p->fds[i].fd);
	}
	return 0;
}

static int place_all(struct ck_rtask *t, struct ck_restore *r, struct cell_err **err)
{
	const struct ck_proc *p = t->p;
	for (size_t i = 0; i < p->nfds; i++) {
		const struct ck_fd *f = &p->fds[i];
		int from = t->file_fd[file_index(r, f->file_id)];
		int k = ck_rsys(t, "dup3", SYS_dup3, (uint64_t)from, (uint64_t)f->fd,
				f->cloexec ? O_CLOEXEC : 0, 0, 0, 0, NULL, err);
		if (k < 0)
			return cell_err_wrap(err, "fd %d", f->fd);
	}
	return 0;
}

/* Kinds that need every fd in place (epoll) finish in the task that made
 * the file, through the first of its numbers there. */
static int late_all(struct ck_restore *r, struct cell_err **err)
{
	for (size_t fi = 0; fi < r->img->nfiles; fi++) {
		const struct ck_file *f = &r->img->files[fi];
		if (!f->ops->restore_late || r->file_home[fi] < 0)
			continue;
		struct ck_rtask *t = &r->tasks[r->file_home[fi]];
		for (size_t i = 0; i < t->p->nfds; i++) {
			if (t->p->fds[i].file_id != f->id)
				continue;
			int k = f->ops->restore_late(r, t, f, t->p->fds[i].fd, err);
			if (k < 0)
				return cell_err_wrap(err, "process %u", t->p->task.pid);
			break;
		}
	}
	return 0;
}

/* The external entry the caller gave for key ("tty:3"), exactly or by its
 * kind ("tty"), or NULL. */
static const struct ckpt_external_fd *external_for(const struct ckpt_restore_opts *o,
						   const char *key)
{
	const struct ckpt_external_fd *kind = NULL;
	size_t kl = strcspn(key, ":");
	for (size_t i = 0; i < o->n_external; i++) {
		const char *k = o->external[i].key;
		if (!k)
			continue;
		if (!strcmp(k, key))
			return &o->external[i];
		if (!kind && strlen(k) == kl && !strncmp(k, key, kl))
			kind = &o->external[i];
	}
	return kind;
}

/* External files (ckpt_restore_opts.external) are pid 1's from the start. */
static void adopt_external(struct ck_restore *r)
{
	struct ck_rtask *init = &r->tasks[0];
	for (size_t fi = 0; fi < r->img->nfiles; fi++) {
		const struct ck_file *f = &r->img->files[fi];
		const char *key = f->ops->external ? f->ops->external(f) : NULL;
		const struct ckpt_external_fd *e = key ? external_for(r->o, key) : NULL;
		if (!e)
			continue;
		init->file_fd[fi] = e->fd;
		r->file_home[fi] = 0;
		if (e->fd >= init->next_tmp)
			init->next_tmp = e->fd + 1;
	}
}

/* Files pid 1 brought along (ckpt_restore_opts.inherit) stand for the
 * image's files it had at those numbers: they are pid 1's own, so every
 * other process takes them from there.  The other processes, forked from
 * pid 1 with copies of them, drop those copies first. */
static int adopt_inherited(struct ck_restore *r, struct cell_err **err)
{
	struct ck_rtask *init = &r->tasks[0];
	bool handed = r->o->n_inherit || r->o->n_external;
	for (size_t i = 1; handed && i < r->ntasks; i++) {
		int k = ck_rsys(&r->tasks[i], "close_range", SYS_close_range, 0, ~0U, 0, 0, 0, 0,
				NULL, err);
		if (k < 0)
			return k;
	}
	for (size_t i = 0; i < r->o->n_inherit; i++) {
		const struct ckpt_inherit_fd *in = &r->o->inherit[i];
		size_t k = 0;
		while (k < init->p->nfds && init->p->fds[k].fd != in->image_fd)
			k++;
		if (k == init->p->nfds) {
			/* pid 1 had no such fd any more: nothing to stand for. */
			int e = ck_rsys(init, "close", SYS_close, (uint64_t)in->fd, 0, 0, 0, 0, 0,
					NULL, err);
			if (e < 0)
				return e;
			continue;
		}
		size_t fi = file_index(r, init->p->fds[k].file_id);
		init->file_fd[fi] = in->fd;
		r->file_home[fi] = 0;
		if (in->fd >= init->next_tmp)
			init->next_tmp = in->fd + 1;
	}
	adopt_external(r);
	return settle(r, init, err);
}

int ck_restore_files(struct ck_restore *r, struct cell_err **err)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		const struct ck_proc *p = t->p;
		t->max_fd = p->nfds ? p->fds[p->nfds - 1].fd : -1;
		t->next_tmp = t->max_fd + 1;
	}
	int k = adopt_inherited(r, err);
	if (k < 0)
		return cell_err_wrap(err, "files handed over to process 1");
	/* Everything created first: a description another process takes
	 * must still be at its temporary number in its home. */
	for (size_t i = 0; i < r->ntasks; i++) {
		k = create_all(r, &r->tasks[i], err);
		if (k < 0)
			return cell_err_wrap(err, "process %u", r->tasks[i].p->task.pid);
	}
	/* Memfds made for memfd files would be in the way of the moves. */
	for (size_t i = 0; i < r->ntasks; i++) {
		k = ck_shmem_forget(r, &r->tasks[i], err);
		if (k < 0)
			return cell_err_wrap(err, "process %u", r->tasks[i].p->task.pid);
	}
	/* While each file still has a number in its tasks. */
	k = ck_restore_ctty(r, err);
	if (k < 0)
		return k;
	for (size_t i = 0; i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		k = place_all(t, r, err);
		if (k == 0)
			k = ck_rsys(t, "close_range", SYS_close_range, (uint64_t)(t->max_fd + 1), ~0U, 0,
				    0, 0, 0, NULL, err);
		if (k < 0)
			return cell_err_wrap(err, "process %u", t->p->task.pid);
		r->stats->files += (uint32_t)t->p->nfds;
	}
	return late_all(r, err);
}

/* Does pid 1 bring a file along (ckpt_restore_opts.inherit) for file id? */
static bool inherited(const struct ck_restore *r, uint32_t id)
{
	const struct ck_proc *init = &r->img->procs[0];
	for (size_t i = 0; i < r->o->n_inherit; i++)
		for (size_t k = 0; k < init->nfds; k++)
			if (init->fds[k].fd == r->o->inherit[i].image_fd && init->fds[k].file_id == id)
				return true;
	return false;
}

int ck_restore_files_precheck(struct ck_restore *r, struct cell_err **err)
{
	for (size_t i = 0; i < r->img->nfiles; i++) {
		const struct ck_file *f = &r->img->files[i];
		const char *key = f->ops->external ? f->ops->external(f) : NULL;
		if (key && !external_for(r->o, key) && !inherited(r, f->id))
			return cell_err(err, ENOENT, "the image needs the %s %s from outside: hand one "
					"in as external \"%s\" (or \"%.*s\")", f->ops->name, key, key,
					(int)strcspn(key, ":"), key);
		int k = f->ops->precheck ? f->ops->precheck(r, f, err) : 0;
		if (k < 0)
			return k;
	}
	return 0;
}

/* A task holding file id at its final number: home first. */
static bool holder(struct ck_restore *r, size_t fi, struct ck_rtask **ret_t, int *ret_fd)
{
	uint32_t id = r->img->files[fi].id;
	for (size_t n = 0; n <= r->ntasks; n++) {
		size_t ti = n == 0 ? (size_t)r->file_home[fi] : n - 1;
		if (r->file_home[fi] < 0 && n == 0)
			continue;
		struct ck_rtask *t = &r->tasks[ti];
		for (size_t i = 0; i < t->p->nfds; i++) {
			if (t->p->fds[i].file_id == id) {
				*ret_t = t;
				*ret_fd = t->p->fds[i].fd;
				return true;
			}
		}
	}
	return false;
}

/* The last step of kinds that have one (TCP leaves repair mode), in the
 * task that made the file, through the first of its numbers there. */
int ck_restore_files_final(struct ck_restore *r, struct cell_err **err)
{
	for (size_t fi = 0; fi < r->img->nfiles; fi++) {
		const struct ck_file *f = &r->img->files[fi];
		struct ck_rtask *t;
		int fd;
		if (!f->ops->restore_final || !holder(r, fi, &t, &fd))
			continue;
		int k = f->ops->restore_final(r, t, f, fd, err);
		if (k < 0)
			return cell_err_wrap(err, "process %u fd %d", t->p->task.pid, fd);
	}
	return 0;
}
