#include "container/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/inroot.h"

/* Make the mount that holds path private: the longest mount point that is
 * a prefix of path, from /proc/self/mountinfo. */
static int parent_mount_private(const char *path)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char line[4096], best[4096] = "/";
	size_t best_len = 1;
	while (fgets(line, sizeof(line), f)) {
		char mp[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		size_t n = strlen(mp);
		if (n > best_len && strncmp(path, mp, n) == 0 && (path[n] == '/' || path[n] == '\0')) {
			memcpy(best, mp, n + 1);
			best_len = n;
		}
	}
	return mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0 ? -errno : 0;
}

int rootfs_prepare(struct rootfs_ctx *rc, struct cell_err **err)
{
	const struct oci_linux *l = &rc->spec->linux_;
	/* Nothing we mount may reach the host: slave unless the config says
	 * otherwise (rootfsPropagation "shared" is how hosts opt in). */
	unsigned long prop = l->has_rootfs_propagation ? l->rootfs_propagation : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
		return cell_err_sys(err, "set propagation of / in the container's mount namespace");
	/* pivot_root refuses a new root whose parent mount is shared. */
	if ((prop & MS_SHARED) && parent_mount_private(rc->rootfs) < 0)
		return cell_err_sys(err, "root.path: make the mount holding %s private", rc->rootfs);
	if (mount(rc->rootfs, rc->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cell_err_sys(err, "root.path: bind %s", rc->rootfs);
	rc->rootfd = open(rc->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rc->rootfd < 0)
		return cell_err_sys(err, "root.path: open %s", rc->rootfs);
	return 0;
}

static int pivot(int rootfd, struct cell_err **err)
{
	/* pivot_root(".", "."): the old root ends up stacked under the new one
	 * and is detached right away, so no directory for it is needed. */
	_cleanup_close_ int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		return cell_err_sys(err, "open /");
	if (fchdir(rootfd) < 0)
		return cell_err_sys(err, "chdir to the rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return cell_err_sys(err, "pivot_root");
	if (fchdir(oldroot) < 0)
		return cell_err_sys(err, "chdir to the old root");
	/* Keep the unmount from propagating to the host's mounts. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return cell_err_sys(err, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return cell_err_sys(err, "detach the old root");
	if (chdir("/") < 0)
		return cell_err_sys(err, "chdir /");
	return 0;
}

static int move_root(const char *rootfs, struct cell_err **err)
{
	if (chdir(rootfs) < 0)
		return cell_err_sys(err, "chdir %s", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return cell_err_sys(err, "move %s to /", rootfs);
	if (chroot(".") < 0)
		return cell_err_sys(err, "chroot");
	if (chdir("/") < 0)
		return cell_err_sys(err, "chdir /");
	return 0;
}

int rootfs_pivot(struct rootfs_ctx *rc, bool no_pivot, struct cell_err **err)
{
	int r = no_pivot ? move_root(rc->rootfs, err) : pivot(rc->rootfd, err);
	struct statfs host_root;
	if (r == -EINVAL && statfs("/", &host_root) == 0 && host_root.f_type == RAMFS_MAGIC) {
		/* The host runs from its initramfs, where pivot_root cannot work:
		 * runc's documented fallback, as with --no-pivot. */
		cell_err_freep(err);
		cell_debug("pivot_root refused on an initramfs root: moving the rootfs instead");
		r = move_root(rc->rootfs, err);
	}
	close(rc->rootfd);
	rc->rootfd = -1;
	if (r < 0)
		return r;
	const struct oci_linux *l = &rc->spec->linux_;
	if (l->has_rootfs_propagation && mount(NULL, "/", NULL, l->rootfs_propagation, NULL) < 0)
		return cell_err_sys(err, "linux.rootfsPropagation: apply to the new root");
	return 0;
}

static int write_sysctl(const struct oci_kv *kv, struct cell_err **err)
{
	_cleanup_free_ char *path = xasprintf("/proc/sys/%s", kv->key);
	for (char *p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	int r = cell_write_file(path, kv->value, strlen(kv->value), err);
	if (r < 0)
		return cell_err_wrap(err, "linux.sysctl[\"%s\"]", kv->key);
	return 0;
}

static int mask_path(const char *path, struct cell_err **err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : cell_err_sys(err, "linux.maskedPaths: %s", path);
	int r = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0")
				    : mount("/dev/null", path, NULL, MS_BIND, NULL);
	if (r < 0)
		return cell_err_sys(err, "linux.maskedPaths: mask %s", path);
	return 0;
}

static int readonly_path(const char *path, struct cell_err **err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		return cell_err_sys(err, "linux.readonlyPaths: bind %s", path);
	}
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0 || remount_bind(fd, MS_RDONLY | MS_REC) < 0)
		return cell_err_sys(err, "linux.readonlyPaths: make %s read-only", path);
	return 0;
}

int rootfs_finalize(struct rootfs_ctx *rc, struct cell_err **err)
{
	const struct oci_spec *spec = rc->spec;
	const struct oci_linux *l = &spec->linux_;
	int r;
	for (size_t i = 0; i < l->n_sysctl; i++)
		if ((r = write_sysctl(&l->sysctl[i], err)) < 0)
			return r;
	for (char **p = l->masked_paths; p && *p; p++)
		if ((r = mask_path(*p, err)) < 0)
			return r;
	for (char **p = l->readonly_paths; p && *p; p++)
		if ((r = readonly_path(*p, err)) < 0)
			return r;
	if (spec->root && spec->root->readonly) {
		_cleanup_close_ int fd = open("/", O_PATH | O_CLOEXEC);
		if (fd < 0 || remount_bind(fd, MS_RDONLY) < 0)
			return cell_err_sys(err, "root.readonly: remount / read-only");
	}
	return 0;
}

int remount_bind(int fd, unsigned long flags)
{
	char buf[32];
	struct statvfs sv;
	if (fstatvfs(fd, &sv) < 0)
		return -errno;
	static const struct {
		unsigned long st, ms;
	} keep[] = {
		{ ST_NOSUID, MS_NOSUID },     { ST_NODEV, MS_NODEV },	      { ST_NOEXEC, MS_NOEXEC },
		{ ST_NOATIME, MS_NOATIME },   { ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (sv.f_flag & keep[i].st)
			flags |= keep[i].ms;
	if (mount(NULL, fd_path(fd, buf), NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		return -errno;
	return 0;
}
