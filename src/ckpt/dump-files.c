/* The fd table of a process: each fd is taken with pidfd_getfd, matched
 * against the kinds of files/table.c and dumped once per open file
 * description (kcmp finds descriptions shared across fds and processes). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

uint32_t ck_dump_new_id(struct ck_dump *d)
{
	return ++d->next_id;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int ck_dump_list_fds(struct ck_dump *d, pid_t pid, int **ret, size_t *ret_n, struct cell_err **err)
{
	char path[32];
	snprintf(path, sizeof(path), "%d/fd", pid);
	int dfd = openat(d->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cell_err_sys(err, "open /proc/%s", path);
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return cell_err_sys(err, "open /proc/%s", path);
	}
	int *v = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = atoi(de->d_name);
	}
	closedir(dir);
	qsort(v, n, sizeof(*v), cmp_int);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* The id of an already dumped description that fd shares, or 0. */
static uint32_t shared_id(struct ck_dump *d, pid_t pid, int fd, const struct stat *st)
{
	for (size_t i = 0; i < d->nfiles; i++) {
		const struct ck_dfile *f = &d->files[i];
		if (f->dev != st->st_dev || f->ino != st->st_ino)
			continue;
		if (syscall(SYS_kcmp, pid, f->pid, KCMP_FILE, fd, f->fd) == 0)
			return f->id;
	}
	return 0;
}

static int fill_info(struct ck_dump *d, struct ck_dtask *t, int fd, struct ck_fdinfo *fi,
		     struct cell_err **err)
{
	*fi = (struct ck_fdinfo){ .d = d, .task = t, .fd = fd, .lfd = -1 };
	fi->lfd = (int)syscall(SYS_pidfd_getfd, t->pidfd, fd, 0);
	if (fi->lfd < 0)
		return cell_err_sys(err, "pidfd_getfd fd %d", fd);
	if (fstat(fi->lfd, &fi->st) < 0)
		return cell_err_sys(err, "stat fd %d", fd);
	char what[32];
	snprintf(what, sizeof(what), "fd/%d", fd);
	int r = ck_proc_readlink(d->procfd, t->pid, what, &fi->link, err);
	if (r < 0)
		return r;
	snprintf(what, sizeof(what), "fdinfo/%d", fd);
	r = ck_proc_read(d->procfd, t->pid, what, &fi->fdinfo, NULL, err);
	if (r < 0)
		return r;
	const char *pos = ck_fdinfo_get(fi->fdinfo, "pos");
	const char *flags = ck_fdinfo_get(fi->fdinfo, "flags");
	if (!pos || !flags)
		return cell_err(err, EINVAL, "fdinfo of fd %d: no pos or flags", fd);
	fi->pos = strtoull(pos, NULL, 10);
	fi->flags = (int)strtoul(flags, NULL, 8);
	return 0;
}

static void free_info(struct ck_fdinfo *fi)
{
	if (fi->lfd >= 0)
		close(fi->lfd);
	free(fi->link);
	free(fi->fdinfo);
}

static int dump_one(struct ck_dump *d, struct ck_dtask *t, int fd, struct cell_err **err)
{
	struct ck_fdinfo fi;
	int r = fill_info(d, t, fd, &fi, err);
	if (r < 0) {
		free_info(&fi);
		return r;
	}
	/* fdinfo lists the locks this fd holds (fs/locks.c show_fd_locks):
	 * not restored, so refused; -EAGAIN, as most are held for moments. */
	if (strstr(fi.fdinfo, "\nlock:")) {
		r = cell_err(err, EAGAIN, "fd %d (%s) holds a file lock: not supported yet", fd,
			     fi.link);
		free_info(&fi);
		return r;
	}
	uint32_t id = shared_id(d, t->pid, fd, &fi.st);
	if (!id) {
		const struct ck_file_ops *ops = NULL;
		for (size_t i = 0; ck_file_kinds[i] && !ops; i++)
			if (ck_file_kinds[i]->match(&fi))
				ops = ck_file_kinds[i];
		if (!ops)
			r = cell_err(err, EOPNOTSUPP, "fd %d (%s): this kind of file cannot be "
				     "checkpointed", fd, fi.link);
		id = ck_dump_new_id(d);
		if (r == 0)
			r = ops->dump(&fi, id, err);
		if (r < 0) {
			if (ops)
				cell_err_wrap(err, "fd %d (%s, %s)", fd, ops->name, fi.link);
			free_info(&fi);
			return r;
		}
		d->files = xrealloc(d->files, (d->nfiles + 1) * sizeof(*d->files));
		d->files[d->nfiles++] = (struct ck_dfile){ .pid = t->pid, .fd = fd,
							   .dev = fi.st.st_dev,
							   .ino = fi.st.st_ino, .id = id };
		d->stats->files++;
	}
	struct ck_fd rec = { .pid = t->vpid, .fd = fd, .file_id = id,
			     .cloexec = (fi.flags & O_CLOEXEC) != 0 };
	free_info(&fi);
	return img_write(d->core, &ck_fd_schema, &rec, err);
}

int ck_dump_fds(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	_cleanup_free_ int *fds = NULL;
	size_t n = 0;
	int r = ck_dump_list_fds(d, t->pid, &fds, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (fds[i] == t->tracker_fd) /* ours, from a pre-dump */
			continue;
		r = dump_one(d, t, fds[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}
