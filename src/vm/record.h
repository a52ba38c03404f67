/* VM records under ROOT/vm/ID (record.c):
 *   state.json   this record, replaced atomically
 *   result.json  how the VM ended, written by the monitor as it exits
 *   ledger       resources to undo (the cgroup), see state/state.h
 *   control.sock the monitor's control socket
 *   console.log  a detached VM's output
 * The directory's flock is held by the monitor for its whole life (and by a
 * foreground `cell vm run`): a free lock means nobody will clean up but us. */
#ifndef CELL_VM_RECORD_H
#define CELL_VM_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "state/state.h"
#include "vm/vm.h"

struct vm_record {
	char *id;
	enum vm_kind kind;
	char *what;
	char *created;
	pid_t pid;
	uint64_t pid_start;
	char *cgroup;
	bool paused;
	bool detached;
	char *bundle;   /* `cell run --isolation vm`'s bundle; NULL: none */
	char *rootfs;   /* the light guest's root; NULL: none */
};

void vm_record_clear(struct vm_record *r);
/* ROOT/vm */
char *vm_state_root(const char *root);
int vm_record_write(int dirfd, const struct vm_record *r, struct cell_err **err);
int vm_record_read(int dirfd, struct vm_record *ret, struct cell_err **err);
int vm_result_write(int dirfd, const struct vm_result *r);
int vm_result_read(int dirfd, struct vm_result *ret);
char *vm_result_describe(const struct vm_result *r);
/* Undo what the ledger lists (the cgroup) and remove the directory. */
int vm_record_cleanup(struct state_dir *dir, struct cell_err **err);
/* "/proc/self/fd/N/name" or "DIR/name": a socket path short enough for sun_path. */
char *vm_socket_path(const struct state_dir *dir, const char *name);

#endif
