/* Calls that name files.  Following calls resolve the whole name with
 * openat2(RESOLVE_IN_ROOT) and act on the resulting fd; calls on the last
 * component itself (lstat, unlink, mkdir, rename...) resolve its parent
 * that way and act on (parent fd, name) without following it.  Either way
 * the host kernel never resolves a guest-controlled name from anywhere but
 * the guest's root. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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

static bool trailing_slash(const char *p)
{
	size_t n = strlen(p);
	return n > 0 && p[n - 1] == '/';
}

/* The devices a program may open; the rest of the root is mounted nodev by
 * the sandbox, and checked here as well. */
static int host_device(struct lg *lg, const char *abs, int *ret_fd)
{
	static const struct {
		const char *path;
		int which;
	} devs[] = { { "/dev/null", 0 }, { "/dev/zero", 1 }, { "/dev/full", 1 },
		     { "/dev/random", 2 }, { "/dev/urandom", 2 } };
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		if (strcmp(abs, devs[i].path) != 0)
			continue;
		int src = devs[i].which == 0 ? lg->null_fd : devs[i].which == 1 ? lg->zero_fd
										 : lg->urandom_fd;
		int fd = fcntl(src, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		*ret_fd = fd;
		return 1;
	}
	return 0;
}

static bool device_allowed(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return false;
	if (S_ISBLK(st.st_mode))
		return false;
	if (!S_ISCHR(st.st_mode))
		return true;
	return major(st.st_rdev) == 1 && (minor(st.st_rdev) == 3 || minor(st.st_rdev) == 5 ||
					  minor(st.st_rdev) == 7 || minor(st.st_rdev) == 8 ||
					  minor(st.st_rdev) == 9);
}

static long do_open(struct lg_task *t, int dirfd, uint64_t upath, int flags, mode_t mode,
		    uint64_t resolve)
{
	char path[LG_PATH_MAX], abs[LG_PATH_MAX];
	int r = lg_path_arg(t, upath, path, false);
	if (r < 0 || (r = lg_path_abs(t, dirfd, path, abs)) < 0)
		return r;
	const int allowed = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
			    O_NONBLOCK | O_DSYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY |
			    O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | __O_TMPFILE;
	int fd;
	r = host_device(t->lg, abs, &fd);
	if (r < 0)
		return r;
	if (r == 0) {
		if (flags & O_CREAT)
			mode &= ~t->fs->umask;
		r = lg_path_open(t, AT_FDCWD, abs, (flags & allowed) | O_NOCTTY, mode, resolve, &fd);
		if (r < 0)
			return r;
		if (!(flags & O_PATH) && !device_allowed(fd)) {
			close(fd);
			return -EACCES;
		}
	}
	enum lg_file_kind kind = (flags & O_PATH) ? LG_FILE_OTHER : lg_file_kind_of(fd);
	if (flags & O_PATH) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			kind = LG_FILE_DIR;
	}
	if (kind == LG_FILE_POLL)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	char phys[LG_PATH_MAX];
	const char *p = abs;
	if (kind == LG_FILE_DIR && lg_path_of_fd(t->lg, fd, phys) == 0)
		p = phys;
	uint32_t gflags = (uint32_t)flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_PATH | O_DIRECT |
					     O_NOATIME | O_DSYNC | O_SYNC | O_LARGEFILE);
	struct lg_file *f = lg_file_new(fd, kind, gflags, p);
	long ret = lg_fd_install(t->files, f, 0, flags & O_CLOEXEC, lg_rlimit_nofile(t));
	lg_file_put(f);
	return ret;
}

LG_SYS(open) { return do_open(t, AT_FDCWD, a[0], (int)a[1], (mode_t)a[2], 0); }
LG_SYS(openat) { return do_open(t, AT_FD(a[0]), a[1], (int)a[2], (mode_t)a[3], 0); }
LG_SYS(creat) { return do_open(t, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, (mode_t)a[1], 0); }

LG_SYS(openat2)
{
	struct open_how how;
	if (a[3] < sizeof(how))
		return -EINVAL;
	if (lg_copy_from(t->mm, &how, a[2], sizeof(how)) < 0)
		return -EFAULT;
	if (how.flags > 0xffffffffu || how.mode > 07777)
		return -EINVAL;
	return do_open(t, AT_FD(a[0]), a[1], (int)how.flags, (mode_t)how.mode, how.resolve);
}

/* An O_PATH fd for (dirfd, path) following symlinks; "" with AT_EMPTY_PATH
 * is dirfd itself. */
static int path_fd(struct lg_task *t, int dirfd, const char *path, int atflags, int *ret_fd)
{
	if (path[0] == '\0') {
		if (!(atflags & AT_EMPTY_PATH))
			return -ENOENT;
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
	int nofollow = (atflags & AT_SYMLINK_NOFOLLOW) && !trailing_slash(path);
	return lg_path_open(t, dirfd, path, O_PATH | (nofollow ? O_NOFOLLOW : 0), 0, 0, ret_fd);
}

static long do_stat(struct lg_task *t, int dirfd, uint64_t upath, uint64_t ubuf, int atflags)
{
	char path[LG_PATH_MAX];
	int r = lg_path_arg(t, upath, path, atflags & AT_EMPTY_PATH);
	if (r < 0)
		return r;
	if (atflags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	_cleanup_close_ int fd = -1;
	if ((r = path_fd(t, dirfd, path, atflags, &fd)) < 0)
		return r;
	return lg_stat_fd(t, fd, ubuf);
}

LG_SYS(stat) { return do_stat(t, AT_FDCWD, a[0], a[1], 0); }
LG_SYS(lstat) { return do_stat(t, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW); }
LG_SYS(newfstatat) { return do_stat(t, AT_FD(a[0]), a[1], a[2], (int)a[3]); }

LG_SYS(statx)
{
	char path[LG_PATH_MAX];
	int atflags = (int)a[2];
	int r = lg_path_arg(t, a[1], path, atflags & AT_EMPTY_PATH);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = -1;
	if ((r = path_fd(t, AT_FD(a[0]), path, atflags, &fd)) < 0)
		return r;
	uint8_t stx[256];
	int sync = atflags & AT_STATX_SYNC_TYPE;
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH | sync, (unsigned)a[3], stx) < 0)
		return -errno;
	return lg_copy_to(t->mm, a[4], stx, sizeof(stx)) < 0 ? -EFAULT : 0;
}

static long do_access(struct lg_task *t, int dirfd, uint64_t upath, int mode, int atflags)
{
	char path[LG_PATH_MAX];
	if (mode & ~7)
		return -EINVAL;
	int r = lg_path_arg(t, upath, path, atflags & AT_EMPTY_PATH);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = -1;
	if ((r = path_fd(t, dirfd, path, atflags, &fd)) < 0)
		return r;
	return errno_or(syscall(SYS_faccessat2, fd, "", mode, AT_EMPTY_PATH | (atflags & AT_EACCESS)));
}

LG_SYS(access) { return do_access(t, AT_FDCWD, a[0], (int)a[1], 0); }
LG_SYS(faccessat) { return do_access(t, AT_FD(a[0]), a[1], (int)a[2], 0); }
LG_SYS(faccessat2) { return do_access(t, AT_FD(a[0]), a[1], (int)a[2], (int)a[3]); }

/* (dirfd, path) -> parent fd + name, for calls on the last component. */
struct parent {
	int fd;
	char name[LG_NAME_MAX];
};

static int get_parent(struct lg_task *t, int dirfd, uint64_t upath, struct parent *p)
{
	char path[LG_PATH_MAX];
	int r = lg_path_arg(t, upath, path, false);
	if (r < 0)
		return r;
	p->fd = -1;
	return lg_path_parent(t, dirfd, path, &p->fd, p->name);
}

static void put_parent(struct parent *p)
{
	if (p->fd >= 0)
		close(p->fd);
}

static long do_readlink(struct lg_task *t, int dirfd, uint64_t upath, uint64_t ubuf, int64_t size)
{
	if (size <= 0)
		return -EINVAL;
	struct parent p;
	int r = get_parent(t, dirfd, upath, &p);
	if (r < 0)
		return r;
	char buf[LG_PATH_MAX];
	ssize_t n = readlinkat(p.fd, p.name, buf, sizeof(buf));
	put_parent(&p);
	if (n < 0)
		return -errno;
	if (n > size)
		n = size;
	return lg_copy_to(t->mm, ubuf, buf, (size_t)n) < 0 ? -EFAULT : n;
}

LG_SYS(readlink) { return do_readlink(t, AT_FDCWD, a[0], a[1], (int64_t)a[2]); }
LG_SYS(readlinkat) { return do_readlink(t, AT_FD(a[0]), a[1], a[2], (int64_t)a[3]); }

static long do_mkdir(struct lg_task *t, int dirfd, uint64_t upath, mode_t mode)
{
	struct parent p;
	int r = get_parent(t, dirfd, upath, &p);
	if (r < 0)
		return r == -EINVAL ? -EEXIST : r;
	long ret = errno_or(mkdirat(p.fd, p.name, mode & 07777 & ~t->fs->umask));
	put_parent(&p);
	return ret;
}

LG_SYS(mkdir) { return do_mkdir(t, AT_FDCWD, a[0], (mode_t)a[1]); }
LG_SYS(mkdirat) { return do_mkdir(t, AT_FD(a[0]), a[1], (mode_t)a[2]); }

static long do_unlink(struct lg_task *t, int dirfd, uint64_t upath, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	struct parent p;
	int r = get_parent(t, dirfd, upath, &p);
	if (r < 0)
		return r == -EINVAL && (flags & AT_REMOVEDIR) ? -EINVAL : (r == -EINVAL ? -EISDIR : r);
	long ret = errno_or(unlinkat(p.fd, p.name, flags));
	put_parent(&p);
	return ret;
}

LG_SYS(unlink) { return do_unlink(t, AT_FDCWD, a[0], 0); }
LG_SYS(rmdir) { return do_unlink(t, AT_FDCWD, a[0], AT_REMOVEDIR); }
LG_SYS(unlinkat) { return do_unlink(t, AT_FD(a[0]), a[1], (int)a[2]); }

static long do_rename(struct lg_task *t, int od, uint64_t op, int nd, uint64_t np, unsigned fl)
{
	struct parent a1, a2;
	int r = get_parent(t, od, op, &a1);
	if (r < 0)
		return r == -EINVAL ? -EBUSY : r;
	if ((r = get_parent(t, nd, np, &a2)) < 0) {
		put_parent(&a1);
		return r == -EINVAL ? -EBUSY : r;
	}
	long ret = errno_or(renameat2(a1.fd, a1.name, a2.fd, a2.name, fl));
	put_parent(&a1);
	put_parent(&a2);
	return ret;
}

LG_SYS(rename) { return do_rename(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0); }
LG_SYS(renameat) { return do_rename(t, AT_FD(a[0]), a[1], AT_FD(a[2]), a[3], 0); }
LG_SYS(renameat2) { return do_rename(t, AT_FD(a[0]), a[1], AT_FD(a[2]), a[3], (unsigned)a[4]); }

static long do_link(struct lg_task *t, int od, uint64_t op, int nd, uint64_t np, int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct parent dst;
	int r = get_parent(t, nd, np, &dst);
	if (r < 0)
		return r == -EINVAL ? -EEXIST : r;
	long ret;
	if (flags & AT_SYMLINK_FOLLOW) {
		/* Follow the source inside the root, then link the fd: the
		 * host never follows the guest's symlink itself. */
		char path[LG_PATH_MAX], proc[32];
		int fd = -1;
		ret = lg_path_arg(t, op, path, false);
		if (ret == 0 || ret > 0)
			ret = lg_path_open(t, od, path, O_PATH, 0, 0, &fd);
		if (ret >= 0) {
			lg_fd_path(fd, proc);
			ret = errno_or(linkat(AT_FDCWD, proc, dst.fd, dst.name, AT_SYMLINK_FOLLOW));
			close(fd);
		}
	} else {
		struct parent src;
		ret = get_parent(t, od, op, &src);
		if (ret == 0) {
			ret = errno_or(linkat(src.fd, src.name, dst.fd, dst.name, 0));
			put_parent(&src);
		}
	}
	put_parent(&dst);
	return ret;
}

LG_SYS(link) { return do_link(t, AT_FDCWD, a[0], AT_FDCWD, a[1], 0); }
LG_SYS(linkat) { return do_link(t, AT_FD(a[0]), a[1], AT_FD(a[2]), a[3], (int)a[4]); }

static long do_symlink(struct lg_task *t, uint64_t utarget, int dirfd, uint64_t upath)
{
	char target[LG_PATH_MAX];
	int r = lg_path_arg(t, utarget, target, false);
	if (r < 0)
		return r;
	struct parent p;
	if ((r = get_parent(t, dirfd, upath, &p)) < 0)
		return r == -EINVAL ? -EEXIST : r;
	long ret = errno_or(symlinkat(target, p.fd, p.name));
	put_parent(&p);
	return ret;
}

LG_SYS(symlink) { return do_symlink(t, a[0], AT_FDCWD, a[1]); }
LG_SYS(symlinkat) { return do_symlink(t, a[0], AT_FD(a[1]), a[2]); }
