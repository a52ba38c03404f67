/* Which namespaces a container creates and which it joins, and the steps
 * that need the kernel in a particular order.
 *
 * Created by clone3 directly: pid, mount, uts, ipc, net, user.  Created by
 * the init later: cgroup (once the parent has placed it in its cgroup, so
 * the namespace is rooted there) and time (offsets must be written before
 * any process enters it).  Joined: opened here in the parent, so a bad path
 * fails before anything exists; entered by the init with setns, except pid,
 * which the parent enters for its children just around clone3. */
#ifndef CELL_CONTAINER_NAMESPACES_H
#define CELL_CONTAINER_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

struct ns_plan {
	bool is_new[OCI_NS_TYPES];
	int join_fd[OCI_NS_TYPES]; /* -1 unless joined */
	uint64_t clone_flags;      /* CLONE_NEW* for clone3 */
	/* Spawned through an intermediate that joins, then unshares (spawn.c):
	 * when new namespaces must belong to a joined user namespace, or
	 * joined ones be entered before a new user namespace exists. */
	bool two_stage;
	bool two_stage_init; /* in the init of a two-stage spawn: joins are done */
};

int ns_plan_init(const struct oci_linux *l, struct ns_plan *ret, struct cell_err **err);
void ns_plan_close(struct ns_plan *p);

bool ns_plan_has(const struct ns_plan *p, enum oci_ns_type t); /* new or joined */

/* Parent: clone3 the init with the plan's flags (entering a joined PID
 * namespace for just that call), into cgroup_fd when it is not -1.  Returns
 * the pid; the child returns 0. */
pid_t ns_clone_init(const struct ns_plan *p, int cgroup_fd, int *ret_pidfd,
		    struct cell_err **err);

/* Parent: write uid_map and gid_map of a new user namespace. */
int ns_write_id_maps(pid_t pid, const struct oci_linux *l, struct cell_err **err);

/* Init: enter every joined namespace (user first). */
int ns_join(const struct ns_plan *p, struct cell_err **err);
/* Init, in a user namespace: become its root (uid and gid 0). */
int ns_become_root(const struct ns_plan *p, struct cell_err **err);
/* Init: the time namespace (its offsets are written before we enter it). */
int ns_unshare_time(const struct ns_plan *p, const struct oci_linux *l, struct cell_err **err);
/* Init, once placed in its cgroup, so that the namespace is rooted there. */
int ns_unshare_cgroup(const struct ns_plan *p, struct cell_err **err);
/* Init, in a new network namespace: bring loopback up. */
int ns_loopback_up(struct cell_err **err);

#endif
