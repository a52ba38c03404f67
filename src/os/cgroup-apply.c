/* cgroup_apply(): linux.resources to cgroup files.
 *
 * Two steps.  Planning checks every value and reads what it needs (current
 * limits, the parent's CPUs, which devices exist) and writes nothing; a
 * value the host cannot honour fails here, naming its field, with nothing
 * changed.  Running writes the plan phase by phase; when the kernel still
 * refuses something, the single-valued knobs already written get their old
 * values back.  Each controller goes to the hierarchy that serves it, so a
 * hybrid host mixes the v1 and v2 planners. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "os/cgroup-internal.h"

int cg_field_err(struct cell_err **err, int errnum, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return cell_err(err, errnum, "%s: %s", field, msg ? msg : "invalid");
}

static struct cg_write *plan_push(struct cg_plan *p)
{
	p->w = xrealloc(p->w, (p->n + 1) * sizeof(*p->w));
	struct cg_write *w = &p->w[p->n++];
	*w = (struct cg_write){ 0 };
	return w;
}

struct cg_write *cg_plan_add(struct cg_plan *p, enum cg_phase phase, const char *dir,
			     const char *file, const char *field, const char *value)
{
	struct cg_write *w = plan_push(p);
	w->phase = phase;
	w->dir = xstrdup(dir);
	w->file = xstrdup(file);
	w->field = xstrdup(field);
	w->value = xstrdup(value);
	return w;
}

const char *cg_plan_dir(const struct cg_plan *p, int h)
{
	return p->cg->dirs[h];
}

static struct cg_write *plan_vadd(struct cg_plan *p, enum cg_phase phase, int h, const char *file,
				  const char *field, const char *fmt, va_list ap)
{
	_cleanup_free_ char *value = NULL;
	if (vasprintf(&value, fmt, ap) < 0)
		abort();
	return cg_plan_add(p, phase, p->cg->dirs[h], file, field, value);
}

struct cg_write *cg_plan_set(struct cg_plan *p, int h, const char *file, const char *field,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct cg_write *w = plan_vadd(p, CG_PHASE_SCALAR, h, file, field, fmt, ap);
	va_end(ap);
	_cleanup_err_ struct cell_err *e = NULL;
	char *old = NULL;
	if (cg_read(w->dir, file, &old, &e) == 0 && !strchr(old, '\n'))
		w->old = old;
	else
		free(old);
	return w;
}

struct cg_write *cg_plan_list(struct cg_plan *p, int h, const char *file, const char *field,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct cg_write *w = plan_vadd(p, CG_PHASE_LIST, h, file, field, fmt, ap);
	va_end(ap);
	return w;
}

static void plan_clear(struct cg_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->w[i].dir);
		free(p->w[i].file);
		free(p->w[i].value);
		free(p->w[i].old);
		free(p->w[i].field);
		free(p->w[i].busy);
	}
	free(p->w);
}

bool cg_block_device_exists(const struct cgroup_ctx *ctx, int64_t major, int64_t minor)
{
	if (major < 0 || minor < 0)
		return false;
	_cleanup_free_ char *path = xasprintf("%s/sys/dev/block/%lld:%lld", ctx->prefix,
					      (long long)major, (long long)minor);
	return access(path, F_OK) == 0;
}

int cg_check_cpus(struct cg_plan *p, int h, const char *field, const char *list,
		  const char *parent_file, struct cell_err **err)
{
	struct cg_bits want, have;
	int r = cg_cpulist_parse(list, &want);
	if (r == -ERANGE)
		return cg_field_err(err, ERANGE, field, "\"%s\" names a number above %d", list,
				    CG_CPULIST_MAX - 1);
	if (r < 0)
		return cg_field_err(err, EINVAL, field, "\"%s\" is not a list such as \"0-3,6\"",
				    list);
	/* What the parent has, walking up past v1's empty cpusets. */
	const char *mount = p->cg->ctx->hier[h].mount;
	_cleanup_free_ char *up = cg_dirname(cg_plan_dir(p, h)), *val = NULL;
	while (strlen(up) >= strlen(mount)) {
		_cleanup_err_ struct cell_err *e = NULL;
		free(val);
		val = NULL;
		if (cg_read(up, parent_file, &val, &e) == 0 && *val)
			break;
		char *next = cg_dirname(up);
		bool top = strcmp(next, up) == 0;
		free(up);
		up = next;
		if (top)
			break;
	}
	if (!val || !*val || cg_cpulist_parse(val, &have) < 0)
		return 0; /* nothing to compare with; the kernel still checks */
	if (!cg_bits_subset(&want, &have))
		return cg_field_err(err, EINVAL, field, "\"%s\" is not within the parent cgroup's "
				    "\"%s\" (%s/%s)", list, val, up, parent_file);
	return 0;
}

int cg_check_hugepage(struct cg_plan *p, const struct oci_hugepage_limit *l, size_t i,
		      struct cell_err **err)
{
	_cleanup_free_ char *field = xasprintf("linux.resources.hugepageLimits[%zu].pageSize", i);
	const char *s = l->page_size ? l->page_size : "";
	size_t d = strspn(s, "0123456789");
	if (d == 0 || s[0] == '0' ||
	    (strcmp(s + d, "KB") != 0 && strcmp(s + d, "MB") != 0 && strcmp(s + d, "GB") != 0))
		return cg_field_err(err, EINVAL, field, "\"%s\" is not a size such as \"2MB\"", s);
	char **sizes = p->cg->ctx->hugepage_sizes;
	if (!cg_strv_has(sizes, s)) {
		_cleanup_free_ char *known = xstrdup("");
		for (char **z = sizes; z && *z; z++) {
			char *n = xasprintf("%s%s%s", known, *known ? ", " : "", *z);
			free(known);
			known = n;
		}
		return cg_field_err(err, EINVAL, field, "\"%s\" is not a huge page size of this "
				    "host (it has: %s)", s, *known ? known : "none");
	}
	return 0;
}

/* The mapping of cpu.shares [2, 262144] onto cpu.weight [1, 10000] that
 * keeps both ends and the default of neither: the one runc and crun used
 * first and that most hosts' containers were tuned with. */
uint64_t cg_shares_to_weight(uint64_t shares)
{
	return 1 + ((shares - 2) * 9999) / 262142;
}

/* blkio.weight [10, 1000] onto io.weight [1, 10000], likewise linear. */
uint64_t cg_blkio_to_io_weight(uint64_t weight)
{
	return 1 + ((weight - 10) * 9999) / 990;
}

/* ---- which fields each controller serves ------------------------------- */

static const char *want_memory(const struct oci_resources *r)
{
	if (r->memory.has_limit && r->memory.limit != 0)
		return "linux.resources.memory.limit";
	if (r->memory.has_swap && r->memory.swap != 0)
		return "linux.resources.memory.swap";
	if (r->memory.has_reservation && r->memory.reservation != 0)
		return "linux.resources.memory.reservation";
	if (r->memory.has_kernel && r->memory.kernel != 0)
		return "linux.resources.memory.kernel";
	if (r->memory.has_kernel_tcp && r->memory.kernel_tcp != 0)
		return "linux.resources.memory.kernelTCP";
	/* Docker writes swappiness -1 (as a huge unsigned) for "unset". */
	if (r->memory.has_swappiness && r->memory.swappiness != UINT64_MAX)
		return "linux.resources.memory.swappiness";
	if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
		return "linux.resources.memory.disableOOMKiller";
	if (r->memory.has_use_hierarchy)
		return "linux.resources.memory.useHierarchy";
	return NULL;
}

static const char *want_cpu(const struct oci_resources *r)
{
	if (r->cpu.has_shares && r->cpu.shares != 0)
		return "linux.resources.cpu.shares";
	if (r->cpu.has_quota && r->cpu.quota != 0)
		return "linux.resources.cpu.quota";
	if (r->cpu.has_period && r->cpu.period != 0)
		return "linux.resources.cpu.period";
	if (r->cpu.has_burst)
		return "linux.resources.cpu.burst";
	if (r->cpu.has_realtime_runtime && r->cpu.realtime_runtime != 0)
		return "linux.resources.cpu.realtimeRuntime";
	if (r->cpu.has_realtime_period && r->cpu.realtime_period != 0)
		return "linux.resources.cpu.realtimePeriod";
	if (r->cpu.has_idle)
		return "linux.resources.cpu.idle";
	return NULL;
}

static const char *want_cpuset(const struct oci_resources *r)
{
	if (r->cpu.cpus && *r->cpu.cpus)
		return "linux.resources.cpu.cpus";
	if (r->cpu.mems && *r->cpu.mems)
		return "linux.resources.cpu.mems";
	return NULL;
}

static const char *want_pids(const struct oci_resources *r)
{
	return r->pids.has_limit ? "linux.resources.pids.limit" : NULL;
}

static const char *want_blkio(const struct oci_resources *r)
{
	const typeof(r->block_io) *b = &r->block_io;
	if (b->has_weight && b->weight != 0)
		return "linux.resources.blockIO.weight";
	if (b->has_leaf_weight && b->leaf_weight != 0)
		return "linux.resources.blockIO.leafWeight";
	if (b->n_weight_devices)
		return "linux.resources.blockIO.weightDevice";
	if (b->n_throttle_read_bps)
		return "linux.resources.blockIO.throttleReadBpsDevice";
	if (b->n_throttle_write_bps)
		return "linux.resources.blockIO.throttleWriteBpsDevice";
	if (b->n_throttle_read_iops)
		return "linux.resources.blockIO.throttleReadIOPSDevice";
	if (b->n_throttle_write_iops)
		return "linux.resources.blockIO.throttleWriteIOPSDevice";
	return NULL;
}

static const char *want_hugetlb(const struct oci_resources *r)
{
	return r->n_hugepage_limits ? "linux.resources.hugepageLimits" : NULL;
}

static const char *want_net_cls(const struct oci_resources *r)
{
	return r->network.has_class_id ? "linux.resources.network.classID" : NULL;
}

static const char *want_net_prio(const struct oci_resources *r)
{
	return r->network.n_priorities ? "linux.resources.network.priorities" : NULL;
}

static const char *want_devices(const struct oci_resources *r)
{
	return r->n_devices ? "linux.resources.devices" : NULL;
}

struct cg_resource {
	const char *(*wanted)(const struct oci_resources *r);
	const char *v1, *v2; /* controller names; v2 NULL: v1 only */
	cg_planner plan_v1, plan_v2;
};

/* In the order the writes happen: memory first, so that the refusal the
 * kernel alone can give (v1 EBUSY, usage above the new limit) comes before
 * anything else was changed. */
static const struct cg_resource resources[] = {
	{ want_memory, "memory", "memory", cg_v1_memory, cg_v2_memory },
	{ want_pids, "pids", "pids", cg_v1_pids, cg_v2_pids },
	{ want_cpu, "cpu", "cpu", cg_v1_cpu, cg_v2_cpu },
	{ want_cpuset, "cpuset", "cpuset", cg_v1_cpuset, cg_v2_cpuset },
	{ want_blkio, "blkio", "io", cg_v1_blkio, cg_v2_io },
	{ want_hugetlb, "hugetlb", "hugetlb", cg_v1_hugetlb, cg_v2_hugetlb },
	{ want_net_cls, "net_cls", NULL, cg_v1_net_cls, NULL },
	{ want_net_prio, "net_prio", NULL, cg_v1_net_prio, NULL },
	/* v2 has no devices controller: a BPF program on the directory. */
	{ want_devices, "devices", NULL, cg_v1_devices, cg_v2_devices },
};

static int plan_resource(struct cg_plan *p, const struct cg_resource *res,
			 const struct oci_resources *r, struct cell_err **err)
{
	const char *field = res->wanted(r);
	if (!field)
		return 0;
	struct cgroup_ctx *ctx = p->cg->ctx;
	int h = cg_find_controller(ctx, res->v1, res->v2);
	if (h < 0 && res->plan_v1 == cg_v1_devices)
		h = ctx->unified;
	if (h < 0) {
		if (!res->v2 && ctx->mode == CGROUP_MODE_V2)
			return cg_field_err(err, EOPNOTSUPP, field, "cgroup v2 has no %s controller",
					    res->v1);
		return cg_field_err(err, EOPNOTSUPP, field, "the %s controller is not available "
				    "on this host (not mounted)", res->v1);
	}
	if (p->cg->absent[h])
		return cg_field_err(err, ENOENT, field, "cgroup %s does not exist in the %s "
				    "hierarchy (%s)", p->cg->path, res->v1, p->cg->dirs[h]);
	return ctx->hier[h].v2 ? res->plan_v2(p, h, r, err) : res->plan_v1(p, h, r, err);
}

static int plan_unified(struct cg_plan *p, const struct oci_resources *r, struct cell_err **err)
{
	struct cgroup_ctx *ctx = p->cg->ctx;
	if (!r->n_unified)
		return 0;
	if (ctx->unified < 0)
		return cg_field_err(err, EOPNOTSUPP, "linux.resources.unified", "needs cgroup v2; "
				    "this host has cgroup v1 only");
	return cg_v2_unified(p, ctx->unified, r, err);
}

static void rollback(struct cg_plan *p, const size_t *done, size_t n_done)
{
	while (n_done-- > 0) {
		const struct cg_write *w = &p->w[done[n_done]];
		_cleanup_err_ struct cell_err *e = NULL;
		if (w->old && cg_write(p->cg->ctx, w->dir, w->file, w->old, &e) < 0)
			cell_warn("cgroup %s: undo %s: %s", p->cg->path, w->field, e->msg);
	}
}

static int run_one(struct cg_plan *p, const struct cg_write *w, struct cell_err **err)
{
	_cleanup_err_ struct cell_err *e = NULL;
	int r = cg_write(p->cg->ctx, w->dir, w->file, w->value, &e);
	if (r == -ENOENT && w->optional)
		return 1;
	if (r == -EBUSY && w->busy)
		return cell_err(err, EBUSY, "%s: %s; the kernel refused %s/%s", w->field, w->busy,
				w->dir, w->file);
	if (r < 0)
		return cell_err(err, -r, "%s: %s", w->field, e->msg);
	if (!w->verify || !w->old)
		return 0;
	_cleanup_free_ char *now = NULL;
	if (cg_read(w->dir, w->file, &now, &e) < 0)
		return cell_err(err, 0, "%s: %s", w->field, e->msg);
	if (strcmp(now, w->old) == 0 && strcmp(now, w->value) != 0)
		return cell_err(err, EOPNOTSUPP, "%s: the kernel took \"%s\" for %s/%s but keeps "
				"\"%s\": this kernel no longer supports it", w->field, w->value,
				w->dir, w->file, now);
	return 0;
}

static int run_plan(struct cg_plan *p, struct cell_err **err)
{
	_cleanup_free_ size_t *done = xcalloc(p->n + 1, sizeof(size_t));
	size_t n_done = 0;
	for (int phase = 0; phase < CG_PHASE_COUNT; phase++) {
		for (size_t i = 0; i < p->n; i++) {
			if ((int)p->w[i].phase != phase)
				continue;
			int r = run_one(p, &p->w[i], err);
			if (r < 0) {
				rollback(p, done, n_done);
				return r;
			}
			if (r == 0)
				done[n_done++] = i;
		}
	}
	if (!p->bpf_dir)
		return 0;
	_cleanup_free_ struct bpf_insn *prog = NULL;
	size_t n_prog;
	int r = cg_bpf_devices_build(p->bpf_rules, p->n_bpf_rules, &prog, &n_prog, err);
	_cleanup_close_ int fd = -1;
	if (r >= 0) {
		fd = open(p->bpf_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = fd < 0 ? cell_err_sys(err, "open %s", p->bpf_dir)
			   : cg_bpf_devices_attach(fd, prog, n_prog, err);
	}
	if (r < 0) {
		rollback(p, done, n_done);
		return cell_err_wrap(err, "linux.resources.devices");
	}
	return 0;
}

int cgroup_apply(struct cgroup *cg, const struct oci_resources *res, struct cell_err **err)
{
	if (!res)
		return 0;
	struct cg_plan p = { .cg = cg };
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(resources) && r >= 0; i++)
		r = plan_resource(&p, &resources[i], res, err);
	if (r >= 0)
		r = plan_unified(&p, res, err);
	if (r >= 0)
		r = run_plan(&p, err);
	plan_clear(&p);
	return r < 0 ? cell_err_wrap(err, "cgroup %s", cg->path) : 0;
}
