/* The built-in root filesystem: busybox-static, embedded in the cell binary
 * at build time, unpacked once under the state root and shared read-only by
 * every container that asks for it (`cell run ID -- CMD` with no bundle). */
#ifndef CELL_CONTAINER_BUILTIN_H
#define CELL_CONTAINER_BUILTIN_H

#include "base/err.h"

/* The path of the unpacked rootfs under root, unpacking it if needed. */
int builtin_rootfs(const char *root, char **ret, struct cell_err **err);

#endif
