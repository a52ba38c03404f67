/* Shared inside src/container only. */
#ifndef CELL_CONTAINER_INTERNAL_H
#define CELL_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "container/container.h"
#include "container/namespaces.h"
#include "container/security.h"
#include "oci/spec.h"
#include "state/state.h"

struct cgroup;
struct net_plan;

#define EXEC_FIFO "exec.fifo"
#define CELL_OCI_STATE_VERSION "1.2.0"
#define CONFIG_COPY "config.json"

/* Everything create decides before the clone, which the init then uses
 * from its copy of the parent's memory (clone3 without CLONE_VM). */
struct create_plan {
	const struct container_ctx *ctx;
	const struct container_create_opts *opts;
	struct oci_spec *spec;
	char *bundle;
	char *config_path;
	char *rootfs;
	char *config_text;
	size_t config_len;
	struct ns_plan ns;
	struct security_plan *sec;
	struct state_dir dir;
	bool have_dir;
	struct state_record rec;
	struct cgroup *cg;
	int sync_parent, sync_child;
	int fifo_fd;
	bool cgroup_made; /* the cgroup exists, with its limits */
	bool into_cgroup; /* born in its (v2) cgroup: clone3 put it, or the
			   * intermediate it inherits from, there */
	bool self_place;  /* the init enters its v1 hierarchies itself (SYNC_CGROUP) */
	bool placed;      /* init: SYNC_PLACED has come */
	pid_t pid;
	int pidfd;
	int pty_master;
	struct net_plan *net; /* network.c; NULL without a cell network */
	/* restore.c: the init does not exec process.args; after COMMITTED it
	 * waits to be taken over by a checkpoint's tree (ckpt_restore_child). */
	bool restore;
	const char *restore_image; /* the image directory */
};

/* create.c, shared with restore.c: the plan, its phases up to the init's
 * COMMITTED (restore stops there, create is done there), and the way back. */
void create_plan_init(struct create_plan *p, const struct container_ctx *ctx,
		      const struct container_create_opts *opts);
int create_plan_run(struct create_plan *p, struct cell_err **err);
/* Kill the init and undo the ledger: nothing of the container is left. */
void create_plan_abort(struct create_plan *p);
void create_plan_free(struct create_plan *p);
char *create_plan_state(struct create_plan *p, const char *status);

/* restore.c, for create.c's parent, just before the network is set up:
 * a restored init in a network namespace of its own takes the image's
 * network lock there (ckpt_net_lock) before it has an address.  Otherwise a
 * peer's retransmission would reach it before the tree's sockets exist
 * and draw a reset that kills the connection.  0 for anything else. */
int restore_lock_network(const struct create_plan *p, struct cell_err **err);

/* The fds 0-2 cell handed the init at create ("FD DEV INO" lines), so that
 * a checkpoint knows which of the init's stdio still lead outside. */
#define STDIO_IDS "stdio"

/* ckpt-meta.c: container.json in a checkpoint image, beside the engine's
 * files and CONFIG_COPY (the config the container ran with). */
#define CKPT_META "container.json"
#define CKPT_META_STDIO 3
struct ckpt_meta {
	char *id;
	char *bundle;                  /* absolute; NULL when not recorded */
	bool stdio[CKPT_META_STDIO];   /* the init's fd N was still what cell gave it */
	char *net_name, *ip;           /* its place on a cell network, or NULL */
};
char *ckpt_meta_json(const struct ckpt_meta *m);
/* Untrusted text (what names it in errors) to *ret. */
int ckpt_meta_parse(const char *text, size_t len, const char *what, struct ckpt_meta *ret,
		    struct cell_err **err);
void ckpt_meta_clear(struct ckpt_meta *m);

/* network.c: a cell network from the config's annotations.  prepare runs
 * before the clone (lease, ports, /etc files and their mounts), configure
 * after it (the veth pair into the init's namespace) and before SYNC_GO. */
int network_prepare(struct create_plan *p, struct cell_err **err);
int network_configure(struct create_plan *p, struct cell_err **err);
/* Init, after the config's mounts: the /etc files over the rootfs's. */
int network_mount_etc(const struct create_plan *p, int rootfd, struct cell_err **err);
void network_plan_free(struct net_plan *np);
/* Undoers of the ledger's net-lease, net-veth, net-qdisc, net-port. */
int network_undo_lease(char *const *args, struct cell_err **err);
int network_undo_veth(char *const *args, struct cell_err **err);
int network_undo_qdisc(char *const *args, struct cell_err **err);
int network_undo_port(char *const *args, struct cell_err **err);

/* init.c: the child side of create; never returns. */
__attribute__((noreturn)) void container_init(struct create_plan *p);

/* status.c */
char *oci_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
		     const char *rootfs, const char *created, const char *owner,
		     const struct oci_kv *annotations, size_t n_annotations);
/* locked: the caller holds the directory's lock (so a "creating" record
 * cannot be a live create). */
int container_status_of(struct state_dir *dir, const struct state_record *rec, bool locked,
			enum container_status *ret);
char *rfc3339_now(void);

/* cleanup.c: the container's cgroup, from the directories in its ledger. */
int container_open_cgroup(struct state_dir *dir, struct cgroup **ret, struct cell_err **err);
/* cleanup.c: undo the ledger in reverse, then remove the state directory. */
int container_undo(struct state_dir *dir, struct cell_err **err);
/* The default cgroupsPath of a container: CONTAINER_CGROUP_PARENT/ID,
 * from the root of each hierarchy: a relative default would sit below the
 * caller's own cgroup, which on cgroup v2 usually holds processes and so
 * cannot pass controllers down. */
#define CONTAINER_CGROUP_PARENT "/cell"
char *container_default_cgroup(const char *id);

/* stats.c: OOM kills in the cgroup the ledger names (see container_oom_kills). */
int container_oom_kills_in(struct state_dir *dir, uint64_t *ret, struct cell_err **err);

/* netdev.c: the text of /proc/PID/net/dev (len bytes, untrusted: the
 * container names its interfaces) to counters; lines that do not parse are
 * skipped.  *ret is malloc'd (NULL when none). */
int container_parse_net_dev(const char *text, size_t len, struct container_net_stats **ret,
			    size_t *ret_n);

/* exec path lookup, shared by create and exec (inside the container). */
int resolve_exec(const struct oci_process *p, char **ret, struct cell_err **err);
void add_default_home(struct oci_process *p);
/* Reset signal dispositions and mask before exec. */
void reset_signals(void);

#endif
