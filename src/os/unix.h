/* Unix-socket messages with file descriptors attached (SCM_RIGHTS): the
 * console-socket protocol and the runtime's parent/child sync both use it. */
#ifndef CELL_OS_UNIX_H
#define CELL_OS_UNIX_H

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes with up to 4 fds in one message.  0 or -errno. */
int os_send_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);
/* Receive one message into buf (at most cap bytes) and up to max_fds fds,
 * which arrive O_CLOEXEC.  Returns the byte count (0 at EOF) or -errno;
 * *ret_n_fds says how many fds came. */
ssize_t os_recv_fds(int sock, void *buf, size_t cap, int *fds, size_t max_fds, size_t *ret_n_fds);

/* Connect a SOCK_STREAM socket to path; paths longer than sun_path are
 * reached through their directory's /proc/self/fd entry. */
int os_unix_connect(const char *path);

#endif
