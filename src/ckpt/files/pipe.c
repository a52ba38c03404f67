/* Pipes (and FIFOs opened by path) with the data buffered in them.  The
 * data is copied at dump time with tee(2), which leaves it in the pipe.
 *
 * A FIFO comes back by opening its path in the task, in the tree's root:
 * first read-write (which never blocks), so that the wanted end opens at
 * once whatever it is and the data can be put back; then that helper fd
 * goes.  The FIFO keeps the data as long as one end stays open. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

#define PIPE_DATA_MAX (1u << 20)

struct ck_file_pipe {
	uint32_t id;
	uint64_t pipe_ino; /* identifies the pipe among the image's records */
	uint32_t flags;	   /* O_RDONLY or O_WRONLY, O_NONBLOCK */
	uint32_t size;	   /* F_GETPIPE_SZ */
	char *path;	   /* a FIFO's path; NULL for an anonymous pipe */
	void *data;	   /* what was buffered: on the first record of the pipe only */
	size_t data_len;
	bool has_data;
};

static const struct img_field pipe_fields[] = {
	IMG_U32(1, struct ck_file_pipe, id, IMG_F_REQUIRED),
	IMG_U64(2, struct ck_file_pipe, pipe_ino, IMG_F_REQUIRED),
	IMG_U32(3, struct ck_file_pipe, flags, IMG_F_REQUIRED),
	IMG_U32(4, struct ck_file_pipe, size, 0),
	IMG_STR(5, struct ck_file_pipe, path, CK_MAX_PATH, 0),
	IMG_BYTES(6, struct ck_file_pipe, data, data_len, PIPE_DATA_MAX, 0),
	IMG_BOOL(7, struct ck_file_pipe, has_data, 0),
};
static const struct img_schema pipe_schema =
	IMG_SCHEMA(CK_REC_FILE_PIPE, "file-pipe", pipe_fields, struct ck_file_pipe);

static bool pipe_match(const struct ck_fdinfo *fi)
{
	return S_ISFIFO(fi->st.st_mode);
}

/* Copy the pipe's buffered bytes without consuming them: tee into a pipe
 * of ours, then read that. */
static int peek_data(struct ck_fdinfo *fi, struct ck_file_pipe *f, struct cell_err **err)
{
	_cleanup_close_ int rfd = -1;
	char path[64];
	snprintf(path, sizeof(path), "%d/fd/%d", fi->task->pid, fi->fd);
	/* A read end of the same pipe even when the task holds the write end. */
	rfd = openat(fi->d->procfd, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0)
		return cell_err_sys(err, "open the read end of pipe fd %d", fi->fd);
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return cell_err_sys(err, "pipe");
	_cleanup_close_ int pr = p[0], pw = p[1];
	if (fcntl(pw, F_SETPIPE_SZ, (int)f->size) < 0)
		return cell_err_sys(err, "size a pipe to %u bytes", f->size);
	ssize_t n = tee(rfd, pw, PIPE_DATA_MAX, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN)
		return cell_err_sys(err, "tee pipe fd %d", fi->fd);
	f->has_data = true;
	if (n <= 0)
		return 0;
	f->data = xmalloc((size_t)n);
	if (cell_read_all(pr, f->data, (size_t)n) < 0)
		return cell_err_sys(err, "read pipe copy");
	f->data_len = (size_t)n;
	return 0;
}

static bool pipe_seen(const struct ck_dump *d, const struct stat *st)
{
	for (size_t i = 0; i < d->nfiles; i++)
		if (d->files[i].dev == st->st_dev && d->files[i].ino == st->st_ino)
			return true;
	return false;
}

static int pipe_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	struct ck_file_pipe f = {
		.id = id, .pipe_ino = fi->st.st_ino,
		.flags = (uint32_t)fi->flags & (O_ACCMODE | O_NONBLOCK),
	};
	int sz = fcntl(fi->lfd, F_GETPIPE_SZ);
	if (sz < 0)
		return cell_err_sys(err, "size of pipe fd %d", fi->fd);
	f.size = (uint32_t)sz;
	if (strncmp(fi->link, "pipe:", 5) != 0)
		f.path = fi->link;
	if (f.path && cell_str_has_suffix(f.path, " (deleted)"))
		return cell_err(err, EOPNOTSUPP, "FIFO %s was removed", f.path);
	int r = 0;
	if (!pipe_seen(fi->d, &fi->st))
		r = peek_data(fi, &f, err);
	if (r == 0)
		r = img_write(fi->d->core, &pipe_schema, &f, err);
	free(f.data);
	return r;
}

static int pipe_validate(const struct ck_image *img, const struct ck_file *file,
			 struct cell_err **err)
{
	const struct ck_file_pipe *f = file->obj;
	uint32_t acc = f->flags & O_ACCMODE;
	if (acc != O_RDONLY && acc != O_WRONLY && !(acc == O_RDWR && f->path))
		return cell_err(err, EINVAL, "pipe file %u: access mode %u", f->id, acc);
	if (f->data_len > f->size)
		return cell_err(err, EINVAL, "pipe file %u: %zu bytes buffered in a %u-byte pipe",
				f->id, f->data_len, f->size);
	if (f->path && f->path[0] != '/')
		return cell_err(err, EINVAL, "pipe file %u: FIFO path not absolute", f->id);
	return 0;
}

/* The record of the pipe's other end, or NULL. */
static const struct ck_file *peer_of(const struct ck_image *img, const struct ck_file_pipe *f)
{
	for (size_t i = 0; i < img->nfiles; i++) {
		const struct ck_file *o = &img->files[i];
		if (o->rec_type != CK_REC_FILE_PIPE)
			continue;
		const struct ck_file_pipe *p = o->obj;
		if (p->pipe_ino == f->pipe_ino && (p->flags & O_ACCMODE) != (f->flags & O_ACCMODE))
			return o;
	}
	return NULL;
}

static const struct ck_file_pipe *data_holder(const struct ck_image *img, uint64_t ino)
{
	for (size_t i = 0; i < img->nfiles; i++) {
		const struct ck_file *o = &img->files[i];
		const struct ck_file_pipe *p = o->obj;
		if (o->rec_type == CK_REC_FILE_PIPE && p->pipe_ino == ino && p->has_data)
			return p;
	}
	return NULL;
}

/* Size the pipe, refill it, and set each end's flags, from our copies. */
static int fill_pipe(struct ck_rtask *t, int rfd, int wfd, const struct ck_file_pipe *d,
		     struct cell_err **err)
{
	_cleanup_close_ int w = -1;
	int r = ck_rtask_getfd(t, wfd, &w, err);
	if (r < 0)
		return r;
	if (d->size && fcntl(w, F_SETPIPE_SZ, (int)d->size) < 0)
		return cell_err_sys(err, "size pipe to %u bytes", d->size);
	if (d->data_len && write(w, d->data, d->data_len) != (ssize_t)d->data_len)
		return cell_err_sys(err, "refill pipe with %zu bytes", d->data_len);
	(void)rfd;
	return 0;
}

static int set_flags(struct ck_rtask *t, int fd, uint32_t flags, struct cell_err **err)
{
	return ck_rsys(t, "fcntl", SYS_fcntl, (uint64_t)fd, F_SETFL, flags & O_NONBLOCK, 0, 0, 0,
		       NULL, err);
}

static int fifo_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file_pipe *f,
			int *ret_fd, struct cell_err **err)
{
	uint64_t a;
	int64_t helper, fd;
	int k = ck_scratch_path(r, t, f->path, &a, err);
	if (k == 0)
		k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a,
			    O_RDWR | O_NONBLOCK | O_CLOEXEC, 0, 0, 0, &helper, err);
	if (k < 0)
		return cell_err_wrap(err, "FIFO %s", f->path);
	const struct ck_file_pipe sized = { .size = f->size };
	if (k == 0)
		k = fill_pipe(t, (int)helper, (int)helper, f->has_data ? f : &sized, err);
	if (k == 0)
		k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a,
			    (f->flags & (O_ACCMODE | O_NONBLOCK)) | O_CLOEXEC, 0, 0, 0, &fd, err);
	ck_rsys(t, "close", SYS_close, (uint64_t)helper, 0, 0, 0, 0, 0, NULL, NULL);
	if (k < 0)
		return cell_err_wrap(err, "FIFO %s", f->path);
	*ret_fd = (int)fd;
	return 0;
}

static int pipe_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			int *ret_fd, struct cell_err **err)
{
	const struct ck_file_pipe *f = file->obj;
	if (f->path)
		return fifo_restore(r, t, f, ret_fd, err);
	uint64_t a;
	int32_t fds[2];
	int k = ck_scratch_put(r, t, 0, NULL, 0, &a, err);
	if (k < 0)
		return k;
	k = ck_rsys(t, "pipe2", SYS_pipe2, a, O_CLOEXEC, 0, 0, 0, 0, NULL, err);
	if (k < 0)
		return k;
	k = ck_mem_read(t->pid, a, fds, sizeof(fds), err);
	if (k < 0)
		return k;
	const struct ck_file_pipe *holder = data_holder(r->img, f->pipe_ino);
	struct ck_file_pipe empty = { .size = f->size };
	k = fill_pipe(t, fds[0], fds[1], holder ? holder : &empty, err);
	bool rd = (f->flags & O_ACCMODE) == O_RDONLY;
	int mine = rd ? fds[0] : fds[1], other = rd ? fds[1] : fds[0];
	if (k == 0)
		k = set_flags(t, mine, f->flags, err);
	const struct ck_file *peer = peer_of(r->img, f);
	if (k == 0 && peer) {
		k = set_flags(t, other, ((const struct ck_file_pipe *)peer->obj)->flags, err);
		if (k == 0)
			ck_restore_stash(r, t, peer->id, other);
	} else {
		ck_rsys(t, "close", SYS_close, (uint64_t)other, 0, 0, 0, 0, 0, NULL, NULL);
	}
	if (k < 0)
		return k;
	*ret_fd = mine;
	return 0;
}

static char *pipe_describe(const struct ck_file *file)
{
	const struct ck_file_pipe *f = file->obj;
	return xasprintf("pipe:[%llu] %s%s, %zu bytes buffered",
			 (unsigned long long)f->pipe_ino,
			 (f->flags & O_ACCMODE) == O_RDONLY ? "read end" : "write end",
			 f->flags & O_NONBLOCK ? " nonblocking" : "", f->data_len);
}

const struct ck_file_ops ck_file_pipe_ops = {
	.name = "pipe",
	.rec_type = CK_REC_FILE_PIPE,
	.schema = &pipe_schema,
	.match = pipe_match,
	.dump = pipe_dump,
	.validate = pipe_validate,
	.restore = pipe_restore,
	.describe = pipe_describe,
};
