/* /dev: the device nodes every container gets, the ones config.json adds,
 * and the symlinks programs expect.  In a user namespace mknod is not
 * allowed, so nodes are bind mounts of the host's, as runc does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"
#include "container/inroot.h"
#include "container/rootfs.h"

static const struct {
	const char *path;
	int major, minor;
} default_devices[] = {
	{ "/dev/null", 1, 3 },	  { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const struct {
	const char *target, *name;
} dev_links[] = {
	{ "/proc/self/fd", "/dev/fd" },	   { "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int parent_of(int rootfd, const char *path)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *s = strrchr(dir, '/');
	if (s)
		*s = '\0';
	return inroot_mkdir_p(rootfd, *dir ? dir : "/", 0755);
}

static int bind_device(struct rootfs_ctx *rc, const char *path, struct cell_err **err)
{
	char buf[32];
	_cleanup_close_ int fd = inroot_mkfile(rc->rootfd, path, 0644);
	if (fd < 0)
		return cell_err(err, -fd, "create %s", path);
	if (mount(path, fd_path(fd, buf), NULL, MS_BIND, NULL) < 0)
		return cell_err_sys(err, "bind the host's %s", path);
	return 0;
}

static int make_node(struct rootfs_ctx *rc, const struct oci_device *d, struct cell_err **err)
{
	if (rc->userns)
		return bind_device(rc, d->path, err);
	_cleanup_close_ int dir = parent_of(rc->rootfd, d->path);
	if (dir < 0)
		return cell_err(err, -dir, "create the directory of %s", d->path);
	mode_t mode = (d->has_file_mode ? d->file_mode : 0666) & 07777;
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	const char *name = base_name(d->path);
	dev_t dev = d->type == 'p' ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
	if (mknodat(dir, name, mode | type, dev) < 0) {
		if (errno != EEXIST)
			return cell_err_sys(err, "mknod %s", d->path);
		/* Something from the image is there: the configured node wins. */
		if (unlinkat(dir, name, 0) < 0 || mknodat(dir, name, mode | type, dev) < 0)
			return cell_err_sys(err, "replace %s", d->path);
	}
	if (fchownat(dir, name, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0,
		     AT_SYMLINK_NOFOLLOW) < 0)
		return cell_err_sys(err, "chown %s", d->path);
	return 0;
}

static bool configured(const struct oci_linux *l, const char *path)
{
	for (size_t i = 0; i < l->n_devices; i++)
		if (strcmp(l->devices[i].path, path) == 0)
			return true;
	return false;
}

static bool dev_is_bound(const struct oci_spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (strcmp(spec->mounts[i].destination, "/dev") == 0 &&
		    (spec->mounts[i].bind || (spec->mounts[i].type && strcmp(spec->mounts[i].type, "bind") == 0)))
			return true;
	return false;
}

static int make_links(struct rootfs_ctx *rc, struct cell_err **err)
{
	_cleanup_close_ int dev = inroot_mkdir_p(rc->rootfd, "/dev", 0755);
	if (dev < 0)
		return cell_err(err, -dev, "create /dev");
	for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, dev, base_name(dev_links[i].name)) < 0 &&
		    errno != EEXIST)
			return cell_err_sys(err, "symlink %s", dev_links[i].name);
	if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
	    errno != EEXIST)
		return cell_err_sys(err, "symlink /dev/core");
	/* /dev/ptmx must be the container's own devpts instance's. */
	if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
		return cell_err_sys(err, "remove /dev/ptmx");
	if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
		return cell_err_sys(err, "symlink /dev/ptmx");
	return 0;
}

int rootfs_devices(struct rootfs_ctx *rc, struct cell_err **err)
{
	const struct oci_linux *l = &rc->spec->linux_;
	if (dev_is_bound(rc->spec))
		return 0;
	mode_t old = umask(0);
	int r = 0;
	for (size_t i = 0; i < l->n_devices && r == 0; i++) {
		r = make_node(rc, &l->devices[i], err);
		if (r < 0)
			cell_err_wrap(err, "linux.devices[%zu]", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(default_devices) && r == 0; i++) {
		if (configured(l, default_devices[i].path))
			continue;
		struct oci_device d = { .type = 'c', .path = (char *)default_devices[i].path,
					.major = default_devices[i].major,
					.minor = default_devices[i].minor };
		r = make_node(rc, &d, err);
	}
	umask(old);
	return r < 0 ? r : make_links(rc, err);
}

/* The device cgroup rules every container gets after its own (runc's list):
 * the default nodes above, the console, ptmx and pts, mknod of any node;
 * then an allow rule for each node linux.devices asks for.  Later rules win
 * over earlier ones, so a config's "deny all" first rule keeps these. */
static const struct oci_device_rule default_rules[] = {
	{ true, 'c', -1, -1, "m" }, { true, 'b', -1, -1, "m" },
	{ true, 'c', 1, 3, "rwm" },  { true, 'c', 1, 5, "rwm" },  { true, 'c', 1, 7, "rwm" },
	{ true, 'c', 1, 8, "rwm" },  { true, 'c', 1, 9, "rwm" },  { true, 'c', 5, 0, "rwm" },
	{ true, 'c', 5, 1, "rwm" },  { true, 'c', 5, 2, "rwm" },  { true, 'c', 136, -1, "rwm" },
};

void devices_add_default_rules(struct oci_spec *spec)
{
	struct oci_resources *res = spec->linux_.resources;
	const struct oci_linux *l = &spec->linux_;
	if (!res || !res->n_devices)
		return;
	size_t n = res->n_devices + ARRAY_SIZE(default_rules) + l->n_devices;
	res->devices = xrealloc(res->devices, n * sizeof(*res->devices));
	struct oci_device_rule *out = res->devices + res->n_devices;
	memcpy(out, default_rules, sizeof(default_rules));
	out += ARRAY_SIZE(default_rules);
	for (size_t i = 0; i < l->n_devices; i++, out++) {
		const struct oci_device *d = &l->devices[i];
		*out = (struct oci_device_rule){ .allow = true, .type = d->type == 'u' ? 'c' : d->type,
						 .major = d->major, .minor = d->minor, .access = "rwm" };
	}
	res->n_devices = n;
}
