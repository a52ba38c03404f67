/* What the host mounted: v1 hierarchies, the cgroup2 hierarchy, or both,
 * read from /proc/self/mountinfo, and where the caller sits in each of
 * them (/proc/self/cgroup).  See proc(5) for both formats. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "os/cgroup-internal.h"

bool cg_strv_has(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Super options that are not controllers (see cgroup1_parse_param). */
static bool is_v1_option(const char *o)
{
	static const char *const opts[] = { "rw", "ro", "noprefix", "clone_children", "xattr",
					    "cpuset_v2_mode", "favordynmods", "all", "none" };
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (strcmp(o, opts[i]) == 0)
			return true;
	return cell_str_has_prefix(o, "release_agent=");
}

static char **v1_controllers(char *super)
{
	char **v = xcalloc(1, sizeof(char *));
	char *save = NULL;
	for (char *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (!is_v1_option(o) && !cg_strv_has(v, o))
			cell_strv_push(&v, o);
	return v;
}

static bool same_set(char *const *a, char *const *b)
{
	if (cell_strv_len(a) != cell_strv_len(b))
		return false;
	for (; *a; a++)
		if (!cg_strv_has(b, *a))
			return false;
	return true;
}

static void hier_clear(struct cg_hier *h)
{
	free(h->mount);
	free(h->mount_root);
	free(h->self);
	cell_strv_free(h->controllers);
}

void cgroup_ctx_free(struct cgroup_ctx *ctx)
{
	if (!ctx)
		return;
	for (size_t i = 0; i < ctx->n_hier; i++)
		hier_clear(&ctx->hier[i]);
	free(ctx->hier);
	free(ctx->prefix);
	cell_strv_free(ctx->hugepage_sizes);
	cell_strv_free(ctx->journal);
	free(ctx);
}

static void cgroup_ctx_freep(struct cgroup_ctx **ctx)
{
	cgroup_ctx_free(*ctx);
}

/* Split one mountinfo line into root, mount point, fstype and super
 * options; false for lines of another shape. */
static bool mountinfo_fields(char *line, char **root, char **mnt, char **fstype, char **super)
{
	char *f[6], *save = NULL, *t;
	size_t n = 0;
	for (t = strtok_r(line, " ", &save); t && n < 6; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	if (n < 6)
		return false;
	/* Optional fields run up to a lone "-". */
	while (t && strcmp(t, "-") != 0)
		t = strtok_r(NULL, " ", &save);
	if (!t)
		return false;
	*fstype = strtok_r(NULL, " ", &save);
	char *source = strtok_r(NULL, " ", &save);
	*super = strtok_r(NULL, " ", &save);
	if (!*fstype || !source || !*super)
		return false;
	*root = f[3];
	*mnt = f[4];
	unescape_octal(*root);
	unescape_octal(*mnt);
	return true;
}

static void add_hier(struct cgroup_ctx *ctx, const char *mnt, const char *root, char **ctrls,
		     bool v2)
{
	ctx->hier = xrealloc(ctx->hier, (ctx->n_hier + 1) * sizeof(*ctx->hier));
	ctx->hier[ctx->n_hier++] = (struct cg_hier){
		.mount = xasprintf("%s%s", ctx->prefix, strcmp(mnt, "/") == 0 ? "" : mnt),
		.mount_root = xstrdup(root),
		.self = xstrdup("/"),
		.controllers = ctrls,
		.v2 = v2,
	};
}

static int parse_mounts(struct cgroup_ctx *ctx, const char *mountinfo, struct cell_err **err)
{
	_cleanup_free_ char *text = xstrdup(mountinfo);
	_cleanup_free_ char *v2_mnt = NULL, *v2_root = NULL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *root, *mnt, *fstype, *super;
		_cleanup_free_ char *copy = xstrdup(line);
		if (!mountinfo_fields(copy, &root, &mnt, &fstype, &super))
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			/* The first one is the host's; later ones are bind mounts. */
			if (!v2_mnt) {
				v2_mnt = xstrdup(mnt);
				v2_root = xstrdup(root);
			}
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0)
			continue;
		char **ctrls = v1_controllers(super);
		bool dup = !ctrls[0];
		for (size_t i = 0; i < ctx->n_hier && !dup; i++)
			dup = same_set(ctx->hier[i].controllers, ctrls);
		if (dup)
			cell_strv_free(ctrls);
		else
			add_hier(ctx, mnt, root, ctrls, false);
	}
	bool v1_ctrl = false;
	for (size_t i = 0; i < ctx->n_hier; i++)
		for (char **c = ctx->hier[i].controllers; *c; c++)
			v1_ctrl |= !cell_str_has_prefix(*c, "name=");
	if (v2_mnt && !v1_ctrl) {
		/* Pure v2: a stray named v1 mount is nothing this host uses. */
		for (size_t i = 0; i < ctx->n_hier; i++)
			hier_clear(&ctx->hier[i]);
		ctx->n_hier = 0;
	}
	if (v2_mnt) {
		add_hier(ctx, v2_mnt, v2_root, xcalloc(1, sizeof(char *)), true);
		ctx->unified = (int)ctx->n_hier - 1;
	}
	if (ctx->n_hier == 0)
		return cell_err(err, ENOENT, "no cgroup file system is mounted (mountinfo has no "
					     "cgroup or cgroup2 entry)");
	ctx->mode = !v2_mnt ? CGROUP_MODE_V1 : v1_ctrl ? CGROUP_MODE_HYBRID : CGROUP_MODE_V2;
	return 0;
}

int cg_hier_of_line(const struct cgroup_ctx *ctx, char *line, char **ret_path)
{
	char *c1 = strchr(line, ':');
	char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2)
		return -1;
	*c2 = '\0';
	*ret_path = c2 + 1;
	const char *list = c1 + 1;
	if (!*list)
		return ctx->unified;
	_cleanup_free_ char *copy = xstrdup(list);
	_cleanup_strv_ char **set = v1_controllers(copy);
	for (size_t i = 0; i < ctx->n_hier; i++)
		if (!ctx->hier[i].v2 && same_set(ctx->hier[i].controllers, set))
			return (int)i;
	return -1;
}

static void parse_self(struct cgroup_ctx *ctx, const char *self_cgroup)
{
	_cleanup_free_ char *text = xstrdup(self_cgroup);
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *path;
		int h = cg_hier_of_line(ctx, line, &path);
		if (h < 0 || path[0] != '/')
			continue;
		free(ctx->hier[h].self);
		ctx->hier[h].self = xstrdup(path);
	}
}

/* cgroup.controllers of the v2 root: what the unified hierarchy offers. */
static void read_v2_controllers(struct cgroup_ctx *ctx)
{
	if (ctx->unified < 0)
		return;
	struct cg_hier *h = &ctx->hier[ctx->unified];
	_cleanup_free_ char *list = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cg_read(h->mount, "cgroup.controllers", &list, &e) < 0) {
		cell_debug("cgroup: %s", e->msg);
		return;
	}
	char *save = NULL;
	for (char *c = strtok_r(list, " ", &save); c; c = strtok_r(NULL, " ", &save))
		cell_strv_push(&h->controllers, c);
}

/* hugepages-2048kB -> "2MB", the way mm/hugetlb_cgroup.c names its files. */
static void read_hugepage_sizes(struct cgroup_ctx *ctx)
{
	_cleanup_free_ char *dir = xasprintf("%s/sys/kernel/mm/hugepages", ctx->prefix);
	_cleanup_closedir_ DIR *d = opendir(dir);
	ctx->hugepage_sizes = xcalloc(1, sizeof(char *));
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!cell_str_has_prefix(de->d_name, "hugepages-"))
			continue;
		char *end;
		unsigned long long kb = strtoull(de->d_name + strlen("hugepages-"), &end, 10);
		if (kb == 0 || strcmp(end, "kB") != 0)
			continue;
		_cleanup_free_ char *name = NULL;
		if (kb >= (1ULL << 20))
			name = xasprintf("%lluGB", kb >> 20);
		else if (kb >= (1ULL << 10))
			name = xasprintf("%lluMB", kb >> 10);
		else
			name = xasprintf("%lluKB", kb);
		cell_strv_push(&ctx->hugepage_sizes, name);
	}
}

int cgroup_ctx_new(const char *mountinfo, const char *self_cgroup, const char *prefix,
		   struct cgroup_ctx **ret, struct cell_err **err)
{
	_cleanup_(cgroup_ctx_freep) struct cgroup_ctx *ctx = xcalloc(1, sizeof(*ctx));
	ctx->prefix = xstrdup(prefix ? prefix : "");
	ctx->unified = -1;
	int r = parse_mounts(ctx, mountinfo, err);
	if (r < 0)
		return r;
	parse_self(ctx, self_cgroup);
	read_v2_controllers(ctx);
	read_hugepage_sizes(ctx);
	*ret = TAKE_PTR(ctx);
	return 0;
}

int cgroup_ctx_host(struct cgroup_ctx **ret, struct cell_err **err)
{
	static struct cgroup_ctx *host;
	struct cgroup_ctx *cur = __atomic_load_n(&host, __ATOMIC_ACQUIRE);
	if (cur) {
		*ret = cur;
		return 0;
	}
	_cleanup_free_ char *mountinfo = NULL, *self = NULL;
	int r = cell_read_file("/proc/self/mountinfo", 16u << 20, &mountinfo, NULL, err);
	if (r < 0)
		return r;
	r = cell_read_file("/proc/self/cgroup", CG_FILE_MAX, &self, NULL, err);
	if (r < 0)
		return r;
	struct cgroup_ctx *ctx;
	r = cgroup_ctx_new(mountinfo, self, "", &ctx, err);
	if (r < 0)
		return r;
	/* Threads (vCPUs) may race here; the loser frees its copy. */
	struct cgroup_ctx *expected = NULL;
	if (!__atomic_compare_exchange_n(&host, &expected, ctx, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		cgroup_ctx_free(ctx);
		ctx = expected;
	}
	*ret = ctx;
	return 0;
}

int cgroup_host_mode(enum cgroup_mode *ret, struct cell_err **err)
{
	struct cgroup_ctx *ctx;
	int r = cgroup_ctx_host(&ctx, err);
	if (r < 0)
		return r;
	*ret = ctx->mode;
	return 0;
}

int cg_find_controller(const struct cgroup_ctx *ctx, const char *v1name, const char *v2name)
{
	for (size_t i = 0; i < ctx->n_hier; i++)
		if (!ctx->hier[i].v2 && v1name && cg_strv_has(ctx->hier[i].controllers, v1name))
			return (int)i;
	if (ctx->unified >= 0 && v2name &&
	    cg_strv_has(ctx->hier[ctx->unified].controllers, v2name))
		return ctx->unified;
	return -1;
}
