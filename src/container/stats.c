/* Resource usage of containers (`cell stats`, `cell events`) and the OOM
 * watch behind `cell events`.  Everything is read, nothing written: the
 * state record and ledger for who the container is, the cgroup for its
 * counters, /proc/INIT/net/dev for its network namespace. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "container/internal.h"
#include "os/cgroup-events.h"
#include "os/cgroup.h"
#include "os/process.h"

#define NET_DEV_MAX (1u << 20)

/* The container's record and live status; no record (create died early)
 * reads as stopped. */
static int open_status(const struct container_ctx *ctx, const char *id, struct state_dir *dir,
		       struct state_record *rec, enum container_status *st, struct cell_err **err)
{
	int r = state_dir_open(ctx->root, id, false, dir, err);
	if (r < 0)
		return r;
	struct cell_err *e = NULL;
	memset(rec, 0, sizeof(*rec));
	*st = CONTAINER_STOPPED;
	r = state_record_read(dir, rec, &e);
	cell_err_free(e);
	if (r == 0)
		container_status_of(dir, rec, false, st);
	return 0;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Is pid in a network namespace other than ours?  A container sharing the
 * host's would otherwise report the host's interfaces as its own. */
static bool own_netns(pid_t pid)
{
	char path[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
		return false;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

static void read_net(struct container_stats *s)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)s->pid);
	_cleanup_free_ char *text = NULL;
	size_t len;
	_cleanup_err_ struct cell_err *e = NULL;
	if (!own_netns(s->pid) || cell_read_file(path, NET_DEV_MAX, &text, &len, &e) < 0)
		return;
	container_parse_net_dev(text, len, &s->net, &s->n_net);
}

static void read_cgroup(struct state_dir *dir, struct container_stats *s)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	/* A container whose cgroup is gone (or never made) has no counters:
	 * not an error for a view of many containers. */
	if (container_open_cgroup(dir, &cg, &e) < 0)
		return;
	/* The CPU counter is read first: this is its time, for rates. */
	s->read_ns = cell_now_ns();
	if (cgroup_stats(cg, &s->cg, &e) == 0)
		s->has_cgroup = true;
}

int container_stats(const struct container_ctx *ctx, const char *id, struct container_stats *ret,
		    struct cell_err **err)
{
	struct state_dir dir;
	struct state_record rec;
	enum container_status st;
	int r = open_status(ctx, id, &dir, &rec, &st, err);
	if (r < 0)
		return r;
	struct container_stats s = { .id = xstrdup(id), .status = st, .read_ns = cell_now_ns() };
	if (st != CONTAINER_STOPPED && st != CONTAINER_CREATING) {
		s.pid = rec.pid;
		long tck = sysconf(_SC_CLK_TCK);
		uint64_t started = tck > 0 ? rec.pid_start * (1000000000ULL / (uint64_t)tck) : 0;
		uint64_t now = boottime_ns();
		s.lifetime_ns = now > started ? now - started : 0;
	}
	read_cgroup(&dir, &s);
	if (s.pid)
		read_net(&s);
	state_record_clear(&rec);
	state_dir_close(&dir);
	*ret = s;
	return 0;
}

void container_stats_clear(struct container_stats *s)
{
	if (!s)
		return;
	free(s->id);
	cgroup_stats_release(&s->cg);
	free(s->net);
	memset(s, 0, sizeof(*s));
}

int container_oom_kills_in(struct state_dir *dir, uint64_t *ret, struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r = container_open_cgroup(dir, &cg, err);
	if (r < 0)
		return r;
	return cgroup_oom_kills(cg, ret, err);
}

int container_oom_kills(const struct container_ctx *ctx, const char *id, uint64_t *ret,
			struct cell_err **err)
{
	struct state_dir dir;
	int r = state_dir_open(ctx->root, id, false, &dir, err);
	if (r < 0)
		return r;
	r = container_oom_kills_in(&dir, ret, err);
	state_dir_close(&dir);
	return r < 0 ? cell_err_wrap(err, "container \"%s\"", id) : 0;
}

/* ---- the OOM watch ---------------------------------------------------------- */

struct container_watch {
	struct cgroup_oom_watch *oom;
	int pidfd;   /* the init; -1 once it is gone */
	bool ended;  /* the init is gone or the cgroup removed: report EXIT */
};

int container_watch_open(const struct container_ctx *ctx, const char *id,
			 struct container_watch **ret, struct cell_err **err)
{
	struct state_dir dir;
	struct state_record rec;
	enum container_status st;
	int r = open_status(ctx, id, &dir, &rec, &st, err);
	if (r < 0)
		return r;
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	struct container_watch *w = xcalloc(1, sizeof(*w));
	w->pidfd = -1;
	if (st == CONTAINER_STOPPED || st == CONTAINER_CREATING)
		r = cell_err(err, 0, "container \"%s\" is not running", id);
	else if ((r = container_open_cgroup(&dir, &cg, err)) == 0 &&
		 (r = cgroup_oom_watch_open(cg, &w->oom, err)) == 0)
		/* After the watch: an init that dies in between is seen as gone. */
		w->pidfd = os_pidfd_open_checked(rec.pid, rec.pid_start);
	state_record_clear(&rec);
	state_dir_close(&dir);
	if (r < 0) {
		container_watch_free(w);
		return cell_err_wrap(err, "container \"%s\": events", id);
	}
	w->ended = w->pidfd < 0;
	*ret = w;
	return 0;
}

/* OOMs counted so far; -ENOENT once the cgroup is gone. */
static int drain(struct container_watch *w, uint64_t *n, struct cell_err **err)
{
	int r = cgroup_oom_watch_read(w->oom, n, err);
	if (r == -ENOENT) {
		cell_err_freep(err);
		w->ended = true;
		*n = 0;
		return 0;
	}
	return r;
}

int container_watch_wait(struct container_watch *w, int timeout_ms,
			 enum container_watch_event *ret, uint64_t *ret_n, struct cell_err **err)
{
	uint64_t n = 0;
	int r;
	*ret_n = 0;
	/* The kernel counts an OOM before its victim dies: once the init is
	 * gone, one last read reports any OOM that killed it. */
	if (w->ended) {
		if ((r = drain(w, &n, err)) < 0)
			return r;
		*ret = n ? CONTAINER_WATCH_OOM : CONTAINER_WATCH_EXIT;
		*ret_n = n;
		return 0;
	}
	struct pollfd p[2] = { { .fd = cgroup_oom_watch_fd(w->oom), .events = POLLIN },
			       { .fd = w->pidfd, .events = POLLIN } };
	r = poll(p, 2, timeout_ms);
	if (r < 0 && errno != EINTR)
		return cell_err_sys(err, "poll");
	if (r <= 0) {
		*ret = CONTAINER_WATCH_TIMEOUT;
		return 0;
	}
	if (p[1].revents)
		w->ended = true;
	if ((r = drain(w, &n, err)) < 0)
		return r;
	if (n) {
		*ret = CONTAINER_WATCH_OOM;
		*ret_n = n;
	} else {
		*ret = w->ended ? CONTAINER_WATCH_EXIT : CONTAINER_WATCH_TIMEOUT;
	}
	return 0;
}

void container_watch_free(struct container_watch *w)
{
	if (!w)
		return;
	cgroup_oom_watch_free(w->oom);
	if (w->pidfd >= 0)
		close(w->pidfd);
	free(w);
}
