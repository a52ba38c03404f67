/* CPU percent, and stats as runc's `events` prints them (runc types/events.go: the field
 * names containerd and other tools parse), plus a few fields runc lacks:
 * cpu.percent, memory.anon, memory.oom, memory.oomKill.  Unlimited limits
 * read as the largest uint64, as runc's do on cgroup v2; pids.limit 0 means
 * none, as in runc. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "container/internal.h"

double container_stats_cpu_percent(const struct container_stats *now,
				   const struct container_stats *prev)
{
	if (!now->has_cgroup || !now->cg.has_cpu)
		return 0;
	if (!prev) {
		if (!now->lifetime_ns)
			return 0;
		return 100.0 * (double)now->cg.cpu.usage_ns / (double)now->lifetime_ns;
	}
	if (!prev->has_cgroup || now->read_ns <= prev->read_ns ||
	    now->cg.cpu.usage_ns < prev->cg.cpu.usage_ns)
		return 0;
	return 100.0 * (double)(now->cg.cpu.usage_ns - prev->cg.cpu.usage_ns) /
	       (double)(now->read_ns - prev->read_ns);
}

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static json_object *obj(json_object *parent, const char *key)
{
	json_object *o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

static void cpu_json(json_object *data, const struct cgroup_stats *c, double percent)
{
	json_object *cpu = obj(data, "cpu"), *u = obj(cpu, "usage"), *t = obj(cpu, "throttling");
	add_u64(u, "total", c->cpu.usage_ns);
	add_u64(u, "kernel", c->cpu.system_ns);
	add_u64(u, "user", c->cpu.user_ns);
	add_u64(t, "periods", c->cpu.nr_periods);
	add_u64(t, "throttledPeriods", c->cpu.nr_throttled);
	add_u64(t, "throttledTime", c->cpu.throttled_ns);
	if (percent >= 0) {
		char text[32];
		snprintf(text, sizeof(text), "%.2f", percent);
		json_object_object_add(cpu, "percent", json_object_new_double_s(percent, text));
	}
}

static void memory_json(json_object *data, const struct cgroup_stats *c)
{
	json_object *m = obj(data, "memory"), *u = obj(m, "usage"), *sw = obj(m, "swap");
	add_u64(m, "cache", c->memory.cache);
	add_u64(u, "limit", c->memory.limit);
	add_u64(u, "usage", c->memory.usage);
	add_u64(u, "max", c->memory.max_usage);
	add_u64(u, "failcnt", 0);
	add_u64(sw, "usage", c->memory.swap);
	add_u64(sw, "failcnt", 0);
	add_u64(m, "anon", c->memory.anon);
	if (c->memory.has_oom_events)
		add_u64(m, "oom", c->memory.oom_events);
	add_u64(m, "oomKill", c->memory.oom_kill);
}

static void blkio_json(json_object *data, const struct cgroup_stats *c)
{
	json_object *b = obj(data, "blkio");
	json_object *bytes = json_object_new_array(), *ops = json_object_new_array();
	for (size_t i = 0; i < c->n_blkio; i++) {
		const struct cgroup_stats_blkio *e = &c->blkio[i];
		const struct {
			json_object *list;
			const char *op;
			uint64_t v;
		} rows[] = { { bytes, "Read", e->read_bytes }, { bytes, "Write", e->write_bytes },
			     { ops, "Read", e->read_ops }, { ops, "Write", e->write_ops } };
		for (size_t k = 0; k < ARRAY_SIZE(rows); k++) {
			json_object *x = json_object_new_object();
			add_u64(x, "major", e->major);
			add_u64(x, "minor", e->minor);
			json_object_object_add(x, "op", json_object_new_string(rows[k].op));
			add_u64(x, "value", rows[k].v);
			json_object_array_add(rows[k].list, x);
		}
	}
	json_object_object_add(b, "ioServiceBytesRecursive", bytes);
	json_object_object_add(b, "ioServicedRecursive", ops);
}

static void net_json(json_object *data, const struct container_stats *s)
{
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < s->n_net; i++) {
		const struct container_net_stats *n = &s->net[i];
		json_object *x = json_object_new_object();
		json_object_object_add(x, "Name", json_object_new_string(n->name));
		add_u64(x, "RxBytes", n->rx_bytes);
		add_u64(x, "RxPackets", n->rx_packets);
		add_u64(x, "RxErrors", n->rx_errors);
		add_u64(x, "RxDropped", n->rx_dropped);
		add_u64(x, "TxBytes", n->tx_bytes);
		add_u64(x, "TxPackets", n->tx_packets);
		add_u64(x, "TxErrors", n->tx_errors);
		add_u64(x, "TxDropped", n->tx_dropped);
		json_object_array_add(a, x);
	}
	json_object_object_add(data, "network_interfaces", a);
}

char *container_stats_json(const struct container_stats *s, double cpu_percent)
{
	const struct cgroup_stats *c = &s->cg;
	json_object *data = json_object_new_object();
	cpu_json(data, c, cpu_percent);
	memory_json(data, c);
	json_object *p = obj(data, "pids");
	add_u64(p, "current", c->pids.current);
	add_u64(p, "limit", c->pids.limit == CGROUP_STATS_UNLIMITED ? 0 : c->pids.limit);
	blkio_json(data, c);
	json_object *h = obj(data, "hugetlb");
	for (size_t i = 0; i < c->n_hugetlb; i++) {
		json_object *x = obj(h, c->hugetlb[i].page_size);
		add_u64(x, "usage", c->hugetlb[i].usage);
		add_u64(x, "max", c->hugetlb[i].max_usage);
		add_u64(x, "failcnt", 0);
	}
	obj(data, "intel_rdt");
	net_json(data, s);
	int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	char *out = xstrdup(json_object_to_json_string_ext(data, flags));
	json_object_put(data);
	return out;
}

char *container_event_json(const char *type, const char *id, const char *data_json)
{
	_cleanup_free_ char *t = cell_json_quote(type), *i = cell_json_quote(id);
	return xasprintf("{\"type\":%s,\"id\":%s%s%s}", t, i, data_json ? ",\"data\":" : "",
			 data_json ? data_json : "");
}
