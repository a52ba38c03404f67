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
	int root_fd;      /* the tmpfs (on top of "/" in our mount namespace), until entered */
	char *dir;        /* the tmpfs through root_fd, until entered */
	char *rootfs;     /* the guest's root inside it (host view before entering) */
	void *filter;     /* the seccomp program from sandbox_filter_build(), or NULL */
	size_t filter_len;
	bool entered;
};

/* rootfs: the guest's root to bind into the tmpfs, or NULL.  The tmpfs
 * needs no mount point on the host (sandbox.c, new_root). */
int sandbox_prepare(const char *rootfs, bool readonly, struct sandbox *ret, struct cell_err **err);
/* Loads sb->filter when set (taking it), else builds the filter itself. */
int sandbox_enter(struct sandbox *sb, enum vm_kind kind, struct cell_err **err);
/* The seccomp filter as the kernel takes it (struct sock_filter[], *ret_len
 * bytes, malloc'ed).  libseccomp takes ~0.4 ms to build it here, so the
 * launcher builds it while the monitor starts and passes it along. */
int sandbox_filter_build(void **ret, size_t *ret_len, struct cell_err **err);
/* The largest program the kernel takes (BPF_MAXINSNS), in bytes. */
#define SANDBOX_FILTER_MAX (4096 * 8)
/* The guest root's path once entered ("/root"). */
#define SANDBOX_ROOT "/root"
void sandbox_clear(struct sandbox *sb);

/* The seccomp allowlist alone (tests/unit check its contents). */
const char *const *sandbox_syscalls(void);

#endif
