/* Spawning the init.
 *
 * One stage, the common case: clone3 straight into the new namespaces; the
 * init enters joined ones itself (ns_join) and the parent writes its id maps.
 *
 * Two stages (ns_plan.two_stage), as runc's nsexec: an intermediate process
 * in the host's namespaces, born in the v2 cgroup (cgroup_fd) for the init
 * to inherit, enters every joined namespace (user first when
 * joining one), makes a new user namespace (the parent maps it: SYNC_USERNS,
 * SYNC_MAPPED), unshares the other new namespaces, then clones the init with
 * CLONE_PARENT, so that it is the parent's child and pid 1 of the new PID
 * namespace, sends its pid (SYNC_INIT) and exits. */
#ifndef CELL_CONTAINER_SPAWN_H
#define CELL_CONTAINER_SPAWN_H

#include "base/err.h"

struct create_plan;

/* In the parent: the init's pid (p->pidfd set), or -errno; cgroup_fd, if
 * not -1, the v2 directory the init (one stage) or the intermediate (two)
 * is cloned into.  In the init (either way) this does not return: it runs
 * container_init(). */
int spawn_init(struct create_plan *p, int cgroup_fd, struct cell_err **err);

#endif
