/* Calls on an open fd that are not plain reads and writes. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/guest/io.h"
#include "vm/guest/path.h"

#define GETDENTS_MAX (64u << 10)

/* Run op on fd's file with a reference held. */
#define WITH_FILE(fd, f, expr)                                \
	({                                                    \
		struct lg_file *f = lg_fd_get(t->files, (fd)); \
		long r_ = -EBADF;                             \
		if (f) {                                      \
			r_ = (expr);                          \
			lg_file_put(f);                       \
		}                                             \
		r_;                                           \
	})

static long errno_or(long r)
{
	return r < 0 ? -errno : r;
}

/* The terminal ioctls programs use, passed through with their exact
 * argument sizes (struct termios of the kernel is 36 bytes, winsize 8). */
static long tty_ioctl(struct lg_task *t, struct lg_file *f, unsigned long req, uint64_t arg)
{
	uint8_t buf[64];
	size_t in = 0, out = 0;
	switch (req) {
	case TCGETS: out = 36; break;
	case TCSETS: case TCSETSW: case TCSETSF: in = 36; break;
	case TIOCGWINSZ: out = 8; break;
	case TIOCSWINSZ: in = 8; break;
	case FIONREAD: out = 4; break;
	case TIOCGPGRP: {
		int pg = t->proc->pgid;
		return lg_copy_to(t->mm, arg, &pg, sizeof(pg)) < 0 ? -EFAULT : 0;
	}
	case TIOCSPGRP:
		return 0; /* one session, no job control: accepted */
	case FIONBIO: {
		int on;
		if (lg_copy_from(t->mm, &on, arg, sizeof(on)) < 0)
			return -EFAULT;
		f->flags = on ? (f->flags | O_NONBLOCK) : (f->flags & ~(uint32_t)O_NONBLOCK);
		return 0;
	}
	case FIOCLEX:
	case FIONCLEX:
		return 0; /* handled by the caller */
	default:
		return -ENOTTY;
	}
	if (in && lg_copy_from(t->mm, buf, arg, in) < 0)
		return -EFAULT;
	if (ioctl(f->hostfd, req, buf) < 0)
		return -errno;
	if (out && lg_copy_to(t->mm, arg, buf, out) < 0)
		return -EFAULT;
	return 0;
}

LG_SYS(ioctl)
{
	int fd = (int)a[0];
	unsigned long req = (unsigned)a[1];
	if (req == FIOCLEX || req == FIONCLEX)
		return lg_fd_cloexec(t->files, fd, req == FIOCLEX) < 0 ? -EBADF : 0;
	return WITH_FILE(fd, f, tty_ioctl(t, f, req, a[2]));
}

LG_SYS(getdents64)
{
	uint64_t count = a[2] > GETDENTS_MAX ? GETDENTS_MAX : a[2];
	struct lg_file *f = lg_fd_get(t->files, (int)a[0]);
	if (!f)
		return -EBADF;
	_cleanup_free_ uint8_t *buf = xmalloc(count ? count : 1);
	long n = syscall(SYS_getdents64, f->hostfd, buf, count);
	long r = n < 0 ? -errno : n;
	if (n > 0 && lg_copy_to(t->mm, a[1], buf, (size_t)n) < 0)
		r = -EFAULT;
	lg_file_put(f);
	return r;
}

static long put_stat(struct lg_task *t, uint64_t va, const struct stat *st)
{
	/* glibc's struct stat is the kernel's on x86-64 (144 bytes). */
	_Static_assert(sizeof(struct stat) == 144, "x86-64 struct stat");
	return lg_copy_to(t->mm, va, st, sizeof(*st)) < 0 ? -EFAULT : 0;
}

long lg_stat_fd(struct lg_task *t, int hostfd, uint64_t va)
{
	struct stat st;
	if (fstat(hostfd, &st) < 0)
		return -errno;
	return put_stat(t, va, &st);
}

LG_SYS(fstat) { return WITH_FILE((int)a[0], f, lg_stat_fd(t, f->hostfd, a[1])); }

/* sendfile through a bounce buffer, so that the destination's blocking
 * rules (pipes, terminals) are the guest's. */
LG_SYS(sendfile)
{
	struct lg_file *out = lg_fd_get(t->files, (int)a[0]);
	struct lg_file *in = lg_fd_get(t->files, (int)a[1]);
	long r = -EBADF;
	if (!out || !in)
		goto done;
	int64_t off = -1;
	if (a[2] && lg_copy_from(t->mm, &off, a[2], sizeof(off)) < 0) {
		r = -EFAULT;
		goto done;
	}
	size_t count = a[3] > (1u << 20) ? (1u << 20) : a[3];
	uint64_t max;
	if (a[3] && (r = lg_rlimit_fsize(t, out, -1, &max)) < 0)
		goto done;
	if (a[3] && count > max)
		count = (size_t)max;
	for (;;) {
		ssize_t n = off >= 0 ? sendfile(out->hostfd, in->hostfd, (off_t *)&off, count)
				     : sendfile(out->hostfd, in->hostfd, NULL, count);
		if (n >= 0) {
			r = n;
			break;
		}
		if (errno != EAGAIN || (out->flags & O_NONBLOCK) || out->kind != LG_FILE_POLL) {
			r = -errno;
			break;
		}
		if ((r = lg_io_wait(t, out->hostfd, POLLOUT)) < 0)
			break;
	}
	if (r >= 0 && a[2] && lg_copy_to(t->mm, a[2], &off, sizeof(off)) < 0)
		r = -EFAULT;
	if (r > 0)
		__atomic_fetch_add(&t->lg->stats.write_bytes, (uint64_t)r, __ATOMIC_RELAXED);
done:
	lg_file_put(out);
	lg_file_put(in);
	return r;
}

LG_SYS(copy_file_range)
{
	(void)t;
	(void)a;
	return -EXDEV; /* callers fall back to read and write */
}

/* Growing a file past RLIMIT_FSIZE: SIGXFSZ and EFBIG (inode_newsize_ok). */
long lg_truncate_host(struct lg_task *t, int hostfd, int64_t len)
{
	struct stat st;
	if (len > 0 && fstat(hostfd, &st) == 0 && st.st_size < len) {
		long r = lg_rlimit_fsize_to(t, (uint64_t)len);
		if (r < 0)
			return r;
	}
	return errno_or(ftruncate(hostfd, (off_t)len));
}

LG_SYS(ftruncate)
{
	return WITH_FILE((int)a[0], f, lg_truncate_host(t, f->hostfd, (int64_t)a[1]));
}

LG_SYS(fsync) { return WITH_FILE((int)a[0], f, errno_or(fsync(f->hostfd))); }
LG_SYS(fchmod)
{
	return WITH_FILE((int)a[0], f, ({
		char p[32];
		lg_fd_path(f->hostfd, p);
		errno_or(chmod(p, (mode_t)a[1] & 07777));
	}));
}
LG_SYS(fchown)
{
	return WITH_FILE((int)a[0], f,
			 errno_or(fchownat(f->hostfd, "", (uid_t)a[1], (gid_t)a[2], AT_EMPTY_PATH)));
}

LG_SYS(fstatfs)
{
	return WITH_FILE((int)a[0], f, ({
		struct statfs s;
		long r = errno_or(fstatfs(f->hostfd, &s));
		if (r == 0 && lg_copy_to(t->mm, a[1], &s, sizeof(s)) < 0)
			r = -EFAULT;
		r;
	}));
}

LG_SYS(flock)
{
	/* LOCK_NB always: a lock another guest process holds must not block
	 * the worker where no signal can reach it. */
	return WITH_FILE((int)a[0], f, ({
		long r;
		for (;;) {
			r = errno_or(flock(f->hostfd, (int)a[1] | LOCK_NB));
			if (r != -EWOULDBLOCK || (a[1] & LOCK_NB))
				break;
			struct pollfd none = { .fd = -1 };
			lg_task_sleep(t, &none, 1, 10 * 1000 * 1000);
			if (lg_signal_pending(t)) {
				r = -LG_ERESTARTSYS;
				break;
			}
		}
		r;
	}));
}

LG_SYS(fallocate)
{
	return WITH_FILE((int)a[0], f,
			 errno_or(fallocate(f->hostfd, (int)a[1], (off_t)a[2], (off_t)a[3])));
}

LG_SYS(fadvise64)
{
	return WITH_FILE((int)a[0], f, 0L);
}
