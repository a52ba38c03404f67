/* src/vm: cell's KVM monitor and its light guest.  The contract.
 *
 * Two kinds of guest run on the same monitor:
 *  - the light guest: a static x86-64 Linux program from a root directory,
 *    in guest ring 3 on a minimal "kernel" that is mostly data the monitor
 *    writes; its Linux system calls are served by the monitor against that
 *    root directory only (docs/vm.md);
 *  - a Linux kernel booted by the x86-64 boot protocol (vmlinux or bzImage),
 *    with a 16550 serial console.
 *
 * Nothing here prints or exits.  Errors follow src/base/err.h. */
#ifndef CELL_VM_VM_H
#define CELL_VM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

#define VM_DEFAULT_MEM (256ULL << 20)

/* A light-guest program: the library entry point for `cell vm run` and
 * `cell run --isolation vm`. */
struct vm_guest_config {
	const char *rootfs;    /* the program's whole file system */
	char *const *argv;     /* argv[0]: absolute path in rootfs, or a name looked up in PATH */
	char *const *env;      /* "KEY=value"; NULL: empty */
	const char *cwd;       /* in rootfs; NULL: "/" */
	uint64_t mem_size;     /* guest RAM in bytes; 0: VM_DEFAULT_MEM */
	unsigned vcpus;        /* guest threads in guest code at once; 0: 1 */
	int stdio[3];          /* host fds given to the program as 0, 1, 2; -1: /dev/null */
	bool hugepages;        /* back guest RAM with transparent hugepages */
	uint32_t uid, gid;     /* what getuid()/getgid() report */
	const char *hostname;  /* uname()'s nodename; NULL: "cell" */
};

/* How a VM ended, as its caller should present it. */
struct vm_result {
	bool exited;       /* the program (guest init) exited with code */
	int code;
	int signal;        /* or was killed by this signal */
	bool core;         /* the signal's default action dumps core */
	bool vm_failed;    /* the VM itself failed (triple fault, KVM error) */
	char report[512];  /* what happened, when it was not a plain exit */
};

/* Run a light guest in the calling process until its first process exits.
 * ret is filled in on success (0); -errno when the VM could not start. */
int vm_guest_run(const struct vm_guest_config *cfg, struct vm_result *ret,
		 struct cell_err **err);

#endif
