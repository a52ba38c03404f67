/* The container's root filesystem, built by the init inside its new mount
 * namespace.  Order (each step relies on the one before):
 *
 *   rootfs_prepare    stop propagation to the host, make the rootfs a mount
 *   rootfs_mount_all  config.json mounts, in order, each target resolved
 *                     inside the rootfs
 *   rootfs_devices    default and configured device nodes, /dev symlinks
 *   (createRuntime/createContainer hooks run here: they see the mounts)
 *   rootfs_pivot      pivot_root, or MS_MOVE + chroot with --no-pivot
 *   rootfs_finalize   sysctls, masked and read-only paths, read-only root
 */
#ifndef CELL_CONTAINER_ROOTFS_H
#define CELL_CONTAINER_ROOTFS_H

#include <stdbool.h>

#include "base/err.h"
#include "oci/spec.h"

struct cgroup;

struct rootfs_ctx {
	const struct oci_spec *spec;
	const char *rootfs;  /* host path */
	const char *bundle;  /* relative bind sources are taken from here */
	bool userns;         /* in a user namespace: no mknod, bind device nodes */
	bool cgroupns;       /* a cgroup namespace of its own */
	struct cgroup *cg;   /* the container's cgroup, for cgroup mounts */
	int rootfd;          /* O_PATH of the rootfs once prepared */
	/* Called before the first cgroup mount: the init must be in its cgroup
	 * (and cgroup namespace) by then.  May be NULL. */
	int (*before_cgroup)(void *arg, struct cell_err **err);
	void *arg;
};

int rootfs_prepare(struct rootfs_ctx *rc, struct cell_err **err);
int rootfs_mount_all(struct rootfs_ctx *rc, struct cell_err **err);
int rootfs_devices(struct rootfs_ctx *rc, struct cell_err **err);
int rootfs_pivot(struct rootfs_ctx *rc, bool no_pivot, struct cell_err **err);
int rootfs_finalize(struct rootfs_ctx *rc, struct cell_err **err);

/* devices.c: the device cgroup rules for the default and configured nodes,
 * appended to the config's own (in place, before cgroup_apply). */
void devices_add_default_rules(struct oci_spec *spec);

/* mounts.c, for the cgroup mount type */
int mount_cgroup(struct rootfs_ctx *rc, const struct oci_mount *m, size_t idx, int target,
		 struct cell_err **err);
/* Bind-remount fd's mount with flags, keeping the flags the kernel locks
 * (nosuid, nodev, noexec, atime) when they were set before. */
int remount_bind(int fd, unsigned long flags);

#endif
