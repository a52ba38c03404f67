/* Container state under --root: one directory per container id holding
 *
 *   state.json   the record below, replaced atomically on every change
 *   config.json  the bundle's config as it was at create time
 *   ledger       every resource cell creates, appended BEFORE it is created
 *   exec.fifo    where `start` releases the waiting init (see container/)
 *
 * The directory itself is the lock (flock on its fd): commands that change
 * a container hold it; create holds it until the container is created, so
 * a record in phase "creating" whose lock is free was left by a creator that
 * died, and a later command can clean up everything the ledger lists. */
#ifndef CELL_STATE_STATE_H
#define CELL_STATE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

#define STATE_ID_MAX 1024

/* runc's rule: letters, digits, "_", "+", "-", "."; not "." or "..". */
int state_check_id(const char *id, struct cell_err **err);

enum state_phase {
	STATE_PHASE_CREATING, /* create in progress, or its creator died */
	STATE_PHASE_CREATED,  /* init waits on exec.fifo */
	STATE_PHASE_STARTED,  /* start released it */
};

struct state_record {
	char *id;
	enum state_phase phase;
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339, UTC */
	char *owner;
	pid_t pid;            /* the init, in the host's PID namespace */
	uint64_t pid_start;   /* its start time, so a recycled pid is never ours */
	char *cgroup;         /* the cgroupsPath used */
	bool own_userns;      /* the container has a user namespace of its own */
	bool own_pidns;       /* ... and a PID namespace (kill --all relies on it) */
	bool late_hooks;      /* poststart or poststop hooks: start and delete
			       * read the config only when there are some */
	struct oci_kv *annotations;
	size_t n_annotations;
};

void state_record_clear(struct state_record *rec);

struct state_dir {
	int fd;      /* O_DIRECTORY, the lock holder when locked */
	char *path;
	char *id;
};

/* Make root (mode 0700) if needed and the container's directory in it, and
 * lock it.  EEXIST becomes 'container "ID" already exists'. */
int state_dir_create(const char *root, const char *id, struct state_dir *ret,
		     struct cell_err **err);
/* Open an existing container's directory; ENOENT becomes
 * 'container "ID" does not exist'.  lock: wait for the lock. */
int state_dir_open(const char *root, const char *id, bool lock, struct state_dir *ret,
		   struct cell_err **err);
/* Take the lock without waiting: 0, or -EWOULDBLOCK when another command holds it. */
int state_dir_try_lock(struct state_dir *dir);
void state_dir_close(struct state_dir *dir);
/* Remove the directory and everything in it; the fd stays valid until close. */
int state_dir_remove(struct state_dir *dir, struct cell_err **err);

int state_record_write(struct state_dir *dir, const struct state_record *rec,
		       struct cell_err **err);
/* -ENOENT (with a message) when create died before writing one. */
int state_record_read(struct state_dir *dir, struct state_record *ret, struct cell_err **err);

/* The ids under root, sorted; an absent root is an empty list. */
int state_list_ids(const char *root, char ***ret, struct cell_err **err);

/* ---- the ledger --------------------------------------------------------- */

struct ledger_entry {
	char *kind;  /* "cgroup", "veth", ... : who knows how to undo it */
	char **args;
};

/* Append one line "kind arg..." before the resource it names is created.
 * Args are %XX-escaped where they hold spaces, '%' or control bytes. */
int ledger_append(struct state_dir *dir, const char *kind, char *const *args,
		  struct cell_err **err);
/* Entries in the order they were recorded; an absent ledger is empty. */
int ledger_read(struct state_dir *dir, struct ledger_entry **ret, size_t *ret_n,
		struct cell_err **err);
void ledger_free(struct ledger_entry *entries, size_t n);

#endif
