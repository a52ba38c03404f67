/* The monitor process (monitor.c) and how vm_launch() talks to it
 * (launch.c).  Internal to src/vm.
 *
 * Two pipes join them: "sync" (the launcher writes one byte once the
 * record is written) and "status" (the monitor writes "ready\n" or
 * "error MESSAGE\n" once the sandbox is up, and at the end the result as a
 * JSON line). */
#ifndef CELL_VM_MONITOR_H
#define CELL_VM_MONITOR_H

#include "os/cgroup.h"
#include "state/state.h"
#include "vm/record.h"
#include "vm/vm.h"

struct monitor_args {
	const struct vm_launch *l;
	struct state_dir *dir;
	struct vm_record *rec;
	char *const *cg_dirs;  /* the VM's cgroup directories (launch.c, make_cgroups_early) */
	int sync_fd;           /* read end */
	int status_fd;         /* write end */
};

/* First thing in the child, while it has one thread: move itself into the
 * cgroup directories dirs ("0" to each v1 hierarchy's tasks file; the v2
 * one too unless it was born there).  On failure it reports on status_fd
 * and exits.  The monitor enters the VM's other directories after its go. */
void monitor_enter_cgroup(char *const *dirs, bool in_v2, int status_fd);

/* The child's whole life; never returns. */
__attribute__((noreturn)) void monitor_main(struct monitor_args *a);

/* The monitor's own executable (monitor-exec.c): cell-vm-monitor beside
 * cell (or in a build tree's src/vm), opened O_PATH, or -1 when there is
 * none (the forked child then runs monitor_main() itself). */
int monitor_exe_open(void);

/* In the forked child: pass a (with its fds) in a memfd and exec exe_fd.
 * Returns only when that failed. */
void monitor_exec(int exe_fd, const struct monitor_args *a);

/* cell-vm-monitor's main(): read what monitor_exec() passed, run
 * monitor_main().  Returns 1 on a bad invocation. */
int monitor_exec_main(int argc, char **argv);

#endif
