/* A cgroup's life: creation (with the v1 cpuset and v2 subtree_control
 * chores), entering processes and threads, removal. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "os/cgroup-internal.h"

/* Controllers that work on single threads in a v2 threaded subtree
 * (Documentation/admin-guide/cgroup-v2.rst, "Threads"). */
static const char *const threaded_controllers[] = { "cpu", "cpuset", "perf_event", "pids" };

struct cgroup *cg_alloc(struct cgroup_ctx *ctx, const char *path)
{
	struct cgroup *cg = xcalloc(1, sizeof(*cg));
	cg->ctx = ctx;
	cg->path = xstrdup(path);
	cg->dirs = xcalloc(ctx->n_hier + 1, sizeof(char *));
	cg->created = xcalloc(ctx->n_hier + 1, sizeof(char *));
	cg->absent = xcalloc(ctx->n_hier + 1, sizeof(bool));
	cg->v2_fd = -1;
	return cg;
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	if (cg->v2_fd >= 0)
		close(cg->v2_fd);
	/* dirs may have holes while being filled: free each, not as a strv */
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		free(cg->created[i]);
		free(cg->dirs[i]);
	}
	free(cg->created);
	free(cg->absent);
	free(cg->dirs);
	free(cg->path);
	free(cg);
}

void cgroup_freep(struct cgroup **cg)
{
	cgroup_free(*cg);
}

/* A new v1 cpuset cgroup has no CPUs and no memory nodes, and nothing can
 * enter it until it has both; give it the parent's. */
static int fix_cpuset(struct cgroup_ctx *ctx, const char *dir, struct cell_err **err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		_cleanup_free_ char *cur = NULL;
		int r = cg_read(dir, files[f], &cur, err);
		if (r < 0)
			return r;
		if (*cur)
			continue;
		_cleanup_free_ char *up = cg_dirname(dir), *val = NULL;
		for (;;) {
			free(val);
			val = NULL;
			r = cg_read(up, files[f], &val, err);
			if (r < 0)
				return r;
			if (*val || strlen(up) <= 1)
				break;
			char *next = cg_dirname(up);
			free(up);
			up = next;
		}
		r = cg_write(ctx, dir, files[f], val, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* On a pure v2 host, give the new cgroup every controller its parent
 * offers.  Best effort: a parent with processes of its own cannot pass
 * domain controllers down (no internal processes), and cgroup_apply()
 * names the field that needs a missing one. */
static void enable_all(struct cgroup_ctx *ctx, const char *parent)
{
	_cleanup_free_ char *avail = NULL, *on = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cg_read(parent, "cgroup.controllers", &avail, &e) < 0 ||
	    cg_read(parent, "cgroup.subtree_control", &on, &e) < 0) {
		cell_debug("cgroup: %s", e->msg);
		return;
	}
	char *save = NULL;
	for (char *c = strtok_r(avail, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		if (cg_words_have(on, c))
			continue;
		_cleanup_free_ char *plus = xasprintf("+%s", c);
		if (cg_write(ctx, parent, "cgroup.subtree_control", plus, &e) < 0)
			cell_debug("cgroup: %s", e->msg);
	}
}

/* mkdir every missing level of dirs[i], remembering the topmost made. */
static int make_dirs(struct cgroup *cg, size_t i, struct cell_err **err)
{
	const struct cg_hier *h = &cg->ctx->hier[i];
	bool cpuset = !h->v2 && cg_strv_has(h->controllers, "cpuset");
	bool enable = h->v2 && cg->ctx->mode == CGROUP_MODE_V2;
	_cleanup_free_ char *p = xstrdup(cg->dirs[i]);
	size_t start = strlen(h->mount);
	for (char *s = p + start; *s;) {
		char *slash = strchr(s + 1, '/');
		if (slash)
			*slash = '\0';
		if (enable) {
			_cleanup_free_ char *parent = cg_dirname(p);
			enable_all(cg->ctx, parent);
		}
		if (mkdir(p, 0755) == 0) {
			if (!cg->created[i])
				cg->created[i] = xstrdup(p);
		} else if (errno != EEXIST) {
			return cell_err_sys(err, "mkdir %s", p);
		}
		if (cpuset) {
			int r = fix_cpuset(cg->ctx, p, err);
			if (r < 0)
				return r;
		}
		if (!slash)
			break;
		*slash = '/';
		s = slash;
	}
	return 0;
}

static int rm_tree(const char *dir, struct cell_err **err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : cell_err_sys(err, "open %s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN || lstat(sub, &st) < 0 || !S_ISDIR(st.st_mode)))
			continue;
		int r = rm_tree(sub, err);
		if (r < 0)
			return r;
	}
	/* A task that just exited can keep a cgroup busy for a moment; longer
	 * waits are the caller's (destroy found no task before this). */
	for (int i = 0;; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || i == 10)
			return cell_err_sys(err, "remove %s", dir);
		usleep(5000);
	}
}

/* Whether hierarchy h serves one of controllers (NULL: every hierarchy). */
static bool hier_serves(const struct cg_hier *h, const char *const *controllers)
{
	for (const char *const *c = controllers; c && *c; c++)
		if (cg_strv_has(h->controllers, *c))
			return true;
	return !controllers;
}

/* Undo what create made in hierarchy i. */
static void unmake_dir(struct cgroup *cg, size_t i)
{
	_cleanup_err_ struct cell_err *e = NULL;
	if (cg->created[i] && rm_tree(cg->created[i], &e) < 0)
		cell_warn("cgroup: %s", e->msg);
	free(cg->created[i]);
	cg->created[i] = NULL;
}

/* Undo what create made, deepest first. */
static void unmake_dirs(struct cgroup *cg)
{
	for (size_t i = 0; i < cg->ctx->n_hier; i++)
		unmake_dir(cg, i);
}

int cgroup_make(struct cgroup *cg, struct cell_err **err)
{
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		if (cg->absent[i])
			continue;
		int r = make_dirs(cg, i, err);
		if (r < 0) {
			unmake_dirs(cg);
			return cell_err_wrap(err, "create cgroup %s", cg->path);
		}
	}
	return 0;
}

/* The hierarchies cgroup_make_some() covers. */
static bool some_covers(const struct cg_hier *h, const char *const *controllers, bool with_v2)
{
	return h->v2 ? with_v2 : controllers && hier_serves(h, controllers);
}

int cgroup_make_some(struct cgroup *cg, const char *const *controllers, bool with_v2,
		     char ***ret_dirs, struct cell_err **err)
{
	char **dirs = NULL;
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		if (cg->absent[i] || !some_covers(&cg->ctx->hier[i], controllers, with_v2))
			continue;
		int r = make_dirs(cg, i, err);
		if (r < 0) {
			for (size_t j = 0; j <= i; j++)
				if (!cg->absent[j] && some_covers(&cg->ctx->hier[j], controllers, with_v2))
					unmake_dir(cg, j);
			cell_strv_free(dirs);
			return cell_err_wrap(err, "create cgroup %s", cg->path);
		}
		cell_strv_push(&dirs, cg->dirs[i]);
	}
	if (ret_dirs)
		*ret_dirs = dirs;
	else
		cell_strv_free(dirs);
	return 0;
}

int cgroup_ctx_create(struct cgroup_ctx *ctx, const char *path, struct cgroup **ret,
		      struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r = cg_resolve(ctx, path, &cg, err);
	if (r < 0)
		return r;
	r = cgroup_make(cg, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(cg);
	return 0;
}

int cgroup_create(const char *path, struct cgroup **ret, struct cell_err **err)
{
	struct cgroup_ctx *ctx;
	int r = cgroup_ctx_host(&ctx, err);
	return r < 0 ? r : cgroup_ctx_create(ctx, path, ret, err);
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct cell_err **err)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		if (cg->absent[i])
			continue;
		int r = cg_write(cg->ctx, cg->dirs[i], "cgroup.procs", buf, err);
		if (r < 0)
			return cell_err_wrap(err, "move pid %d into cgroup %s", (int)pid, cg->path);
	}
	return 0;
}

/* v1 moves threads through "tasks" anywhere; v2 only inside a threaded
 * subtree, into a cgroup made by cgroup_create_threaded(). */
int cgroup_enter_thread(struct cgroup *cg, pid_t tid, struct cell_err **err)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)tid);
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		if (cg->absent[i])
			continue;
		const char *file = "tasks";
		if (cg->ctx->hier[i].v2) {
			_cleanup_free_ char *type = NULL;
			int r = cg_read(cg->dirs[i], "cgroup.type", &type, err);
			if (r < 0)
				return cell_err_wrap(err, "move thread %d into cgroup %s", (int)tid,
						     cg->path);
			if (strcmp(type, "threaded") != 0) {
				/* On a hybrid host the v2 side has no per-thread
				 * controllers; the thread stays with its process. */
				if (cg->ctx->mode == CGROUP_MODE_HYBRID)
					continue;
				return cell_err(err, EOPNOTSUPP,
						"move thread %d into cgroup %s: it is a \"%s\" cgroup; "
						"cgroup v2 places single threads only in threaded "
						"cgroups (cgroup_create_threaded)",
						(int)tid, cg->path, type);
			}
			file = "cgroup.threads";
		}
		int r = cg_write(cg->ctx, cg->dirs[i], file, buf, err);
		if (r < 0)
			return cell_err_wrap(err, "move thread %d into cgroup %s", (int)tid, cg->path);
	}
	return 0;
}

int cgroup_unified_fd(struct cgroup *cg)
{
	int u = cg->ctx->unified;
	if (u < 0 || cg->absent[u])
		return -1;
	if (cg->v2_fd < 0)
		cg->v2_fd = open(cg->dirs[u], O_PATH | O_DIRECTORY | O_CLOEXEC);
	return cg->v2_fd;
}

int cgroup_open_task_files(struct cgroup *cg, int *fds, size_t max, size_t *ret_n,
			   struct cell_err **err)
{
	size_t n = 0;
	int r = 0;
	for (size_t i = 0; i < cg->ctx->n_hier && r == 0; i++) {
		if (cg->absent[i] || cg->ctx->hier[i].v2)
			continue;
		_cleanup_free_ char *path = xasprintf("%s/tasks", cg->dirs[i]);
		if (n == max)
			r = cell_err(err, E2BIG, "cgroup %s: more than %zu v1 hierarchies", cg->path, max);
		else if ((fds[n] = open(path, O_WRONLY | O_CLOEXEC)) < 0)
			r = cell_err_sys(err, "open %s", path);
		else
			n++;
	}
	if (r < 0) {
		while (n)
			close(fds[--n]);
		return r;
	}
	*ret_n = n;
	return 0;
}

int cgroup_v2_fd(struct cgroup *cg)
{
	return cg->ctx->mode == CGROUP_MODE_V2 ? cgroup_unified_fd(cg) : -1;
}

/* Turn a fresh v2 directory into a threaded cgroup: its parent may pass
 * down only threaded controllers, and then becomes the threaded domain. */
static int make_threaded(struct cgroup *cg, size_t i, struct cell_err **err)
{
	_cleanup_free_ char *parent = cg_dirname(cg->dirs[i]), *avail = NULL, *on = NULL;
	int r = cg_read(parent, "cgroup.controllers", &avail, err);
	if (r < 0)
		return r;
	r = cg_read(parent, "cgroup.subtree_control", &on, err);
	if (r < 0)
		return r;
	char *save = NULL;
	_cleanup_free_ char *copy = xstrdup(on);
	for (char *c = strtok_r(copy, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		bool threaded = false;
		for (size_t t = 0; t < ARRAY_SIZE(threaded_controllers); t++)
			threaded |= strcmp(c, threaded_controllers[t]) == 0;
		if (!threaded)
			return cell_err(err, EOPNOTSUPP,
					"%s passes the domain controller %s to its children; a "
					"threaded cgroup cannot live below it", parent, c);
	}
	for (size_t t = 0; t < ARRAY_SIZE(threaded_controllers); t++) {
		const char *c = threaded_controllers[t];
		if (cg->ctx->mode != CGROUP_MODE_V2 || !cg_words_have(avail, c) ||
		    cg_words_have(on, c))
			continue;
		_cleanup_free_ char *plus = xasprintf("+%s", c);
		r = cg_write(cg->ctx, parent, "cgroup.subtree_control", plus, err);
		if (r < 0)
			return r;
	}
	return cg_write(cg->ctx, cg->dirs[i], "cgroup.type", "threaded", err);
}

int cgroup_create_threaded(struct cgroup *parent, const char *name, struct cgroup **ret,
			   struct cell_err **err)
{
	return cgroup_create_threaded_for(parent, name, NULL, ret, err);
}

int cgroup_create_threaded_for(struct cgroup *parent, const char *name,
			       const char *const *controllers, struct cgroup **ret,
			       struct cell_err **err)
{
	if (!*name || strchr(name, '/') || strchr(name, '\n') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return cell_err(err, EINVAL, "threaded cgroup name \"%s\" is not a single path "
					     "component", name);
	struct cgroup_ctx *ctx = parent->ctx;
	_cleanup_free_ char *path = xasprintf("%s/%s", parent->path, name);
	_cleanup_(cgroup_freep) struct cgroup *cg = cg_alloc(ctx, path);
	int r = 0;
	for (size_t i = 0; i < ctx->n_hier && r >= 0; i++) {
		cg->dirs[i] = xasprintf("%s/%s", parent->dirs[i], name);
		if (parent->absent[i] || !hier_serves(&ctx->hier[i], controllers)) {
			cg->absent[i] = true;
			continue;
		}
		if (mkdir(cg->dirs[i], 0755) == 0)
			cg->created[i] = xstrdup(cg->dirs[i]);
		else if (errno != EEXIST)
			r = cell_err_sys(err, "mkdir %s", cg->dirs[i]);
		if (r >= 0 && !ctx->hier[i].v2 && cg_strv_has(ctx->hier[i].controllers, "cpuset"))
			r = fix_cpuset(ctx, cg->dirs[i], err);
		if (r >= 0 && ctx->hier[i].v2)
			r = make_threaded(cg, i, err);
	}
	if (r < 0) {
		unmake_dirs(cg);
		return cell_err_wrap(err, "create threaded cgroup %s", path);
	}
	*ret = TAKE_PTR(cg);
	return 0;
}

static int any_pids(struct cgroup *cg, struct cell_err **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r = cgroup_pids(cg, &pids, &n, err);
	if (r < 0)
		return r;
	if (n > 0)
		return cell_err(err, EBUSY, "cgroup %s still has %zu process%s (pid %d%s)", cg->path,
				n, n == 1 ? "" : "es", (int)pids[0], n > 1 ? ", ..." : "");
	return 0;
}

int cgroup_destroy(struct cgroup *cg, struct cell_err **err)
{
	for (size_t i = 0; i < cg->ctx->n_hier; i++)
		if (!cg->absent[i] && strcmp(cg->dirs[i], cg->ctx->hier[i].mount) == 0)
			return cell_err(err, EINVAL, "refusing to remove %s, the root of a cgroup "
						     "hierarchy", cg->dirs[i]);
	int r = any_pids(cg, err);
	if (r < 0)
		return r;
	int first = 0;
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		_cleanup_err_ struct cell_err *e = NULL;
		if (cg->absent[i])
			continue;
		r = rm_tree(cg->dirs[i], &e);
		if (r < 0 && first == 0) {
			first = r;
			if (err) {
				cell_err_free(*err);
				*err = TAKE_PTR(e);
			}
		}
	}
	if (first < 0)
		return cell_err_wrap(err, "remove cgroup %s", cg->path);
	/* Parents this object made go too, while nothing else lives there. */
	for (size_t i = 0; i < cg->ctx->n_hier; i++) {
		if (!cg->created[i])
			continue;
		_cleanup_free_ char *up = cg_dirname(cg->dirs[i]);
		while (strlen(up) >= strlen(cg->created[i]) && rmdir(up) == 0) {
			char *next = cg_dirname(up);
			free(up);
			up = next;
		}
		free(cg->created[i]);
		cg->created[i] = NULL;
	}
	return 0;
}
