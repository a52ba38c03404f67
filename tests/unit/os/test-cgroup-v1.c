/* The v1 driver against a fake tree of per-controller hierarchies. */
#include <errno.h>

#include "cgroup-fake.h"
#include "os/cgroup-stats.h"
#include "t.h"

#define MNT(opts, dir) "30 25 0:27 / /sys/fs/cgroup/" dir " rw,relatime - cgroup cgroup rw," opts "\n"
static const char mi[] = MNT("xattr,name=systemd", "systemd") MNT("cpu,cpuacct", "cpu,cpuacct")
	MNT("cpuset", "cpuset") MNT("memory", "memory") MNT("pids", "pids") MNT("blkio", "blkio")
	MNT("devices", "devices") MNT("freezer", "freezer") MNT("hugetlb", "hugetlb")
	MNT("net_cls,net_prio", "net_cls,net_prio");
static const char mi_no_net[] = MNT("memory", "memory") MNT("cpuset", "cpuset");
static const char self[] = "4:memory:/user.slice\n0::/\n";

#define CG "sys/fs/cgroup/"
#define MEM CG "memory/user.slice/ctr/"
#define CPU CG "cpu,cpuacct/ctr/"

static const char unlimited[] = "9223372036854771712";

static void fake_hierarchy_files(const char *root)
{
	fake_files(root, CG "cpu,cpuacct/ctr", "cpu.shares", "1024", "cpu.cfs_period_us", "100000",
		   "cpu.cfs_quota_us", "-1", "cpu.cfs_burst_us", "0", "cpu.rt_period_us",
		   "1000000", "cpu.rt_runtime_us", "0", "cpu.idle", "0", "cgroup.procs", "", NULL);
	fake_files(root, CG "memory/user.slice/ctr", "memory.limit_in_bytes", unlimited,
		   "memory.memsw.limit_in_bytes", unlimited, "memory.usage_in_bytes", "1048576",
		   "memory.soft_limit_in_bytes", unlimited, "memory.kmem.limit_in_bytes", unlimited,
		   "memory.kmem.tcp.limit_in_bytes", unlimited, "memory.swappiness", "60",
		   "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
		   "memory.use_hierarchy", "1", "cgroup.procs", "", NULL);
	fake_files(root, CG "pids/ctr", "pids.max", "max", "cgroup.procs", "", NULL);
	fake_files(root, CG "blkio/ctr", "blkio.bfq.weight", "100", "blkio.bfq.weight_device", "",
		   "blkio.throttle.read_bps_device", "", "blkio.throttle.write_iops_device", "",
		   "cgroup.procs", "", NULL);
	fake_files(root, CG "devices/ctr", "devices.allow", "", "devices.deny", "", "cgroup.procs",
		   "", NULL);
	fake_files(root, CG "hugetlb/ctr", "hugetlb.2MB.limit_in_bytes", unlimited,
		   "hugetlb.2MB.rsvd.limit_in_bytes", unlimited, "cgroup.procs", "", NULL);
	fake_files(root, CG "net_cls,net_prio/ctr", "net_cls.classid", "0", "net_prio.ifpriomap",
		   "", "cgroup.procs", "", NULL);
	fake_files(root, CG "freezer/ctr", "freezer.state", "THAWED", "cgroup.procs", "", NULL);
	fake_files(root, CG "systemd/ctr", "cgroup.procs", "", NULL);
	fake_files(root, CG "cpuset/ctr", "cgroup.procs", "", NULL);
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

static int fx_init(struct fx *f, const char *mountinfo)
{
	*f = (struct fx){ .root = fake_new() };
	fake_files(f->root, CG "cpuset", "cpuset.cpus", "0-3\n", "cpuset.mems", "0\n", NULL);
	/* The kernel makes a new cpuset cgroup with empty lists. */
	fake_files(f->root, CG "cpuset/ctr", "cpuset.cpus", "\n", "cpuset.mems", "\n", NULL);
	fake_mkdir(f->root, "sys/kernel/mm/hugepages/hugepages-2048kB");
	fake_mkdir(f->root, "sys/dev/block/8:0");
	int r = cgroup_ctx_new(mountinfo, self, f->root, &f->ctx, &f->err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->ctx->n_hier; i++)
		if (cell_mkdir_p(f->ctx->hier[i].mount, 0755, &f->err) < 0)
			return -1;
	f->ctx->journal_on = true;
	r = cgroup_ctx_create(f->ctx, "ctr", &f->cg, &f->err);
	if (r < 0)
		return r;
	fake_hierarchy_files(f->root);
	return 0;
}

#define FX_WITH(m)                                                \
	_cleanup_(fx_done) struct fx f;                           \
	if (fx_init(&f, (m)) < 0)                                 \
		T_FAIL("setup: %s", f.err ? f.err->msg : "?")
#define FX() FX_WITH(mi); journal_reset(f.ctx)

#define T_FILE(rel, want)                                         \
	do {                                                      \
		_cleanup_free_ char *got_ = fake_get(f.root, rel); \
		T_ASSERT_STR(got_, want);                         \
	} while (0)

#define T_JOURNAL(want)                                                                        \
	do {                                                                                   \
		T_ASSERT_INT(journal_len(f.ctx), ARRAY_SIZE(want));                            \
		for (size_t i_ = 0; i_ < ARRAY_SIZE(want); i_++) {                             \
			_cleanup_free_ char *e_ = xasprintf("/%s", want[i_]);                  \
			if (journal_at(f.ctx, e_) != (int)i_)                                  \
				T_FAIL("journal[%zu] is \"%s\", expected \"%s\"", i_,          \
				       f.ctx->journal[i_], e_);                                \
		}                                                                              \
	} while (0)

static void create_copies_cpuset_and_resolves_relative(void)
{
	FX_WITH(mi);
	static const char *const want[] = { CG "cpuset/ctr/cpuset.cpus=0-3",
					    CG "cpuset/ctr/cpuset.mems=0" };
	T_JOURNAL(want);
	T_FILE(CG "cpuset/ctr/cpuset.cpus", "0-3");
	/* relative: below the caller's cgroup in each hierarchy */
	_cleanup_free_ char *mem = xasprintf("%s/" CG "memory/user.slice/ctr", f.root);
	_cleanup_free_ char *pids = xasprintf("%s/" CG "pids/ctr", f.root);
	T_ASSERT_INT(cell_strv_len(cgroup_dirs(f.cg)), 10);
	T_ASSERT(cg_strv_has(cgroup_dirs(f.cg), mem));
	T_ASSERT(cg_strv_has(cgroup_dirs(f.cg), pids));
	T_ASSERT_INT(cgroup_v2_fd(f.cg), -1);
}

static struct oci_resources rich(void)
{
	static struct oci_throttle_device rbps[] = { { 8, 0, 1048576 } };
	static struct oci_throttle_device wiops[] = { { 8, 0, 100 } };
	static struct oci_weight_device wdev[] = { { 8, 0, true, 200, false, 0 } };
	static struct oci_hugepage_limit huge[] = { { "2MB", 4194304 } };
	static struct oci_net_priority prio[] = { { "eth0", 5 } };
	static struct oci_device_rule dev[] = { { false, 'a', -1, -1, "rwm" },
						{ true, 'c', 1, 3, "rwm" },
						{ true, 'c', -1, -1, "m" },
						{ false, 'b', 8, 0, "w" } };
	struct oci_resources r = { 0 };
	r.memory.has_limit = true, r.memory.limit = 256 << 20;
	r.memory.has_swap = true, r.memory.swap = 512 << 20;
	r.memory.has_reservation = true, r.memory.reservation = 128 << 20;
	r.memory.has_kernel_tcp = true, r.memory.kernel_tcp = 16 << 20;
	r.memory.has_swappiness = true, r.memory.swappiness = 10;
	r.memory.has_disable_oom_killer = true, r.memory.disable_oom_killer = true;
	r.cpu.has_shares = true, r.cpu.shares = 512;
	r.cpu.has_quota = true, r.cpu.quota = 50000;
	r.cpu.has_period = true, r.cpu.period = 100000;
	r.cpu.has_burst = true, r.cpu.burst = 10000;
	r.cpu.has_realtime_runtime = true, r.cpu.realtime_runtime = 10000;
	r.cpu.has_realtime_period = true, r.cpu.realtime_period = 1000000;
	r.cpu.has_idle = true, r.cpu.idle = 1;
	r.cpu.cpus = "1-2";
	r.cpu.mems = "0";
	r.pids.has_limit = true, r.pids.limit = 100;
	r.block_io.has_weight = true, r.block_io.weight = 300;
	r.block_io.weight_devices = wdev, r.block_io.n_weight_devices = 1;
	r.block_io.throttle_read_bps = rbps, r.block_io.n_throttle_read_bps = 1;
	r.block_io.throttle_write_iops = wiops, r.block_io.n_throttle_write_iops = 1;
	r.hugepage_limits = huge, r.n_hugepage_limits = 1;
	r.network.has_class_id = true, r.network.class_id = 0x100001;
	r.network.priorities = prio, r.network.n_priorities = 1;
	r.devices = dev, r.n_devices = 4;
	return r;
}

static void apply_rich(void)
{
	FX();
	struct oci_resources r = rich();
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	static const char *const want[] = {
		MEM "memory.limit_in_bytes=268435456", MEM "memory.memsw.limit_in_bytes=536870912",
		MEM "memory.soft_limit_in_bytes=134217728",
		MEM "memory.kmem.tcp.limit_in_bytes=16777216", MEM "memory.swappiness=10",
		MEM "memory.oom_control=1", CG "pids/ctr/pids.max=100", CPU "cpu.shares=512",
		CPU "cpu.cfs_period_us=100000", CPU "cpu.cfs_quota_us=50000",
		CPU "cpu.cfs_burst_us=10000", CPU "cpu.rt_period_us=1000000",
		CPU "cpu.rt_runtime_us=10000", CPU "cpu.idle=1", CG "cpuset/ctr/cpuset.cpus=1-2",
		CG "cpuset/ctr/cpuset.mems=0", CG "blkio/ctr/blkio.bfq.weight=300",
		CG "hugetlb/ctr/hugetlb.2MB.limit_in_bytes=4194304",
		CG "hugetlb/ctr/hugetlb.2MB.rsvd.limit_in_bytes=4194304",
		CG "net_cls,net_prio/ctr/net_cls.classid=1048577",
		/* list files, which cannot be undone, last */
		CG "blkio/ctr/blkio.bfq.weight_device=8:0 200",
		CG "blkio/ctr/blkio.throttle.read_bps_device=8:0 1048576",
		CG "blkio/ctr/blkio.throttle.write_iops_device=8:0 100",
		CG "net_cls,net_prio/ctr/net_prio.ifpriomap=eth0 5",
		CG "devices/ctr/devices.deny=a", CG "devices/ctr/devices.allow=c 1:3 rwm",
		CG "devices/ctr/devices.allow=c *:* m", CG "devices/ctr/devices.deny=b 8:0 w",
	};
	T_JOURNAL(want);
	T_FILE(MEM "memory.limit_in_bytes", "268435456");
	T_FILE(CG "devices/ctr/devices.deny", "b 8:0 w");
}

/* memory.limit_in_bytes <= memory.memsw.limit_in_bytes after each write. */
static void memsw_order(void)
{
	FX();
	struct oci_resources r = { 0 };
	r.memory.has_limit = r.memory.has_swap = true;
	/* lowering both: the limit first */
	fake_put(f.root, MEM "memory.limit_in_bytes", "536870912");
	fake_put(f.root, MEM "memory.memsw.limit_in_bytes", "1073741824");
	r.memory.limit = 128 << 20, r.memory.swap = 256 << 20;
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	static const char *const lower[] = { MEM "memory.limit_in_bytes=134217728",
					     MEM "memory.memsw.limit_in_bytes=268435456" };
	T_JOURNAL(lower);
	/* raising both: memory+swap first */
	journal_reset(f.ctx);
	r.memory.limit = 1LL << 30, r.memory.swap = 2LL << 30;
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	static const char *const raise[] = { MEM "memory.memsw.limit_in_bytes=2147483648",
					     MEM "memory.limit_in_bytes=1073741824" };
	T_JOURNAL(raise);
	/* no limit: none on memory+swap either, and that first */
	journal_reset(f.ctx);
	r.memory.limit = -1, r.memory.has_swap = false;
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), 0);
	static const char *const unlim[] = { MEM "memory.memsw.limit_in_bytes=-1",
					     MEM "memory.limit_in_bytes=-1" };
	T_JOURNAL(unlim);
}

static void refused(struct fx *f, const struct oci_resources *r, const char *msg, int *ok)
{
	*ok = 0;
	if (cgroup_apply(f->cg, r, &f->err) == 0 || !strstr(f->err->msg, msg))
		snprintf(t_why, sizeof(t_why), "wanted \"%s\", got \"%s\"", msg,
			 f->err ? f->err->msg : "success");
	else if (journal_len(f->ctx) != 0)
		snprintf(t_why, sizeof(t_why), "\"%s\": wrote %s", msg, f->ctx->journal[0]);
	else
		*ok = 1;
}

#define REFUSED(r, msg)                                          \
	do {                                                     \
		int ok_;                                         \
		refused(&f, &(r), (msg), &ok_);                  \
		if (!ok_) {                                      \
			t_state = 1;                             \
			return;                                  \
		}                                                \
	} while (0)

static void refusals(void)
{
	FX();
	struct oci_resources base = rich(), r;
	static struct oci_kv kv[] = { { "memory.high", "1" } };
	r = base, r.unified = kv, r.n_unified = 1;
	REFUSED(r, "linux.resources.unified: needs cgroup v2; this host has cgroup v1 only");
	r = base, r.cpu.cpus = "2-5";
	REFUSED(r, "linux.resources.cpu.cpus: \"2-5\" is not within the parent cgroup's \"0-3\"");
	r = base, r.cpu.realtime_runtime = 2000000;
	REFUSED(r, "linux.resources.cpu.realtimeRuntime: 2000000 is longer than the real-time "
		   "period 1000000");
	r = base, r.block_io.has_leaf_weight = true, r.block_io.leaf_weight = 100;
	REFUSED(r, "linux.resources.blockIO.leafWeight: this kernel has no blkio.leaf_weight");
	r = base, r.block_io.weight = 5;
	REFUSED(r, "linux.resources.blockIO.weight: 5 is not in [10, 1000]");
	static struct oci_throttle_device bad[] = { { 8, 16, 1 } };
	r = base, r.block_io.throttle_write_iops = bad;
	REFUSED(r, "linux.resources.blockIO.throttleWriteIOPSDevice[0]: no block device 8:16 on "
		   "this host");
	r = base, r.memory.has_check_before_update = r.memory.check_before_update = true;
	r.memory.limit = 4096, r.memory.has_swap = false;
	REFUSED(r, "linux.resources.memory.limit: 4096 is below the cgroup's current usage of "
		   "1048576 bytes (checkBeforeUpdate)");
	r = base, r.memory.swappiness = 101;
	REFUSED(r, "linux.resources.memory.swappiness: 101 is not in [0, 100]");
	r = base, r.memory.has_limit = false, r.memory.limit = 0, r.memory.swap = -3;
	REFUSED(r, "linux.resources.memory.swap: -3 is not a size or -1");
	static struct oci_net_priority badif[] = { { "eth0 1\nlo", 5 } };
	r = base, r.network.priorities = badif;
	REFUSED(r, "linux.resources.network.priorities[0].name: \"eth0 1\nlo\" is not an "
		   "interface name");
	static struct oci_device_rule baddev[] = { { true, 'c', 1LL << 40, 3, "rwm" } };
	r = base, r.devices = baddev, r.n_devices = 1;
	REFUSED(r, "linux.resources.devices[0].major: 1099511627776 is out of range");
	/* the limit alone above what memory+swap allows */
	fake_put(f.root, MEM "memory.memsw.limit_in_bytes", "268435456");
	r = base, r.memory.has_swap = false, r.memory.limit = 512 << 20;
	REFUSED(r, "linux.resources.memory.limit: 536870912 is above the cgroup's memory+swap "
		   "limit 268435456; set memory.swap too");
	/* no swap accounting */
	_cleanup_free_ char *memsw = xasprintf("%s/" MEM "memory.memsw.limit_in_bytes", f.root);
	unlink(memsw);
	r = base;
	REFUSED(r, "linux.resources.memory.swap: swap is not accounted on this host");
}

static void cfs_ancestor(void)
{
	FX();
	fake_files(f.root, CG "cpu,cpuacct/lim", "cpu.cfs_quota_us", "20000", "cpu.cfs_period_us",
		   "100000", NULL);
	fake_files(f.root, CG "cpuset/lim/c", "cpuset.cpus", "0", "cpuset.mems", "0", NULL);
	fake_files(f.root, CG "cpuset/lim", "cpuset.cpus", "0", "cpuset.mems", "0", NULL);
	fake_files(f.root, CG "cpu,cpuacct/lim/c", "cpu.cfs_quota_us", "-1", "cpu.cfs_period_us",
		   "100000", NULL);
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	T_ASSERT_INT(cgroup_ctx_create(f.ctx, "/lim/c", &cg, &f.err), 0);
	journal_reset(f.ctx);
	struct oci_resources r = { 0 };
	r.cpu.has_quota = true, r.cpu.quota = 50000;
	r.cpu.has_period = true, r.cpu.period = 100000;
	T_ASSERT_INT(cgroup_apply(cg, &r, &f.err), -EINVAL);
	_cleanup_free_ char *msg = xasprintf("linux.resources.cpu.quota: 50000/100000 is more CPU "
					     "than the ancestor %s/" CG "cpu,cpuacct/lim allows "
					     "(20000/100000)", f.root);
	T_ASSERT_CONTAINS(f.err->msg, msg);
	r.cpu.quota = 20000;
	T_ASSERT_INT(cgroup_apply(cg, &r, &f.err), 0);
}

static void controller_not_mounted(void)
{
	FX_WITH(mi_no_net);
	journal_reset(f.ctx);
	struct oci_resources r = { 0 };
	r.network.has_class_id = true, r.network.class_id = 1;
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(f.err->msg, "cgroup ctr: linux.resources.network.classID: the net_cls "
				      "controller is not available on this host (not mounted)");
	r = (struct oci_resources){ .pids = { true, 5 } };
	T_ASSERT_INT(cgroup_apply(f.cg, &r, &f.err), -EOPNOTSUPP);
	T_ASSERT_CONTAINS(f.err->msg, "linux.resources.pids.limit: the pids controller");
	T_ASSERT_INT(journal_len(f.ctx), 0);
}

static void pids_freeze_destroy(void)
{
	FX();
	fake_put(f.root, MEM "cgroup.procs", "5\n3\n");
	fake_put(f.root, CG "pids/ctr/cgroup.procs", "3\n9\n");
	fake_put(f.root, CG "pids/ctr/sub/cgroup.procs", "7\n");
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	T_ASSERT_INT(cgroup_pids(f.cg, &pids, &n, &f.err), 0);
	T_ASSERT_INT(n, 4);
	T_ASSERT(pids[0] == 3 && pids[1] == 5 && pids[2] == 7 && pids[3] == 9);
	/* busy: refused, nothing removed */
	T_ASSERT_INT(cgroup_destroy(f.cg, &f.err), -EBUSY);
	T_ASSERT_CONTAINS(f.err->msg, "cgroup ctr still has 4 processes (pid 3, ...)");
	_cleanup_free_ char *sub = xasprintf("%s/" CG "pids/ctr/sub", f.root);
	T_ASSERT(access(sub, F_OK) == 0);
	T_ASSERT_INT(cgroup_freeze(f.cg, true, &f.err), 0);
	T_FILE(CG "freezer/ctr/freezer.state", "FROZEN");
	bool frozen;
	T_ASSERT_INT(cgroup_is_frozen(f.cg, &frozen, &f.err), 0);
	T_ASSERT(frozen);
	struct cgroup *root = NULL;
	T_ASSERT_INT(cgroup_ctx_open(f.ctx, "/", &root, &f.err), 0);
	T_ASSERT_INT(cgroup_destroy(root, &f.err), -EINVAL);
	T_ASSERT_CONTAINS(f.err->msg, "refusing to remove");
	cgroup_free(root);
}

/* A vCPU cgroup only where CPU is limited and accounted: the other
 * hierarchies are left alone (absent). */
static void threaded_for_some_controllers(void)
{
	FX();
	static const char *const cpu[] = { "cpu", "cpuacct", NULL };
	struct cgroup *v = NULL;
	T_ASSERT_INT(cgroup_create_threaded_for(f.cg, "vcpus", cpu, &v, &f.err), 0);
	_cleanup_free_ char *in_cpu = xasprintf("%s/" CPU "vcpus", f.root);
	_cleanup_free_ char *in_mem = xasprintf("%s/" MEM "vcpus", f.root);
	_cleanup_free_ char *in_cpuset = xasprintf("%s/" CG "cpuset/ctr/vcpus", f.root);
	T_ASSERT(access(in_cpu, F_OK) == 0);
	T_ASSERT(access(in_mem, F_OK) < 0 && errno == ENOENT);
	T_ASSERT(access(in_cpuset, F_OK) < 0 && errno == ENOENT);
	/* no cpuset copies for a hierarchy it is not in */
	for (size_t i = 0; i < journal_len(f.ctx); i++)
		T_ASSERT(!strstr(f.ctx->journal[i], "cpuset/ctr/vcpus"));
	/* entering skips the hierarchies it is not in */
	fake_files(f.root, CPU "vcpus", "tasks", "", NULL);
	T_ASSERT_INT(cgroup_enter_thread(v, 42, &f.err), 0);
	T_FILE(CPU "vcpus/tasks", "42");
	T_ASSERT(access(in_mem, F_OK) < 0 && errno == ENOENT);
	cgroup_free(v);
}

/* Only the hierarchies asked for: a VM's cgroup is not made in freezer or
 * blkio (vm/launch.c); the named one by "name=systemd". */
static void make_some_only_listed(void)
{
	FX();
	static const char *const some[] = { "memory", "pids", "name=systemd", NULL };
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL, *again = NULL;
	T_ASSERT_INT(cg_resolve(f.ctx, "vm/x", &cg, &f.err), 0);
	char **made = NULL;
	T_ASSERT_INT(cgroup_make_some(cg, some, false, &made, &f.err), 0);
	T_ASSERT_INT((int)cell_strv_len(made), 3);
	for (size_t i = 0; i < f.ctx->n_hier; i++) {
		const char *d = cgroup_dirs(cg)[i];
		bool want = strstr(d, "/memory/") || strstr(d, "/pids/") || strstr(d, "/systemd/");
		if ((access(d, F_OK) == 0) != want)
			T_FAIL("%s: %s", d, want ? "not made" : "made");
	}
	cell_strv_free(made);
	/* the record of all of them reopens with the others absent */
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, cgroup_dirs(cg), &again, &f.err), 0);
	size_t absent = 0;
	for (size_t i = 0; i < f.ctx->n_hier; i++)
		absent += again->absent[i];
	T_ASSERT_INT((int)absent, (int)f.ctx->n_hier - 3);
}

static void stats_from_v1_files(void)
{
	FX();
	fake_files(f.root, CG "cpu,cpuacct/ctr", "cpuacct.usage_all",
		   "cpu user system\n0 100 50\n1 200 25\n", "cpu.stat",
		   "nr_periods 5\nnr_throttled 1\nthrottled_time 777\n", NULL);
	fake_files(f.root, CG "memory/user.slice/ctr", "memory.usage_in_bytes", "8192\n",
		   "memory.max_usage_in_bytes", "16384\n", "memory.stat",
		   "cache 1\nrss 2\ntotal_cache 2048\ntotal_rss 4096\ntotal_swap 512\n"
		   "total_active_anon 3000\ntotal_inactive_anon 1000\n",
		   "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n", NULL);
	fake_files(f.root, CG "pids/ctr", "pids.current", "2\n", "pids.max", "100\n", NULL);
	fake_files(f.root, CG "blkio/ctr", "blkio.throttle.io_service_bytes_recursive",
		   "8:0 Read 100\n8:0 Write 200\n8:0 Sync 0\n8:0 Async 300\n8:0 Discard 0\n"
		   "8:0 Total 300\nTotal 300\n",
		   "blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
		   NULL);
	fake_files(f.root, CG "hugetlb/ctr", "hugetlb.2MB.usage_in_bytes", "0\n",
		   "hugetlb.2MB.max_usage_in_bytes", "2097152\n", NULL);
	struct cgroup_stats st;
	T_ASSERT_INT(cgroup_stats(f.cg, &st, &f.err), 0);
	struct cgroup_stats c = st;
	struct cgroup_stats_blkio b = st.blkio[0];
	struct cgroup_stats_hugetlb hg = st.hugetlb[0];
	size_t nb = st.n_blkio, nh = st.n_hugetlb;
	cgroup_stats_release(&st);
	T_ASSERT(c.has_cpu && c.cpu.user_ns == 300 && c.cpu.system_ns == 75 && c.cpu.usage_ns == 375);
	T_ASSERT(c.cpu.nr_periods == 5 && c.cpu.nr_throttled == 1 && c.cpu.throttled_ns == 777);
	T_ASSERT(c.has_memory && c.memory.usage == 8192 && c.memory.max_usage == 16384);
	T_ASSERT(c.memory.limit == CGROUP_STATS_UNLIMITED);
	T_ASSERT(c.memory.cache == 2048 && c.memory.rss == 4096 && c.memory.swap == 512);
	T_ASSERT(c.memory.anon == 4000 && c.memory.oom_kill == 4 && !c.memory.has_oom_events);
	T_ASSERT(c.has_pids && c.pids.current == 2 && c.pids.limit == 100);
	T_ASSERT_INT(nb, 1);
	T_ASSERT(b.major == 8 && b.read_bytes == 100 && b.write_bytes == 200 && b.read_ops == 1 &&
		 b.write_ops == 2);
	T_ASSERT_INT(nh, 1);
	T_ASSERT(hg.usage == 0 && hg.max_usage == 2097152 && hg.limit == CGROUP_STATS_UNLIMITED);
}

/* resolve, record, make; later reopen from the record alone. */
static void resolve_make_open_dirs(void)
{
	FX();
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL, *again = NULL, *part = NULL;
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, cgroup_dirs(f.cg), &again, &f.err), 0);
	T_ASSERT_STR(cgroup_path(again), "/ctr"); /* name=systemd's, before the others */
	for (size_t i = 0; i < f.ctx->n_hier; i++)
		T_ASSERT_STR(cgroup_dirs(again)[i], cgroup_dirs(f.cg)[i]);
	T_ASSERT_INT(cg_resolve(f.ctx, "new/x", &cg, &f.err), 0);
	_cleanup_strv_ char **rec = cell_strv_dup(cgroup_dirs(cg));
	for (char **d = rec; *d; d++)
		T_ASSERT(access(*d, F_OK) < 0);
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, rec, &part, &f.err), -ENOENT);
	fake_files(f.root, CG "cpuset/new", "cpuset.cpus", "", "cpuset.mems", "", NULL);
	fake_files(f.root, CG "cpuset/new/x", "cpuset.cpus", "", "cpuset.mems", "", NULL);
	if (cgroup_make(cg, &f.err) < 0)
		T_FAIL("%s", f.err->msg);
	for (char **d = rec; *d; d++)
		T_ASSERT(access(*d, F_OK) == 0);
	/* a record of some hierarchies only: the rest is left alone */
	char *two[] = { rec[0], rec[3], NULL };
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, two, &part, &f.err), 0);
	size_t absent = 0;
	for (size_t i = 0; i < f.ctx->n_hier; i++)
		absent += part->absent[i];
	T_ASSERT_INT(absent, f.ctx->n_hier - 2);
	char *outside[] = { "/etc", NULL };
	struct cgroup *no = NULL;
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, outside, &no, &f.err), -EINVAL);
	T_ASSERT_CONTAINS(f.err->msg, "/etc is not a cgroup directory of this host");
	_cleanup_free_ char *up = xasprintf("%s/../../etc", rec[1]);
	char *escape[] = { up, NULL };
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, escape, &no, &f.err), -EINVAL);
	char *twice[] = { rec[1], rec[1], NULL };
	T_ASSERT_INT(cgroup_ctx_open_dirs(f.ctx, twice, &no, &f.err), -EINVAL);
	T_ASSERT_CONTAINS(f.err->msg, "two in one hierarchy");
}

T_MAIN("cgroup-v1", T_CASE(resolve_make_open_dirs), T_CASE(stats_from_v1_files), T_CASE(create_copies_cpuset_and_resolves_relative), T_CASE(apply_rich),
       T_CASE(memsw_order), T_CASE(refusals), T_CASE(cfs_ancestor),
       T_CASE(controller_not_mounted), T_CASE(pids_freeze_destroy),
       T_CASE(threaded_for_some_controllers), T_CASE(make_some_only_listed))
