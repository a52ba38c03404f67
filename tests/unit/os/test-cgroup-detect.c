/* Detection of the cgroup layout from mountinfo and /proc/self/cgroup
 * texts, and path resolution per hierarchy. */
#include <errno.h>

#include "cgroup-fake.h"
#include "t.h"

/* Pure v2, as systemd sets it up. */
static const char mi_v2[] =
	"22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
	"24 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw\n"
	"25 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
	"cgroup2 rw,nsdelegate,memory_recursiveprot\n";
static const char self_v2[] = "0::/user.slice/user-0.slice/session-1.scope\n";

/* Pure v1 with cpu,cpuacct and net_cls,net_prio co-mounted (Debian 10, RHEL 7). */
static const char mi_v1[] =
	"25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:10 - cgroup "
	"cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd\n"
	"28 25 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 "
	"- cgroup cgroup rw,net_cls,net_prio\n"
	"29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:12 - "
	"cgroup cgroup rw,cpu,cpuacct\n"
	"30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup "
	"cgroup rw,memory\n"
	"31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
	"cgroup rw,pids\n"
	"32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:15 - cgroup "
	"cgroup rw,cpuset,clone_children\n";
static const char self_v1[] = "12:cpuset:/\n"
			      "11:pids:/user.slice/user-0.slice/session-1.scope\n"
			      "10:memory:/user.slice/user-0.slice/session-1.scope\n"
			      "4:cpuacct,cpu:/user.slice\n"
			      "3:net_prio,net_cls:/\n"
			      "1:name=systemd:/user.slice/user-0.slice/session-1.scope\n"
			      "0::/user.slice/user-0.slice/session-1.scope\n";

/* This host: v1 controllers one per hierarchy, cgroup2 at unified. */
static const char mi_hybrid[] =
	"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
	"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
	"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
	"37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
	"38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
	"39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char self_hybrid[] = "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n"
				  "5:devices:/\n4:memory:/process_api/0123\n3:cpuset:/\n"
				  "2:cpuacct:/\n1:cpu:/\n0::/\n";

static int hier_with(const struct cgroup_ctx *ctx, const char *ctrl)
{
	for (size_t i = 0; i < ctx->n_hier; i++)
		if (cg_strv_has(ctx->hier[i].controllers, ctrl))
			return (int)i;
	return -1;
}

static void detect_pure_v2(void)
{
	_cleanup_fake_ char *root = fake_new();
	fake_put(root, "sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi_v2, self_v2, root, &ctx, &err), 0);
	T_ASSERT_INT(ctx->mode, CGROUP_MODE_V2);
	T_ASSERT_INT(ctx->n_hier, 1);
	T_ASSERT_INT(ctx->unified, 0);
	T_ASSERT_STR(ctx->hier[0].self, "/user.slice/user-0.slice/session-1.scope");
	T_ASSERT(cg_strv_has(ctx->hier[0].controllers, "hugetlb"));
	T_ASSERT_INT(cg_find_controller(ctx, "memory", "memory"), 0);
	T_ASSERT_INT(cg_find_controller(ctx, "net_cls", NULL), -1);
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_open(ctx, "/", &cg, &err), 0);
	_cleanup_free_ char *want = xasprintf("%s/sys/fs/cgroup", root);
	T_ASSERT_STR(cgroup_dirs(cg)[0], want);
	T_ASSERT(cgroup_dirs(cg)[1] == NULL);
}

static void detect_pure_v1_comounted(void)
{
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi_v1, self_v1, "/nonexistent", &ctx, &err), 0);
	T_ASSERT_INT(ctx->mode, CGROUP_MODE_V1);
	T_ASSERT_INT(ctx->unified, -1);
	T_ASSERT_INT(ctx->n_hier, 6);
	int cpu = hier_with(ctx, "cpu");
	T_ASSERT(cpu >= 0);
	T_ASSERT_INT(hier_with(ctx, "cpuacct"), cpu);
	T_ASSERT_INT(cg_find_controller(ctx, "cpuacct", "cpu"), cpu);
	T_ASSERT_STR(ctx->hier[cpu].mount, "/nonexistent/sys/fs/cgroup/cpu,cpuacct");
	/* /proc/self/cgroup spells the set in another order: still matched */
	T_ASSERT_STR(ctx->hier[cpu].self, "/user.slice");
	int sd = hier_with(ctx, "name=systemd");
	T_ASSERT_STR(ctx->hier[sd].self, "/user.slice/user-0.slice/session-1.scope");
	T_ASSERT_INT(cg_find_controller(ctx, "net_prio", NULL), hier_with(ctx, "net_cls"));
	/* clone_children and release_agent= are options, not controllers */
	T_ASSERT_INT(cell_strv_len(ctx->hier[hier_with(ctx, "cpuset")].controllers), 1);
	T_ASSERT_INT(cell_strv_len(ctx->hier[sd].controllers), 1);
	T_ASSERT_INT(cg_find_controller(ctx, "hugetlb", "hugetlb"), -1);
}

static void detect_hybrid_like_this_host(void)
{
	_cleanup_fake_ char *root = fake_new();
	fake_put(root, "sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
	fake_mkdir(root, "sys/kernel/mm/hugepages/hugepages-2048kB");
	fake_mkdir(root, "sys/kernel/mm/hugepages/hugepages-1048576kB");
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi_hybrid, self_hybrid, root, &ctx, &err), 0);
	T_ASSERT_INT(ctx->mode, CGROUP_MODE_HYBRID);
	T_ASSERT_INT(ctx->n_hier, 10);
	T_ASSERT(ctx->unified == 9 && ctx->hier[9].v2);
	T_ASSERT(hier_with(ctx, "cpu") != hier_with(ctx, "cpuacct"));
	/* hugetlb is not mounted as v1 here: the unified hierarchy serves it */
	T_ASSERT_INT(cg_find_controller(ctx, "hugetlb", "hugetlb"), 9);
	T_ASSERT_INT(cg_find_controller(ctx, "memory", "memory"), hier_with(ctx, "memory"));
	T_ASSERT_INT(cg_find_controller(ctx, "net_cls", NULL), -1);
	T_ASSERT(cg_strv_has(ctx->hugepage_sizes, "2MB"));
	T_ASSERT(cg_strv_has(ctx->hugepage_sizes, "1GB"));

	/* Relative paths go below the caller's cgroup in each hierarchy. */
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_open(ctx, "/", &cg, &err), 0);
	cgroup_free(cg);
	cg = NULL;
	T_ASSERT_INT(cgroup_ctx_open(ctx, "x", &cg, &err), -ENOENT);
	T_ASSERT_CONTAINS(err->msg, "cgroup x does not exist");
	cell_err_free(err);
	err = NULL;
	fake_mkdir(root, "sys/fs/cgroup/memory/process_api/0123/x");
	T_ASSERT_INT(cgroup_ctx_open(ctx, "x", &cg, &err), 0);
	_cleanup_free_ char *mem = xasprintf("%s/sys/fs/cgroup/memory/process_api/0123/x", root);
	_cleanup_free_ char *pids = xasprintf("%s/sys/fs/cgroup/pids/x", root);
	T_ASSERT_STR(cg->dirs[hier_with(ctx, "memory")], mem);
	T_ASSERT_STR(cg->dirs[hier_with(ctx, "pids")], pids);
	T_ASSERT(!cg->absent[hier_with(ctx, "memory")] && cg->absent[hier_with(ctx, "pids")]);
}

static void detect_nothing_mounted(void)
{
	struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new("22 1 0:21 / / rw - ext4 /dev/vda1 rw\n", "", "", &ctx, &err),
		     -ENOENT);
	T_ASSERT_CONTAINS(err->msg, "no cgroup file system is mounted");
}

/* A container's view: mount of a subtree, a space in the mount point. */
static void detect_subtree_mount_and_escapes(void)
{
	static const char mi[] = "100 90 0:40 /docker/abc /my\\040cgroup rw - cgroup2 cgroup2 rw\n";
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi, "0::/docker/abc\n", "/p", &ctx, &err), 0);
	T_ASSERT_STR(ctx->hier[0].mount, "/p/my cgroup");
	T_ASSERT_STR(ctx->hier[0].mount_root, "/docker/abc");
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_of_text(ctx, "0::/docker/abc/sub\n", &cg, &err), 0);
	T_ASSERT_STR(cg->dirs[0], "/p/my cgroup/sub");
	T_ASSERT_STR(cgroup_path(cg), "/docker/abc/sub");
}

static void paths_are_checked(void)
{
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi_v2, self_v2, "/nonexistent", &ctx, &err), 0);
	struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_create(ctx, "/a/../../etc", &cg, &err), -EINVAL);
	T_ASSERT_CONTAINS(err->msg, "cgroup path \"/a/../../etc\": \"..\" is not allowed");
	T_ASSERT_INT(cgroup_ctx_create(ctx, "", &cg, &err), -EINVAL);
	T_ASSERT_CONTAINS(err->msg, "cgroup path is empty");
	T_ASSERT_INT(cgroup_ctx_create(ctx, "./", &cg, &err), -EINVAL);
	T_ASSERT_CONTAINS(err->msg, "names no cgroup");
	T_ASSERT_INT(cgroup_ctx_create(ctx, "a\nb", &cg, &err), -EINVAL);
	T_ASSERT(cg == NULL);
}

/* What cgroup_of_pid returns: per-hierarchy directories where the pid
 * really is, named by the v2 path (hybrid) or name=systemd (v1). */
static void of_pid_text(void)
{
	_cleanup_ctx_ struct cgroup_ctx *h = NULL, *v1 = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi_hybrid, self_hybrid, "", &h, &err), 0);
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_of_text(h, "9:name=systemd:/sd\n4:memory:/m/c\n1:cpu:/c\n0::/u/c\n",
					&cg, &err), 0);
	T_ASSERT_STR(cgroup_path(cg), "/u/c");
	T_ASSERT_STR(cg->dirs[hier_with(h, "memory")], "/sys/fs/cgroup/memory/m/c");
	T_ASSERT_STR(cg->dirs[h->unified], "/sys/fs/cgroup/unified/u/c");
	T_ASSERT(cg->absent[hier_with(h, "pids")]);
	T_ASSERT_INT(cgroup_ctx_new(mi_v1, self_v1, "", &v1, &err), 0);
	_cleanup_(cgroup_freep) struct cgroup *c1 = NULL;
	T_ASSERT_INT(cgroup_ctx_of_text(v1, self_v1, &c1, &err), 0);
	T_ASSERT_STR(cgroup_path(c1), "/user.slice/user-0.slice/session-1.scope");
	T_ASSERT_STR(c1->dirs[hier_with(v1, "cpu")], "/sys/fs/cgroup/cpu,cpuacct/user.slice");
	T_ASSERT_INT(cgroup_ctx_of_text(v1, "7:perf_event:/x\n", &c1, &err), -ENOENT);
}

static void cpulists(void)
{
	struct cg_bits a, b;
	T_ASSERT_INT(cg_cpulist_parse("0-3,8,10-11\n", &a), 0);
	T_ASSERT(a.w[0] == 0xd0f);
	T_ASSERT_INT(cg_cpulist_parse("0-15", &b), 0);
	T_ASSERT(cg_bits_subset(&a, &b) && !cg_bits_subset(&b, &a));
	T_ASSERT_INT(cg_cpulist_parse("", &a), 0);
	T_ASSERT_INT(cg_cpulist_parse("3-1", &a), -EINVAL);
	T_ASSERT_INT(cg_cpulist_parse("1,", &a), -EINVAL);
	T_ASSERT_INT(cg_cpulist_parse("a", &a), -EINVAL);
	T_ASSERT_INT(cg_cpulist_parse("0-99999999999", &a), -ERANGE);
	T_ASSERT_INT(cg_cpulist_parse("8191", &a), 0);
	T_ASSERT_INT(cg_cpulist_parse("8192", &a), -ERANGE);
}

T_MAIN("cgroup-detect", T_CASE(detect_pure_v2), T_CASE(detect_pure_v1_comounted),
       T_CASE(detect_hybrid_like_this_host), T_CASE(detect_nothing_mounted),
       T_CASE(detect_subtree_mount_and_escapes), T_CASE(paths_are_checked), T_CASE(of_pid_text),
       T_CASE(cpulists))
