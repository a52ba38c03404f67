/* OOM events of a cgroup, as they happen, for `cell events` and `state`.
 *
 *  - v1: an eventfd registered on memory.oom_control through
 *    cgroup.event_control (Documentation/admin-guide/cgroup-v1/memory.rst
 *    "OOM Control"); the kernel counts one per OOM in the cgroup and
 *    signals it once more when the cgroup is removed.
 *  - v2: inotify on memory.events, whose "oom" and "oom_kill" counters the
 *    kernel bumps (and notifies as a file modification) on every OOM.
 *
 * A watch is an fd to poll plus a read that says how many OOMs happened
 * since the last read.  No function here prints. */
#ifndef CELL_OS_CGROUP_EVENTS_H
#define CELL_OS_CGROUP_EVENTS_H

#include <stdint.h>

#include "base/err.h"
#include "os/cgroup.h"

struct cgroup_oom_watch;

/* Start watching; OOMs before this call are not reported.  -ENOENT (with a
 * message) when the cgroup has no memory controller or is gone. */
int cgroup_oom_watch_open(struct cgroup *cg, struct cgroup_oom_watch **ret,
			  struct cell_err **err);
/* Readable (POLLIN) when something may have happened. */
int cgroup_oom_watch_fd(const struct cgroup_oom_watch *w);
/* OOMs since the last read (0 when the wake-up was something else), never
 * blocking.  -ENOENT once the cgroup is gone: the watch is over. */
int cgroup_oom_watch_read(struct cgroup_oom_watch *w, uint64_t *ret, struct cell_err **err);
void cgroup_oom_watch_free(struct cgroup_oom_watch *w);
void cgroup_oom_watch_freep(struct cgroup_oom_watch **w);

/* Processes the OOM killer has killed in the cgroup so far (v1: the
 * oom_kill line of memory.oom_control, Linux 4.13; v2: memory.events).
 * One small read: cheap enough for `state` and `list`.  -ENOENT without a
 * memory controller or counter. */
int cgroup_oom_kills(struct cgroup *cg, uint64_t *ret, struct cell_err **err);

#endif
