/* Paths inside a container's root filesystem, resolved as if that root were
 * "/" (openat2 RESOLVE_IN_ROOT): a symlink in an image can never make cell
 * mount, create or open something on the host.  Mount targets are then
 * named through /proc/self/fd/N of the fd these return. */
#ifndef CELL_CONTAINER_INROOT_H
#define CELL_CONTAINER_INROOT_H

#include <sys/types.h>

/* Open path (absolute or relative, always taken inside root); -errno. */
int inroot_open(int rootfd, const char *path, int flags);
/* mkdir -p inside root; returns an O_PATH fd of the directory or -errno. */
int inroot_mkdir_p(int rootfd, const char *path, mode_t mode);
/* Make the parents, then an empty regular file if nothing is there;
 * returns an O_PATH fd of whatever is at path or -errno. */
int inroot_mkfile(int rootfd, const char *path, mode_t mode);

/* "/proc/self/fd/N" for fd, in buf. */
const char *fd_path(int fd, char buf[static 32]);

#endif
