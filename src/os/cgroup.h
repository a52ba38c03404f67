/* The resource layer: one interface over cgroup v1, v2 and hybrid hosts.
 *
 * The driver is picked at runtime from what is mounted (/proc/self/mountinfo):
 *  - v2: /sys/fs/cgroup is cgroup2; one directory per cgroup.
 *  - v1: one hierarchy per controller (cpu, memory, pids...); a cgroup is one
 *    directory in each.  A hybrid host (v1 controllers plus a cgroup2 mount
 *    at /sys/fs/cgroup/unified) is v1 plus that unified directory, which is
 *    also used for controllers only v2 offers there.
 *
 * A cgroup is named by a path as linux.cgroupsPath gives it: absolute paths
 * are from each hierarchy's root; relative ones are below the cgroup of the
 * calling process in that hierarchy.  Containers and VMs (vCPU threads) share
 * this layer.  No function here prints. */
#ifndef CELL_OS_CGROUP_H
#define CELL_OS_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

enum cgroup_mode { CGROUP_MODE_V1, CGROUP_MODE_V2, CGROUP_MODE_HYBRID };

struct cgroup; /* an opened or created cgroup: its directories, one per hierarchy */

/* The host's mode, detected once per process. */
int cgroup_host_mode(enum cgroup_mode *ret, struct cell_err **err);

/* Make the cgroup (and missing parents) in every hierarchy and return it.
 * Creating one that exists is not an error (podman pre-creates some). */
int cgroup_create(const char *path, struct cgroup **ret, struct cell_err **err);
/* Resolve path to its directories without creating anything, so the caller
 * can record them (state ledger) before cgroup_make() creates them. */
int cgroup_resolve(const char *path, struct cgroup **ret, struct cell_err **err);
int cgroup_make(struct cgroup *cg, struct cell_err **err);
/* Part of cgroup_make(), for a caller that moves a process in before the
 * whole cgroup is made, or that needs only some hierarchies: the v1 ones
 * serving one of controllers (a NULL-ended list of controller names, or
 * "name=NAME" for a named hierarchy), and the v2 one when with_v2.
 * Hierarchies left out stay unmade; cgroup_destroy() and reopening by
 * cgroup_open_dirs() treat them as absent.  ret_dirs (may be NULL): the
 * directories this step covered (a strv).  On failure only what this step
 * made is removed. */
int cgroup_make_some(struct cgroup *cg, const char *const *controllers, bool with_v2,
		     char ***ret_dirs, struct cell_err **err);
/* Reopen a cgroup from directories cgroup_dirs() gave earlier: relative
 * paths resolve differently from another caller's cgroup, recorded
 * directories do not. */
int cgroup_open_dirs(char *const *dirs, struct cgroup **ret, struct cell_err **err);
/* Open an existing cgroup; -ENOENT when it is gone everywhere. */
int cgroup_open(const char *path, struct cgroup **ret, struct cell_err **err);
/* The cgroup that pid is in (the v2 or name=systemd path), for exec and ps.
 * Its directories are where pid really is in each hierarchy (on a hybrid
 * host, v1 and v2 may differ); cgroup_path() is the v2 path on v2 and
 * hybrid hosts, name=systemd's on v1 (else the first hierarchy's). */
int cgroup_of_pid(pid_t pid, struct cgroup **ret, struct cell_err **err);
void cgroup_free(struct cgroup *cg);
void cgroup_freep(struct cgroup **cg);

/* The path as given to create/open, and the host directories it maps to
 * (NULL-terminated, owned by cg): what the state ledger records. */
const char *cgroup_path(const struct cgroup *cg);
char *const *cgroup_dirs(const struct cgroup *cg);

/* Move a process (all its threads) or a single thread into the cgroup. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct cell_err **err);
/* v1: any cgroup (the "tasks" file).  v2 moves a single thread only into a
 * threaded cgroup below the one its process is in: make those with
 * cgroup_create_threaded(); anything else fails with -EOPNOTSUPP.  On a
 * hybrid host the v2 side of a non-threaded cgroup is skipped (its
 * controllers there, hugetlb, are per process anyway). */
int cgroup_enter_thread(struct cgroup *cg, pid_t tid, struct cell_err **err);
/* A child "name" of parent for single threads (vCPUs): v1 a plain child in
 * every hierarchy; v2 a threaded cgroup, parent passing down only the
 * threaded controllers (cpu, cpuset, pids, perf_event) and becoming the
 * threaded domain.  The threads' process must be in parent; limit memory
 * and I/O on parent, CPU on the children. */
int cgroup_create_threaded(struct cgroup *parent, const char *name, struct cgroup **ret,
			   struct cell_err **err);
/* The same, made only in the hierarchies that serve one of controllers
 * (NULL-terminated names as the hierarchies list them: "cpu", "cpuacct"):
 * the others are absent in the result (enter, apply and destroy skip them),
 * and their threads stay in parent there.  Each directory fewer is a mkdir
 * and an rmdir fewer per VM. */
int cgroup_create_threaded_for(struct cgroup *parent, const char *name,
			       const char *const *controllers, struct cgroup **ret,
			       struct cell_err **err);
/* An O_PATH|O_DIRECTORY fd of the v2 directory for clone3(CLONE_INTO_CGROUP),
 * or -1 when the host is not pure v2.  Owned by cg. */
int cgroup_v2_fd(struct cgroup *cg);
/* The same on a hybrid host too (the unified side), or -1 where cg has no v2
 * directory.  Owned by cg. */
int cgroup_unified_fd(struct cgroup *cg);
/* For a process to move itself into cg's v1 hierarchies: their "tasks"
 * files, opened for writing (at most max of them into fds, *ret_n).  A
 * thread that writes "0" to one moves itself alone, and the kernel takes no
 * lock over the thread group for that (cgroup_procs_write_start), where
 * writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem for writing,
 * whose first taker after a quiet spell waits for an RCU grace period
 * (16-30 ms on the host this was written on).  The opener's credentials
 * are what the kernel checks, so the mover needs none of its own.  0 or
 * -errno; none left open on failure. */
int cgroup_open_task_files(struct cgroup *cg, int *fds, size_t max, size_t *ret_n,
			   struct cell_err **err);

/* Apply linux.resources (allocation: issue 3).  Values the host cannot
 * honour are an error naming the field, not silently dropped.  Everything
 * is checked before the first write; when the kernel still refuses one,
 * the single-valued knobs written before it get their old values back.
 * The device rules are applied as given (v1 devices.allow/deny, or a v2
 * BPF filter, last matching rule wins): adding the default devices every
 * container gets (/dev/null, /dev/zero, ...) is the runtime's job. */
int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, struct cell_err **err);

int cgroup_freeze(struct cgroup *cg, bool frozen, struct cell_err **err);
/* true when every task in the cgroup is frozen. */
int cgroup_is_frozen(struct cgroup *cg, bool *ret, struct cell_err **err);

/* Every pid in the cgroup and its descendants, sorted and deduplicated. */
int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n, struct cell_err **err);
/* Send sig to every process in the cgroup tree (freezing first so that
 * forks cannot escape, as runc kill --all does).  cgroup.kill on v2. */
int cgroup_kill_all(struct cgroup *cg, int sig, struct cell_err **err);

/* Remove the cgroup and every cgroup nested below it, in all hierarchies.
 * Fails with -EBUSY naming the cgroup if processes are still inside (and
 * then removes nothing).  Parents that this object's create made go too
 * while empty; a cgroup from open/of_pid leaves its parents alone. */
int cgroup_destroy(struct cgroup *cg, struct cell_err **err);

#endif
