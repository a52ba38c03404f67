/* OOM notifications: the v1 eventfd and the v2 inotify watch behind one
 * poll-able fd (see cgroup-events.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "base/util.h"
#include "os/cgroup-events.h"
#include "os/cgroup-internal.h"

struct cgroup_oom_watch {
	bool v2;
	char *dir;     /* the memory directory of the cgroup */
	int fd;        /* v1 eventfd, v2 inotify */
	int oom_fd;    /* v1: memory.oom_control, kept open with the registration */
	uint64_t seen; /* v2: the larger of "oom" and "oom_kill" at the last read */
};

/* "key N" in a flat-keyed file's text; false when absent. */
static bool counter(const char *text, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
			*ret = strtoull(l + kl + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

static int memory_dir(struct cgroup *cg, bool *v2, const char **ret, struct cell_err **err)
{
	int h = cg_find_controller(cg->ctx, "memory", "memory");
	if (h < 0 || cg->absent[h])
		return cell_err(err, ENOENT, "cgroup %s: no memory controller", cg->path);
	*v2 = cg->ctx->hier[h].v2;
	*ret = cg->dirs[h];
	return 0;
}

/* v2: the count the watch compares with. */
static int v2_count(const char *dir, uint64_t *ret, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	int r = cg_read(dir, "memory.events", &text, err);
	if (r < 0)
		return r;
	uint64_t oom = 0, kill = 0;
	counter(text, "oom", &oom);
	counter(text, "oom_kill", &kill);
	*ret = oom > kill ? oom : kill;
	return 0;
}

static int v1_register(struct cgroup_oom_watch *w, struct cell_err **err)
{
	w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->fd < 0)
		return cell_err_sys(err, "eventfd");
	_cleanup_free_ char *path = xasprintf("%s/memory.oom_control", w->dir);
	w->oom_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->oom_fd < 0)
		return cell_err_sys(err, "open %s", path);
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%d %d", w->fd, w->oom_fd);
	_cleanup_free_ char *ctl = xasprintf("%s/cgroup.event_control", w->dir);
	return cell_write_file(ctl, buf, (size_t)n, err);
}

static int v2_register(struct cgroup_oom_watch *w, struct cell_err **err)
{
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0)
		return cell_err_sys(err, "inotify_init1");
	_cleanup_free_ char *path = xasprintf("%s/memory.events", w->dir);
	if (inotify_add_watch(w->fd, path, IN_MODIFY | IN_DELETE_SELF | IN_IGNORED) < 0)
		return cell_err_sys(err, "inotify_add_watch %s", path);
	/* The baseline after the watch exists: nothing falls in between. */
	return v2_count(w->dir, &w->seen, err);
}

int cgroup_oom_watch_open(struct cgroup *cg, struct cgroup_oom_watch **ret,
			  struct cell_err **err)
{
	const char *dir = NULL;
	bool v2 = false;
	int r = memory_dir(cg, &v2, &dir, err);
	if (r < 0)
		return r;
	struct cgroup_oom_watch *w = xcalloc(1, sizeof(*w));
	*w = (struct cgroup_oom_watch){ .v2 = v2, .dir = xstrdup(dir), .fd = -1, .oom_fd = -1 };
	r = v2 ? v2_register(w, err) : v1_register(w, err);
	if (r < 0) {
		cgroup_oom_watch_free(w);
		return cell_err_wrap(err, "watch cgroup %s for OOM", cg->path);
	}
	*ret = w;
	return 0;
}

int cgroup_oom_watch_fd(const struct cgroup_oom_watch *w)
{
	return w->fd;
}

static int gone(struct cgroup_oom_watch *w, struct cell_err **err)
{
	return cell_err(err, ENOENT, "cgroup %s is gone", w->dir);
}

int cgroup_oom_watch_read(struct cgroup_oom_watch *w, uint64_t *ret, struct cell_err **err)
{
	if (!w->v2) {
		uint64_t n = 0;
		if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return cell_err_sys(err, "read the OOM eventfd of %s", w->dir);
		/* The kernel also signals the eventfd when the cgroup goes. */
		if (!cg_exists(w->dir, "memory.oom_control")) {
			if (n > 0)
				n--;
			if (n == 0)
				return gone(w, err);
		}
		*ret = n;
		return 0;
	}
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	uint64_t now;
	_cleanup_err_ struct cell_err *e = NULL;
	if (v2_count(w->dir, &now, &e) < 0)
		return gone(w, err);
	*ret = now > w->seen ? now - w->seen : 0;
	w->seen = now;
	return 0;
}

void cgroup_oom_watch_free(struct cgroup_oom_watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->oom_fd >= 0)
		close(w->oom_fd);
	free(w->dir);
	free(w);
}

void cgroup_oom_watch_freep(struct cgroup_oom_watch **w)
{
	cgroup_oom_watch_free(*w);
}

int cgroup_oom_kills(struct cgroup *cg, uint64_t *ret, struct cell_err **err)
{
	const char *dir = NULL;
	bool v2 = false;
	int r = memory_dir(cg, &v2, &dir, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *text = NULL;
	if ((r = cg_read(dir, v2 ? "memory.events" : "memory.oom_control", &text, err)) < 0)
		return r;
	if (!counter(text, "oom_kill", ret))
		return cell_err(err, ENOENT, "cgroup %s: the kernel counts no OOM kills", cg->path);
	return 0;
}
