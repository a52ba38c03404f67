/* The OCI container lifecycle, as the runc command line exposes it.
 *
 *   create   parse and check the bundle, record state, make the cgroup, clone
 *            the init into its namespaces, set up its root filesystem, run the
 *            create-time hooks, and leave it waiting in exec.fifo
 *   start    release the waiting init (it runs startContainer hooks, execs)
 *   state    the OCI state of one container, true after any crash
 *   kill / delete / pause / resume / pids / list / exec
 *
 * Every function takes the --root directory through struct container_ctx and
 * reports failure through err with the container id in the message. */
#ifndef CELL_CONTAINER_H
#define CELL_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "ckpt/ckpt.h"
#include "oci/spec.h"
#include "os/cgroup-stats.h"

struct container_ctx {
	const char *root; /* state root, e.g. /run/cell */
};

enum container_status {
	CONTAINER_CREATING,
	CONTAINER_CREATED,
	CONTAINER_RUNNING,
	CONTAINER_PAUSED,
	CONTAINER_STOPPED,
};

const char *container_status_name(enum container_status s);

struct container_create_opts {
	const char *id;
	const char *bundle;         /* NULL: the current directory */
	const char *config_path;    /* NULL: BUNDLE/config.json; with config_json, its name */
	const char *config_json;    /* the config itself instead of a file (`run --rootfs`,
				     * or a bundle's config edited by `run` flags) */
	const char *pid_file;       /* written atomically once created */
	const char *console_socket; /* where the pty master goes when process.terminal */
	int preserve_fds;           /* fds 3 .. 3+N-1 pass to the container */
	bool no_pivot;              /* MS_MOVE + chroot instead of pivot_root */
	/* process.terminal with no console socket (`run -t`): the caller gets
	 * the pty master back to relay the caller's own terminal. */
	bool keep_pty;
};

struct container_created {
	pid_t pid;      /* the init, in the host's PID namespace */
	int pidfd;      /* owned by the caller */
	int pty_master; /* -1 unless keep_pty and the process has a terminal */
};

/* Create a container.  On failure nothing is left: no state, cgroup, mount or
 * process.  On success the caller owns ret's fds. */
int container_create(const struct container_ctx *ctx, const struct container_create_opts *opts,
		     struct container_created *ret, struct cell_err **err);

int container_start(const struct container_ctx *ctx, const char *id, struct cell_err **err);

struct container_info {
	char *id;
	enum container_status status;
	pid_t pid; /* 0 when stopped */
	char *bundle;
	char *rootfs;
	char *created;
	char *owner;
	struct oci_kv *annotations; /* borrowed from the record; freed with the info */
	size_t n_annotations;
	uint64_t oom_kills; /* processes the OOM killer killed in its cgroup (0: none or unknown) */
};

void container_info_clear(struct container_info *info);

int container_info(const struct container_ctx *ctx, const char *id, struct container_info *ret,
		   struct cell_err **err);
/* OCI state JSON (runtime spec "state"), as `cell state` prints it; with
 * "oomKilled": true and "oomKills": N when the OOM killer has struck. */
char *container_info_json(const struct container_info *info);

/* All containers under the root, sorted by id. */
int container_list(const struct container_ctx *ctx, struct container_info **ret, size_t *ret_n,
		   struct cell_err **err);

/* Signal the init, or with all every process in the container's cgroup (also
 * once the init is gone, as containerd expects). */
int container_kill(const struct container_ctx *ctx, const char *id, int sig, bool all,
		   struct cell_err **err);

/* Remove a stopped container; force kills a live one first.  Runs poststop
 * hooks and undoes everything in the ledger.  A container whose create was
 * killed (SIGKILL of cell) reads as stopped, so, as with runc, delete needs
 * no force: it kills what the cgroup still holds and removes the cgroups,
 * nested ones included, and the state. */
int container_delete(const struct container_ctx *ctx, const char *id, bool force,
		     struct cell_err **err);

int container_pause(const struct container_ctx *ctx, const char *id, bool pause,
		    struct cell_err **err);

/* Host pids of every process in the container. */
int container_pids(const struct container_ctx *ctx, const char *id, pid_t **ret, size_t *ret_n,
		   struct cell_err **err);

struct container_exec_opts {
	const char *id;
	/* Either process (owned by the caller), or built from the container's
	 * own process with the overrides below. */
	struct oci_process *process;
	char **args;
	char **env;           /* added to the container's environment */
	const char *cwd;
	bool has_user;
	uint32_t uid, gid;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	bool tty;
	bool no_new_privs;    /* force it on */
	char **add_caps;      /* capability names added to every set */
	const char *console_socket;
	const char *pid_file;
	int preserve_fds;
	bool detach;
	bool keep_pty;        /* -t without a console socket */
};

struct container_execed {
	pid_t pid;
	int pidfd;
	int pty_master;
};

int container_exec(const struct container_ctx *ctx, const struct container_exec_opts *opts,
		   struct container_execed *ret, struct cell_err **err);

/* ---- checkpoint and restore (checkpoint.c, restore.c) ---------------------
 * The process tree goes through the engine (ckpt/ckpt.h); the container
 * around it (namespaces, mounts, cgroup and limits, network and address,
 * state and ledger) stays the runtime's.  An image directory holds the
 * engine's files, the config the container ran with (config.json) and what
 * restore needs of its record (container.json), so that `restore` works
 * with or without the bundle. */

struct container_checkpoint_opts {
	const char *image_path;  /* made if missing (0700) */
	const char *work_path;   /* dump.log; NULL: image_path */
	const char *parent_path; /* an earlier (pre-)dump, relative to image_path or absolute */
	bool leave_running;
	bool pre_dump;           /* memory only, container runs on (implies leave_running) */
	bool tcp_established;
};

/* Checkpoint a running or paused container (a paused one is thawed for the
 * dump and frozen again when it stays).  Without leave_running or pre_dump
 * the container is gone afterwards, as with runc: its tree is killed once
 * the image is complete and everything of it is deleted (poststop hooks
 * included).  On failure the image is not valid and the container runs on
 * as it was.  ret_stats may be NULL. */
int container_checkpoint(const struct container_ctx *ctx, const char *id,
			 const struct container_checkpoint_opts *opts, struct ckpt_stats *ret_stats,
			 struct cell_err **err);

struct container_restore_opts {
	const char *id;
	const char *image_path;
	const char *work_path;      /* restore.log; NULL: image_path */
	const char *bundle;         /* NULL: the config and bundle the image recorded */
	const char *pid_file;
	const char *console_socket;
	bool no_pivot;
	bool tcp_established;
};

/* Create the container again around the image's tree: everything create
 * does up to the init's exec, then the tree replaces the init (same PIDs)
 * and the container is running.  The init's stdio that led outside at
 * checkpoint (conmon's or a shim's pipes) becomes the caller's fds 0-2; a
 * terminal becomes a new one, whose master goes to console_socket.
 * Security settings come from the image, not the config.  On failure
 * nothing is left.  ret and ret_stats may be NULL; the caller owns ret's
 * pidfd. */
int container_restore(const struct container_ctx *ctx, const struct container_restore_opts *opts,
		      struct container_created *ret, struct ckpt_stats *ret_stats,
		      struct cell_err **err);

/* ---- resources: update (update.c) ---------------------------------------- */

struct container_update_opts {
	/* A linux.resources object (what runc update -r reads); only the fields
	 * it names change.  linux.resources.devices cannot be updated. */
	const char *resources_json;
	size_t len;
	const char *name; /* how errors name the input: the file, or "flags" */
	/* Refuse a memory limit below what the container uses now (the spec's
	 * memory.checkBeforeUpdate) unless the resources say otherwise. */
	bool check_usage;
};

/* Change the limits of a created, running or paused container.  All or
 * nothing: every value is checked before the first cgroup write, and a
 * write the kernel refuses undoes the ones before it.  The new values are
 * then recorded in the state directory's config.json, so a later update,
 * checkpoint or `state` sees them. */
int container_update(const struct container_ctx *ctx, const char *id,
		     const struct container_update_opts *opts, struct cell_err **err);

/* ---- resources: usage and events (stats.c) ----------------------------------
 * What `cell stats` and `cell events` show: the cgroup's counters
 * (os/cgroup-stats.h) and the network counters of the container's network
 * namespace (/proc/INIT/net/dev).  Reading is cheap: no process spawned,
 * nothing written, about a dozen small files per container. */

struct container_net_stats {
	char name[16]; /* IFNAMSIZ */
	uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
	uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

struct container_stats {
	char *id;
	enum container_status status;
	pid_t pid;            /* 0 when stopped */
	uint64_t read_ns;     /* CLOCK_MONOTONIC when read, for rates between samples */
	uint64_t lifetime_ns; /* how long the init has run (0 when stopped) */
	bool has_cgroup;      /* false once the cgroup is gone */
	struct cgroup_stats cg;
	struct container_net_stats *net; /* none when stopped or without a netns of its own */
	size_t n_net;
};

/* Stats of one container in any state (a stopped one keeps its cgroup, and
 * its OOM-kill count, until deleted). */
int container_stats(const struct container_ctx *ctx, const char *id, struct container_stats *ret,
		    struct cell_err **err);
void container_stats_clear(struct container_stats *s);
/* CPU time used between two samples of one container, as a percentage of
 * one CPU (200 is two CPUs busy); with prev NULL, over the init's life. */
double container_stats_cpu_percent(const struct container_stats *now,
				   const struct container_stats *prev);
/* The "data" of runc's events stats, as containerd parses it (runc
 * types.Stats: cpu, memory, pids, blkio, hugetlb, network_interfaces), plus
 * cpu.percent (when cpu_percent >= 0), memory.anon, memory.oom and
 * memory.oomKill. */
char *container_stats_json(const struct container_stats *s, double cpu_percent);
/* One line of runc's events stream: {"type":TYPE,"id":ID[,"data":DATA]}. */
char *container_event_json(const char *type, const char *id, const char *data_json);

/* OOM events and the end of a container, to wait on (`cell events`). */
struct container_watch;
enum container_watch_event { CONTAINER_WATCH_TIMEOUT, CONTAINER_WATCH_OOM, CONTAINER_WATCH_EXIT };
/* Refuses a stopped container, as runc events does. */
int container_watch_open(const struct container_ctx *ctx, const char *id,
			 struct container_watch **ret, struct cell_err **err);
/* Wait up to timeout_ms (-1: no limit).  OOM: *ret_n OOMs happened.  EXIT:
 * the init is gone (OOMs up to its death were reported before) or the
 * cgroup was removed. */
int container_watch_wait(struct container_watch *w, int timeout_ms,
			 enum container_watch_event *ret, uint64_t *ret_n, struct cell_err **err);
void container_watch_free(struct container_watch *w);

/* Processes the OOM killer killed in the container so far; -ENOENT when
 * that is not known (no cgroup left, no memory controller). */
int container_oom_kills(const struct container_ctx *ctx, const char *id, uint64_t *ret,
			struct cell_err **err);

#endif
