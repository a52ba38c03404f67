/* Pseudo-terminals: pty masters (/dev/ptmx) and slaves (/dev/pts/N), with
 * their termios, window size, packet mode and lock.
 *
 * A slave whose master is in the tree comes back from that master
 * (TIOCGPTPEER), and the master with its old number: the kernel gives out
 * the lowest free number, so /dev/ptmx is opened until the number comes
 * up, and the extra masters closed.  A slave whose master is outside the
 * tree (a container's console, whose master the runtime's caller holds) is
 * "external": the image names it "tty:N" and the restore's caller hands in
 * a terminal for it (ckpt_restore_opts.external), which gets the image's
 * termios and window size.
 *
 * Controlling terminals come back too (TASK ctty, tpgid): each session
 * leader takes its terminal again (TIOCSCTTY) and sets the foreground
 * group (TIOCSPGRP), once every fd is in place.
 *
 * Not kept: bytes in the terminal's buffers (they cannot be read without
 * taking them), and /dev/tty opens (refused). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <asm/termbits.h> /* struct termios2; glibc's termios.h would clash with it */

#include "base/util.h"
#include "ckpt/files/files.h"

#define PTY_SLAVE_MAJOR 136 /* 136-143: UNIX98_PTY_SLAVE_MAJOR */
#define PTY_CHASE_MAX 4096

enum { TTY_SLAVE = 1, TTY_MASTER = 2 };

struct ck_file_tty {
	uint32_t id;
	uint32_t type;
	uint32_t index;
	uint32_t flags; /* access mode, O_NONBLOCK */
	char *external;
	uint64_t rdev;
	uint32_t iflag, oflag, cflag, lflag, line, ispeed, ospeed;
	void *cc;
	size_t cc_len;
	uint32_t rows, cols, xpixel, ypixel;
	bool locked, pktmode, exclusive;
};

static const struct img_field tty_fields[] = {
	IMG_U32(1, struct ck_file_tty, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_tty, type, IMG_F_REQUIRED),
	IMG_U32(3, struct ck_file_tty, index, IMG_F_REQUIRED),
	IMG_U32(4, struct ck_file_tty, flags, 0),
	IMG_STR(5, struct ck_file_tty, external, 64, 0),
	IMG_U64(6, struct ck_file_tty, rdev, 0),
	IMG_U32(7, struct ck_file_tty, iflag, 0),
	IMG_U32(8, struct ck_file_tty, oflag, 0),
	IMG_U32(9, struct ck_file_tty, cflag, 0),
	IMG_U32(10, struct ck_file_tty, lflag, 0),
	IMG_U32(11, struct ck_file_tty, line, 0),
	IMG_BYTES(12, struct ck_file_tty, cc, cc_len, 32, 0),
	IMG_U32(13, struct ck_file_tty, ispeed, 0),
	IMG_U32(14, struct ck_file_tty, ospeed, 0),
	IMG_U32(15, struct ck_file_tty, rows, 0),
	IMG_U32(16, struct ck_file_tty, cols, 0),
	IMG_U32(17, struct ck_file_tty, xpixel, 0),
	IMG_U32(18, struct ck_file_tty, ypixel, 0),
	IMG_BOOL(19, struct ck_file_tty, locked, 0),
	IMG_BOOL(20, struct ck_file_tty, pktmode, 0),
	IMG_BOOL(21, struct ck_file_tty, exclusive, 0),
};
static const struct img_schema tty_schema =
	IMG_SCHEMA(CK_REC_FILE_TTY, "file-tty", tty_fields, struct ck_file_tty);

uint64_t ck_tty_rdev(const struct ck_file *f)
{
	return f->rec_type == CK_REC_FILE_TTY ? ((const struct ck_file_tty *)f->obj)->rdev : 0;
}

static bool is_master(dev_t rdev)
{
	return major(rdev) == 5 && minor(rdev) == 2;
}

static bool is_slave(dev_t rdev)
{
	return major(rdev) >= PTY_SLAVE_MAJOR && major(rdev) < PTY_SLAVE_MAJOR + 8;
}

static bool tty_match(const struct ck_fdinfo *fi)
{
	return S_ISCHR(fi->st.st_mode) && (is_master(fi->st.st_rdev) || is_slave(fi->st.st_rdev));
}

/* Is the master of pty idx held by some process of the tree? */
static bool master_in_tree(struct ck_dump *d, uint32_t idx)
{
	for (size_t i = 0; i < d->ntasks; i++) {
		_cleanup_free_ int *fds = NULL;
		size_t n = 0;
		if (ck_dump_list_fds(d, d->tasks[i].pid, &fds, &n, NULL) < 0)
			continue;
		for (size_t k = 0; k < n; k++) {
			char what[64];
			struct stat st;
			snprintf(what, sizeof(what), "%d/fd/%d", d->tasks[i].pid, fds[k]);
			if (fstatat(d->procfd, what, &st, 0) < 0 || !S_ISCHR(st.st_mode) ||
			    !is_master(st.st_rdev))
				continue;
			_cleanup_close_ int m = (int)syscall(SYS_pidfd_getfd, d->tasks[i].pidfd, fds[k], 0);
			unsigned got;
			if (m >= 0 && ioctl(m, TIOCGPTN, &got) == 0 && got == idx)
				return true;
		}
	}
	return false;
}

static int read_tty(int s, struct ck_file_tty *f, struct cell_err **err)
{
	struct termios2 t;
	struct winsize ws;
	if (ioctl(s, TCGETS2, &t) < 0 || ioctl(s, TIOCGWINSZ, &ws) < 0)
		return cell_err_sys(err, "terminal settings");
	f->iflag = t.c_iflag, f->oflag = t.c_oflag, f->cflag = t.c_cflag, f->lflag = t.c_lflag;
	f->line = t.c_line, f->ispeed = t.c_ispeed, f->ospeed = t.c_ospeed;
	f->cc = xmalloc(sizeof(t.c_cc));
	memcpy(f->cc, t.c_cc, sizeof(t.c_cc));
	f->cc_len = sizeof(t.c_cc);
	f->rows = ws.ws_row, f->cols = ws.ws_col, f->xpixel = ws.ws_xpixel, f->ypixel = ws.ws_ypixel;
	int v = 0;
	f->exclusive = ioctl(s, TIOCGEXCL, &v) == 0 && v;
	if (f->type == TTY_MASTER) {
		v = 0;
		f->locked = ioctl(s, TIOCGPTLCK, &v) == 0 && v;
		v = 0;
		f->pktmode = ioctl(s, TIOCGPKT, &v) == 0 && v;
	}
	return 0;
}

static int tty_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	struct ck_file_tty f = { .id = id, .rdev = fi->st.st_rdev,
				 .flags = (uint32_t)fi->flags & (O_ACCMODE | O_NONBLOCK) };
	_cleanup_free_ char *key = NULL;
	if (is_master(fi->st.st_rdev)) {
		unsigned idx;
		if (ioctl(fi->lfd, TIOCGPTN, &idx) < 0)
			return cell_err_sys(err, "pty number");
		f.type = TTY_MASTER;
		f.index = idx;
	} else {
		f.type = TTY_SLAVE;
		f.index = ((major(fi->st.st_rdev) - PTY_SLAVE_MAJOR) << 20) + minor(fi->st.st_rdev);
		if (!master_in_tree(fi->d, f.index))
			f.external = key = xasprintf("tty:%u", f.index);
	}
	int r = read_tty(fi->lfd, &f, err);
	if (r == 0)
		r = img_write(fi->d->core, &tty_schema, &f, err);
	free(f.cc);
	return r;
}

static const struct ck_file_tty *master_of(const struct ck_image *img, const struct ck_file_tty *f,
					   uint32_t *ret_id)
{
	for (size_t i = 0; i < img->nfiles; i++) {
		const struct ck_file *o = &img->files[i];
		const struct ck_file_tty *m = o->obj;
		if (o->rec_type == CK_REC_FILE_TTY && m->type == TTY_MASTER && m->index == f->index) {
			*ret_id = o->id;
			return m;
		}
	}
	return NULL;
}

static int tty_validate(const struct ck_image *img, const struct ck_file *file,
			struct cell_err **err)
{
	const struct ck_file_tty *f = file->obj;
	uint32_t mid;
	if (f->type != TTY_SLAVE && f->type != TTY_MASTER)
		return cell_err(err, EINVAL, "tty file %u: type %u", f->id, f->type);
	if ((f->flags & O_ACCMODE) == 3 || (f->cc_len && f->cc_len != 19))
		return cell_err(err, EINVAL, "tty file %u: flags or control characters", f->id);
	if (f->type == TTY_MASTER && f->external)
		return cell_err(err, EINVAL, "tty file %u: an external master", f->id);
	if (f->type == TTY_SLAVE && !f->external && !master_of(img, f, &mid))
		return cell_err(err, EINVAL, "tty file %u: pty %u has no master in the image", f->id,
				f->index);
	return 0;
}

static const char *tty_external(const struct ck_file *file)
{
	return ((const struct ck_file_tty *)file->obj)->external;
}

/* A master with number want: open /dev/ptmx until it comes up. */
static int open_master(struct ck_restore *r, struct ck_rtask *t, const struct ck_file_tty *f,
		       int64_t *ret, struct cell_err **err)
{
	uint64_t a, np;
	int64_t extra[PTY_CHASE_MAX];
	size_t nextra = 0;
	int k = ck_scratch_path(r, t, "/dev/ptmx", &a, err);
	if (k == 0)
		k = ck_scratch_put(r, t, 0, NULL, 0, &np, err);
	int64_t fd = -1;
	while (k == 0) {
		k = ck_rsys(t, "open /dev/ptmx", SYS_openat, (uint64_t)AT_FDCWD, a,
			    O_RDWR | O_NOCTTY | O_CLOEXEC | (f->flags & O_NONBLOCK), 0, 0, 0, &fd, err);
		uint32_t idx = 0;
		if (k == 0)
			k = ck_rsys(t, "ioctl(TIOCGPTN)", SYS_ioctl, (uint64_t)fd, TIOCGPTN, np, 0, 0, 0,
				    NULL, err);
		if (k == 0)
			k = ck_mem_read(t->pid, np, &idx, sizeof(idx), err);
		if (k == 0 && idx == f->index) {
			/* Unlocked for TIOCGPTPEER; the image's lock comes at the end. */
			int zero = 0;
			k = ck_scratch_put(r, t, 64, &zero, sizeof(zero), &np, err);
			if (k == 0)
				k = ck_rsys(t, "ioctl(TIOCSPTLCK)", SYS_ioctl, (uint64_t)fd, TIOCSPTLCK,
					    np, 0, 0, 0, NULL, err);
			break;
		}
		if (k < 0)
			break;
		if (idx > f->index || nextra == PTY_CHASE_MAX) {
			k = cell_err(err, EBUSY, "pty %u is taken in this devpts", f->index);
			extra[nextra++] = fd;
			break;
		}
		extra[nextra++] = fd;
	}
	for (size_t i = 0; i < nextra; i++)
		ck_rsys(t, "close", SYS_close, (uint64_t)extra[i], 0, 0, 0, 0, 0, NULL, NULL);
	if (k == 0)
		*ret = fd;
	return k < 0 ? cell_err_wrap(err, "pty master %u", f->index) : 0;
}

/* A slave from its master, which is made first if need be. */
static int open_slave(struct ck_restore *r, struct ck_rtask *t, const struct ck_file_tty *f,
		      int64_t *ret, struct cell_err **err)
{
	uint32_t mid = 0; /* validated: the master is in the image */
	master_of(r->img, f, &mid);
	int mfd;
	int k = ck_restore_obtain(r, t, mid, &mfd, err);
	if (k == 0)
		k = ck_rsys(t, "ioctl(TIOCGPTPEER)", SYS_ioctl, (uint64_t)mfd, TIOCGPTPEER,
			    (f->flags & (O_ACCMODE | O_NONBLOCK)) | O_NOCTTY | O_CLOEXEC, 0, 0, 0, ret,
			    err);
	return k < 0 ? cell_err_wrap(err, "pty slave %u", f->index) : 0;
}

static int tty_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
		       int *ret_fd, struct cell_err **err)
{
	const struct ck_file_tty *f = file->obj;
	int64_t fd;
	if (f->external) /* precheck saw to it that the caller brought one */
		return cell_err(err, EINVAL, "terminal %s was not handed over", f->external);
	int k = f->type == TTY_MASTER ? open_master(r, t, f, &fd, err) : open_slave(r, t, f, &fd, err);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

/* Settings, from our copy, once every fd is in place. */
static int tty_final(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file, int fd,
		     struct cell_err **err)
{
	const struct ck_file_tty *f = file->obj;
	_cleanup_close_ int s = -1;
	int k = ck_rtask_getfd(t, fd, &s, err);
	if (k < 0)
		return k;
	(void)r;
	if (f->cc_len == 19) {
		struct termios2 tio = { .c_iflag = f->iflag, .c_oflag = f->oflag, .c_cflag = f->cflag,
					.c_lflag = f->lflag, .c_line = (cc_t)f->line,
					.c_ispeed = f->ispeed, .c_ospeed = f->ospeed };
		memcpy(tio.c_cc, f->cc, sizeof(tio.c_cc));
		if (ioctl(s, TCSETS2, &tio) < 0)
			return cell_err_sys(err, "terminal settings of pty %u", f->index);
	}
	struct winsize ws = { .ws_row = (unsigned short)f->rows, .ws_col = (unsigned short)f->cols,
			      .ws_xpixel = (unsigned short)f->xpixel,
			      .ws_ypixel = (unsigned short)f->ypixel };
	if (ioctl(s, TIOCSWINSZ, &ws) < 0)
		return cell_err_sys(err, "window size of pty %u", f->index);
	int v = f->locked;
	if (f->type == TTY_MASTER && ioctl(s, TIOCSPTLCK, &v) < 0)
		return cell_err_sys(err, "lock of pty %u", f->index);
	v = f->pktmode;
	if (f->type == TTY_MASTER && ioctl(s, TIOCPKT, &v) < 0)
		return cell_err_sys(err, "packet mode of pty %u", f->index);
	if (f->exclusive && ioctl(s, TIOCEXCL) < 0)
		return cell_err_sys(err, "exclusive mode of pty %u", f->index);
	return 0;
}

static char *tty_describe(const struct ck_file *file)
{
	const struct ck_file_tty *f = file->obj;
	if (f->external)
		return xasprintf("terminal %s from outside (%ux%u)", f->external, f->cols, f->rows);
	return xasprintf("pty %u %s (%ux%u)", f->index, f->type == TTY_MASTER ? "master" : "slave",
			 f->cols, f->rows);
}

const struct ck_file_ops ck_file_tty_ops = {
	.name = "tty",
	.rec_type = CK_REC_FILE_TTY,
	.schema = &tty_schema,
	.match = tty_match,
	.dump = tty_dump,
	.validate = tty_validate,
	.external = tty_external,
	.restore = tty_restore,
	.restore_final = tty_final,
	.describe = tty_describe,
};

/* The terminal file the image had with device number rdev. */
static const struct ck_file *tty_by_rdev(const struct ck_image *img, uint64_t rdev)
{
	for (size_t i = 0; i < img->nfiles; i++)
		if (ck_tty_rdev(&img->files[i]) == rdev)
			return &img->files[i];
	return NULL;
}

int ck_restore_ctty(struct ck_restore *r, struct cell_err **err)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		const struct ck_task *k = &t->p->task;
		if (!k->ctty || k->sid != k->pid)
			continue;
		const struct ck_file *f = tty_by_rdev(r->img, k->ctty);
		if (!f) {
			ck_logf(&r->log, "session %u: its controlling terminal was not open in the "
				"tree: the session comes back without one", k->sid);
			continue;
		}
		int fd;
		int e = ck_restore_obtain(r, t, f->id, &fd, err);
		/* Taken from another session (the caller's, say) if need be. */
		if (e == 0 && ck_rsys(t, "ioctl(TIOCSCTTY)", SYS_ioctl, (uint64_t)fd, TIOCSCTTY, 0, 0,
				      0, 0, NULL, NULL) < 0)
			e = ck_rsys(t, "ioctl(TIOCSCTTY)", SYS_ioctl, (uint64_t)fd, TIOCSCTTY, 1, 0, 0,
				    0, NULL, err);
		uint64_t a;
		int32_t pgrp = (int32_t)k->tpgid;
		if (e == 0 && pgrp > 0)
			e = ck_scratch_put(r, t, 0, &pgrp, sizeof(pgrp), &a, err);
		if (e == 0 && pgrp > 0)
			e = ck_rsys(t, "ioctl(TIOCSPGRP)", SYS_ioctl, (uint64_t)fd, TIOCSPGRP, a, 0, 0, 0,
				    NULL, err);
		if (e < 0)
			return cell_err_wrap(err, "controlling terminal of session %u", k->sid);
	}
	return 0;
}
