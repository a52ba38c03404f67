/* The "cgroup" mount type.  On a v2 host it is one cgroup2 mount; on a v1 or
 * hybrid host it is a tmpfs holding one mount per hierarchy, as the host
 * has them.  With a cgroup namespace each is a fresh cgroupfs mount (rooted
 * at the container's cgroup by the namespace); without one, a bind of the
 * container's own directory in that hierarchy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "container/inroot.h"
#include "container/rootfs.h"
#include "os/cgroup.h"

struct hierarchy {
	char mountpoint[512];
	char fstype[16];
	char opts[256]; /* "cpu", "none,name=systemd", "" for cgroup2 */
};

static void super_opts(const char *super, char *out, size_t cap)
{
	/* The controllers and name= from the super options, without rw/ro and
	 * the per-superblock knobs mount(2) would not take twice. */
	size_t n = 0;
	_cleanup_free_ char *copy = xstrdup(super);
	char *save = NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (strcmp(o, "rw") == 0 || strcmp(o, "ro") == 0 || strncmp(o, "release_agent", 13) == 0 ||
		    strcmp(o, "clone_children") == 0 || strcmp(o, "nsdelegate") == 0 ||
		    strncmp(o, "memory_", 7) == 0)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", o);
		if (n >= cap)
			break;
	}
	if (strncmp(out, "name=", 5) == 0) {
		char tmp[256];
		snprintf(tmp, sizeof(tmp), "none,%s", out);
		snprintf(out, cap, "%s", tmp);
	}
}

static size_t read_hierarchies(struct hierarchy *h, size_t max)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return 0;
	char line[4096];
	size_t n = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");
		char mp[512], fstype[16], src[256], super[512] = "";
		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", mp) != 1 ||
		    sscanf(dash + 3, "%15s %255s %511s", fstype, src, super) < 2)
			continue;
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
			continue;
		if (!cell_str_has_prefix(mp, "/sys/fs/cgroup"))
			continue;
		snprintf(h[n].mountpoint, sizeof(h[n].mountpoint), "%s", mp);
		snprintf(h[n].fstype, sizeof(h[n].fstype), "%s", fstype);
		h[n].opts[0] = '\0';
		if (strcmp(fstype, "cgroup") == 0)
			super_opts(super, h[n].opts, sizeof(h[n].opts));
		n++;
	}
	return n;
}

/* The container's directory in the hierarchy mounted at mp, if it has one. */
static const char *own_dir(struct cgroup *cg, const char *mp)
{
	size_t n = strlen(mp);
	for (char *const *d = cgroup_dirs(cg); d && *d; d++)
		if (strncmp(*d, mp, n) == 0 && ((*d)[n] == '/' || (*d)[n] == '\0'))
			return *d;
	return NULL;
}

/* Mount hierarchy h on the directory name in dirfd (name NULL: on dirfd). */
static int mount_hierarchy(struct rootfs_ctx *rc, const struct hierarchy *h, int dirfd,
			   const char *name, unsigned long flags, struct cell_err **err)
{
	char buf[32];
	_cleanup_close_ int target = name ? openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW |
								    O_CLOEXEC)
					  : fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (target < 0)
		return cell_err_sys(err, "open the mount point for %s", h->mountpoint);
	const char *path = fd_path(target, buf);
	if (rc->cgroupns) {
		bool v2 = strcmp(h->fstype, "cgroup2") == 0;
		if (mount("cgroup", path, h->fstype, flags, v2 ? NULL : h->opts) == 0)
			return 0;
		if (errno != EPERM || !rc->userns)
			return cell_err_sys(err, "mount %s (%s)", h->fstype, h->opts);
	}
	const char *dir = rc->cg ? own_dir(rc->cg, h->mountpoint) : NULL;
	if (!dir)
		return 0; /* no cgroup of ours there: leave the directory empty */
	if (mount(dir, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return cell_err_sys(err, "bind %s", dir);
	/* Our fd names the directory under the new mount: look it up again. */
	_cleanup_close_ int fd = name ? openat(dirfd, name, O_PATH | O_CLOEXEC) : -1;
	if (!name)
		return 0; /* the caller remounts the single v2 mount itself */
	if (fd < 0 || remount_bind(fd, flags) < 0)
		return cell_err_sys(err, "remount %s", dir);
	return 0;
}

/* Symlinks like cpu -> cpu,cpuacct, as the host has them. */
static void copy_symlinks(int tmpfs)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char target[256];
		_cleanup_free_ char *p = xasprintf("/sys/fs/cgroup/%s", de->d_name);
		ssize_t n = readlink(p, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		(void)!symlinkat(target, tmpfs, de->d_name);
	}
}

int mount_cgroup(struct rootfs_ctx *rc, const struct oci_mount *m, size_t idx, int target,
		 struct cell_err **err)
{
	struct hierarchy h[32];
	size_t n = read_hierarchies(h, ARRAY_SIZE(h));
	unsigned long flags = (m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME)) |
			      MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (n == 1 && strcmp(h[0].mountpoint, "/sys/fs/cgroup") == 0) {
		int r = mount_hierarchy(rc, &h[0], target, NULL, flags, err);
		if (r < 0 || rc->cgroupns)
			return r;
		_cleanup_close_ int fd = inroot_open(rc->rootfd, m->destination, O_PATH);
		if (fd < 0 || remount_bind(fd, flags) < 0)
			return cell_err_sys(err, "remount %s", m->destination);
		return 0;
	}

	char buf[32];
	if (mount("tmpfs", fd_path(target, buf), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=755") < 0)
		return cell_err_sys(err, "mount tmpfs for the cgroup hierarchies");
	_cleanup_close_ int top = inroot_open(rc->rootfd, m->destination, O_PATH | O_DIRECTORY);
	if (top < 0)
		return cell_err(err, -top, "reopen %s", m->destination);
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(h[i].mountpoint, '/') + 1;
		if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
			return cell_err_sys(err, "mkdir %s/%s", m->destination, name);
		int r = mount_hierarchy(rc, &h[i], top, name, flags, err);
		if (r < 0)
			return r;
	}
	copy_symlinks(top);
	if ((m->flags & MS_RDONLY) && remount_bind(top, MS_RDONLY) < 0) {
		/* tmpfs is not a bind: a plain remount keeps its options. */
		if (mount(NULL, fd_path(top, buf), NULL,
			  MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
			return cell_err_sys(err, "make %s read-only", m->destination);
	}
	(void)idx;
	return 0;
}
