/* Moving data between host fds and program memory (sys-io.c). */
#ifndef CELL_VM_GUEST_IO_H
#define CELL_VM_GUEST_IO_H

#include <stddef.h>
#include <stdint.h>

#include "vm/guest/lg.h"

struct lg_useg {
	uint64_t va;
	size_t len;
};

/* Read or write (write: memory -> file) up to the segments' total; off < 0
 * uses the file position.  Blocks the guest's way (signals interrupt). */
long lg_io_xfer(struct lg_task *t, struct lg_file *f, const struct lg_useg *segs, unsigned nseg,
		bool write, int64_t off);
/* Wait for hostfd to be ready: 0, or -ERESTARTSYS when a signal came. */
int lg_io_wait(struct lg_task *t, int hostfd, short events);

/* ppoll-style temporary signal mask (sys-poll.c). */
int lg_temp_sigmask(struct lg_task *t, uint64_t umask, uint64_t size);
/* fstat into program memory (sys-fd.c). */
long lg_stat_fd(struct lg_task *t, int hostfd, uint64_t va);
/* ftruncate for the program: growing past RLIMIT_FSIZE is SIGXFSZ + EFBIG. */
long lg_truncate_host(struct lg_task *t, int hostfd, int64_t len);

#endif
