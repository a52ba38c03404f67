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
/* Open an existing cgroup; -ENOENT when it is gone everywhere. */
int cgroup_open(const char *path, struct cgroup **ret, struct cell_err **err);
/* The cgroup that pid is in (the v2 or name=systemd path), for exec and ps. */
int cgroup_of_pid(pid_t pid, struct cgroup **ret, struct cell_err **err);
void cgroup_free(struct cgroup *cg);
void cgroup_freep(struct cgroup **cg);

/* The path as given to create/open, and the host directories it maps to
 * (NULL-terminated, owned by cg): what the state ledger records. */
const char *cgroup_path(const struct cgroup *cg);
char *const *cgroup_dirs(const struct cgroup *cg);

/* Move a process (all its threads) or a single thread into the cgroup. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct cell_err **err);
int cgroup_enter_thread(struct cgroup *cg, pid_t tid, struct cell_err **err);
/* An O_PATH|O_DIRECTORY fd of the v2 directory for clone3(CLONE_INTO_CGROUP),
 * or -1 when the host is not pure v2.  Owned by cg. */
int cgroup_v2_fd(struct cgroup *cg);

/* Apply linux.resources (allocation: issue 3).  Values the host cannot
 * honour are an error naming the field, not silently dropped. */
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
 * Fails with -EBUSY naming the cgroup if processes are still inside. */
int cgroup_destroy(struct cgroup *cg, struct cell_err **err);

#endif
