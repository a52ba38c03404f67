/* Terminals.  The init (or an exec'd process) opens a pty in the container's
 * own devpts and makes it its controlling terminal and stdio; the master
 * goes to whoever asked: podman's conmon or containerd's shim through the
 * console socket (runc's protocol: one message, the fd in SCM_RIGHTS), or
 * cell itself for `run -t`, which relays it to the caller's terminal. */
#ifndef CELL_CONTAINER_TTY_H
#define CELL_CONTAINER_TTY_H

#include <stdbool.h>

#include "base/err.h"
#include "oci/spec.h"

/* In the container, after pivot_root: open a pty, make its slave our
 * controlling tty and fds 0-2, bind it on /dev/console when console is set.
 * Returns the master (O_CLOEXEC). */
int tty_setup(const struct oci_process *p, bool console, int *ret_master, struct cell_err **err);

/* Hand the master to the console socket at path. */
int tty_send(const char *socket_path, int master, struct cell_err **err);

/* Relay the caller's stdin/stdout to master until the process behind
 * pidfd exits and its output is drained; raw mode and window size follow
 * the caller's terminal. */
int tty_relay(int master, int pidfd, struct cell_err **err);

#endif
