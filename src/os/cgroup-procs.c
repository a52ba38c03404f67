/* The processes of a cgroup: listing, freezing, signalling. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "os/cgroup-internal.h"

/* How long a freeze may take before we give up: tasks in uninterruptible
 * sleep (NFS, FUSE) can hold it off indefinitely. */
#define FREEZE_TIMEOUT_NS (5ULL * 1000000000ULL)

static void push_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*v = xrealloc(*v, *cap * sizeof(pid_t));
	}
	(*v)[(*n)++] = pid;
}

/* The process a thread belongs to, 0 when it is gone. */
static pid_t tgid_of(pid_t tid)
{
	char path[48], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	const char *t = strstr(buf, "\nTgid:");
	return t ? (pid_t)strtol(t + 6, NULL, 10) : 0;
}

int cg_tree_pids(const char *dir, pid_t **v, size_t *n, size_t *cap, struct cell_err **err)
{
	_cleanup_free_ char *file = xasprintf("%s/cgroup.procs", dir), *text = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	int r = cell_read_file(file, 64u << 20, &text, NULL, &e);
	/* A v2 threaded cgroup lists threads only; their processes count. */
	bool threads = r == -EOPNOTSUPP;
	if (threads) {
		free(file);
		file = xasprintf("%s/cgroup.threads", dir);
		r = cell_read_file(file, 64u << 20, &text, NULL, &e);
	}
	if (r == -ENOENT && access(dir, F_OK) < 0)
		return 0; /* removed meanwhile */
	if (r < 0) {
		if (err) {
			cell_err_free(*err);
			*err = TAKE_PTR(e);
		}
		return r;
	}
	for (char *p = text; *p;) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		pid_t id = threads && pid > 0 ? tgid_of((pid_t)pid) : (pid_t)pid;
		if (id > 0)
			push_pid(v, n, cap, id);
		p = end;
		while (*p == '\n')
			p++;
	}
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : cell_err_sys(err, "open %s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		r = cg_tree_pids(sub, v, n, cap, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

static void sort_unique(pid_t *v, size_t *n)
{
	if (*n == 0)
		return;
	qsort(v, *n, sizeof(pid_t), cmp_pid);
	size_t w = 1;
	for (size_t i = 1; i < *n; i++)
		if (v[i] != v[w - 1])
			v[w++] = v[i];
	*n = w;
}

int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n, struct cell_err **err)
{
	_cleanup_free_ pid_t *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		if (cg->absent[i])
			continue;
		int r = cg_tree_pids(cg->dirs[i], &v, &n, &cap, err);
		if (r < 0)
			return cell_err_wrap(err, "list processes of cgroup %s", cg->path);
	}
	sort_unique(v, &n);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

/* The hierarchy that freezes: the v1 freezer, else the cgroup2 core
 * (cgroup.freeze needs no controller). */
static int freezer_of(struct cgroup *cg, bool *v2)
{
	int h = cg_find_controller(cg->ctx, "freezer", NULL);
	if (h < 0)
		h = cg->ctx->unified;
	if (h >= 0 && cg->absent[h])
		h = -1;
	*v2 = h >= 0 && cg->ctx->hier[h].v2;
	return h;
}

static int read_frozen(const char *dir, bool v2, bool *ret, struct cell_err **err)
{
	_cleanup_free_ char *s = NULL;
	int r = cg_read(dir, v2 ? "cgroup.events" : "freezer.state", &s, err);
	if (r < 0)
		return r;
	if (!v2) {
		*ret = strcmp(s, "FROZEN") == 0;
		return 0;
	}
	const char *f = strstr(s, "frozen ");
	*ret = f && (f == s || f[-1] == '\n') && f[7] == '1';
	return 0;
}

static int set_frozen(struct cgroup *cg, const char *dir, bool v2, bool frozen,
		      struct cell_err **err)
{
	const char *file = v2 ? "cgroup.freeze" : "freezer.state";
	const char *val = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
	uint64_t deadline = cell_now_ns() + FREEZE_TIMEOUT_NS;
	useconds_t nap = 1000;
	for (;;) {
		/* v1 needs the write repeated: it freezes the tasks it sees,
		 * and FREEZING lasts while new ones keep arriving. */
		int r = cg_write(cg->ctx, dir, file, val, err);
		if (r < 0)
			return r;
		bool now;
		r = read_frozen(dir, v2, &now, err);
		if (r < 0)
			return r;
		if (now == frozen)
			return 0;
		if (cell_now_ns() > deadline)
			break;
		usleep(nap);
		if (nap < 20000)
			nap *= 2;
	}
	if (frozen) {
		_cleanup_err_ struct cell_err *e = NULL;
		(void)cg_write(cg->ctx, dir, file, v2 ? "0" : "THAWED", &e);
	}
	return cell_err(err, EBUSY, "%s cgroup %s: its tasks did not %s within 5 s",
			frozen ? "freeze" : "thaw", cg->path, frozen ? "stop" : "resume");
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct cell_err **err)
{
	bool v2;
	int h = freezer_of(cg, &v2);
	if (h < 0)
		return cell_err(err, EOPNOTSUPP, "%s cgroup %s: no freezer (the v1 freezer "
						 "controller is not mounted and there is no cgroup2)",
				frozen ? "freeze" : "thaw", cg->path);
	return set_frozen(cg, cg->dirs[h], v2, frozen, err);
}

int cgroup_is_frozen(struct cgroup *cg, bool *ret, struct cell_err **err)
{
	bool v2;
	int h = freezer_of(cg, &v2);
	if (h < 0) {
		*ret = false;
		return 0;
	}
	return read_frozen(cg->dirs[h], v2, ret, err);
}

/* Signal each listed pid once; *ret_new counts those not signalled before. */
static int signal_listed(struct cgroup *cg, int sig, pid_t **seen, size_t *n_seen,
			 size_t *cap_seen, size_t *ret_new, struct cell_err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n, fresh = 0;
	int r = cgroup_pids(cg, &pids, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		bool old = false;
		for (size_t j = 0; j < *n_seen && !old; j++)
			old = (*seen)[j] == pids[i];
		if (old)
			continue;
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			return cell_err_sys(err, "signal %d to pid %d of cgroup %s", sig,
					    (int)pids[i], cg->path);
		push_pid(seen, n_seen, cap_seen, pids[i]);
		fresh++;
	}
	*ret_new = fresh;
	return 0;
}

/* cgroup.kill (Linux 5.14) kills the whole v2 subtree atomically; on a
 * hybrid host it is enough when every process is in the v2 cgroup too. */
static int try_cgroup_kill(struct cgroup *cg, bool *done, struct cell_err **err)
{
	*done = false;
	int u = cg->ctx->unified;
	if (u < 0 || cg->absent[u] || !cg_exists(cg->dirs[u], "cgroup.kill"))
		return 0;
	if (cg->ctx->mode != CGROUP_MODE_V2) {
		_cleanup_free_ pid_t *all = NULL, *in_v2 = NULL;
		size_t n_all, n_v2 = 0, cap = 0;
		int r = cgroup_pids(cg, &all, &n_all, err);
		if (r < 0)
			return r;
		r = cg_tree_pids(cg->dirs[u], &in_v2, &n_v2, &cap, err);
		if (r < 0)
			return r;
		sort_unique(in_v2, &n_v2);
		if (n_v2 != n_all || (n_all && memcmp(all, in_v2, n_all * sizeof(pid_t)) != 0))
			return 0;
	}
	int r = cg_write(cg->ctx, cg->dirs[u], "cgroup.kill", "1", err);
	if (r < 0)
		return r;
	*done = true;
	return 0;
}

int cgroup_kill_all(struct cgroup *cg, int sig, struct cell_err **err)
{
	bool done = false;
	int r = sig == SIGKILL ? try_cgroup_kill(cg, &done, err) : 0;
	if (r < 0 || done)
		return r < 0 ? cell_err_wrap(err, "kill cgroup %s", cg->path) : 0;
	_cleanup_free_ pid_t *seen = NULL;
	size_t n_seen = 0, cap = 0, fresh;
	bool v2, was = false;
	int h = freezer_of(cg, &v2);
	if (h >= 0) {
		/* Frozen, nothing forks between listing and signalling. */
		r = read_frozen(cg->dirs[h], v2, &was, err);
		if (r >= 0 && !was)
			r = set_frozen(cg, cg->dirs[h], v2, true, err);
		if (r < 0)
			return cell_err_wrap(err, "kill cgroup %s", cg->path);
		r = signal_listed(cg, sig, &seen, &n_seen, &cap, &fresh, err);
		/* v1-frozen tasks do not act on SIGKILL until thawed. */
		if (!was || sig == SIGKILL) {
			_cleanup_err_ struct cell_err *e = NULL;
			int t = set_frozen(cg, cg->dirs[h], v2, false, r < 0 ? &e : err);
			if (r >= 0)
				r = t;
		}
		return r < 0 ? cell_err_wrap(err, "kill cgroup %s", cg->path) : 0;
	}
	/* No freezer: repeat until a round finds nobody new. */
	for (int round = 0; round < 100; round++) {
		r = signal_listed(cg, sig, &seen, &n_seen, &cap, &fresh, err);
		if (r < 0)
			return cell_err_wrap(err, "kill cgroup %s", cg->path);
		if (fresh == 0)
			break;
	}
	return 0;
}
