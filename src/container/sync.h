/* The create-time conversation between cell (parent) and the container's
 * init (child), over a SOCK_SEQPACKET pair: one message per step, errors
 * travel as text, fds ride along with SCM_RIGHTS.
 *
 *   parent                         child (init)
 *   clone3, id maps            ->  GO
 *   cgroup                     ->  CGROUP         (one per v1 hierarchy, its
 *                                                  tasks file: the init moves
 *                                                  itself, create.c)
 *   rlimits, network           ->  PLACED
 *                                  namespaces, mounts, devices (in parallel
 *                                  with the parent's part, waiting for
 *                                  PLACED only before the cgroup namespace)
 *                            <-    HOOKS          (pre-pivot_root)
 *   prestart, createRuntime  ->    HOOKS_DONE     (with the state JSON)
 *                                  createContainer hooks, pivot_root,
 *                                  paths, terminal (<- PTY with the master)
 *                                  security (<- SECCOMP with a notify fd)
 *                            <-    READY
 *   state "created", pid file ->   COMMITTED
 *                                  wait on exec.fifo, then exec
 *
 * Either side seeing EOF knows the other died, and gives up: that is how an
 * init never outlives a create that was killed mid-way. */
#ifndef CELL_CONTAINER_SYNC_H
#define CELL_CONTAINER_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "os/cgroup.h"

enum sync_type {
	SYNC_GO = 1,
	SYNC_PLACED,
	SYNC_CGROUP,  /* a v1 hierarchy's tasks file for the init to write "0" to */
	SYNC_USERNS,  /* two-stage spawn: the intermediate made a user namespace */
	SYNC_MAPPED,  /* ... and the parent wrote its id maps */
	SYNC_INIT,    /* ... and here is the init's pid */
	SYNC_HOOKS,
	SYNC_HOOKS_DONE,
	SYNC_PTY,
	SYNC_SECCOMP,
	SYNC_READY,
	SYNC_COMMITTED,
	SYNC_ERROR,
};

#define SYNC_DATA_MAX (64 * 1024)

struct sync_msg {
	enum sync_type type;
	char *data; /* NUL-terminated, owned; may be empty */
	int fd;     /* -1 unless one came along */
};

int sync_send(int sock, enum sync_type type, const char *data, int fd);
/* The next message, which must be of type want; an SYNC_ERROR from the peer
 * becomes err with its text, EOF becomes "init exited" or "cell exited". */
int sync_expect(int sock, enum sync_type want, struct sync_msg *ret, struct cell_err **err);
/* The next message whatever its type (want names it in errors). */
int sync_recv(int sock, const char *want, struct sync_msg *ret, struct cell_err **err);

/* A send to the peer failed with r (-EPIPE: it is gone).  A child exits
 * after reporting why (SYNC_ERROR), and that report, unread on the socket,
 * says more than "Broken pipe": err becomes it if there is one.  Returns r. */
int sync_peer_gone(int sock, int r, struct cell_err **err);

/* A child moving itself into its cgroup's v1 hierarchies, which spares the
 * parent's write of its pid and the RCU grace period that can cost
 * (cgroup_open_task_files()).  Parent: the tasks file of each, one
 * SYNC_CGROUP each.  Child: enter each that comes (write "0"), until a
 * message of type want (as sync_expect()). */
int sync_send_cgroup(int sock, struct cgroup *cg, struct cell_err **err);
int sync_expect_entering(int sock, enum sync_type want, struct sync_msg *ret,
			 struct cell_err **err);
void sync_msg_clear(struct sync_msg *m);

/* In the child: report err to the parent and exit. */
__attribute__((noreturn)) void sync_fail(int sock, struct cell_err *err);

#endif
