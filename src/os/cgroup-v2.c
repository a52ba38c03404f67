/* cgroup v2 planners: linux.resources in the files of the unified
 * hierarchy (Documentation/admin-guide/cgroup-v2.rst), with the
 * conversions from the v1-shaped OCI fields. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

#define MEM_FIELD "linux.resources.memory."
#define CPU_FIELD "linux.resources.cpu."

static bool planned(const struct cg_plan *p, const char *dir, const char *value)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->w[i].phase == CG_PHASE_ENABLE && strcmp(p->w[i].dir, dir) == 0 &&
		    strcmp(p->w[i].value, value) == 0)
			return true;
	return false;
}

int cg_v2_need(struct cg_plan *p, int h, const char *ctrl, const char *field,
	       struct cell_err **err)
{
	const struct cg_hier *hier = &p->cg->ctx->hier[h];
	const char *dir = cg_plan_dir(p, h);
	_cleanup_free_ char *have = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cg_read(dir, "cgroup.controllers", &have, &e) == 0 && cg_words_have(have, ctrl))
		return 0;
	if (!cg_strv_has(hier->controllers, ctrl))
		return cell_err(err, EOPNOTSUPP, "%s: the %s controller is not available (not in "
				"%s/cgroup.controllers)", field, ctrl, hier->mount);
	/* Pass it down from the top: each level can only enable what its
	 * parent gave it. */
	_cleanup_free_ char *plus = xasprintf("+%s", ctrl);
	_cleanup_free_ char *path = xstrdup(dir);
	size_t start = strlen(hier->mount);
	if (!path[start])
		return 0; /* the root has every controller */
	for (char *s = path + start;;) {
		char saved = *s;
		*s = '\0';
		_cleanup_free_ char *on = NULL;
		if ((cg_read(path, "cgroup.subtree_control", &on, &e) < 0 ||
		     !cg_words_have(on, ctrl)) && !planned(p, path, plus))
			cg_plan_add(p, CG_PHASE_ENABLE, path, "cgroup.subtree_control", field, plus)
				->busy = xasprintf("cannot pass the %s controller down from %s: it "
						   "has processes of its own, and cgroup v2 gives "
						   "domain controllers only to cgroups without", ctrl,
						   path);
		*s = saved;
		char *next = strchr(s + 1, '/');
		if (!next)
			break; /* s is at the leaf's own component: stop at its parent */
		s = next;
	}
	return 0;
}

static int v2_memory_swap(struct cg_plan *p, int h, const struct oci_resources *r,
			  struct cell_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	const char *dir = cg_plan_dir(p, h);
	bool has_limit = m->has_limit && m->limit != 0, has_swap = m->has_swap && m->swap != 0;
	_cleanup_free_ char *value = NULL;
	if (has_swap && m->swap == -1) {
		value = xstrdup("max");
	} else if (has_swap) {
		/* OCI counts memory plus swap (the v1 memsw); v2 limits swap alone. */
		int64_t limit = m->limit;
		if (!has_limit) {
			uint64_t cur;
			_cleanup_err_ struct cell_err *e = NULL;
			if (cg_read_u64(dir, "memory.max", &cur, &e) < 0 || cur > INT64_MAX)
				limit = -1;
			else
				limit = (int64_t)cur;
		}
		if (limit == -1)
			return cell_err(err, EINVAL, MEM_FIELD "swap: %" PRId64 " (memory plus swap) "
					"needs a memory limit on cgroup v2", m->swap);
		if (m->swap < limit)
			return cell_err(err, EINVAL, MEM_FIELD "swap: %" PRId64 " is below the memory "
					"limit %" PRId64, m->swap, limit);
		value = xasprintf("%" PRId64, m->swap - limit);
	} else if (has_limit && m->limit == -1) {
		value = xstrdup("max"); /* no memory limit: no swap limit either */
	} else {
		return 0;
	}
	if (!cg_exists(dir, "memory.swap.max") && cg_exists(dir, "memory.max")) {
		if (strcmp(value, "max") == 0 || strcmp(value, "0") == 0)
			return 0; /* no swap accounting: nothing can swap anyway */
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "swap: swap is not accounted on this "
				"host (no memory.swap.max)");
	}
	cg_plan_set(p, h, "memory.swap.max", MEM_FIELD "swap", "%s", value)->optional =
		strcmp(value, "max") == 0;
	return 0;
}

/* What v2 cannot express at all. */
static int v2_memory_refusals(const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	if (m->has_kernel && m->kernel > 0)
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "kernel: cgroup v2 has no separate "
				"kernel memory limit (memory.max counts kernel memory)");
	if (m->has_kernel_tcp && m->kernel_tcp > 0)
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "kernelTCP: cgroup v2 has no separate "
				"TCP buffer limit (memory.max counts it)");
	if (m->has_swappiness && m->swappiness != UINT64_MAX)
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "swappiness: cgroup v2 has no "
				"per-cgroup swappiness");
	if (m->has_disable_oom_killer && m->disable_oom_killer)
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "disableOOMKiller: cgroup v2 cannot "
				"disable the OOM killer");
	if (m->has_use_hierarchy && !m->use_hierarchy)
		return cell_err(err, EOPNOTSUPP, MEM_FIELD "useHierarchy: cgroup v2 is always "
				"hierarchical");
	return 0;
}

int cg_v2_memory(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->memory) *m = &r->memory;
	const char *dir = cg_plan_dir(p, h);
	int k = cg_check_memory(r, err);
	if (k >= 0)
		k = v2_memory_refusals(r, err);
	if (k >= 0)
		k = cg_v2_need(p, h, "memory", "linux.resources.memory", err);
	if (k < 0)
		return k;
	bool has_limit = m->has_limit && m->limit != 0;
	if (has_limit && m->limit > 0 && m->has_check_before_update && m->check_before_update) {
		uint64_t usage;
		_cleanup_err_ struct cell_err *e = NULL;
		if (cg_read_u64(dir, "memory.current", &usage, &e) == 0 &&
		    usage > (uint64_t)m->limit)
			return cell_err(err, EBUSY, MEM_FIELD "limit: %" PRId64 " is below the "
					"cgroup's current usage of %" PRIu64 " bytes "
					"(checkBeforeUpdate)", m->limit, usage);
	}
	if (has_limit && m->limit > 0)
		cg_plan_set(p, h, "memory.max", MEM_FIELD "limit", "%" PRId64, m->limit);
	else if (has_limit)
		cg_plan_set(p, h, "memory.max", MEM_FIELD "limit", "max");
	if ((k = v2_memory_swap(p, h, r, err)) < 0)
		return k;
	if (m->has_reservation && m->reservation > 0)
		cg_plan_set(p, h, "memory.low", MEM_FIELD "reservation", "%" PRId64, m->reservation);
	else if (m->has_reservation && m->reservation == -1)
		cg_plan_set(p, h, "memory.low", MEM_FIELD "reservation", "max");
	return 0;
}

static int v2_cpu_max(struct cg_plan *p, int h, const struct oci_resources *r,
		      struct cell_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;
	const char *dir = cg_plan_dir(p, h);
	bool has_quota = c->has_quota && c->quota != 0, has_period = c->has_period && c->period;
	/* cpu.max is "QUOTA PERIOD"; the one not given keeps its value. */
	char cur_quota[32] = "max";
	uint64_t cur_period = 100000, cur_burst = 0;
	_cleanup_free_ char *cur = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cg_read(dir, "cpu.max", &cur, &e) == 0)
		sscanf(cur, "%31s %" SCNu64, cur_quota, &cur_period);
	if (cg_read_u64(dir, "cpu.max.burst", &cur_burst, &e) < 0)
		cur_burst = 0;
	if (has_quota && (c->quota < -1 || (c->quota > 0 && c->quota < 1000)))
		return cell_err(err, EINVAL, CPU_FIELD "quota: %" PRId64 " is not -1 or at least "
				"1000 (microseconds)", c->quota);
	if (has_period && (c->period < 1000 || c->period > 1000000))
		return cell_err(err, EINVAL, CPU_FIELD "period: %" PRIu64 " is not in [1000, "
				"1000000] (microseconds)", c->period);
	char quota[32];
	if (has_quota && c->quota > 0)
		snprintf(quota, sizeof(quota), "%" PRId64, c->quota);
	else
		snprintf(quota, sizeof(quota), "%s", has_quota ? "max" : cur_quota);
	uint64_t q = strcmp(quota, "max") == 0 ? UINT64_MAX : strtoull(quota, NULL, 10);
	if (c->has_burst && c->burst > 0 && (q == UINT64_MAX || c->burst > q))
		return cell_err(err, EINVAL, CPU_FIELD "burst: %" PRIu64 " needs a cpu.quota at "
				"least as large", c->burst);
	bool no_burst = !cg_exists(dir, "cpu.max.burst") && cg_exists(dir, "cpu.max");
	if (c->has_burst && c->burst > 0 && no_burst)
		return cell_err(err, EOPNOTSUPP, CPU_FIELD "burst: this kernel has no "
				"cpu.max.burst");
	bool has_burst = c->has_burst && !no_burst;
	/* burst <= quota after each write: shrink the burst first. */
	if (has_burst && c->burst < cur_burst)
		cg_plan_set(p, h, "cpu.max.burst", CPU_FIELD "burst", "%" PRIu64, c->burst);
	if (has_quota || has_period)
		cg_plan_set(p, h, "cpu.max", has_quota ? CPU_FIELD "quota" : CPU_FIELD "period",
			    "%s %" PRIu64, quota, has_period ? c->period : cur_period);
	if (has_burst && c->burst >= cur_burst)
		cg_plan_set(p, h, "cpu.max.burst", CPU_FIELD "burst", "%" PRIu64, c->burst);
	return 0;
}

int cg_v2_cpu(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->cpu) *c = &r->cpu;
	if ((c->has_realtime_runtime && c->realtime_runtime != 0) ||
	    (c->has_realtime_period && c->realtime_period != 0))
		return cell_err(err, EOPNOTSUPP, CPU_FIELD "%s: cgroup v2 has no real-time CPU "
				"bandwidth", c->has_realtime_runtime ? "realtimeRuntime"
								    : "realtimePeriod");
	if (c->has_shares && c->shares != 0 && (c->shares < 2 || c->shares > 262144))
		return cell_err(err, EINVAL, CPU_FIELD "shares: %" PRIu64 " is not in [2, 262144]",
				c->shares);
	if (c->has_idle && c->idle != 0 && c->idle != 1)
		return cell_err(err, EINVAL, CPU_FIELD "idle: %" PRId64 " is not 0 or 1", c->idle);
	int k = cg_v2_need(p, h, "cpu", "linux.resources.cpu", err);
	if (k < 0)
		return k;
	if (c->has_shares && c->shares != 0)
		cg_plan_set(p, h, "cpu.weight", CPU_FIELD "shares", "%" PRIu64,
			    cg_shares_to_weight(c->shares));
	if ((k = v2_cpu_max(p, h, r, err)) < 0)
		return k;
	if (c->has_idle)
		cg_plan_set(p, h, "cpu.idle", CPU_FIELD "idle", "%" PRId64, c->idle);
	return 0;
}

int cg_v2_cpuset(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const char *cpus = r->cpu.cpus, *mems = r->cpu.mems;
	int k = cg_v2_need(p, h, "cpuset", cpus && *cpus ? CPU_FIELD "cpus" : CPU_FIELD "mems",
			   err);
	if (k < 0)
		return k;
	if (cpus && *cpus) {
		k = cg_check_cpus(p, h, CPU_FIELD "cpus", cpus, "cpuset.cpus.effective", err);
		if (k < 0)
			return k;
		cg_plan_set(p, h, "cpuset.cpus", CPU_FIELD "cpus", "%s", cpus);
	}
	if (mems && *mems) {
		k = cg_check_cpus(p, h, CPU_FIELD "mems", mems, "cpuset.mems.effective", err);
		if (k < 0)
			return k;
		cg_plan_set(p, h, "cpuset.mems", CPU_FIELD "mems", "%s", mems);
	}
	return 0;
}

int cg_v2_pids(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	int k = cg_v2_need(p, h, "pids", "linux.resources.pids.limit", err);
	if (k < 0)
		return k;
	if (r->pids.limit > 0)
		cg_plan_set(p, h, "pids.max", "linux.resources.pids.limit", "%" PRId64, r->pids.limit);
	else
		cg_plan_set(p, h, "pids.max", "linux.resources.pids.limit", "max");
	return 0;
}

static int io_weight(const char *field, uint64_t w, struct cell_err **err)
{
	if (w < 10 || w > 1000)
		return cell_err(err, EINVAL, "%s: %" PRIu64 " is not in [10, 1000]", field, w);
	return 0;
}

int cg_v2_io(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	const typeof(r->block_io) *b = &r->block_io;
	const char *dir = cg_plan_dir(p, h);
	if (b->has_leaf_weight && b->leaf_weight != 0)
		return cell_err(err, EOPNOTSUPP, "linux.resources.blockIO.leafWeight: cgroup v2 "
				"has no leaf weights");
	int k = cg_v2_need(p, h, "io", "linux.resources.blockIO", err);
	if (k < 0)
		return k;
	/* BFQ takes the v1 range as is; io.weight (iocost) needs converting. */
	bool bfq = cg_exists(dir, "io.bfq.weight");
	if (b->has_weight && b->weight != 0) {
		const char *f = "linux.resources.blockIO.weight";
		if ((k = io_weight(f, b->weight, err)) < 0)
			return k;
		if (bfq)
			cg_plan_set(p, h, "io.bfq.weight", f, "%u", b->weight);
		else
			cg_plan_list(p, h, "io.weight", f, "default %" PRIu64,
				     cg_blkio_to_io_weight(b->weight));
	}
	for (size_t i = 0; i < b->n_weight_devices; i++) {
		const struct oci_weight_device *d = &b->weight_devices[i];
		_cleanup_free_ char *f = xasprintf("linux.resources.blockIO.weightDevice[%zu]", i);
		if ((k = cg_check_block_device(p, f, d->major, d->minor, err)) < 0)
			return k;
		if (d->has_leaf_weight)
			return cell_err(err, EOPNOTSUPP, "%s.leafWeight: cgroup v2 has no leaf "
					"weights", f);
		if (!d->has_weight)
			continue;
		if ((k = io_weight(f, d->weight, err)) < 0)
			return k;
		if (bfq)
			cg_plan_list(p, h, "io.bfq.weight", f, "%" PRId64 ":%" PRId64 " %u", d->major,
				     d->minor, d->weight);
		else
			cg_plan_list(p, h, "io.weight", f, "%" PRId64 ":%" PRId64 " %" PRIu64,
				     d->major, d->minor, cg_blkio_to_io_weight(d->weight));
	}
	return cg_plan_throttles(p, h, r, true, err);
}

int cg_v2_hugetlb(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	int k = cg_v2_need(p, h, "hugetlb", "linux.resources.hugepageLimits", err);
	for (size_t i = 0; i < r->n_hugepage_limits && k >= 0; i++) {
		const struct oci_hugepage_limit *l = &r->hugepage_limits[i];
		k = cg_check_hugepage(p, l, i, err);
		if (k < 0)
			break;
		_cleanup_free_ char *f = xasprintf("linux.resources.hugepageLimits[%zu].limit", i);
		_cleanup_free_ char *file = xasprintf("hugetlb.%s.max", l->page_size);
		_cleanup_free_ char *rsvd = xasprintf("hugetlb.%s.rsvd.max", l->page_size);
		cg_plan_set(p, h, file, f, "%" PRIu64, l->limit);
		/* Reservations (Linux 5.7) are what mmap() checks: limit them alike. */
		cg_plan_set(p, h, rsvd, f, "%" PRIu64, l->limit)->optional = true;
	}
	return k;
}

int cg_v2_devices(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	/* Compile now so that a bad rule fails before anything is written. */
	_cleanup_free_ struct bpf_insn *prog = NULL;
	size_t n;
	int k = cg_bpf_devices_build(r->devices, r->n_devices, &prog, &n, err);
	if (k < 0)
		return k;
	p->bpf_rules = r->devices;
	p->n_bpf_rules = r->n_devices;
	p->bpf_dir = cg_plan_dir(p, h);
	return 0;
}

/* Keys name a file of the cgroup's own directory: a controller's or a
 * cgroup.* knob, never a path, never the files that move or kill tasks. */
static int check_unified_key(const char *key, const char *field, struct cell_err **err)
{
	static const char *const refused[] = { "cgroup.procs", "cgroup.threads", "cgroup.kill",
					       "cgroup.freeze", "cgroup.type", "cgroup.events",
					       "cgroup.controllers", "cgroup.stat" };
	size_t len = strlen(key);
	const char *dot = strchr(key, '.');
	if (len == 0 || len > 255 || !dot || dot == key || !dot[1] ||
	    strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return cell_err(err, EINVAL, "%s: not a cgroup file name such as \"memory.high\"",
				field);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (strcmp(key, refused[i]) == 0)
			return cell_err(err, EINVAL, "%s: %s is not a resource setting", field, key);
	return 0;
}

int cg_v2_unified(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err)
{
	struct cgroup_ctx *ctx = p->cg->ctx;
	const char *dir = cg_plan_dir(p, h);
	for (size_t i = 0; i < r->n_unified; i++) {
		const struct oci_kv *kv = &r->unified[i];
		const char *key = kv->key ? kv->key : "";
		_cleanup_free_ char *f = xasprintf("linux.resources.unified[\"%s\"]", key);
		int k = check_unified_key(key, f, err);
		if (k < 0)
			return k;
		_cleanup_free_ char *ctrl = strndup(key, (size_t)(strchr(key, '.') - key));
		if (!ctrl)
			abort();
		if (strcmp(ctrl, "cgroup") != 0) {
			if (cg_find_controller(ctx, ctrl, ctrl) != h)
				return cell_err(err, EOPNOTSUPP, "%s: %s is not a cgroup v2 controller "
						"on this host%s", f, ctrl,
						ctx->mode == CGROUP_MODE_HYBRID ? " (it is v1 here)" : "");
			if ((k = cg_v2_need(p, h, ctrl, f, err)) < 0)
				return k;
		}
		bool enabling = false;
		for (size_t j = 0; j < p->n; j++)
			enabling |= p->w[j].phase == CG_PHASE_ENABLE;
		if (!enabling && !cg_exists(dir, key))
			return cell_err(err, ENOENT, "%s: no such file in %s", f, dir);
		struct cg_write *w = cg_plan_add(p, CG_PHASE_UNIFIED, dir, key, f,
						 kv->value ? kv->value : "");
		_cleanup_err_ struct cell_err *e = NULL;
		if (cg_read(dir, key, &w->old, &e) < 0 || strchr(w->old, '\n')) {
			free(w->old);
			w->old = NULL;
		}
	}
	return 0;
}
