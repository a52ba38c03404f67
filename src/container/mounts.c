/* config.json "mounts": each target resolved inside the rootfs, then mounted
 * through /proc/self/fd/N so the kernel never re-walks a path an image
 * could have planted symlinks in. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "container/inroot.h"
#include "container/rootfs.h"

static bool is_type(const struct oci_mount *m, const char *t)
{
	return m->type && strcmp(m->type, t) == 0;
}

static int open_target(struct rootfs_ctx *rc, const struct oci_mount *m, bool file)
{
	return file ? inroot_mkfile(rc->rootfd, m->destination, 0644)
		    : inroot_mkdir_p(rc->rootfd, m->destination, 0755);
}

static int copy_up(int from, int to); /* tmpcopyup, below */

static int set_attrs(int fd, const struct oci_mount *m)
{
	if (!m->attr_set && !m->attr_clr)
		return 0;
	struct mount_attr attr = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
	unsigned int flags = AT_EMPTY_PATH | (m->recursive_attrs ? AT_RECURSIVE : 0);
	if (syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof(attr)) < 0)
		return -errno;
	return 0;
}

static int mount_bind(struct rootfs_ctx *rc, const struct oci_mount *m, int *fd,
		      struct cell_err **err)
{
	char buf[32];
	const char *src = m->source ? m->source : "";
	if (mount(src, fd_path(*fd, buf), NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
		return cell_err_sys(err, "bind %s", src);
	/* The fd names the directory under the new mount; reopen to get the mount. */
	close(*fd);
	*fd = inroot_open(rc->rootfd, m->destination, O_PATH);
	if (*fd < 0)
		return cell_err(err, -*fd, "reopen after bind");
	unsigned long extra = m->flags & ~(unsigned long)(MS_BIND | MS_REC | MS_REMOUNT);
	if (extra && remount_bind(*fd, extra) < 0)
		return cell_err_sys(err, "apply options to the bind of %s", src);
	return 0;
}

static int mount_fs(struct rootfs_ctx *rc, const struct oci_mount *m, int *fd,
		    struct cell_err **err)
{
	char buf[32];
	_cleanup_close_ int below = -1;
	if (m->tmpcopyup && is_type(m, "tmpfs"))
		below = inroot_open(rc->rootfd, m->destination, O_RDONLY | O_DIRECTORY);
	const char *src = m->source ? m->source : m->type;
	int r = mount(src, fd_path(*fd, buf), m->type, m->flags & ~(unsigned long)MS_REMOUNT,
		      m->data);
	if (r < 0 && errno == EPERM && rc->userns && (is_type(m, "sysfs") || is_type(m, "mqueue"))) {
		/* Without a network (sysfs) or IPC (mqueue) namespace the user
		 * namespace owns, the kernel refuses; the host's view, bound
		 * read-only, is what runc and crun fall back to as well. */
		const char *host = is_type(m, "sysfs") ? "/sys" : "/dev/mqueue";
		r = mount(host, buf, NULL, MS_BIND | MS_REC, NULL);
	}
	if (r < 0)
		return cell_err_sys(err, "mount %s", m->type);
	close(*fd);
	*fd = inroot_open(rc->rootfd, m->destination, O_PATH);
	if (*fd < 0)
		return cell_err(err, -*fd, "reopen after mount");
	if (below >= 0) {
		_cleanup_close_ int top = inroot_open(rc->rootfd, m->destination, O_RDONLY | O_DIRECTORY);
		if (top < 0 || (r = copy_up(below, top)) < 0)
			return cell_err(err, top < 0 ? -top : -r, "tmpcopyup");
	}
	return 0;
}

static int mount_one(struct rootfs_ctx *rc, const struct oci_mount *m, size_t idx,
		     struct cell_err **err)
{
	bool bind = m->bind || is_type(m, "bind");
	bool file = false;
	if (bind) {
		struct stat st;
		if (!m->source || stat(m->source, &st) < 0)
			return cell_err_sys(err, "mounts[%zu].source: %s", idx,
					    m->source ? m->source : "(none)");
		file = !S_ISDIR(st.st_mode);
	}
	if (m->n_uid_mappings || m->n_gid_mappings)
		return cell_err(err, ENOTSUP, "mounts[%zu] (%s): idmapped mounts are not supported yet",
				idx, m->destination);
	_cleanup_close_ int fd = open_target(rc, m, file);
	if (fd < 0)
		return cell_err(err, -fd, "mounts[%zu].destination: %s", idx, m->destination);
	int r;
	bool cgroup = is_type(m, "cgroup") || is_type(m, "cgroup2");
	if (cgroup && rc->before_cgroup && (r = rc->before_cgroup(rc->arg, err)) < 0)
		return r;
	if (cgroup)
		r = mount_cgroup(rc, m, idx, fd, err);
	else
		r = bind ? mount_bind(rc, m, &fd, err) : mount_fs(rc, m, &fd, err);
	if (r < 0)
		return cell_err_wrap(err, "mounts[%zu] (%s)", idx, m->destination);
	/* Whatever the type, the options below apply to the new mount, which
	 * only a fresh lookup of the destination reaches. */
	close(fd);
	fd = inroot_open(rc->rootfd, m->destination, O_PATH);
	if (fd < 0)
		return cell_err(err, -fd, "mounts[%zu] (%s): reopen", idx, m->destination);
	char buf[32];
	if (m->propagation && mount(NULL, fd_path(fd, buf), NULL, m->propagation, NULL) < 0)
		return cell_err_sys(err, "mounts[%zu] (%s): set propagation", idx, m->destination);
	if ((r = set_attrs(fd, m)) < 0)
		return cell_err(err, -r, "mounts[%zu] (%s): set recursive attributes", idx,
				m->destination);
	return 0;
}

int rootfs_mount_all(struct rootfs_ctx *rc, struct cell_err **err)
{
	const struct oci_spec *spec = rc->spec;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		int r = mount_one(rc, &spec->mounts[i], i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Copy a directory tree: what the image had under a tmpfs mount point. */
static int copy_up(int from, int to)
{
	_cleanup_close_ int dup_from = dup(from);
	if (dup_from < 0)
		return -errno;
	_cleanup_closedir_ DIR *d = fdopendir(TAKE_FD(dup_from));
	if (!d)
		return -errno;
	rewinddir(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
				return -errno;
			_cleanup_close_ int s = openat(from, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int t = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s < 0 || t < 0)
				return -errno;
			int r = copy_up(s, t);
			if (r < 0)
				return r;
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(from, de->d_name, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (symlinkat(target, to, de->d_name) < 0)
				return -errno;
		} else if (S_ISREG(st.st_mode)) {
			_cleanup_close_ int s = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int t = openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
						       st.st_mode & 07777);
			if (s < 0 || t < 0)
				return -errno;
			for (off_t left = st.st_size; left > 0;) {
				ssize_t n = copy_file_range(s, NULL, t, NULL, (size_t)left, 0);
				if (n <= 0)
					return n < 0 ? -errno : -EIO;
				left -= n;
			}
		} else {
			continue; /* device nodes and sockets are not copied up */
		}
		if (fchownat(to, de->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    errno != EPERM && errno != EINVAL)
			return -errno;
	}
	return 0;
}
