/* Per-process attributes of the container's process (init, or the process
 * `cell exec` starts): rlimits, oom_score_adj, personality, I/O priority,
 * scheduler, CPU affinity and no_new_privs.
 *
 * Functions taking a pid act on that process (0: the caller), so the runtime
 * can set them from outside.  That matters because several need privileges
 * in the INITIAL user namespace, which the container's process loses when it
 * enters a new user namespace, and which this host's runtime partly lacks
 * (CAP_SYS_RESOURCE is not in its bounding set):
 *
 *   rlimits         raising a hard limit needs CAP_SYS_RESOURCE
 *   oom_score_adj   lowering it needs CAP_SYS_RESOURCE
 *   io priority     IOPRIO_CLASS_RT needs CAP_SYS_ADMIN or CAP_SYS_NICE
 *   scheduler       real-time policies and lower nice values need CAP_SYS_NICE
 *
 * ORDER (see os/security.h for the whole sequence and why):
 *   runtime, on the child's pid once it exists and before the child runs
 *   the user's process (the child waits on the sync pipe):
 *       procattr_set_rlimits, procattr_set_oom_score_adj,
 *       procattr_set_io_priority, procattr_set_scheduler
 *   `cell exec` in itself before it forks (inherited by the child, so it runs
 *   there before joining the container's cgroup):
 *       procattr_set_cpu_affinity(0, execCPUAffinity.initial)
 *   the child, after joining the cgroup (which resets affinity to the
 *   cpuset): procattr_set_cpu_affinity(0, execCPUAffinity.final)
 *   the child, before seccomp_install and the capability drop:
 *       procattr_set_personality, procattr_set_no_new_privs
 *
 * Errors name the config field: "process.rlimits[1] (RLIMIT_NOFILE): raising
 * the hard limit from 20000 to 1048576 needs CAP_SYS_RESOURCE". */
#ifndef CELL_OS_PROCATTR_H
#define CELL_OS_PROCATTR_H

#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

/* Everything here that can be checked without the kernel, for the runtime to
 * call before it creates anything (with seccomp_compile and caps_check):
 * rlimit types and soft <= hard, the oomScoreAdj range, ioPriority class and
 * level, the scheduler policy, both execCPUAffinity lists, and
 * linux.personality.  proc or lx may be NULL.  The set functions below
 * repeat their part of these checks. */
int procattr_check(const struct oci_process *proc, const struct oci_linux *lx,
		   struct cell_err **err);
/* The syntax of a CPU list alone ("0-3,7"; CPUs 0-8191). */
int procattr_check_cpu_list(const char *cpus, const char *field, struct cell_err **err);

/* "RLIMIT_NOFILE" for RLIMIT_NOFILE; "RLIMIT_?" for what has no name. */
const char *procattr_rlimit_name(int res);

/* prlimit() each entry, in order.  Apply them before the uid switch: the
 * kernel checks RLIMIT_NPROC against the new uid at execve. */
int procattr_set_rlimits(pid_t pid, const struct oci_rlimit *rlimits, size_t n,
			 struct cell_err **err);

/* Write /proc/<pid>/oom_score_adj (-1000..1000). */
int procattr_set_oom_score_adj(pid_t pid, int value, struct cell_err **err);

/* personality(2) of the caller: domain PER_LINUX or PER_LINUX32 plus flags
 * named as in <sys/personality.h> ("ADDR_NO_RANDOMIZE", ...).  It takes
 * effect for the program execve starts (uname -m, address-space layout). */
int procattr_set_personality(unsigned long domain, char *const *flags, struct cell_err **err);

/* ioprio_set(IOPRIO_WHO_PROCESS, pid). */
int procattr_set_io_priority(pid_t pid, const struct oci_io_priority *prio,
			     struct cell_err **err);

/* sched_setattr(pid): policy, nice, priority, flags, and for SCHED_DEADLINE
 * runtime/deadline/period. */
int procattr_set_scheduler(pid_t pid, const struct oci_scheduler *sched, struct cell_err **err);

/* sched_setaffinity(pid) to a CPU list as the spec writes it ("0-3,7").
 * field names it in errors ("process.execCPUAffinity.initial"). */
int procattr_set_cpu_affinity(pid_t pid, const char *cpus, const char *field,
			      struct cell_err **err);

/* PR_SET_NO_NEW_PRIVS on the caller (process.noNewPrivileges): execve can
 * no longer grant privileges (setuid bits, file capabilities), and a seccomp
 * filter can then be installed without CAP_SYS_ADMIN. */
int procattr_set_no_new_privs(struct cell_err **err);

#endif
