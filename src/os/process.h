/* Processes: clone3, pidfds, and the identity of a pid over time.
 *
 * A pid alone names a process only until it is reaped; cell keeps (pid,
 * start time) pairs in its state and checks both before acting, and acts
 * through pidfds so a signal never reaches a recycled pid. */
#ifndef CELL_OS_PROCESS_H
#define CELL_OS_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* fork-like clone3: flags may carry CLONE_NEW* and CLONE_PIDFD.  Returns the
 * child's pid in the parent (with *ret_pidfd set when CLONE_PIDFD), 0 in the
 * child, or -errno.  set_tid (may be NULL) pins pids per namespace level. */
pid_t os_clone3(uint64_t flags, int *ret_pidfd, const pid_t *set_tid, size_t n_set_tid);
/* The same, born in the cgroup v2 directory cgroup_fd (CLONE_INTO_CGROUP):
 * no migration afterwards, so no wait for the cgroup lock. */
pid_t os_clone3_into(uint64_t flags, int cgroup_fd, int *ret_pidfd);

int os_pidfd_open(pid_t pid, unsigned int flags);
int os_pidfd_send_signal(int pidfd, int sig);

/* Field 22 of /proc/PID/stat: clock ticks since boot when it started. */
int os_proc_start_time(pid_t pid, uint64_t *ret);
/* An open pidfd for pid if it is alive and started at start_time; -ESRCH
 * when it is gone or the pid now names another process. */
int os_pidfd_open_checked(pid_t pid, uint64_t start_time);
/* Is the process alive and not a zombie? */
bool os_proc_alive(pid_t pid, uint64_t start_time);

/* Wait until the pidfd's process exits (or timeout_ms passes: -ETIMEDOUT). */
int os_pidfd_wait_exit(int pidfd, int timeout_ms);

/* A wait status as a shell reports it: the code, or 128 + signal. */
int os_exit_status(int wstatus);

#endif
