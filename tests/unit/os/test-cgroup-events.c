/* OOM watches and counts (src/os/cgroup-events.h) against fake trees.
 * v2's inotify watch works on any file, so the whole v2 path runs here; v1
 * needs the kernel to signal the eventfd (tests/integration covers it), so
 * here only its registration and its end when the cgroup goes. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "cgroup-fake.h"
#include "os/cgroup-events.h"
#include "t.h"

static const char mi_v2[] =
	"25 24 0:23 / /sys/fs/cgroup rw,relatime shared:4 - cgroup2 cgroup2 rw\n";
static const char mi_v1[] =
	"30 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"31 25 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";
#define EVENTS "sys/fs/cgroup/ctr/memory.events"
#define V1DIR "sys/fs/cgroup/memory/ctr/"

struct fx {
	char *root;
	struct cgroup_ctx *ctx;
	struct cgroup *cg;
	struct cell_err *err;
	struct cgroup_oom_watch *w;
};

static void fx_done(struct fx *f)
{
	cgroup_oom_watch_free(f->w);
	cgroup_free(f->cg);
	cgroup_ctx_free(f->ctx);
	cell_err_free(f->err);
	fake_rm(f->root);
	free(f->root);
}

static int fx_init(struct fx *f, bool v2)
{
	*f = (struct fx){ .root = fake_new() };
	if (v2)
		fake_files(f->root, "sys/fs/cgroup", "cgroup.controllers", "memory pids\n", NULL);
	int r = cgroup_ctx_new(v2 ? mi_v2 : mi_v1, "0::/\n", f->root, &f->ctx, &f->err);
	for (size_t i = 0; r == 0 && i < f->ctx->n_hier; i++)
		r = cell_mkdir_p(f->ctx->hier[i].mount, 0755, &f->err);
	if (r == 0)
		r = cgroup_ctx_create(f->ctx, "/ctr", &f->cg, &f->err);
	if (v2)
		fake_files(f->root, "sys/fs/cgroup/ctr", "memory.events",
			   "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n", NULL);
	else
		fake_files(f->root, "sys/fs/cgroup/memory/ctr", "memory.oom_control",
			   "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "cgroup.event_control",
			   "", NULL);
	return r;
}

#define FX(v2)                                                 \
	_cleanup_(fx_done) struct fx f;                        \
	if (fx_init(&f, v2) < 0)                               \
		T_FAIL("setup: %s", f.err ? f.err->msg : "?")

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) == 1;
}

static void v2_counts_ooms_as_they_happen(void)
{
	FX(true);
	T_ASSERT_INT(cgroup_oom_watch_open(f.cg, &f.w, &f.err), 0);
	int fd = cgroup_oom_watch_fd(f.w);
	uint64_t n = 99;
	T_ASSERT(!readable(fd, 0));
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), 0);
	T_ASSERT_INT(n, 0);
	/* Two OOMs, one kill: "oom" is the count of OOM events. */
	fake_put(f.root, EVENTS, "low 0\nhigh 0\nmax 4\noom 2\noom_kill 1\n");
	T_ASSERT(readable(fd, 1000));
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), 0);
	T_ASSERT_INT(n, 2);
	T_ASSERT(!readable(fd, 0)); /* the read drained the notification */
	/* A change of other counters is a wake-up without an OOM. */
	fake_put(f.root, EVENTS, "low 0\nhigh 9\nmax 4\noom 2\noom_kill 1\n");
	T_ASSERT(readable(fd, 1000));
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), 0);
	T_ASSERT_INT(n, 0);
	/* A kill counted without an "oom" line moving still counts. */
	fake_put(f.root, EVENTS, "oom 2\noom_kill 4\n");
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), 0);
	T_ASSERT_INT(n, 2);
	uint64_t kills = 0;
	T_ASSERT_INT(cgroup_oom_kills(f.cg, &kills, &f.err), 0);
	T_ASSERT_INT(kills, 4);
	/* The cgroup goes: the watch ends. */
	_cleanup_free_ char *ev = xasprintf("%s/" EVENTS, f.root);
	unlink(ev);
	T_ASSERT(readable(fd, 1000));
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), -ENOENT);
	T_ASSERT_CONTAINS(f.err->msg, "is gone");
}

static void v1_registers_eventfd_and_ends_with_the_cgroup(void)
{
	FX(false);
	T_ASSERT_INT(cgroup_oom_watch_open(f.cg, &f.w, &f.err), 0);
	_cleanup_free_ char *ctl = fake_get(f.root, V1DIR "cgroup.event_control");
	int efd = -1, ofd = -1;
	T_ASSERT(ctl && sscanf(ctl, "%d %d", &efd, &ofd) == 2);
	T_ASSERT_INT(efd, cgroup_oom_watch_fd(f.w));
	T_ASSERT(ofd > 2 && ofd != efd);
	uint64_t n = 99, one = 1;
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), 0);
	T_ASSERT_INT(n, 0);
	/* What the kernel does on an OOM: add to the eventfd's counter. */
	T_ASSERT(write(efd, &one, sizeof(one)) == sizeof(one));
	T_ASSERT(write(efd, &one, sizeof(one)) == sizeof(one));
	T_ASSERT(readable(efd, 0));
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), 0);
	T_ASSERT_INT(n, 2);
	/* ... and once more on rmdir, which is not an OOM. */
	_cleanup_free_ char *oc = xasprintf("%s/" V1DIR "memory.oom_control", f.root);
	unlink(oc);
	T_ASSERT(write(efd, &one, sizeof(one)) == sizeof(one));
	T_ASSERT_INT(cgroup_oom_watch_read(f.w, &n, &f.err), -ENOENT);
}

static void v1_kill_count_and_refusals(void)
{
	FX(false);
	fake_put(f.root, "sys/fs/cgroup/memory/ctr/memory.oom_control",
		 "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n");
	uint64_t kills = 0;
	T_ASSERT_INT(cgroup_oom_kills(f.cg, &kills, &f.err), 0);
	T_ASSERT_INT(kills, 3);
	/* Before Linux 4.13 there is no oom_kill line. */
	fake_put(f.root, "sys/fs/cgroup/memory/ctr/memory.oom_control", "oom_kill_disable 0\n");
	T_ASSERT_INT(cgroup_oom_kills(f.cg, &kills, &f.err), -ENOENT);
	cell_err_freep(&f.err);
	/* A cgroup without a memory hierarchy cannot be watched. */
	struct cgroup *pids_only = NULL;
	static const char mi_pids[] =
		"31 25 0:28 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";
	struct cgroup_ctx *ctx = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi_pids, "0::/\n", f.root, &ctx, &f.err), 0);
	T_ASSERT_INT(cgroup_ctx_create(ctx, "/ctr", &pids_only, &f.err), 0);
	struct cgroup_oom_watch *w = NULL;
	int r = cgroup_oom_watch_open(pids_only, &w, &f.err);
	cgroup_free(pids_only);
	cgroup_ctx_free(ctx);
	T_ASSERT_INT(r, -ENOENT);
	T_ASSERT(w == NULL);
	T_ASSERT_CONTAINS(f.err->msg, "no memory controller");
}

T_MAIN("cgroup-events", T_CASE(v2_counts_ooms_as_they_happen),
       T_CASE(v1_registers_eventfd_and_ends_with_the_cgroup), T_CASE(v1_kill_count_and_refusals))
