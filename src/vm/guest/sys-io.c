/* Reading, writing and fds.  Data moves between host fds and program memory
 * directly (host iovecs point into guest RAM); a transfer that would block
 * on a pipe or terminal waits in ppoll() so that signals can interrupt it. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/arch/x86/layout.h"
#include "vm/guest/io.h"
#include "vm/guest/path.h"

#define MAX_RW_COUNT 0x7ffff000L
#define MAX_HOST_IOV 256
#define GUEST_UIO_MAXIOV 1024

static bool readable(const struct lg_file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY && !(f->flags & O_PATH);
}

static bool writable(const struct lg_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY && !(f->flags & O_PATH);
}

/* Wait until the host fd is ready.  0: try again; -ERESTARTSYS: a signal. */
int lg_io_wait(struct lg_task *t, int hostfd, short events)
{
	for (;;) {
		struct pollfd p = { .fd = hostfd, .events = events };
		int r = lg_task_sleep(t, &p, 1, -1);
		if (r > 0)
			return 0;
		if (lg_signal_pending(t))
			return -LG_ERESTARTSYS;
	}
}

static void sigpipe(struct lg_task *t)
{
	struct lg_siginfo si = { .signo = SIGPIPE, .code = 0 /* SI_USER */, .pid = t->proc->pid };
	pthread_mutex_lock(&t->lg->lock);
	lg_signal_task_locked(t, &si);
	pthread_mutex_unlock(&t->lg->lock);
}

static ssize_t host_xfer(struct lg_file *f, struct iovec *iov, unsigned n, bool write, int64_t off)
{
	if (f->kind == LG_FILE_SOCK) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = n };
		return write ? sendmsg(f->hostfd, &m, MSG_DONTWAIT | MSG_NOSIGNAL)
			     : recvmsg(f->hostfd, &m, MSG_DONTWAIT);
	}
	if (off >= 0)
		return write ? pwritev(f->hostfd, iov, (int)n, off) : preadv(f->hostfd, iov, (int)n, off);
	return write ? writev(f->hostfd, iov, (int)n) : readv(f->hostfd, iov, (int)n);
}

static bool has_bytes(const struct lg_useg *segs, unsigned nseg)
{
	for (unsigned i = 0; i < nseg; i++)
		if (segs[i].len)
			return true;
	return false;
}

long lg_io_xfer(struct lg_task *t, struct lg_file *f, const struct lg_useg *segs, unsigned nseg,
		bool write, int64_t off)
{
	if (write ? !writable(f) : !readable(f))
		return -EBADF;
	if (!write && f->kind == LG_FILE_DIR)
		return -EISDIR;
	/* As Linux's access_ok(): a range the program could never own is
	 * EFAULT before anything moves, however much of it is mapped. */
	for (unsigned i = 0; i < nseg; i++)
		if (segs[i].va >= LG_VA_USER_END || segs[i].len > LG_VA_USER_END - segs[i].va)
			return segs[i].len ? -EFAULT : 0;
	uint64_t max = (uint64_t)MAX_RW_COUNT, fsize;
	if (write && has_bytes(segs, nseg)) {
		long e = lg_rlimit_fsize(t, f, off, &fsize);
		if (e < 0)
			return e;
		if (fsize < max)
			max = fsize;
	}
	struct iovec iov[MAX_HOST_IOV];
	unsigned n = 0;
	size_t total = 0;
	pthread_rwlock_rdlock(&t->mm->lock);
	for (unsigned i = 0; i < nseg && n < MAX_HOST_IOV && total < (size_t)max; i++) {
		size_t want = segs[i].len, got;
		if (want > (size_t)max - total)
			want = (size_t)max - total;
		unsigned k;
		if (want == 0)
			continue;
		if (lg_user_iov(t->mm, segs[i].va, want, !write, iov + n, MAX_HOST_IOV - n, &k, &got) < 0) {
			if (total == 0) {
				pthread_rwlock_unlock(&t->mm->lock);
				return -EFAULT;
			}
			break;
		}
		n += k;
		total += got;
		if (got < want)
			break;
	}
	ssize_t r;
	for (;;) {
		r = n ? host_xfer(f, iov, n, write, off) : 0;
		if (r >= 0 || errno != EAGAIN || (f->flags & O_NONBLOCK) ||
		    (f->kind != LG_FILE_POLL && f->kind != LG_FILE_SOCK))
			break;
		int w = lg_io_wait(t, f->hostfd, write ? POLLOUT : POLLIN);
		if (w < 0) {
			pthread_rwlock_unlock(&t->mm->lock);
			return w;
		}
	}
	pthread_rwlock_unlock(&t->mm->lock);
	if (r < 0) {
		int e = errno;
		if (e == EPIPE && write)
			sigpipe(t);
		return -e;
	}
	__atomic_fetch_add(write ? &t->lg->stats.write_bytes : &t->lg->stats.read_bytes,
			   (uint64_t)r, __ATOMIC_RELAXED);
	f->io_bytes += (uint64_t)r;
	return r;
}

static long rw(struct lg_task *t, int fd, uint64_t buf, uint64_t len, bool write, int64_t off)
{
	struct lg_file *f = lg_fd_get(t->files, fd);
	if (!f)
		return -EBADF;
	struct lg_useg s = { buf, len };
	long r = lg_io_xfer(t, f, &s, 1, write, off);
	lg_file_put(f);
	return r;
}

LG_SYS(read) { return rw(t, (int)a[0], a[1], a[2], false, -1); }
LG_SYS(write) { return rw(t, (int)a[0], a[1], a[2], true, -1); }

LG_SYS(pread64)
{
	if ((int64_t)a[3] < 0)
		return -EINVAL;
	return rw(t, (int)a[0], a[1], a[2], false, (int64_t)a[3]);
}

LG_SYS(pwrite64)
{
	if ((int64_t)a[3] < 0)
		return -EINVAL;
	return rw(t, (int)a[0], a[1], a[2], true, (int64_t)a[3]);
}

static long rwv(struct lg_task *t, int fd, uint64_t uiov, uint64_t cnt, bool write, int64_t off)
{
	if (cnt > GUEST_UIO_MAXIOV)
		return -EINVAL;
	struct lg_file *f = lg_fd_get(t->files, fd);
	if (!f)
		return -EBADF;
	_cleanup_free_ struct lg_useg *segs = xcalloc(cnt ? cnt : 1, sizeof(*segs));
	long r = 0;
	for (uint64_t i = 0; i < cnt && r == 0; i++) {
		uint64_t v[2];
		if (lg_copy_from(t->mm, v, uiov + i * 16, 16) < 0)
			r = -EFAULT;
		else if ((int64_t)v[1] < 0)
			r = -EINVAL;
		segs[i] = (struct lg_useg){ v[0], v[1] };
	}
	if (r == 0)
		r = lg_io_xfer(t, f, segs, (unsigned)cnt, write, off);
	lg_file_put(f);
	return r;
}

LG_SYS(readv) { return rwv(t, (int)a[0], a[1], a[2], false, -1); }
LG_SYS(writev) { return rwv(t, (int)a[0], a[1], a[2], true, -1); }
LG_SYS(preadv) { return rwv(t, (int)a[0], a[1], a[2], false, (int64_t)a[3]); }
LG_SYS(pwritev) { return rwv(t, (int)a[0], a[1], a[2], true, (int64_t)a[3]); }
LG_SYS(preadv2) { return rwv(t, (int)a[0], a[1], a[2], false, (int64_t)a[3]); }
LG_SYS(pwritev2) { return rwv(t, (int)a[0], a[1], a[2], true, (int64_t)a[3]); }

LG_SYS(lseek)
{
	struct lg_file *f = lg_fd_get(t->files, (int)a[0]);
	if (!f)
		return -EBADF;
	off_t r = lseek(f->hostfd, (off_t)a[1], (int)a[2]);
	lg_file_put(f);
	return r < 0 ? -errno : (long)r;
}

LG_SYS(close) { return lg_fd_close(t->files, (int)a[0]); }

LG_SYS(close_range)
{
	unsigned first = (unsigned)a[0], last = (unsigned)a[1];
	if (first > last || (a[2] & ~(uint64_t)4 /* CLOSE_RANGE_CLOEXEC */))
		return -EINVAL;
	/* fds past the table's end are closed already */
	unsigned end = (unsigned)__atomic_load_n(&t->files->nfd, __ATOMIC_RELAXED);
	for (unsigned fd = first; fd <= last && fd < end; fd++) {
		if (a[2] & 4)
			lg_fd_cloexec(t->files, (int)fd, 1);
		else
			lg_fd_close(t->files, (int)fd);
	}
	return 0;
}

static long dup_to(struct lg_task *t, int oldfd, int newfd, bool cloexec)
{
	struct lg_file *f = lg_fd_get(t->files, oldfd);
	if (!f)
		return -EBADF;
	if (newfd < 0 || (unsigned)newfd >= lg_rlimit_nofile(t)) {
		lg_file_put(f);
		return -EBADF;
	}
	long r = lg_fd_install_at(t->files, f, newfd, cloexec);
	lg_file_put(f);
	return r;
}

LG_SYS(dup)
{
	struct lg_file *f = lg_fd_get(t->files, (int)a[0]);
	if (!f)
		return -EBADF;
	long r = lg_fd_install(t->files, f, 0, false, lg_rlimit_nofile(t));
	lg_file_put(f);
	return r;
}

LG_SYS(dup2)
{
	if ((int)a[0] == (int)a[1]) {
		struct lg_file *f = lg_fd_get(t->files, (int)a[0]);
		lg_file_put(f);
		return f ? (long)(int)a[1] : -EBADF;
	}
	return dup_to(t, (int)a[0], (int)a[1], false);
}

LG_SYS(dup3)
{
	if ((int)a[0] == (int)a[1] || (a[2] & ~(uint64_t)O_CLOEXEC))
		return -EINVAL;
	return dup_to(t, (int)a[0], (int)a[1], a[2] & O_CLOEXEC);
}

static long new_pipe(struct lg_task *t, uint64_t ufds, uint64_t flags)
{
	if (flags & ~(uint64_t)(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK | (int)(flags & O_DIRECT)) < 0)
		return -errno;
	uint32_t fl = (uint32_t)(flags & O_NONBLOCK);
	struct lg_file *r = lg_file_new(p[0], LG_FILE_POLL, O_RDONLY | fl, NULL);
	struct lg_file *w = lg_file_new(p[1], LG_FILE_POLL, O_WRONLY | fl, NULL);
	bool ce = flags & O_CLOEXEC;
	unsigned nofile = lg_rlimit_nofile(t);
	int fds[2] = { lg_fd_install(t->files, r, 0, ce, nofile), -1 };
	if (fds[0] >= 0)
		fds[1] = lg_fd_install(t->files, w, 0, ce, nofile);
	long ret = 0;
	if (fds[1] < 0)
		ret = fds[0] < 0 ? fds[0] : fds[1];
	else if (lg_copy_to(t->mm, ufds, fds, sizeof(fds)) < 0)
		ret = -EFAULT;
	if (ret < 0) {
		if (fds[0] >= 0)
			lg_fd_close(t->files, fds[0]);
		if (fds[1] >= 0)
			lg_fd_close(t->files, fds[1]);
	}
	lg_file_put(r);
	lg_file_put(w);
	return ret;
}

LG_SYS(pipe) { return new_pipe(t, a[0], 0); }
LG_SYS(pipe2) { return new_pipe(t, a[0], a[1]); }

static long setfl(struct lg_file *f, uint32_t fl)
{
	const uint32_t settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME;
	uint32_t host = fl & (O_APPEND | O_DIRECT | O_NOATIME);
	if (f->kind == LG_FILE_POLL || f->kind == LG_FILE_SOCK)
		host |= O_NONBLOCK; /* always, see files.c */
	else
		host |= fl & O_NONBLOCK;
	if (fcntl(f->hostfd, F_SETFL, host) < 0)
		return -errno;
	f->flags = (f->flags & ~settable) | (fl & settable);
	return 0;
}

LG_SYS(fcntl)
{
	int fd = (int)a[0], cmd = (int)a[1];
	struct lg_file *f = lg_fd_get(t->files, fd);
	if (!f)
		return -EBADF;
	long r;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		r = (int64_t)a[2] < 0 || a[2] >= lg_rlimit_nofile(t) ? -EINVAL
			: lg_fd_install(t->files, f, (int)a[2], cmd == F_DUPFD_CLOEXEC,
					lg_rlimit_nofile(t));
		break;
	case F_GETFD:
		r = lg_fd_cloexec(t->files, fd, -1) ? FD_CLOEXEC : 0;
		break;
	case F_SETFD:
		r = lg_fd_cloexec(t->files, fd, (a[2] & FD_CLOEXEC) ? 1 : 0) < 0 ? -EBADF : 0;
		break;
	case F_GETFL:
		r = f->flags;
		break;
	case F_SETFL:
		r = setfl(f, (uint32_t)a[2]);
		break;
	case F_GETPIPE_SZ:
	case F_SETPIPE_SZ:
		r = fcntl(f->hostfd, cmd, (int)a[2]);
		r = r < 0 ? -errno : r;
		break;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW: {
		struct flock fl;
		if (lg_copy_from(t->mm, &fl, a[2], sizeof(fl)) < 0) {
			r = -EFAULT;
			break;
		}
		r = fcntl(f->hostfd, cmd, &fl) < 0 ? -errno : 0;
		if (r == 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK) &&
		    lg_copy_to(t->mm, a[2], &fl, sizeof(fl)) < 0)
			r = -EFAULT;
		break;
	}
	default:
		r = -EINVAL;
		break;
	}
	lg_file_put(f);
	return r;
}
