/* Naming cgroups: a path resolved per hierarchy (below the caller's own
 * cgroup when relative), the directories a ledger recorded, or where a
 * process is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

/* "/a//b/./c/" -> "/a/b/c" ("" for the root); ".." and newlines refused. */
static int normalize(const char *path, char **ret, struct cell_err **err)
{
	if (!path || !*path)
		return cell_err(err, EINVAL, "cgroup path is empty");
	if (strchr(path, '\n'))
		return cell_err(err, EINVAL, "cgroup path \"%s\" has a newline", path);
	_cleanup_free_ char *copy = xstrdup(path), *out = xstrdup("");
	char *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			return cell_err(err, EINVAL, "cgroup path \"%s\": \"..\" is not allowed", path);
		char *n = xasprintf("%s/%s", out, c);
		free(out);
		out = n;
	}
	if (path[0] != '/' && !*out)
		return cell_err(err, EINVAL, "cgroup path \"%s\" names no cgroup", path);
	*ret = TAKE_PTR(out);
	return 0;
}

/* The directory of a path from the hierarchy's root ("/x/y" or ""). */
char *cg_hier_dir(const struct cg_hier *h, const char *full)
{
	size_t rl = strlen(h->mount_root);
	/* A mount of a subtree (a container without cgroupns) shows the
	 * hierarchy from mount_root down. */
	if (strcmp(h->mount_root, "/") != 0 && strncmp(full, h->mount_root, rl) == 0 &&
	    (full[rl] == '/' || full[rl] == '\0'))
		full += rl;
	if (strcmp(full, "/") == 0)
		full = "";
	return xasprintf("%s%s", h->mount, full);
}

int cg_resolve(struct cgroup_ctx *ctx, const char *path, struct cgroup **ret,
		   struct cell_err **err)
{
	_cleanup_free_ char *norm = NULL;
	int r = normalize(path, &norm, err);
	if (r < 0)
		return r;
	struct cgroup *cg = cg_alloc(ctx, path);
	for (size_t i = 0; i < ctx->n_hier; i++) {
		const struct cg_hier *h = &ctx->hier[i];
		_cleanup_free_ char *full = path[0] == '/' ? xstrdup(norm)
				: xasprintf("%s%s", strcmp(h->self, "/") == 0 ? "" : h->self, norm);
		cg->dirs[i] = cg_hier_dir(h, full);
	}
	*ret = cg;
	return 0;
}

/* The hierarchy whose mount point holds dir, -1 for none. */
static int hier_of_dir(const struct cgroup_ctx *ctx, const char *dir)
{
	int best = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < ctx->n_hier; i++) {
		const char *m = ctx->hier[i].mount;
		size_t n = strlen(m);
		if (strncmp(dir, m, n) == 0 && (dir[n] == '/' || dir[n] == '\0') && n >= best_len) {
			best = (int)i;
			best_len = n;
		}
	}
	return best;
}

int cgroup_ctx_open_dirs(struct cgroup_ctx *ctx, char *const *dirs, struct cgroup **ret,
			 struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = cg_alloc(ctx, "/");
	for (size_t i = 0; i < ctx->n_hier; i++)
		cg->absent[i] = true;
	bool any = false;
	int name = -1;
	for (char *const *d = dirs; d && *d; d++) {
		int h = hier_of_dir(ctx, *d);
		if (h < 0 || strstr(*d, "/../") || cell_str_has_suffix(*d, "/..") || cg->dirs[h])
			return cell_err(err, EINVAL, "%s is not a cgroup directory of this host%s", *d,
					h >= 0 && cg->dirs[h] ? " (two in one hierarchy)" : "");
		cg->dirs[h] = xstrdup(*d);
		cg->absent[h] = access(*d, F_OK) < 0;
		any |= !cg->absent[h];
		if (name < 0 || ctx->hier[h].v2 ||
		    (!ctx->hier[name].v2 && cg_strv_has(ctx->hier[h].controllers, "name=systemd")))
			name = h;
	}
	if (!any)
		return cell_err(err, ENOENT, "cgroup %s does not exist", dirs && *dirs ? *dirs : "");
	const char *rel = cg->dirs[name] + strlen(ctx->hier[name].mount);
	free(cg->path);
	cg->path = xstrdup(*rel ? rel : "/");
	/* Hierarchies not recorded (mounted since): the same path, left alone. */
	for (size_t i = 0; i < ctx->n_hier; i++)
		if (!cg->dirs[i])
			cg->dirs[i] = cg_hier_dir(&ctx->hier[i], cg->path);
	*ret = TAKE_PTR(cg);
	return 0;
}

int cgroup_ctx_open(struct cgroup_ctx *ctx, const char *path, struct cgroup **ret,
		    struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r = cg_resolve(ctx, path, &cg, err);
	if (r < 0)
		return r;
	bool any = false;
	for (size_t i = 0; i < ctx->n_hier; i++) {
		cg->absent[i] = access(cg->dirs[i], F_OK) < 0;
		any |= !cg->absent[i];
	}
	if (!any)
		return cell_err(err, ENOENT, "cgroup %s does not exist", path);
	*ret = TAKE_PTR(cg);
	return 0;
}

int cgroup_ctx_of_text(struct cgroup_ctx *ctx, const char *proc_cgroup, struct cgroup **ret,
		       struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = cg_alloc(ctx, "/");
	_cleanup_free_ char *text = xstrdup(proc_cgroup), *name = NULL, *first = NULL;
	for (size_t i = 0; i < ctx->n_hier; i++)
		cg->absent[i] = true;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path;
		int h = cg_hier_of_line(ctx, line, &path);
		if (h < 0 || path[0] != '/' || !cg->absent[h])
			continue;
		cg->dirs[h] = cg_hier_dir(&ctx->hier[h], path);
		cg->absent[h] = false;
		/* The name: the v2 path, else name=systemd's (what systemd and
		 * ps show), else the first hierarchy's. */
		if (ctx->hier[h].v2 || (!name && cg_strv_has(ctx->hier[h].controllers,
							     "name=systemd")))
			free(name), name = xstrdup(path);
		if (!first)
			first = xstrdup(path);
	}
	if (!first)
		return cell_err(err, ENOENT, "no mounted hierarchy in the cgroup list");
	for (size_t i = 0; i < ctx->n_hier; i++)
		if (!cg->dirs[i])
			cg->dirs[i] = xstrdup(ctx->hier[i].mount);
	free(cg->path);
	cg->path = xstrdup(name ? name : first);
	*ret = TAKE_PTR(cg);
	return 0;
}

/* Resolve now, create later: the container runtime records the directories
 * in its ledger between the two, so a crash in between is recoverable. */
int cgroup_resolve(const char *path, struct cgroup **ret, struct cell_err **err)
{
	struct cgroup_ctx *ctx;
	int r = cgroup_ctx_host(&ctx, err);
	return r < 0 ? r : cg_resolve(ctx, path, ret, err);
}

int cgroup_open_dirs(char *const *dirs, struct cgroup **ret, struct cell_err **err)
{
	struct cgroup_ctx *ctx;
	int r = cgroup_ctx_host(&ctx, err);
	return r < 0 ? r : cgroup_ctx_open_dirs(ctx, dirs, ret, err);
}

int cgroup_open(const char *path, struct cgroup **ret, struct cell_err **err)
{
	struct cgroup_ctx *ctx;
	int r = cgroup_ctx_host(&ctx, err);
	return r < 0 ? r : cgroup_ctx_open(ctx, path, ret, err);
}

int cgroup_of_pid(pid_t pid, struct cgroup **ret, struct cell_err **err)
{
	struct cgroup_ctx *ctx;
	int r = cgroup_ctx_host(&ctx, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *file = xasprintf("/proc/%d/cgroup", (int)pid), *text = NULL;
	r = cell_read_file(file, CG_FILE_MAX, &text, NULL, err);
	if (r < 0)
		return cell_err_wrap(err, "cgroup of pid %d", (int)pid);
	r = cgroup_ctx_of_text(ctx, text, ret, err);
	return r < 0 ? cell_err_wrap(err, "cgroup of pid %d", (int)pid) : 0;
}

const char *cgroup_path(const struct cgroup *cg)
{
	return cg->path;
}

char *const *cgroup_dirs(const struct cgroup *cg)
{
	return cg->dirs;
}
