/* Shared by seccomp-build.c (libseccomp, in the compile child) and
 * seccomp-filter.c (the public side).  Not part of src/os's contract. */
#ifndef CELL_OS_SECCOMP_INTERNAL_H
#define CELL_OS_SECCOMP_INTERNAL_H

#include <stdbool.h>

#include "base/err.h"
#include "os/seccomp-filter.h"

/* What a build produced besides the BPF.  entry is the index of the
 * linux.seccomp.syscalls entry being added (-1 outside that loop): read by
 * the parent when the child is stuck or dies in libseccomp. */
struct seccomp_build {
	unsigned int flags; /* SECCOMP_FILTER_FLAG_*, NEW_LISTENER included when notify */
	bool notify;
	volatile long entry;
};

/* Translate s with libseccomp and write the raw BPF program to bpf_fd. */
int seccomp_build(const struct oci_seccomp *s, int bpf_fd, struct seccomp_build *out,
		  struct cell_err **err);

/* seccomp(2); glibc 2.36 has no wrapper. */
long seccomp_syscall(unsigned int op, unsigned int flags, void *args);

#endif
