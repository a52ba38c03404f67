/* The monitor's own sandbox (sandbox.c), set up before the first KVM_RUN
 * so that a guest that escapes into the monitor still lands in a container:
 *   1. sandbox_prepare(): new mount, IPC and UTS namespaces (PID comes from
 *      clone3; no network namespace: see sandbox.c); a tmpfs holding the
 *      guest's root (bind, nodev, nosuid) and a /proc, not yet entered;
 *   2. the VM is created: /dev/kvm, kernel files, the root fd are opened;
 *   3. sandbox_enter(): a cgroup namespace (we are in the VM's cgroup by
 *      then), pivot into the tmpfs (read-only), drop every
 *      capability but those serving the guest's file calls, no_new_privs,
 *      and a seccomp allowlist (anything else kills the monitor). */
#ifndef CELL_VM_SANDBOX_H
#define CELL_VM_SANDBOX_H

#include <stdbool.h>

#include "base/err.h"
#include "vm/vm.h"

struct sandbox {
	char *dir;        /* the tmpfs, until entered */
	char *rootfs;     /* the guest's root inside it (host view before entering) */
	bool entered;
};

/* dirfd: a directory to make the tmpfs mount point in (the VM's state dir). */
int sandbox_prepare(int dirfd, const char *dirpath, const char *rootfs, bool readonly,
		    struct sandbox *ret, struct cell_err **err);
int sandbox_enter(struct sandbox *sb, enum vm_kind kind, struct cell_err **err);
/* The guest root's path once entered ("/root"). */
#define SANDBOX_ROOT "/root"
void sandbox_clear(struct sandbox *sb);

/* The seccomp allowlist alone (tests/unit check its contents). */
const char *const *sandbox_syscalls(void);

#endif
