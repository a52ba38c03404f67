/* The process-security layer: what the container's process (the init
 * process, or the one `cell exec` starts) applies to itself right before
 * execve, and what the runtime applies to it from outside.  One include for
 * the runtime; each header below has the details.
 *
 *   os/caps.h      capability sets (libcap)
 *   os/user.h      supplementary groups, gid, uid, umask
 *   os/seccomp-filter.h  compile in the runtime, install raw BPF in the child
 *   os/procattr.h  rlimits, oom_score_adj, personality, ioprio, scheduler,
 *                  CPU affinity, no_new_privs
 *
 * THE ORDER.  Each step is placed where its privilege is still there and
 * before whatever it must precede.
 *
 * In the runtime, before any clone/unshare (so bad input creates nothing):
 *   1. seccomp_compile(linux.seccomp)            -> struct seccomp_prog
 *      (libseccomp runs in a throwaway child with a deadline: it can hang)
 *      (`cell exec`: also procattr_set_cpu_affinity(0, initial) now, so the
 *      child starts on those CPUs before it joins the container's cgroup)
 *
 * In the runtime, on the child's pid, while the child waits on the sync
 * pipe (the runtime keeps its privileges in the initial user namespace,
 * which the child has lost if it made a new one; runc does the same):
 *   2. procattr_set_rlimits         raising a hard limit needs CAP_SYS_RESOURCE
 *   3. procattr_set_oom_score_adj   lowering needs CAP_SYS_RESOURCE
 *   4. procattr_set_io_priority, procattr_set_scheduler (CAP_SYS_NICE/ADMIN)
 *
 * In the child, after namespaces, uid/gid maps, cgroup, mounts and
 * pivot_root, with nothing left to do but become the user's program:
 *   5. procattr_set_cpu_affinity(0, final)   exec only; after the cgroup join
 *   6. procattr_set_personality              needs no privilege; any time
 *   7. procattr_set_no_new_privs             if process.noNewPrivileges; must
 *                                            precede 8b so no CAP_SYS_ADMIN is
 *                                            needed to install the filter
 *   8a. seccomp_install (only if noNewPrivileges is FALSE): now, while
 *       CAP_SYS_ADMIN is still there; the filter must then allow what steps
 *       9-13 call (seccomp_runtime_syscalls() lists them)
 *   9. caps_drop_bounding          needs CAP_SETPCAP, which step 11 clears
 *  10. caps_keep_on_uid_switch(true)   else step 11 empties the permitted set
 *  11. user_switch                 setgroups, setresgid before setresuid (they
 *                                  need CAP_SETGID), umask
 *  12. caps_apply                  capset after the switch (the switch clears
 *                                  the effective set), then ambient (needs the
 *                                  cap permitted and inheritable), KEEPCAPS off
 *   8b. seccomp_install (only if noNewPrivileges is TRUE): last, so the
 *       filter only sees the container's own syscalls
 *  13. send the listener fd (if seccomp_prog_uses_notify) to the runtime for
 *      linux.seccomp.listenerPath, close it
 *  14. execve
 *
 * Steps 9, 10 and 12 run only when process.capabilities is present.  The
 * child makes no libseccomp call: the program of step 1 is plain memory that
 * fork/clone copies, installed with one seccomp(2) call.
 *
 * Before step 1 the runtime can also reject bad input that needs no kernel
 * state, with nothing created yet: caps_check(process.capabilities) and
 * procattr_check(process, linux).
 *
 * No step prints; each returns 0 or -errno with a message naming the config
 * field ("process.capabilities.ambient: CAP_KILL must also be in permitted
 * and inheritable"). */
#ifndef CELL_OS_SECURITY_H
#define CELL_OS_SECURITY_H

#include "os/caps.h"
#include "os/procattr.h"
#include "os/seccomp-filter.h"
#include "os/user.h"

#endif
