/* linux.resources: every controller the spec names, with has_ flags so the
 * cgroup drivers write only what was given. */
#include <ctype.h>
#include <json-c/json.h>
#include <string.h>

#include "base/util.h"
#include "oci/internal.h"

/* A device number in a cgroup rule or blkio entry: absent means any (-1). */
static int parse_dev_number(const struct oj *e, const char *key, bool required, int64_t max,
			    int64_t *ret)
{
	struct oj o = oj_get(e, key);
	*ret = -1;
	return oj_i64(&o, required, -1, max, ret);
}

static int parse_device_rule(const struct oj *e, struct oci_device_rule *d)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj allow = oj_get(e, "allow"), t = oj_get(e, "type"), acc = oj_get(e, "access");
	if ((r = oj_bool(&allow, true, &d->allow)) < 0)
		return r;
	_cleanup_free_ char *type = NULL, *access = NULL;
	if ((r = oj_string(&t, false, &type)) < 0)
		return r;
	d->type = type ? type[0] : 'a';
	if (type && (strlen(type) != 1 || !strchr("abc", type[0]))) {
		_cleanup_free_ char *q = cell_json_quote(type);
		return oj_fail(&t, "unknown device type %s (a, b or c)", q);
	}
	if ((r = parse_dev_number(e, "major", false, 4095, &d->major)) < 0 ||
	    (r = parse_dev_number(e, "minor", false, 1048575, &d->minor)) < 0)
		return r;
	if ((r = oj_string(&acc, false, &access)) < 0)
		return r;
	/* The device controller reads any subset of "rwm", each at most once;
	 * absent means all of them. */
	const char *a = access ? access : "rwm";
	size_t n = strlen(a);
	bool bad = n > 3;
	for (size_t i = 0; i < n && !bad; i++)
		bad = !strchr("rwm", a[i]) || memchr(a, a[i], i) != NULL;
	if (bad) {
		_cleanup_free_ char *q = cell_json_quote(a);
		return oj_fail(&acc, "%s is not a subset of \"rwm\"", q);
	}
	memcpy(d->access, a, n + 1);
	return 0;
}

static int parse_memory(const struct oj *res, struct oci_resources *rs)
{
	struct oj m = oj_get(res, "memory");
	int r = oj_object(&m, false);
	if (r <= 0)
		return r;
	struct oj sw = oj_get(&m, "swappiness");
#define MEM_I64(key, field)                                                         \
	do {                                                                        \
		struct oj o_ = oj_get(&m, key);                                     \
		if ((r = oj_i64(&o_, false, -1, INT64_MAX, &rs->memory.field)) < 0) \
			return r;                                                   \
		rs->memory.has_##field = r > 0;                                     \
	} while (0)
#define MEM_BOOL(key, field)                                           \
	do {                                                           \
		if ((r = oj_get_bool(&m, key, &rs->memory.field)) < 0) \
			return r;                                      \
		rs->memory.has_##field = r > 0;                        \
	} while (0)
	MEM_I64("limit", limit);
	MEM_I64("reservation", reservation);
	MEM_I64("swap", swap);
	MEM_I64("kernel", kernel);
	MEM_I64("kernelTCP", kernel_tcp);
	MEM_BOOL("disableOOMKiller", disable_oom_killer);
	MEM_BOOL("useHierarchy", use_hierarchy);
	MEM_BOOL("checkBeforeUpdate", check_before_update);
#undef MEM_I64
#undef MEM_BOOL
	uint64_t v;
	if ((r = oj_u64(&sw, false, UINT64_MAX, &v)) < 0)
		return r;
	/* Go writers encode "unset" (-1 as int64) as the all-ones uint64. */
	if (r > 0 && v != UINT64_MAX) {
		if (v > 100)
			return oj_fail(&sw, "must be between 0 and 100, got %llu",
				       (unsigned long long)v);
		rs->memory.has_swappiness = true;
		rs->memory.swappiness = v;
	}
	return 0;
}

static int parse_cpu(const struct oj *res, struct oci_resources *rs)
{
	struct oj c = oj_get(res, "cpu");
	int r = oj_object(&c, false);
	if (r <= 0)
		return r;
#define CPU_FIELD(key, field, getter)                                 \
	do {                                                          \
		if ((r = getter(&c, key, false, &rs->cpu.field)) < 0) \
			return r;                                     \
		rs->cpu.has_##field = r > 0;                          \
	} while (0)
	CPU_FIELD("shares", shares, oj_get_u64);
	CPU_FIELD("quota", quota, oj_get_i64);
	CPU_FIELD("burst", burst, oj_get_u64);
	CPU_FIELD("period", period, oj_get_u64);
	CPU_FIELD("realtimeRuntime", realtime_runtime, oj_get_i64);
	CPU_FIELD("realtimePeriod", realtime_period, oj_get_u64);
	CPU_FIELD("idle", idle, oj_get_i64);
#undef CPU_FIELD
	if ((r = oj_get_string(&c, "cpus", false, &rs->cpu.cpus)) < 0 ||
	    (r = oj_get_string(&c, "mems", false, &rs->cpu.mems)) < 0)
		return r;
	struct oj idle = oj_get(&c, "idle");
	if (rs->cpu.has_idle && rs->cpu.idle != 0 && rs->cpu.idle != 1)
		return oj_fail(&idle, "must be 0 or 1");
	return 0;
}

static int parse_throttle(const struct oj *bio, const char *key, struct oci_throttle_device **ret,
			  size_t *ret_n)
{
	struct oj a = oj_get(bio, key);
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	*ret = xcalloc(n, sizeof(**ret));
	*ret_n = n;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		struct oci_throttle_device *t = &(*ret)[i];
		if ((r = oj_object(&e, true)) < 0 ||
		    (r = parse_dev_number(&e, "major", true, 4095, &t->major)) < 0 ||
		    (r = parse_dev_number(&e, "minor", true, 1048575, &t->minor)) < 0 ||
		    (r = oj_get_u64(&e, "rate", true, &t->rate)) < 0)
			return r;
	}
	return 0;
}

static int parse_weight(const struct oj *o, const char *key, bool *has, uint16_t *ret)
{
	struct oj w = oj_get(o, key);
	uint64_t v;
	int r = oj_u64(&w, false, UINT16_MAX, &v);
	if (r > 0) {
		*has = true;
		*ret = (uint16_t)v;
	}
	return r;
}

static int parse_weight_devices(const struct oj *bio, struct oci_resources *rs)
{
	struct oj a = oj_get(bio, "weightDevice");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	rs->block_io.weight_devices = xcalloc(n, sizeof(*rs->block_io.weight_devices));
	rs->block_io.n_weight_devices = n;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		struct oci_weight_device *w = &rs->block_io.weight_devices[i];
		if ((r = oj_object(&e, true)) < 0 ||
		    (r = parse_dev_number(&e, "major", true, 4095, &w->major)) < 0 ||
		    (r = parse_dev_number(&e, "minor", true, 1048575, &w->minor)) < 0 ||
		    (r = parse_weight(&e, "weight", &w->has_weight, &w->weight)) < 0 ||
		    (r = parse_weight(&e, "leafWeight", &w->has_leaf_weight, &w->leaf_weight)) < 0)
			return r;
		if (!w->has_weight && !w->has_leaf_weight)
			return oj_fail(&e, "needs weight or leafWeight");
	}
	return 0;
}

static int parse_block_io(const struct oj *res, struct oci_resources *rs)
{
	struct oj b = oj_get(res, "blockIO");
	int r = oj_object(&b, false);
	if (r <= 0)
		return r;
	typeof(rs->block_io) *bio = &rs->block_io;
	if ((r = parse_weight(&b, "weight", &bio->has_weight, &bio->weight)) < 0 ||
	    (r = parse_weight(&b, "leafWeight", &bio->has_leaf_weight, &bio->leaf_weight)) < 0 ||
	    (r = parse_weight_devices(&b, rs)) < 0 ||
	    (r = parse_throttle(&b, "throttleReadBpsDevice", &bio->throttle_read_bps,
				&bio->n_throttle_read_bps)) < 0 ||
	    (r = parse_throttle(&b, "throttleWriteBpsDevice", &bio->throttle_write_bps,
				&bio->n_throttle_write_bps)) < 0 ||
	    (r = parse_throttle(&b, "throttleReadIOPSDevice", &bio->throttle_read_iops,
				&bio->n_throttle_read_iops)) < 0 ||
	    (r = parse_throttle(&b, "throttleWriteIOPSDevice", &bio->throttle_write_iops,
				&bio->n_throttle_write_iops)) < 0)
		return r;
	return 0;
}

/* "<size><unit>B" as the hugetlb controller names its files: 64KB, 2MB, 1GB. */
static bool page_size_valid(const char *s)
{
	size_t d = 0;
	while (isdigit((unsigned char)s[d]))
		d++;
	return d > 0 && d <= 10 && s[0] != '0' && strchr("KMGT", s[d]) && s[d] != '\0' &&
	       s[d + 1] == 'B' && s[d + 2] == '\0';
}

static int parse_hugepages(const struct oj *res, struct oci_resources *rs)
{
	struct oj a = oj_get(res, "hugepageLimits");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	rs->hugepage_limits = xcalloc(n, sizeof(*rs->hugepage_limits));
	rs->n_hugepage_limits = n;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i), ps = oj_get(&e, "pageSize");
		struct oci_hugepage_limit *h = &rs->hugepage_limits[i];
		if ((r = oj_object(&e, true)) < 0 ||
		    (r = oj_string(&ps, true, &h->page_size)) < 0 ||
		    (r = oj_get_u64(&e, "limit", true, &h->limit)) < 0)
			return r;
		if (!page_size_valid(h->page_size)) {
			_cleanup_free_ char *q = cell_json_quote(h->page_size);
			return oj_fail(&ps, "%s is not a page size such as \"2MB\" or \"1GB\"", q);
		}
	}
	return 0;
}

static int parse_network(const struct oj *res, struct oci_resources *rs)
{
	struct oj o = oj_get(res, "network"), a = oj_get(&o, "priorities");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	if ((r = oj_get_u32(&o, "classID", false, &rs->network.class_id)) < 0)
		return r;
	rs->network.has_class_id = r > 0;
	size_t n = 0;
	if ((r = oj_array(&a, false, &n)) <= 0)
		return r;
	rs->network.priorities = xcalloc(n, sizeof(*rs->network.priorities));
	rs->network.n_priorities = n;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		struct oci_net_priority *p = &rs->network.priorities[i];
		if ((r = oj_object(&e, true)) < 0 ||
		    (r = oj_get_string(&e, "name", true, &p->name)) < 0 ||
		    (r = oj_get_u32(&e, "priority", true, &p->priority)) < 0)
			return r;
	}
	return 0;
}

/* rdma: accepted and checked for shape; no runtime here applies it. */
static int parse_rdma(const struct oj *res)
{
	struct oj o = oj_get(res, "rdma");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	json_object_object_foreach(o.v, key, val) {
		struct oj dev = oj_member(&o, key, val);
		uint32_t v;
		if ((r = oj_object(&dev, true)) < 0 ||
		    (r = oj_get_u32(&dev, "hcaHandles", false, &v)) < 0 ||
		    (r = oj_get_u32(&dev, "hcaObjects", false, &v)) < 0)
			return r;
	}
	return 0;
}

/* unified: cgroup v2 file names, written under the container's cgroup. */
static int parse_unified(const struct oj *res, struct oci_resources *rs)
{
	struct oj o = oj_get(res, "unified");
	int r = oj_kv(&o, &rs->unified, &rs->n_unified);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < rs->n_unified; i++) {
		const char *k = rs->unified[i].key;
		if (!*k || strchr(k, '/') || k[0] == '.' || !strchr(k, '.')) {
			struct oj e = oj_get(&o, k);
			return oj_fail(&e, "not a cgroup v2 file name such as \"memory.high\"");
		}
	}
	return 0;
}

int oci_parse_resources(const struct oj *res, struct oci_resources *rs)
{
	struct oj a = oj_get(res, "devices"), pids = oj_get(res, "pids");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r < 0)
		return r;
	if (r > 0) {
		rs->devices = xcalloc(n, sizeof(*rs->devices));
		rs->n_devices = n;
		for (size_t i = 0; i < n; i++) {
			struct oj e = oj_at(&a, i);
			if ((r = parse_device_rule(&e, &rs->devices[i])) < 0)
				return r;
		}
	}
	if ((r = oj_object(&pids, false)) < 0)
		return r;
	if (r > 0) {
		if ((r = oj_get_i64(&pids, "limit", false, &rs->pids.limit)) < 0)
			return r;
		rs->pids.has_limit = r > 0;
	}
	if ((r = parse_memory(res, rs)) < 0 || (r = parse_cpu(res, rs)) < 0 ||
	    (r = parse_block_io(res, rs)) < 0 || (r = parse_hugepages(res, rs)) < 0 ||
	    (r = parse_network(res, rs)) < 0 || (r = parse_rdma(res)) < 0 ||
	    (r = parse_unified(res, rs)) < 0)
		return r;
	return 0;
}
