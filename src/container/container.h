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
#include "oci/spec.h"

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
	const char *config_path;    /* NULL: BUNDLE/config.json */
	const char *config_json;    /* the config itself instead of a file (`run --rootfs`) */
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
};

void container_info_clear(struct container_info *info);

int container_info(const struct container_ctx *ctx, const char *id, struct container_info *ret,
		   struct cell_err **err);
/* OCI state JSON (runtime spec "state"), as `cell state` prints it. */
char *container_info_json(const struct container_info *info);

/* All containers under the root, sorted by id. */
int container_list(const struct container_ctx *ctx, struct container_info **ret, size_t *ret_n,
		   struct cell_err **err);

/* Signal the init, or with all every process in the container's cgroup (also
 * once the init is gone, as containerd expects). */
int container_kill(const struct container_ctx *ctx, const char *id, int sig, bool all,
		   struct cell_err **err);

/* Remove a stopped container; force kills a live one first.  Runs poststop
 * hooks and undoes everything in the ledger. */
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

#endif
