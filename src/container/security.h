/* What the container's process may do: rlimits, identity, capabilities,
 * no_new_privs, seccomp, personality, scheduling.  A facade over src/os's
 * pieces (os/security.h gives the order and why), shared by create and exec:
 *
 *   security_prepare   parent, before anything exists: compile seccomp (a
 *                      bad syscall name fails here, with nothing to undo)
 *   security_parent    parent, on the child's pid before it goes on: what
 *                      needs privileges of the initial user namespace
 *                      (rlimits, oom_score_adj, I/O priority, scheduler)
 *   security_apply     child, last thing before it reports ready: the rest,
 *                      ending with the seccomp filter (as runc: the exec.fifo
 *                      wait and startContainer hooks run under it)
 */
#ifndef CELL_CONTAINER_SECURITY_H
#define CELL_CONTAINER_SECURITY_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

struct security_plan;

int security_prepare(const struct oci_spec *spec, struct security_plan **ret,
		     struct cell_err **err);
void security_plan_free(struct security_plan *plan);
/* The filter has SCMP_ACT_NOTIFY rules: the child will send a listener. */
bool security_uses_notify(const struct security_plan *plan);

int security_parent(const struct oci_process *p, pid_t pid, struct cell_err **err);

/* On success *ret_listener is the seccomp notify fd (to hand to
 * linux.seccomp.listenerPath), or -1. */
int security_apply(const struct security_plan *plan, const struct oci_spec *spec,
		   const struct oci_process *p, int *ret_listener, struct cell_err **err);

#endif
