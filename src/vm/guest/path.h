/* Guest paths.  Every name a program gives is resolved by the host kernel
 * with openat2(RESOLVE_IN_ROOT) on the root directory's fd: "..", absolute
 * symlinks and "/.." all stay inside the root, so nothing outside it can be
 * named (Documentation/filesystems/path-lookup.rst, openat2(2)). */
#ifndef CELL_VM_GUEST_PATH_H
#define CELL_VM_GUEST_PATH_H

#include <stdint.h>
#include <sys/types.h>

#include "vm/guest/lg.h"

#define LG_PATH_MAX 4096
#define LG_NAME_MAX 256

/* Read a path argument from the program: -EFAULT, -ENAMETOOLONG, -ENOENT ("") */
int lg_path_arg(struct lg_task *t, uint64_t va, char *out, bool allow_empty);

/* The absolute guest path of path relative to dirfd (AT_FDCWD: the cwd). */
int lg_path_abs(struct lg_task *t, int dirfd, const char *path, char *out);

/* openat2 under the root; resolve gets RESOLVE_IN_ROOT added. */
int lg_path_open(struct lg_task *t, int dirfd, const char *path, int flags, mode_t mode,
		 uint64_t resolve, int *ret_fd);

/* For operations on the last component itself (unlink, mkdir, lstat...):
 * an O_PATH fd of the directory holding it and the component's name.
 * -EINVAL for names that are not a component ("." or ".."), -ENOENT for "". */
int lg_path_parent(struct lg_task *t, int dirfd, const char *path, int *ret_dirfd, char *name);

/* The guest path of an open host fd (the physical one, symlinks resolved),
 * or -ENOENT when it is not under the root. */
int lg_path_of_fd(struct lg *lg, int hostfd, char *out);

/* A host path that names an open fd, for calls without an fd form. */
void lg_fd_path(int hostfd, char out[32]);

#endif
