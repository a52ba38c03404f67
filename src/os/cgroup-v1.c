/* cgroup v1 planners: linux.resources in the files of one hierarchy per
 * controller (Documentation/admin-guide/cgroup-v1/). */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

#define MEM_FIELD "linux.resources.memory."
#define CPU_FIELD "linux.resources.cpu."

/* -1 (no limit) as the largest value, for comparisons. */
static uint64_t lim(int64_t v)
{
	return v < 0 ? UINT64_MAX : (uint64_t)v;
}

static int read_or(const char *dir, const char *file, uint64_t dflt, uint64_t *ret)
{
	_cleanup_err_ struct cell_err *e = NULL;
	if (cg_read_u64(dir, file, ret, &e) < 0)
		*ret = dflt;
	return 0;
}

int cg_check_memory(const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	static const char *const names[] = { "limit", "swap", "reservation", "kernel", "kernelTCP" };
	const int64_t vals[] = { m->limit, m->swap, m->reservation, m->kernel, m->kernel_tcp };
	const bool has[] = { m->has_limit, m->has_swap, m->has_reservation, m->has_kernel,
			     m->has_kernel_tcp };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (has[i] && vals[i] < -1)
			return cell_err(err, EINVAL, MEM_FIELD "%s: %" PRId64 " is not a size or -1",
					names[i], vals[i]);
	if (m->has_limit && m->has_swap && m->limit > 0 && m->swap > 0 && m->swap < m->limit)
		return cell_err(err, EINVAL, MEM_FIELD "swap: %" PRId64 " is below memory.limit %"
				PRId64 " (swap is the limit of memory plus swap)", m->swap, m->limit);
	if (m->has_swappiness && m->swappiness != UINT64_MAX && m->swappiness > 100)
		return cell_err(err, EINVAL, MEM_FIELD "swappiness: %" PRIu64 " is not in [0, 100]",
				m->swappiness);
	return 0;
}

static void set_limit(struct cg_plan *p, int h, int64_t limit, uint64_t usage)
{
	struct cg_write *w = cg_plan_set(p, h, "memory.limit_in_bytes", MEM_FIELD "limit",
					 "%" PRId64, limit);
	w->busy = xasprintf("%" PRId64 " is below what the cgroup uses now (%" PRIu64 " bytes) "
			    "and the kernel could not reclaim enough", limit, usage);
}

/* memory.limit_in_bytes <= memory.memsw.limit_in_bytes must hold after
 * every single write, so the order depends on where both go. */
static int plan_limits(struct cg_plan *p, int h, const struct oci_resources *r,
		       struct cell_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	const char *dir = cg_plan_dir(p, h);
	bool has_limit = m->has_limit && m->limit != 0, has_swap = m->has_swap && m->swap != 0;
	bool memsw = cg_exists(dir, "memory.memsw.limit_in_bytes");
	int64_t swap = m->swap;
	uint64_t cur_limit, cur_memsw, usage;
	read_or(dir, "memory.limit_in_bytes", UINT64_MAX, &cur_limit);
	read_or(dir, "memory.memsw.limit_in_bytes", UINT64_MAX, &cur_memsw);
	read_or(dir, "memory.usage_in_bytes", 0, &usage);
	if (has_swap && swap != -1 && !memsw)
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "swap: swap is not accounted on this "
				"host (no memory.memsw.limit_in_bytes; boot with swapaccount=1)");
	if (has_limit && m->limit == -1 && !has_swap && memsw) {
		has_swap = true; /* no memory limit means no memory+swap limit either */
		swap = -1;
	}
	if (has_swap && !memsw)
		has_swap = false; /* -1 where nothing is accounted: nothing to do */
	if (has_swap && swap != -1 && has_limit && m->limit == -1)
		return cell_err(err, EINVAL, MEM_FIELD "swap: %" PRId64 " needs a memory limit, "
				"but memory.limit is -1", swap);
	if (has_limit && m->has_check_before_update && m->check_before_update &&
	    lim(m->limit) < usage)
		return cell_err(err, EBUSY, MEM_FIELD "limit: %" PRId64 " is below the cgroup's "
				"current usage of %" PRIu64 " bytes (checkBeforeUpdate)", m->limit,
				usage);
	if (has_limit && !has_swap && memsw && lim(m->limit) > cur_memsw)
		return cell_err(err, EINVAL, MEM_FIELD "limit: %" PRId64 " is above the cgroup's "
				"memory+swap limit %" PRIu64 "; set memory.swap too", m->limit,
				cur_memsw);
	if (has_swap && !has_limit && lim(swap) < cur_limit)
		return cell_err(err, EINVAL, MEM_FIELD "swap: %" PRId64 " is below the cgroup's "
				"memory limit %" PRIu64 "; set memory.limit too", swap, cur_limit);
	bool swap_first = has_swap && lim(swap) >= cur_limit;
	if (swap_first)
		cg_plan_set(p, h, "memory.memsw.limit_in_bytes", MEM_FIELD "swap", "%" PRId64, swap);
	if (has_limit)
		set_limit(p, h, m->limit, usage);
	if (has_swap && !swap_first)
		cg_plan_set(p, h, "memory.memsw.limit_in_bytes", MEM_FIELD "swap", "%" PRId64, swap);
	return 0;
}

static int need_file(const char *dir, const char *file, const char *field, struct cell_err **err)
{
	if (cg_exists(dir, file))
		return 0;
	return cell_err(err, EOPNOTSUPP, "%s: this kernel has no %s (%s)", field, file, dir);
}

int cg_v1_memory(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	const char *dir = cg_plan_dir(p, h);
	int k = cg_check_memory(r, err);
	if (k >= 0)
		k = plan_limits(p, h, r, err);
	if (k < 0)
		return k;
	if (m->has_reservation && m->reservation != 0)
		cg_plan_set(p, h, "memory.soft_limit_in_bytes", MEM_FIELD "reservation", "%" PRId64,
			    m->reservation);
	/* Since Linux 6.1 the kernel takes writes to kmem.limit_in_bytes and
	 * ignores them: verify it kept the value. */
	if (m->has_kernel && m->kernel > 0) {
		if ((k = need_file(dir, "memory.kmem.limit_in_bytes", MEM_FIELD "kernel", err)) < 0)
			return k;
		cg_plan_set(p, h, "memory.kmem.limit_in_bytes", MEM_FIELD "kernel", "%" PRId64,
			    m->kernel)->verify = true;
	}
	if (m->has_kernel_tcp && m->kernel_tcp != 0) {
		k = need_file(dir, "memory.kmem.tcp.limit_in_bytes", MEM_FIELD "kernelTCP", err);
		if (k < 0)
			return k;
		cg_plan_set(p, h, "memory.kmem.tcp.limit_in_bytes", MEM_FIELD "kernelTCP",
			    "%" PRId64, m->kernel_tcp);
	}
	if (m->has_swappiness && m->swappiness != UINT64_MAX)
		cg_plan_set(p, h, "memory.swappiness", MEM_FIELD "swappiness", "%" PRIu64,
			    m->swappiness);
	if (m->has_disable_oom_killer)
		cg_plan_set(p, h, "memory.oom_control", MEM_FIELD "disableOOMKiller", "%d",
			    m->disable_oom_killer ? 1 : 0);
	if (m->has_use_hierarchy)
		cg_plan_set(p, h, "memory.use_hierarchy", MEM_FIELD "useHierarchy", "%d",
			    m->use_hierarchy ? 1 : 0);
	return 0;
}

/* The kernel refuses a child whose quota/period ratio exceeds an
 * ancestor's (tg_cfs_schedulable_down): say which ancestor. */
static int check_cfs_ancestors(struct cg_plan *p, int h, uint64_t quota, uint64_t period,
			       struct cell_err **err)
{
	const char *mount = p->cg->ctx->hier[h].mount;
	_cleanup_free_ char *up = cg_dirname(cg_plan_dir(p, h));
	while (strlen(up) > strlen(mount)) {
		uint64_t q, per;
		read_or(up, "cpu.cfs_quota_us", UINT64_MAX, &q);
		read_or(up, "cpu.cfs_period_us", 0, &per);
		if (q != UINT64_MAX && per && (__uint128_t)quota * per > (__uint128_t)q * period)
			return cell_err(err, EINVAL, CPU_FIELD "quota: %" PRIu64 "/%" PRIu64 " is "
					"more CPU than the ancestor %s allows (%" PRIu64 "/%" PRIu64 ")",
					quota, period, up, q, per);
		char *next = cg_dirname(up);
		free(up);
		up = next;
	}
	return 0;
}

static int plan_cfs(struct cg_plan *p, int h, const struct oci_resources *r,
		    struct cell_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;
	const char *dir = cg_plan_dir(p, h);
	bool has_quota = c->has_quota && c->quota != 0, has_period = c->has_period && c->period;
	uint64_t cur_quota, cur_period, cur_burst;
	read_or(dir, "cpu.cfs_quota_us", UINT64_MAX, &cur_quota);
	read_or(dir, "cpu.cfs_period_us", 100000, &cur_period);
	read_or(dir, "cpu.cfs_burst_us", 0, &cur_burst);
	if (has_quota && (c->quota < -1 || (c->quota > 0 && c->quota < 1000)))
		return cell_err(err, EINVAL, CPU_FIELD "quota: %" PRId64 " is not -1 or at least "
				"1000 (microseconds)", c->quota);
	if (has_period && (c->period < 1000 || c->period > 1000000))
		return cell_err(err, EINVAL, CPU_FIELD "period: %" PRIu64 " is not in [1000, "
				"1000000] (microseconds)", c->period);
	uint64_t quota = has_quota ? lim(c->quota) : cur_quota;
	uint64_t period = has_period ? c->period : cur_period;
	/* 0 is the default: nothing to ask of a kernel without bursts. */
	bool has_burst = c->has_burst && (c->burst > 0 || cg_exists(dir, "cpu.cfs_burst_us"));
	if (has_burst) {
		int k = need_file(dir, "cpu.cfs_burst_us", CPU_FIELD "burst", err);
		if (k < 0)
			return k;
		if (c->burst > 0 && (quota == UINT64_MAX || c->burst > quota))
			return cell_err(err, EINVAL, CPU_FIELD "burst: %" PRIu64 " needs a cpu.quota "
					"at least as large", c->burst);
	}
	if (quota != UINT64_MAX && (has_quota || has_period)) {
		int k = check_cfs_ancestors(p, h, quota, period, err);
		if (k < 0)
			return k;
	}
	if (has_burst && c->burst < cur_burst)
		cg_plan_set(p, h, "cpu.cfs_burst_us", CPU_FIELD "burst", "%" PRIu64, c->burst);
	if (has_period)
		cg_plan_set(p, h, "cpu.cfs_period_us", CPU_FIELD "period", "%" PRIu64, c->period);
	if (has_quota)
		cg_plan_set(p, h, "cpu.cfs_quota_us", CPU_FIELD "quota", "%" PRId64, c->quota);
	if (has_burst && c->burst >= cur_burst)
		cg_plan_set(p, h, "cpu.cfs_burst_us", CPU_FIELD "burst", "%" PRIu64, c->burst);
	return 0;
}

/* cpu.rt_runtime_us <= cpu.rt_period_us after each write. */
static int plan_rt(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;
	const char *dir = cg_plan_dir(p, h);
	bool has_rt = c->has_realtime_runtime && c->realtime_runtime != 0;
	bool has_rp = c->has_realtime_period && c->realtime_period != 0;
	if (!has_rt && !has_rp)
		return 0;
	const char *field = has_rt ? CPU_FIELD "realtimeRuntime" : CPU_FIELD "realtimePeriod";
	int k = need_file(dir, "cpu.rt_runtime_us", field, err);
	if (k < 0)
		return k;
	uint64_t cur_rt, cur_rp;
	read_or(dir, "cpu.rt_runtime_us", 0, &cur_rt);
	read_or(dir, "cpu.rt_period_us", 1000000, &cur_rp);
	uint64_t rt = has_rt ? lim(c->realtime_runtime) : cur_rt;
	uint64_t rp = has_rp ? c->realtime_period : cur_rp;
	if (has_rt && c->realtime_runtime < -1)
		return cell_err(err, EINVAL, CPU_FIELD "realtimeRuntime: %" PRId64 " is not -1 or "
				"a time", c->realtime_runtime);
	if (rt != UINT64_MAX && rt > rp)
		return cell_err(err, EINVAL, CPU_FIELD "realtimeRuntime: %" PRIu64 " is longer "
				"than the real-time period %" PRIu64, rt, rp);
	bool period_first = cur_rt == UINT64_MAX || cur_rt <= rp;
	if (has_rp && period_first)
		cg_plan_set(p, h, "cpu.rt_period_us", CPU_FIELD "realtimePeriod", "%" PRIu64, rp);
	if (has_rt)
		cg_plan_set(p, h, "cpu.rt_runtime_us", CPU_FIELD "realtimeRuntime", "%" PRId64,
			    c->realtime_runtime);
	if (has_rp && !period_first)
		cg_plan_set(p, h, "cpu.rt_period_us", CPU_FIELD "realtimePeriod", "%" PRIu64, rp);
	return 0;
}

int cg_v1_cpu(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;
	const char *dir = cg_plan_dir(p, h);
	if (c->has_shares && c->shares != 0) {
		if (c->shares < 2 || c->shares > 262144)
			return cell_err(err, EINVAL, CPU_FIELD "shares: %" PRIu64 " is not in "
					"[2, 262144]", c->shares);
		cg_plan_set(p, h, "cpu.shares", CPU_FIELD "shares", "%" PRIu64, c->shares);
	}
	int k = plan_cfs(p, h, r, err);
	if (k >= 0)
		k = plan_rt(p, h, r, err);
	if (k < 0)
		return k;
	if (c->has_idle && (c->idle != 0 || cg_exists(dir, "cpu.idle"))) {
		if (c->idle != 0 && c->idle != 1)
			return cell_err(err, EINVAL, CPU_FIELD "idle: %" PRId64 " is not 0 or 1",
					c->idle);
		if ((k = need_file(dir, "cpu.idle", CPU_FIELD "idle", err)) < 0)
			return k;
		cg_plan_set(p, h, "cpu.idle", CPU_FIELD "idle", "%" PRId64, c->idle);
	}
	return 0;
}

int cg_v1_cpuset(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const char *cpus = r->cpu.cpus, *mems = r->cpu.mems;
	int k = 0;
	if (cpus && *cpus) {
		k = cg_check_cpus(p, h, CPU_FIELD "cpus", cpus, "cpuset.cpus", err);
		if (k < 0)
			return k;
		cg_plan_set(p, h, "cpuset.cpus", CPU_FIELD "cpus", "%s", cpus);
	}
	if (mems && *mems) {
		k = cg_check_cpus(p, h, CPU_FIELD "mems", mems, "cpuset.mems", err);
		if (k < 0)
			return k;
		cg_plan_set(p, h, "cpuset.mems", CPU_FIELD "mems", "%s", mems);
	}
	return 0;
}

int cg_v1_pids(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	if (r->pids.limit > 0)
		cg_plan_set(p, h, "pids.max", "linux.resources.pids.limit", "%" PRId64, r->pids.limit);
	else
		cg_plan_set(p, h, "pids.max", "linux.resources.pids.limit", "max");
	return 0;
}

int cg_check_block_device(struct cg_plan *p, const char *field, int64_t major, int64_t minor,
			  struct cell_err **err)
{
	if (cg_block_device_exists(p->cg->ctx, major, minor))
		return 0;
	return cell_err(err, ENODEV, "%s: no block device %" PRId64 ":%" PRId64 " on this host "
			"(no /sys/dev/block/%" PRId64 ":%" PRId64 ")", field, major, minor, major,
			minor);
}

int cg_plan_throttles(struct cg_plan *p, int h, const struct oci_resources *r, bool v2,
		      struct cell_err **err)
{
	const typeof(r->block_io) *b = &r->block_io;
	const struct {
		const char *name, *v1_file, *v2_key;
		const struct oci_throttle_device *d;
		size_t n;
	} t[] = {
		{ "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps",
		  b->throttle_read_bps, b->n_throttle_read_bps },
		{ "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps",
		  b->throttle_write_bps, b->n_throttle_write_bps },
		{ "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops",
		  b->throttle_read_iops, b->n_throttle_read_iops },
		{ "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops",
		  b->throttle_write_iops, b->n_throttle_write_iops },
	};
	for (size_t k = 0; k < ARRAY_SIZE(t); k++) {
		for (size_t i = 0; i < t[k].n; i++) {
			const struct oci_throttle_device *d = &t[k].d[i];
			_cleanup_free_ char *field = xasprintf("linux.resources.blockIO.%s[%zu]",
							       t[k].name, i);
			int e = cg_check_block_device(p, field, d->major, d->minor, err);
			if (e < 0)
				return e;
			/* 0 lifts the limit: v1 takes 0 itself, v2 wants "max". */
			if (!v2)
				cg_plan_list(p, h, t[k].v1_file, field, "%" PRId64 ":%" PRId64 " %" PRIu64,
					     d->major, d->minor, d->rate);
			else if (d->rate == 0)
				cg_plan_list(p, h, "io.max", field, "%" PRId64 ":%" PRId64 " %s=max",
					     d->major, d->minor, t[k].v2_key);
			else
				cg_plan_list(p, h, "io.max", field, "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
					     d->major, d->minor, t[k].v2_key, d->rate);
		}
	}
	return 0;
}

static int check_weight(const char *field, uint64_t w, struct cell_err **err)
{
	if (w < 10 || w > 1000)
		return cell_err(err, EINVAL, "%s: %" PRIu64 " is not in [10, 1000]", field, w);
	return 0;
}

int cg_v1_blkio(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->block_io) *b = &r->block_io;
	const char *dir = cg_plan_dir(p, h);
	/* CFQ had blkio.weight; since Linux 5.0 only BFQ offers weights. */
	bool cfq = cg_exists(dir, "blkio.weight"), bfq = cg_exists(dir, "blkio.bfq.weight");
	int k;
	if (b->has_weight && b->weight != 0) {
		const char *f = "linux.resources.blockIO.weight";
		if ((k = check_weight(f, b->weight, err)) < 0)
			return k;
		if (!cfq && !bfq)
			return cell_err(err, EOPNOTSUPP, "%s: no I/O scheduler with weights (no "
					"blkio.weight or blkio.bfq.weight in %s)", f, dir);
		cg_plan_set(p, h, cfq ? "blkio.weight" : "blkio.bfq.weight", f, "%u", b->weight);
	}
	if (b->has_leaf_weight && b->leaf_weight != 0) {
		const char *f = "linux.resources.blockIO.leafWeight";
		if ((k = check_weight(f, b->leaf_weight, err)) < 0 ||
		    (k = need_file(dir, "blkio.leaf_weight", f, err)) < 0)
			return k;
		cg_plan_set(p, h, "blkio.leaf_weight", f, "%u", b->leaf_weight);
	}
	for (size_t i = 0; i < b->n_weight_devices; i++) {
		const struct oci_weight_device *d = &b->weight_devices[i];
		_cleanup_free_ char *f = xasprintf("linux.resources.blockIO.weightDevice[%zu]", i);
		if ((k = cg_check_block_device(p, f, d->major, d->minor, err)) < 0)
			return k;
		if (d->has_weight) {
			if ((k = check_weight(f, d->weight, err)) < 0)
				return k;
			if (!cfq && !bfq)
				return cell_err(err, EOPNOTSUPP, "%s: no I/O scheduler with weights",
						f);
			cg_plan_list(p, h, cfq ? "blkio.weight_device" : "blkio.bfq.weight_device", f,
				     "%" PRId64 ":%" PRId64 " %u", d->major, d->minor, d->weight);
		}
		if (d->has_leaf_weight) {
			if ((k = check_weight(f, d->leaf_weight, err)) < 0 ||
			    (k = need_file(dir, "blkio.leaf_weight_device", f, err)) < 0)
				return k;
			cg_plan_list(p, h, "blkio.leaf_weight_device", f, "%" PRId64 ":%" PRId64 " %u",
				     d->major, d->minor, d->leaf_weight);
		}
	}
	return cg_plan_throttles(p, h, r, false, err);
}

int cg_v1_hugetlb(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const char *dir = cg_plan_dir(p, h);
	for (size_t i = 0; i < r->n_hugepage_limits; i++) {
		const struct oci_hugepage_limit *l = &r->hugepage_limits[i];
		int k = cg_check_hugepage(p, l, i, err);
		if (k < 0)
			return k;
		_cleanup_free_ char *f = xasprintf("linux.resources.hugepageLimits[%zu].limit", i);
		_cleanup_free_ char *file = xasprintf("hugetlb.%s.limit_in_bytes", l->page_size);
		_cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.limit_in_bytes", l->page_size);
		if ((k = need_file(dir, file, f, err)) < 0)
			return k;
		cg_plan_set(p, h, file, f, "%" PRIu64, l->limit);
		/* Reservations (Linux 5.7) are what mmap() checks: limit them alike. */
		if (cg_exists(dir, rsvd))
			cg_plan_set(p, h, rsvd, f, "%" PRIu64, l->limit);
	}
	return 0;
}

int cg_v1_net_cls(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	cg_plan_set(p, h, "net_cls.classid", "linux.resources.network.classID", "%u",
		    r->network.class_id);
	return 0;
}

int cg_v1_net_prio(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	for (size_t i = 0; i < r->network.n_priorities; i++) {
		const struct oci_net_priority *np = &r->network.priorities[i];
		_cleanup_free_ char *f = xasprintf("linux.resources.network.priorities[%zu].name", i);
		const char *name = np->name ? np->name : "";
		if (!*name || strlen(name) >= IFNAMSIZ || strpbrk(name, " \t\n/"))
			return cell_err(err, EINVAL, "%s: \"%s\" is not an interface name", f, name);
		cg_plan_list(p, h, "net_prio.ifpriomap", f, "%s %u", name, np->priority);
	}
	return 0;
}

static void dev_number(char *buf, size_t size, int64_t n)
{
	if (n < 0)
		snprintf(buf, size, "*");
	else
		snprintf(buf, size, "%" PRId64, n);
}

int cg_v1_devices(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		_cleanup_free_ char *f = xasprintf("linux.resources.devices[%zu]", i);
		int k = cg_check_device_rule(d, f, err);
		if (k < 0)
			return k;
		const char *file = d->allow ? "devices.allow" : "devices.deny";
		if (d->type == 'a') {
			/* The kernel reads nothing after 'a': all devices. */
			cg_plan_list(p, h, file, f, "a");
			continue;
		}
		if (!d->access[0])
			continue; /* no access named: a rule that matches nothing */
		char maj[24], min[24];
		dev_number(maj, sizeof(maj), d->major);
		dev_number(min, sizeof(min), d->minor);
		cg_plan_list(p, h, file, f, "%c %s:%s %s", d->type, maj, min, d->access);
	}
	return 0;
}
