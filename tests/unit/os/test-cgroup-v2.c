/* The v2 driver against a fake cgroup2 tree: which files get which
 * values, in which order, and that refusals change nothing. */
#include <errno.h>
#include <fcntl.h>

#include "cgroup-fake.h"
#include "os/cgroup-stats.h"
#include "t.h"

static const char mi[] = "25 24 0:23 / /sys/fs/cgroup rw,relatime shared:4 - cgroup2 cgroup2 rw\n";

#define ALL "cpuset cpu io memory hugetlb pids"
#define CG "sys/fs/cgroup"

/* The files the kernel shows in a fresh cgroup with these controllers. */
static void fake_cgroup(const char *root, const char *dir, const char *controllers)
{
	fake_files(root, dir, "cgroup.controllers", controllers, "cgroup.subtree_control", "",
		   "cgroup.type", "domain", "cgroup.events", "populated 0\nfrozen 0\n",
		   "cgroup.procs", "", "cgroup.freeze", "0", "cgroup.kill", "",
		   "memory.max", "max", "memory.swap.max", "max", "memory.low", "0",
		   "memory.high", "max", "memory.current", "4096", "cpu.max", "max 100000",
		   "cpu.max.burst", "0", "cpu.weight", "100", "cpu.idle", "0", "pids.max", "max",
		   "io.max", "", "io.weight", "default 100", "cpuset.cpus", "", "cpuset.mems", "",
		   "hugetlb.2MB.max", "max", "hugetlb.2MB.rsvd.max", "max", NULL);
}

struct fx {
	char *root;
	struct cgroup_ctx *ctx;
	struct cgroup *cg;
	struct cell_err *err;
};

static void fx_done(struct fx *f)
{
	cgroup_free(f->cg);
	cgroup_ctx_free(f->ctx);
	cell_err_free(f->err);
	fake_rm(f->root);
	free(f->root);
}

/* A host with every controller enabled down to /machine/ctr1. */
static int fx_init(struct fx *f)
{
	*f = (struct fx){ .root = fake_new() };
	fake_files(f->root, CG, "cgroup.controllers", ALL "\n", "cgroup.subtree_control", "",
		   "cpuset.cpus.effective", "0-3", "cpuset.mems.effective", "0", NULL);
	fake_mkdir(f->root, "sys/kernel/mm/hugepages/hugepages-2048kB");
	fake_mkdir(f->root, "sys/dev/block/8:0");
	int r = cgroup_ctx_new(mi, "0::/\n", f->root, &f->ctx, &f->err);
	if (r < 0)
		return r;
	f->ctx->journal_on = true;
	r = cgroup_ctx_create(f->ctx, "/machine/ctr1", &f->cg, &f->err);
	if (r < 0)
		return r;
	fake_put(f->root, CG "/cgroup.subtree_control", ALL);
	fake_cgroup(f->root, CG "/machine", ALL);
	fake_put(f->root, CG "/machine/cgroup.subtree_control", ALL);
	fake_put(f->root, CG "/machine/cpuset.cpus.effective", "0-3");
	fake_cgroup(f->root, CG "/machine/ctr1", ALL);
	return 0;
}

#define FX()                                                      \
	_cleanup_(fx_done) struct fx f;                           \
	if (fx_init(&f) < 0)                                      \
		T_FAIL("setup: %s", f.err ? f.err->msg : "?");    \
	journal_reset(f.ctx)

static char *get(struct fx *f, const char *file)
{
	_cleanup_free_ char *rel = xasprintf(CG "/machine/ctr1/%s", file);
	return fake_get(f->root, rel);
}

#define T_FILE(f, file, want)                                     \
	do {                                                      \
		_cleanup_free_ char *got_ = get((f), (file));     \
		T_ASSERT_STR(got_, want);                         \
	} while (0)

static void create_enables_every_controller(void)
{
	_cleanup_fake_ char *root = fake_new();
	fake_files(root, CG, "cgroup.controllers", "cpu memory pids\n", "cgroup.subtree_control",
		   "", NULL);
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi, "0::/\n", root, &ctx, &err), 0);
	ctx->journal_on = true;
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_create(ctx, "/a/b", &cg, &err), 0);
	T_ASSERT_INT(journal_len(ctx), 3);
	T_ASSERT_INT(journal_at(ctx, "/sys/fs/cgroup/cgroup.subtree_control=+cpu"), 0);
	T_ASSERT_INT(journal_at(ctx, "/sys/fs/cgroup/cgroup.subtree_control=+memory"), 1);
	T_ASSERT_INT(journal_at(ctx, "/sys/fs/cgroup/cgroup.subtree_control=+pids"), 2);
	_cleanup_free_ char *b = xasprintf("%s/" CG "/a/b", root);
	T_ASSERT_STR(cgroup_dirs(cg)[0], b);
	T_ASSERT(cgroup_v2_fd(cg) >= 0);
	/* a second create of the same cgroup is fine */
	_cleanup_(cgroup_freep) struct cgroup *again = NULL;
	T_ASSERT_INT(cgroup_ctx_create(ctx, "/a/b", &again, &err), 0);
}

static struct oci_resources rich(void)
{
	static struct oci_throttle_device rbps[] = { { 8, 0, 1048576 } };
	static struct oci_throttle_device wiops[] = { { 8, 0, 100 } };
	static struct oci_weight_device wdev[] = { { 8, 0, true, 200, false, 0 } };
	static struct oci_hugepage_limit huge[] = { { "2MB", 4194304 } };
	static struct oci_kv unified[] = { { "memory.high", "200000000" } };
	struct oci_resources r = { 0 };
	r.memory.has_limit = true, r.memory.limit = 256 << 20;
	r.memory.has_swap = true, r.memory.swap = 512 << 20;
	r.memory.has_reservation = true, r.memory.reservation = 128 << 20;
	r.cpu.has_shares = true, r.cpu.shares = 1024;
	r.cpu.has_quota = true, r.cpu.quota = 50000;
	r.cpu.has_period = true, r.cpu.period = 100000;
	r.cpu.has_burst = true, r.cpu.burst = 10000;
	r.cpu.has_idle = true, r.cpu.idle = 0;
	r.cpu.cpus = "1-2";
	r.cpu.mems = "0";
	r.pids.has_limit = true, r.pids.limit = 100;
	r.block_io.has_weight = true, r.block_io.weight = 500;
	r.block_io.weight_devices = wdev, r.block_io.n_weight_devices = 1;
	r.block_io.throttle_read_bps = rbps, r.block_io.n_throttle_read_bps = 1;
	r.block_io.throttle_write_iops = wiops, r.block_io.n_throttle_write_iops = 1;
	r.hugepage_limits = huge, r.n_hugepage_limits = 1;
	r.unified = unified, r.n_unified = 1;
	return r;
}

static void apply_rich(void)
{
	FX();
	struct oci_resources r = rich();
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	static const char *const want[] = {
		"memory.max=268435456", "memory.swap.max=268435456", "memory.low=134217728",
		"pids.max=100", "cpu.weight=39", "cpu.max=50000 100000", "cpu.max.burst=10000",
		"cpu.idle=0", "cpuset.cpus=1-2", "cpuset.mems=0", "hugetlb.2MB.max=4194304",
		"hugetlb.2MB.rsvd.max=4194304",
		/* lists, after everything that can be undone */
		"io.weight=default 4950", "io.weight=8:0 1920", "io.max=8:0 rbps=1048576",
		"io.max=8:0 wiops=100",
		/* unified last: it overrides the structured fields */
		"memory.high=200000000",
	};
	T_ASSERT_INT(journal_len(f.ctx), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *e = xasprintf("/" CG "/machine/ctr1/%s", want[i]);
		if (journal_at(f.ctx, e) != (int)i)
			T_FAIL("journal[%zu] is \"%s\", expected \"%s\"", i, f.ctx->journal[i], e);
	}
	T_FILE(&f, "memory.max", "268435456");
	T_FILE(&f, "memory.swap.max", "268435456");
	T_FILE(&f, "cpu.max", "50000 100000");
	T_FILE(&f, "io.max", "8:0 wiops=100");
	T_FILE(&f, "memory.high", "200000000");
}

static void conversions(void)
{
	T_ASSERT_INT(cg_shares_to_weight(2), 1);
	T_ASSERT_INT(cg_shares_to_weight(1024), 39);
	T_ASSERT_INT(cg_shares_to_weight(262144), 10000);
	T_ASSERT_INT(cg_blkio_to_io_weight(10), 1);
	T_ASSERT_INT(cg_blkio_to_io_weight(500), 4950);
	T_ASSERT_INT(cg_blkio_to_io_weight(1000), 10000);
}

/* -1 is "max"; swap -1 with a limit; pids 0 is unlimited. */
static void apply_unlimited(void)
{
	FX();
	struct oci_resources r = { 0 };
	r.memory.has_limit = true, r.memory.limit = -1;
	r.cpu.has_quota = true, r.cpu.quota = -1;
	r.pids.has_limit = true, r.pids.limit = 0;
	fake_put(f.root, CG "/machine/ctr1/cpu.max", "20000 50000");
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	T_FILE(&f, "memory.max", "max");
	T_FILE(&f, "memory.swap.max", "max");
	T_FILE(&f, "pids.max", "max");
	/* the period not given keeps its value */
	T_FILE(&f, "cpu.max", "max 50000");
}

/* A controller the cgroup lacks is passed down from where it is. */
static void apply_enables_missing_controller(void)
{
	FX();
	fake_put(f.root, CG "/machine/cgroup.subtree_control", "cpu memory");
	fake_put(f.root, CG "/machine/ctr1/cgroup.controllers", "cpu memory");
	struct oci_resources r = { 0 };
	static struct oci_hugepage_limit huge[] = { { "2MB", 2097152 } };
	r.hugepage_limits = huge, r.n_hugepage_limits = 1;
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/cgroup.subtree_control=+hugetlb"), 0);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/hugetlb.2MB.max=2097152"), 1);
}

/* Each refusal names the field and leaves every file as it was. */
static void expect_refusal(struct fx *f, const struct oci_resources *r, const char *msg,
			   int *ok)
{
	*ok = 0;
	_cleanup_free_ char *mem = get(f, "memory.max");
	if (cgroup_apply(f->cg, r, &f->err) == 0 || !strstr(f->err->msg, msg)) {
		snprintf(t_why, sizeof(t_why), "wanted \"%s\", got \"%s\"", msg,
			 f->err ? f->err->msg : "success");
		return;
	}
	_cleanup_free_ char *after = get(f, "memory.max");
	if (journal_len(f->ctx) != 0 || strcmp(mem, after) != 0) {
		snprintf(t_why, sizeof(t_why), "\"%s\": something was written", msg);
		return;
	}
	*ok = 1;
}

#define REFUSED(r, msg)                                          \
	do {                                                     \
		int ok_;                                         \
		expect_refusal(&f, &(r), (msg), &ok_);           \
		if (!ok_) {                                      \
			t_state = 1;                             \
			return;                                  \
		}                                                \
	} while (0)

static void refusals(void)
{
	FX();
	struct oci_resources base = rich(), r;
	r = base, r.cpu.has_realtime_runtime = true, r.cpu.realtime_runtime = 1000;
	REFUSED(r, "linux.resources.cpu.realtimeRuntime: cgroup v2 has no real-time");
	r = base, r.cpu.quota = 500;
	REFUSED(r, "linux.resources.cpu.quota: 500 is not -1 or at least 1000");
	r = base, r.cpu.has_quota = false, r.cpu.has_burst = true;
	REFUSED(r, "linux.resources.cpu.burst: 10000 needs a cpu.quota");
	r = base, r.cpu.cpus = "0-7";
	REFUSED(r, "linux.resources.cpu.cpus: \"0-7\" is not within the parent cgroup's \"0-3\"");
	r = base, r.cpu.mems = "0-";
	REFUSED(r, "linux.resources.cpu.mems: \"0-\" is not a list");
	r = base, r.memory.has_limit = false;
	REFUSED(r, "linux.resources.memory.swap: 536870912 (memory plus swap) needs a memory limit");
	r = base, r.memory.swap = 100;
	REFUSED(r, "linux.resources.memory.swap: 100 is below memory.limit 268435456");
	r = base, r.memory.has_swappiness = true, r.memory.swappiness = 10;
	REFUSED(r, "linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness");
	r = base, r.memory.has_kernel = true, r.memory.kernel = 1 << 20;
	REFUSED(r, "linux.resources.memory.kernel: cgroup v2 has no separate kernel memory");
	r = base, r.cpu.shares = 1;
	REFUSED(r, "linux.resources.cpu.shares: 1 is not in [2, 262144]");
	static struct oci_throttle_device bad[] = { { 9, 9, 1 } };
	r = base, r.block_io.throttle_read_bps = bad;
	REFUSED(r, "linux.resources.blockIO.throttleReadBpsDevice[0]: no block device 9:9");
	r = base, r.block_io.has_leaf_weight = true, r.block_io.leaf_weight = 100;
	REFUSED(r, "linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights");
	r = base, r.network.has_class_id = true;
	REFUSED(r, "linux.resources.network.classID: cgroup v2 has no net_cls controller");
	static struct oci_hugepage_limit huge[] = { { "3MB", 1 } };
	r = base, r.hugepage_limits = huge;
	REFUSED(r, "linux.resources.hugepageLimits[0].pageSize: \"3MB\" is not a huge page size "
		   "of this host (it has: 2MB)");
	static struct oci_device_rule dev[] = { { true, 'x', -1, -1, "rwm" } };
	r = base, r.devices = dev, r.n_devices = 1;
	REFUSED(r, "linux.resources.devices[0].type: \"x\" is not a, b or c");
}

static void unified_keys(void)
{
	FX();
	static const struct {
		const char *key, *msg;
	} bad[] = {
		{ "../../../etc/passwd", "not a cgroup file name" },
		{ "memory.max/../../x", "not a cgroup file name" },
		{ "/memory.max", "not a cgroup file name" },
		{ "memory", "not a cgroup file name" },
		{ ".memory", "not a cgroup file name" },
		{ "cgroup.procs", "cgroup.procs is not a resource setting" },
		{ "cgroup.kill", "cgroup.kill is not a resource setting" },
		{ "rdma.max", "rdma is not a cgroup v2 controller on this host" },
		{ "memory.nosuchfile", "no such file" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct oci_kv kv = { (char *)bad[i].key, "1" };
		struct oci_resources r = { .unified = &kv, .n_unified = 1 };
		_cleanup_free_ char *field = xasprintf("linux.resources.unified[\"%s\"]: ",
						       bad[i].key);
		T_ASSERT(cgroup_apply(f.cg, &r, &f.err) < 0);
		T_ASSERT_CONTAINS(f.err->msg, field);
		T_ASSERT_CONTAINS(f.err->msg, bad[i].msg);
		T_ASSERT_INT(journal_len(f.ctx), 0);
	}
	struct oci_kv ok = { "cgroup.max.descendants", "10" };
	fake_put(f.root, CG "/machine/ctr1/cgroup.max.descendants", "max");
	struct oci_resources r = { .unified = &ok, .n_unified = 1 };
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	T_FILE(&f, "cgroup.max.descendants", "10");
}

/* When the kernel refuses a later write, the earlier ones are undone. */
static void failed_write_rolls_back(void)
{
	FX();
	_cleanup_free_ char *pids = xasprintf("%s/" CG "/machine/ctr1/pids.max", f.root);
	unlink(pids);
	mkdir(pids, 0755); /* opening it for writing fails: EISDIR */
	fake_put(f.root, CG "/machine/ctr1/memory.max", "1073741824");
	struct oci_resources r = { 0 };
	r.memory.has_limit = true, r.memory.limit = 256 << 20;
	r.pids.has_limit = true, r.pids.limit = 5;
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), -EISDIR);
	T_ASSERT_CONTAINS(f.err->msg, "linux.resources.pids.limit: open ");
	T_FILE(&f, "memory.max", "1073741824");
	T_ASSERT_INT(journal_len(f.ctx), 3);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/memory.max=268435456"), 0);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/memory.max=1073741824"), 2);
	rmdir(pids);
}

static void not_available_controller(void)
{
	_cleanup_fake_ char *root = fake_new();
	fake_files(root, CG, "cgroup.controllers", "cpu memory\n", "cgroup.subtree_control", "",
		   NULL);
	_cleanup_ctx_ struct cgroup_ctx *ctx = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_ctx_new(mi, "0::/\n", root, &ctx, &err), 0);
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_create(ctx, "/c", &cg, &err), 0);
	struct oci_resources r = { 0 };
	r.pids.has_limit = true, r.pids.limit = 3;
	T_ASSERT_INT(cgroup_apply(cg, &r, &err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(err->msg, "cgroup /c: linux.resources.pids.limit: the pids controller is "
				    "not available");
}

static void freeze_and_threads(void)
{
	FX();
	fake_put(f.root, CG "/machine/ctr1/cgroup.events", "populated 1\nfrozen 1\n");
	T_ASSERT_INT(cgroup_freeze(f.cg, true, &f.err), 0);
	T_FILE(&f, "cgroup.freeze", "1");
	bool frozen = false;
	T_ASSERT_INT(cgroup_is_frozen(f.cg, &frozen, &f.err), 0);
	T_ASSERT(frozen);
	fake_put(f.root, CG "/machine/ctr1/cgroup.events", "populated 1\nfrozen 0\n");
	T_ASSERT_INT(cgroup_freeze(f.cg, false, &f.err), 0);
	T_FILE(&f, "cgroup.freeze", "0");

	T_ASSERT_INT(cgroup_enter_thread(f.cg, 1234, &f.err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(f.err->msg, "it is a \"domain\" cgroup");
	fake_put(f.root, CG "/machine/ctr1/vcpu0/cgroup.type", "domain");
	journal_reset(f.ctx);
	_cleanup_(cgroup_freep) struct cgroup *vcpu = NULL;
	T_ASSERT_INT(cgroup_create_threaded(f.cg, "vcpu0", &vcpu, &f.err), 0);
	T_ASSERT_INT(journal_len(f.ctx), 4);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/cgroup.subtree_control=+cpu"), 0);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/cgroup.subtree_control=+cpuset"), 1);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/cgroup.subtree_control=+pids"), 2);
	T_ASSERT_INT(journal_at(f.ctx, "/" CG "/machine/ctr1/vcpu0/cgroup.type=threaded"), 3);
	T_ASSERT_STR(cgroup_path(vcpu), "/machine/ctr1/vcpu0");
	fake_put(f.root, CG "/machine/ctr1/vcpu0/cgroup.threads", "");
	T_ASSERT_INT(cgroup_enter_thread(vcpu, 1234, &f.err), 0);
	_cleanup_free_ char *t = get(&f, "vcpu0/cgroup.threads");
	T_ASSERT_STR(t, "1234");

	/* below a cgroup that passes memory down there can be no threads */
	struct cgroup *no = NULL;
	T_ASSERT(cgroup_create_threaded(f.cg, "a/b", &no, &f.err) == -EINVAL);
	fake_put(f.root, CG "/machine/ctr1/cgroup.subtree_control", "cpu cpuset pids");
	fake_put(f.root, CG "/machine/ctr1/x/cgroup.type", "domain");
	journal_reset(f.ctx);
	T_ASSERT_INT(cgroup_create_threaded(f.cg, "x", &no, &f.err), 0);
	T_ASSERT_INT(journal_len(f.ctx), 1);
	cgroup_free(no);
	no = NULL;
	fake_put(f.root, CG "/machine/cgroup.subtree_control", "cpu memory");
	_cleanup_(cgroup_freep) struct cgroup *m = NULL;
	T_ASSERT_INT(cgroup_ctx_open(f.ctx, "/machine", &m, &f.err), 0);
	fake_put(f.root, CG "/machine/y/cgroup.type", "domain");
	T_ASSERT_INT(cgroup_create_threaded(m, "y", &no, &f.err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(f.err->msg, "passes the domain controller memory to its children");
}

static void stats_from_v2_files(void)
{
	FX();
	fake_files(f.root, CG "/machine/ctr1", "cpu.stat",
		   "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\n"
		   "nr_throttled 2\nthrottled_usec 300\nnr_bursts 0\n",
		   "memory.current", "8192\n", "memory.peak", "16384\n", "memory.max", "1048576\n",
		   "memory.swap.current", "4096\n",
		   "memory.stat", "anon 4096\nfile 2048\nkernel 512\nfile_mapped 0\n",
		   "memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n",
		   "pids.current", "3\n", "pids.max", "max\n",
		   "io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n"
			      "253:1 rbytes=5 wbytes=6 rios=7 wios=8 dbytes=9 dios=10\n",
		   "hugetlb.2MB.current", "2097152\n", "hugetlb.2MB.max", "max\n", NULL);
	struct cgroup_stats st;
	T_ASSERT_INT(cgroup_stats(f.cg, &st, &f.err), 0);
	struct cgroup_stats c = st;
	struct cgroup_stats_blkio b0 = st.blkio[0], b1 = st.blkio[1];
	struct cgroup_stats_hugetlb hg = st.hugetlb[0];
	size_t nb = st.n_blkio, nh = st.n_hugetlb;
	cgroup_stats_release(&st);
	T_ASSERT(c.has_cpu && c.has_memory && c.has_pids);
	T_ASSERT(c.cpu.usage_ns == 1500000 && c.cpu.user_ns == 1000000 && c.cpu.system_ns == 500000);
	T_ASSERT(c.cpu.nr_periods == 10 && c.cpu.nr_throttled == 2 && c.cpu.throttled_ns == 300000);
	T_ASSERT(c.memory.usage == 8192 && c.memory.max_usage == 16384);
	T_ASSERT(c.memory.limit == 1048576 && c.memory.swap == 4096);
	T_ASSERT(c.memory.anon == 4096 && c.memory.rss == 4096 && c.memory.cache == 2048);
	T_ASSERT(c.memory.has_oom_events && c.memory.oom_events == 2 && c.memory.oom_kill == 1);
	T_ASSERT(c.pids.current == 3 && c.pids.limit == CGROUP_STATS_UNLIMITED);
	T_ASSERT_INT(nb, 2);
	T_ASSERT(b0.major == 8 && b0.minor == 0 && b0.read_bytes == 1 && b0.write_bytes == 2 &&
		 b0.read_ops == 3 && b0.write_ops == 4);
	T_ASSERT(b1.major == 253 && b1.minor == 1 && b1.write_ops == 8);
	T_ASSERT_INT(nh, 1);
	T_ASSERT_STR(hg.page_size, "2MB");
	T_ASSERT(hg.usage == 2097152 && hg.limit == CGROUP_STATS_UNLIMITED);
}

T_MAIN("cgroup-v2", T_CASE(stats_from_v2_files), T_CASE(create_enables_every_controller), T_CASE(apply_rich),
       T_CASE(conversions), T_CASE(apply_unlimited), T_CASE(apply_enables_missing_controller),
       T_CASE(refusals), T_CASE(unified_keys), T_CASE(failed_write_rolls_back),
       T_CASE(not_available_controller), T_CASE(freeze_and_threads))
