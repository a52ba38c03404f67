/* The resource layer on this machine's real cgroups, part two: limits a
 * child feels (memory, OOM, cpusets, block devices, device access), what
 * the host cannot do refused by name, and the stats. */
#include <sys/utsname.h>
#include <time.h>

#include "cgroup-host.h"

/* ---- memory ----------------------------------------------------------- */

static void hog(void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		_exit(2);
	for (size_t i = 0; i < size; i += 4096)
		((volatile char *)m)[i] = 1;
	_exit(0);
}

static void memory_limit_oom_kills(void)
{
	HOST("oom", false);
	struct oci_resources r = { 0 };
	r.memory.has_limit = r.memory.has_swap = true;
	r.memory.limit = r.memory.swap = 32 << 20; /* and no swap */
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), 0);
	struct cgroup_stats before, after;
	T_ASSERT_INT(cgroup_stats(h.cg, &before, &h.err), 0);
	cgroup_stats_release(&before);
	T_ASSERT(before.has_memory);
	T_ASSERT_INT(before.memory.limit, 32 << 20);
	pid_t pid = spawn_in(&h, hog, (void *)(uintptr_t)(256u << 20));
	T_ASSERT(pid > 0);
	int status;
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	h.n_kids = 0;
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	T_ASSERT_INT(cgroup_stats(h.cg, &after, &h.err), 0);
	cgroup_stats_release(&after);
	T_ASSERT_INT(after.memory.oom_kill, before.memory.oom_kill + 1);
	T_ASSERT(after.memory.max_usage > (16u << 20));
	T_ASSERT(after.memory.max_usage <= (32u << 20));
	DESTROY_AND_CHECK();
}

struct holder {
	int ready;
};

static void hold_memory(void *arg)
{
	struct holder *ho = arg;
	size_t size = 24u << 20;
	char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t i = 0; m != MAP_FAILED && i < size; i += 4096)
		m[i] = 1;
	(void)!write(ho->ready, "r", 1);
	for (;;)
		pause();
}

/* v1 refuses a limit below what cannot be reclaimed (no swap) with
 * EBUSY: named, and nothing else of the apply happened. */
static void memory_limit_below_usage_v1(void)
{
	HOST("busy", true);
	if (h.cg->ctx->mode == CGROUP_MODE_V2)
		T_SKIP("v1 behaviour");
	int p[2];
	T_ASSERT(pipe(p) == 0);
	struct holder ho = { p[1] };
	T_ASSERT(spawn_in(&h, hold_memory, &ho) > 0);
	char c;
	T_ASSERT(read(p[0], &c, 1) == 1);
	close(p[0]), close(p[1]);
	struct oci_resources r = { .pids = { true, 50 } };
	r.memory.has_limit = true, r.memory.limit = 4 << 20;
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), -EBUSY);
	T_ASSERT_CONTAINS(h.err->msg, "linux.resources.memory.limit: 4194304 is below what the "
				      "cgroup uses now");
	T_ASSERT_CONTAINS(h.err->msg, "Device or resource busy");
	_cleanup_free_ char *pids = v1_file(&h, "pids", "pids.max");
	_cleanup_free_ char *lim = v1_file(&h, "memory", "memory.limit_in_bytes");
	T_ASSERT_STR(pids, "max");
	T_ASSERT_STR(lim, "9223372036854771712");
}

/* The kernel itself checks memory <= memory+swap after each write. */
static void memsw_order_real(void)
{
	HOST("memsw", true);
	int m = cg_find_controller(h.cg->ctx, "memory", NULL);
	if (m < 0 || !cg_exists(h.cg->dirs[m], "memory.memsw.limit_in_bytes"))
		T_SKIP("no v1 memory+swap accounting");
	static const int64_t steps[][2] = { { 64 << 20, 128 << 20 },
					    { 32 << 20, 48 << 20 },
					    { 256 << 20, 512 << 20 },
					    { 16 << 20, 16 << 20 },
					    { -1, -1 } };
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		struct oci_resources r = { 0 };
		r.memory.has_limit = r.memory.has_swap = true;
		r.memory.limit = steps[i][0], r.memory.swap = steps[i][1];
		if (cgroup_apply(h.cg, &r, &h.err) < 0)
			T_FAIL("step %zu: %s", i, h.err->msg);
		_cleanup_free_ char *lim = fake_get(h.cg->dirs[m], "memory.limit_in_bytes");
		_cleanup_free_ char *sw = fake_get(h.cg->dirs[m], "memory.memsw.limit_in_bytes");
		if (steps[i][0] > 0) {
			T_ASSERT_INT(strtoll(lim, NULL, 10), steps[i][0]);
			T_ASSERT_INT(strtoll(sw, NULL, 10), steps[i][1]);
		} else {
			T_ASSERT_STR(lim, "9223372036854771712");
			T_ASSERT_STR(sw, "9223372036854771712");
		}
	}
	DESTROY_AND_CHECK();
}

/* Linux 6.1+ takes memory.kmem.limit_in_bytes writes and ignores them. */
static void kernel_memory_is_not_dropped_silently(void)
{
	HOST("kmem", true);
	int m = cg_find_controller(h.cg->ctx, "memory", NULL);
	struct utsname u;
	uname(&u);
	int major = 0, minor = 0;
	sscanf(u.release, "%d.%d", &major, &minor);
	if (m < 0 || h.cg->ctx->hier[m].v2 || major < 6 || (major == 6 && minor < 1))
		T_SKIP("for v1 memory on Linux 6.1 or later");
	struct oci_resources r = { 0 };
	r.memory.has_kernel = true, r.memory.kernel = 64 << 20;
	r.pids.has_limit = true, r.pids.limit = 7;
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(h.err->msg, "linux.resources.memory.kernel: the kernel took \"67108864\"");
	T_ASSERT_CONTAINS(h.err->msg, "this kernel no longer supports it");
	/* what was written before is undone */
	_cleanup_free_ char *pids = v1_file(&h, "pids", "pids.max");
	T_ASSERT_STR(pids, "max");
	DESTROY_AND_CHECK();
}

/* ---- resources of this host -------------------------------------------------- */

static char *first_block_device(void)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/dev/block");
	struct dirent *de;
	char *any = NULL;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!cell_str_has_prefix(de->d_name, "7:")) { /* rather not a loop device */
			free(any);
			return xstrdup(de->d_name);
		}
		if (!any)
			any = xstrdup(de->d_name);
	}
	return any;
}

static void cpuset_and_block_devices(void)
{
	HOST("cpuset", true);
	int cs = cg_find_controller(h.cg->ctx, "cpuset", "cpuset");
	if (cs >= 0 && !h.cg->ctx->hier[cs].v2) {
		/* a new v1 cpuset got its parent's CPUs and nodes */
		_cleanup_free_ char *cpus = fake_get(h.dirs[cs], "cpuset.cpus");
		_cleanup_free_ char *root = fake_get(h.cg->ctx->hier[cs].mount, "cpuset.cpus");
		T_ASSERT_STR(cpus, root);
	}
	struct oci_resources r = { 0 };
	r.cpu.cpus = "0";
	r.cpu.mems = "0";
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), 0);
	r.cpu.cpus = "0-4095";
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), -EINVAL);
	T_ASSERT_CONTAINS(h.err->msg, "linux.resources.cpu.cpus: \"0-4095\" is not within the "
				      "parent cgroup's");
	if (cs >= 0) {
		_cleanup_free_ char *cpus = fake_get(h.dirs[cs], "cpuset.cpus");
		T_ASSERT_STR(cpus, "0");
	}
	_cleanup_free_ char *dev = first_block_device();
	unsigned maj, min;
	if (!dev || sscanf(dev, "%u:%u", &maj, &min) != 2)
		T_SKIP("no block device");
	struct oci_throttle_device t = { maj, min, 1048576 };
	r = (struct oci_resources){ .block_io = { .throttle_read_bps = &t,
						  .n_throttle_read_bps = 1 } };
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), 0);
	int b = cg_find_controller(h.cg->ctx, "blkio", "io");
	_cleanup_free_ char *want = xasprintf("%u:%u ", maj, min);
	_cleanup_free_ char *got = fake_get(h.dirs[b], h.cg->ctx->hier[b].v2 ? "io.max"
						: "blkio.throttle.read_bps_device");
	T_ASSERT_CONTAINS(got, want);
	T_ASSERT_CONTAINS(got, "1048576");
	struct oci_throttle_device none = { 4000, 12345, 1 };
	r.block_io.throttle_read_bps = &none;
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), -ENODEV);
	T_ASSERT_CONTAINS(h.err->msg, "throttleReadBpsDevice[0]: no block device 4000:12345");
	DESTROY_AND_CHECK();
}

static void unavailable_controllers_refused(void)
{
	HOST("refuse", true);
	struct oci_resources r = { 0 };
	r.network.has_class_id = true, r.network.class_id = 1;
	if (cg_find_controller(h.cg->ctx, "net_cls", NULL) >= 0)
		T_SKIP("net_cls is mounted here");
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(h.err->msg, "linux.resources.network.classID");
	T_ASSERT_CONTAINS(h.err->msg, "net_cls");
	DESTROY_AND_CHECK();
}

/* Hybrid: hugetlb and unified keys go to the v2 side; v1 controllers
 * cannot be set through unified. */
static void hybrid_v2_side(void)
{
	HOST("hybrid", true);
	struct cgroup_ctx *ctx = h.cg->ctx;
	if (ctx->mode != CGROUP_MODE_HYBRID || cg_find_controller(ctx, "hugetlb", "hugetlb") !=
	    ctx->unified || !cg_strv_has(ctx->hugepage_sizes, "2MB"))
		T_SKIP("for a hybrid host with hugetlb on cgroup2 only");
	const char *u = ctx->hier[ctx->unified].mount;
	_cleanup_free_ char *root_before = fake_get(u, "cgroup.subtree_control");
	static struct oci_hugepage_limit huge[] = { { "2MB", 4194304 } };
	struct oci_resources r = { .hugepage_limits = huge, .n_hugepage_limits = 1 };
	int rc = cgroup_apply(h.cg, &r, &h.err);
	_cleanup_free_ char *max = fake_get(h.dirs[ctx->unified], "hugetlb.2MB.max");
	struct oci_kv kv = { "hugetlb.2MB.max", "2097152" };
	struct oci_resources ru = { .unified = &kv, .n_unified = 1 };
	int rc2 = rc == 0 ? cgroup_apply(h.cg, &ru, &h.err) : rc;
	_cleanup_free_ char *max2 = fake_get(h.dirs[ctx->unified], "hugetlb.2MB.max");
	struct cgroup_stats st = { 0 };
	int rc3 = cgroup_stats(h.cg, &st, &h.err);
	size_t n_huge = st.n_hugetlb;
	uint64_t huge_limit = n_huge ? st.hugetlb[0].limit : 0;
	cgroup_stats_release(&st);
	struct oci_kv mem = { "memory.max", "1" };
	struct oci_resources rm = { .unified = &mem, .n_unified = 1 };
	_cleanup_err_ struct cell_err *merr = NULL;
	int rc4 = cgroup_apply(h.cg, &rm, &merr);
	_cleanup_err_ struct cell_err *e = NULL;
	int d = cgroup_destroy(h.cg, &e);
	/* leave the host's root as it was */
	if (root_before && !cg_words_have(root_before, "hugetlb"))
		cg_write(ctx, u, "cgroup.subtree_control", "-hugetlb", &e);
	T_ASSERT_INT(rc, 0);
	T_ASSERT_STR(max, "4194304");
	T_ASSERT_INT(rc2, 0);
	T_ASSERT_STR(max2, "2097152");
	T_ASSERT_INT(rc3, 0);
	T_ASSERT(n_huge >= 1);
	T_ASSERT(huge_limit == 2097152 || huge_limit == CGROUP_STATS_UNLIMITED);
	T_ASSERT_INT(rc4, -EOPNOTSUPP);
	T_ASSERT_CONTAINS(merr->msg, "linux.resources.unified[\"memory.max\"]: memory is not a "
				     "cgroup v2 controller on this host (it is v1 here)");
	T_ASSERT_INT(d, 0);
	T_ASSERT(gone(&h));
}

/* Try to open path in a child of the cgroup: 0 or the errno. */
static int open_in(struct host *h, const char *path, int flags)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		_cleanup_err_ struct cell_err *e = NULL;
		int res = cgroup_enter(h->cg, getpid(), &e) < 0 ? 1000 : 0;
		if (!res) {
			int fd = open(path, flags | O_CLOEXEC);
			res = fd < 0 ? errno : 0;
		}
		(void)!write(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	close(pfd[1]);
	int res = -1;
	if (read(pfd[0], &res, sizeof(res)) != sizeof(res))
		res = -1;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return res;
}

static void devices_apply(void)
{
	HOST("devices", true);
	static struct oci_device_rule rules[] = { { false, 'a', -1, -1, "rwm" },
						  { true, 'c', 1, 5, "rwm" },
						  { true, 'c', 1, 3, "w" } };
	struct oci_resources r = { .devices = rules, .n_devices = 3 };
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), 0);
	T_ASSERT_INT(open_in(&h, "/dev/zero", O_RDONLY), 0);
	T_ASSERT_INT(open_in(&h, "/dev/null", O_WRONLY), 0);
	T_ASSERT_INT(open_in(&h, "/dev/null", O_RDONLY), EPERM);
	T_ASSERT_INT(open_in(&h, "/dev/full", O_RDONLY), EPERM);
	DESTROY_AND_CHECK();
}

/* Burn 150 ms of CPU (not wall clock: the machine may be busy), report. */
static void burn(void *arg)
{
	int *out = arg;
	volatile uint64_t x = 0;
	struct timespec ts;
	do {
		for (int i = 0; i < 100000; i++)
			x++;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while (ts.tv_sec == 0 && ts.tv_nsec < 150000000);
	(void)!write(*out, "b", 1);
	for (;;)
		pause();
}

static void stats_real(void)
{
	HOST("stats", false);
	int p[2];
	T_ASSERT(pipe(p) == 0);
	pid_t pid = spawn_in(&h, burn, &p[1]);
	char c;
	T_ASSERT(pid > 0 && read(p[0], &c, 1) == 1);
	close(p[0]), close(p[1]);
	struct cgroup_stats st;
	T_ASSERT_INT(cgroup_stats(h.cg, &st, &h.err), 0);
	cgroup_stats_release(&st);
	T_ASSERT(st.has_cpu && st.has_memory && st.has_pids);
	T_ASSERT(st.cpu.usage_ns >= 140000000ULL);
	T_ASSERT(st.cpu.user_ns > 0);
	T_ASSERT(st.cpu.usage_ns >= st.cpu.user_ns);
	T_ASSERT(st.memory.usage > 0);
	T_ASSERT_INT(st.pids.current, 1);
	T_ASSERT(st.pids.limit == CGROUP_STATS_UNLIMITED);
	T_ASSERT(st.memory.limit == CGROUP_STATS_UNLIMITED);
}

T_MAIN("cgroup-limits", T_CASE(memory_limit_oom_kills), T_CASE(memory_limit_below_usage_v1),
       T_CASE(memsw_order_real), T_CASE(kernel_memory_is_not_dropped_silently),
       T_CASE(cpuset_and_block_devices), T_CASE(unavailable_controllers_refused),
       T_CASE(hybrid_v2_side), T_CASE(devices_apply), T_CASE(stats_real))
