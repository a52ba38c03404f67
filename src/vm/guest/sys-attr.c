/* File attributes by name (chmod, chown, utimes, truncate, mknod), the
 * working directory, statfs. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "vm/guest/io.h"
#include "vm/guest/path.h"

#define AT_FD(x) ((int)(x))

static long errno_or(long r)
{
	return r < 0 ? -errno : r;
}

/* O_PATH fd of (dirfd, path), following symlinks unless nofollow. */
static int open_path(struct lg_task *t, int dirfd, uint64_t upath, bool nofollow, bool empty_ok,
		     int *ret_fd)
{
	char path[LG_PATH_MAX];
	int r = lg_path_arg(t, upath, path, empty_ok);
	if (r < 0)
		return r;
	if (path[0] == '\0') {
		if (dirfd == AT_FDCWD)
			return lg_path_open(t, AT_FDCWD, ".", O_PATH, 0, 0, ret_fd);
		struct lg_file *f = lg_fd_get(t->files, dirfd);
		if (!f)
			return -EBADF;
		int fd = fcntl(f->hostfd, F_DUPFD_CLOEXEC, 0);
		lg_file_put(f);
		if (fd < 0)
			return -errno;
		*ret_fd = fd;
		return 0;
	}
	return lg_path_open(t, dirfd, path, O_PATH | (nofollow ? O_NOFOLLOW : 0), 0, 0, ret_fd);
}

static long do_chmod(struct lg_task *t, int dirfd, uint64_t upath, mode_t mode, int flags)
{
	if (flags & AT_SYMLINK_NOFOLLOW)
		return -EOPNOTSUPP; /* as Linux for symlinks */
	_cleanup_close_ int fd = -1;
	int r = open_path(t, dirfd, upath, false, flags & AT_EMPTY_PATH, &fd);
	if (r < 0)
		return r;
	char p[32];
	lg_fd_path(fd, p);
	return errno_or(chmod(p, mode & 07777));
}

LG_SYS(chmod) { return do_chmod(t, AT_FDCWD, a[0], (mode_t)a[1], 0); }
LG_SYS(fchmodat) { return do_chmod(t, AT_FD(a[0]), a[1], (mode_t)a[2], 0); }

static long do_chown(struct lg_task *t, int dirfd, uint64_t upath, uid_t uid, gid_t gid, int flags)
{
	_cleanup_close_ int fd = -1;
	int r = open_path(t, dirfd, upath, flags & AT_SYMLINK_NOFOLLOW, flags & AT_EMPTY_PATH, &fd);
	if (r < 0)
		return r;
	return errno_or(fchownat(fd, "", uid, gid, AT_EMPTY_PATH));
}

LG_SYS(chown) { return do_chown(t, AT_FDCWD, a[0], (uid_t)a[1], (gid_t)a[2], 0); }
LG_SYS(lchown) { return do_chown(t, AT_FDCWD, a[0], (uid_t)a[1], (gid_t)a[2], AT_SYMLINK_NOFOLLOW); }
LG_SYS(fchownat)
{
	return do_chown(t, AT_FD(a[0]), a[1], (uid_t)a[2], (gid_t)a[3], (int)a[4]);
}

static long set_times(struct lg_task *t, int dirfd, uint64_t upath, const struct timespec *ts,
		      int flags)
{
	if (!upath) { /* futimens */
		struct lg_file *f = lg_fd_get(t->files, dirfd);
		if (!f)
			return -EBADF;
		long r = errno_or(futimens(f->hostfd, ts));
		lg_file_put(f);
		return r;
	}
	_cleanup_close_ int fd = -1;
	int r = open_path(t, dirfd, upath, flags & AT_SYMLINK_NOFOLLOW, flags & AT_EMPTY_PATH, &fd);
	if (r < 0)
		return r;
	if (flags & AT_SYMLINK_NOFOLLOW)
		return errno_or(utimensat(fd, "", ts, AT_EMPTY_PATH));
	char p[32];
	lg_fd_path(fd, p);
	return errno_or(utimensat(AT_FDCWD, p, ts, 0));
}

LG_SYS(utimensat)
{
	struct timespec ts[2], *tp = NULL;
	if (a[2]) {
		if (lg_copy_from(t->mm, ts, a[2], sizeof(ts)) < 0)
			return -EFAULT;
		tp = ts;
	}
	return set_times(t, AT_FD(a[0]), a[1], tp, (int)a[3]);
}

LG_SYS(utimes)
{
	struct timespec ts[2], *tp = NULL;
	if (a[1]) {
		struct timeval tv[2];
		if (lg_copy_from(t->mm, tv, a[1], sizeof(tv)) < 0)
			return -EFAULT;
		for (int i = 0; i < 2; i++) {
			if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
				return -EINVAL;
			ts[i] = (struct timespec){ tv[i].tv_sec, tv[i].tv_usec * 1000 };
		}
		tp = ts;
	}
	return set_times(t, AT_FDCWD, a[0], tp, 0);
}

LG_SYS(truncate)
{
	char path[LG_PATH_MAX];
	int r = lg_path_arg(t, a[0], path, false);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = -1;
	if ((r = lg_path_open(t, AT_FDCWD, path, O_WRONLY, 0, 0, &fd)) < 0)
		return r;
	return lg_truncate_host(t, fd, (int64_t)a[1]);
}

static long set_cwd(struct lg_task *t, int fd, const char *lexical)
{
	char phys[LG_PATH_MAX];
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	const char *p = lg_path_of_fd(t->lg, fd, phys) == 0 ? phys : lexical;
	char *n = xstrdup(p);
	pthread_mutex_lock(&t->lg->lock);
	char *old = t->fs->cwd;
	t->fs->cwd = n;
	pthread_mutex_unlock(&t->lg->lock);
	free(old);
	return 0;
}

LG_SYS(chdir)
{
	char path[LG_PATH_MAX], abs[LG_PATH_MAX];
	int r = lg_path_arg(t, a[0], path, false);
	if (r < 0 || (r = lg_path_abs(t, AT_FDCWD, path, abs)) < 0)
		return r;
	_cleanup_close_ int fd = -1;
	if ((r = lg_path_open(t, AT_FDCWD, abs, O_PATH | O_DIRECTORY, 0, 0, &fd)) < 0)
		return r;
	return set_cwd(t, fd, abs);
}

LG_SYS(fchdir)
{
	struct lg_file *f = lg_fd_get(t->files, (int)a[0]);
	if (!f)
		return -EBADF;
	long r = f->kind == LG_FILE_DIR && f->path ? set_cwd(t, f->hostfd, f->path) : -ENOTDIR;
	lg_file_put(f);
	return r;
}

LG_SYS(getcwd)
{
	pthread_mutex_lock(&t->lg->lock);
	char *cwd = xstrdup(t->fs->cwd);
	pthread_mutex_unlock(&t->lg->lock);
	size_t n = strlen(cwd) + 1;
	long r = n > a[1] ? -ERANGE : (lg_copy_to(t->mm, a[0], cwd, n) < 0 ? -EFAULT : (long)n);
	free(cwd);
	return r;
}

static long do_mknod(struct lg_task *t, int dirfd, uint64_t upath, mode_t mode)
{
	mode_t type = mode & S_IFMT;
	char path[LG_PATH_MAX], name[LG_NAME_MAX];
	int r = lg_path_arg(t, upath, path, false);
	if (r < 0)
		return r;
	if (type != 0 && type != S_IFREG && type != S_IFIFO)
		return -EPERM; /* no device nodes, no sockets by name */
	_cleanup_close_ int pfd = -1;
	if ((r = lg_path_parent(t, dirfd, path, &pfd, name)) < 0)
		return r == -EINVAL ? -EEXIST : r;
	return errno_or(mknodat(pfd, name, (mode & ~t->fs->umask & 07777) | (type ? type : S_IFREG), 0));
}

LG_SYS(mknod) { return do_mknod(t, AT_FDCWD, a[0], (mode_t)a[1]); }
LG_SYS(mknodat) { return do_mknod(t, AT_FD(a[0]), a[1], (mode_t)a[2]); }

LG_SYS(statfs)
{
	_cleanup_close_ int fd = -1;
	int r = open_path(t, AT_FDCWD, a[0], false, false, &fd);
	if (r < 0)
		return r;
	struct statfs s;
	if (fstatfs(fd, &s) < 0)
		return -errno;
	return lg_copy_to(t->mm, a[1], &s, sizeof(s)) < 0 ? -EFAULT : 0;
}

LG_SYS(chroot)
{
	(void)t;
	(void)a;
	return -EPERM;
}
