/* src/container stats helpers that need no container: the /proc/PID/net/dev
 * parser (untrusted text), the stats JSON in runc's shape, CPU percent. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "container/internal.h"
#include "t.h"

static const char netdev[] =
	"Inter-|   Receive                                                |  Transmit\n"
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
	"drop fifo colls carrier compressed\n"
	"    lo:    3267      29    0    0    0     0          0         0     3267      29    "
	"0    0    0     0       0          0\n"
	"  eth0: 18446744073709551615 2 3 4 0 0 0 0 5 6 7 8 0 0 0 0\n";

static void parses_proc_net_dev(void)
{
	struct container_net_stats *n = NULL;
	size_t k = 0;
	T_ASSERT_INT(container_parse_net_dev(netdev, strlen(netdev), &n, &k), 0);
	T_ASSERT_INT(k, 2);
	T_ASSERT_STR(n[0].name, "lo");
	T_ASSERT(n[0].rx_bytes == 3267 && n[0].rx_packets == 29 && n[0].tx_bytes == 3267);
	T_ASSERT_STR(n[1].name, "eth0");
	T_ASSERT(n[1].rx_bytes == UINT64_MAX && n[1].rx_packets == 2 && n[1].rx_errors == 3 &&
		 n[1].rx_dropped == 4);
	T_ASSERT(n[1].tx_bytes == 5 && n[1].tx_packets == 6 && n[1].tx_errors == 7 &&
		 n[1].tx_dropped == 8);
	free(n);
}

static void skips_what_does_not_parse(void)
{
	static const char *const bad[] = {
		"h1\nh2\n  eth0: 1 2 3\n",                             /* too few numbers */
		"h1\nh2\nx: 18446744073709551616 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", /* overflow */
		"h1\nh2\n  averyverylongname: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", /* > 15 */
		"h1\nh2\n  e\x01h: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", /* a control byte */
		"h1\nh2\n   : 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",           /* no name */
		"h1\nh2\nno colon 0 0 0\n",
		"  lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",                  /* a header line */
		"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct container_net_stats *n = NULL;
		size_t k = 9;
		T_ASSERT_INT(container_parse_net_dev(bad[i], strlen(bad[i]), &n, &k), 0);
		if (k != 0)
			T_FAIL("case %zu: %zu interfaces", i, k);
		free(n);
	}
	/* No NUL needed: the length bounds the text. */
	static const char cut[] = "h1\nh2\nlo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17";
	struct container_net_stats *n = NULL;
	size_t k = 0;
	T_ASSERT_INT(container_parse_net_dev(cut, strlen(cut) - 3, &n, &k), 0);
	T_ASSERT_INT(k, 1);
	T_ASSERT(n[0].tx_dropped == 12);
	free(n);
}

/* The number at a JSON pointer; a value no test expects when absent. */
static uint64_t u64_at(json_object *o, const char *path)
{
	json_object *v;
	if (json_pointer_get(o, path, &v) < 0 || !json_object_is_type(v, json_type_int))
		return 12345678;
	return json_object_get_uint64(v);
}

static void json_has_runc_fields(void)
{
	struct cgroup_stats_blkio b = { 7, 3, 10, 20, 1, 2 };
	struct container_net_stats nd = { .name = "eth0", .rx_bytes = 5, .tx_packets = 6 };
	struct container_stats s = { .id = (char *)"c1", .has_cgroup = true, .net = &nd,
				     .n_net = 1 };
	s.cg.has_cpu = s.cg.has_memory = s.cg.has_pids = true;
	s.cg.cpu.usage_ns = 300;
	s.cg.cpu.user_ns = 200;
	s.cg.cpu.system_ns = 100;
	s.cg.cpu.nr_throttled = 4;
	s.cg.memory.limit = CGROUP_STATS_UNLIMITED;
	s.cg.memory.usage = 4096;
	s.cg.memory.oom_kill = 2;
	s.cg.pids.current = 3;
	s.cg.pids.limit = CGROUP_STATS_UNLIMITED;
	s.cg.blkio = &b;
	s.cg.n_blkio = 1;
	char *text = container_stats_json(&s, 12.345);
	json_object *o = json_tokener_parse(text), *v;
	free(text);
	T_ASSERT(o);
	T_ASSERT(u64_at(o, "/cpu/usage/total") == 300 && u64_at(o, "/cpu/usage/kernel") == 100);
	T_ASSERT(u64_at(o, "/cpu/usage/user") == 200);
	T_ASSERT(u64_at(o, "/cpu/throttling/throttledPeriods") == 4);
	T_ASSERT(json_pointer_get(o, "/cpu/percent", &v) == 0 &&
		 json_object_get_double(v) > 12.33 && json_object_get_double(v) < 12.36);
	T_ASSERT(u64_at(o, "/memory/usage/limit") == UINT64_MAX);
	T_ASSERT(u64_at(o, "/memory/oomKill") == 2 && u64_at(o, "/pids/limit") == 0);
	T_ASSERT(u64_at(o, "/pids/current") == 3);
	T_ASSERT(json_pointer_get(o, "/blkio/ioServiceBytesRecursive/1/op", &v) == 0);
	T_ASSERT_STR(json_object_get_string(v), "Write");
	T_ASSERT(u64_at(o, "/blkio/ioServiceBytesRecursive/1/value") == 20);
	T_ASSERT(u64_at(o, "/blkio/ioServicedRecursive/0/value") == 1);
	T_ASSERT(json_pointer_get(o, "/network_interfaces/0/Name", &v) == 0);
	T_ASSERT_STR(json_object_get_string(v), "eth0");
	T_ASSERT(u64_at(o, "/network_interfaces/0/TxPackets") == 6);
	T_ASSERT(json_pointer_get(o, "/intel_rdt", &v) == 0);
	T_ASSERT(json_pointer_get(o, "/hugetlb", &v) == 0);
	json_object_put(o);
	char *ev = container_event_json("oom", "a\"b", NULL);
	T_ASSERT_STR(ev, "{\"type\":\"oom\",\"id\":\"a\\\"b\"}");
	free(ev);
}

static void cpu_percent(void)
{
	struct container_stats a = { .has_cgroup = true, .read_ns = 1000000000 };
	struct container_stats b = a;
	a.cg.has_cpu = b.cg.has_cpu = true;
	a.cg.cpu.usage_ns = 100000000;
	b.read_ns = 2000000000;
	b.cg.cpu.usage_ns = 600000000;
	b.lifetime_ns = 3000000000ULL;
	/* 0.5 s of CPU in 1 s: half a CPU; over its life, 0.6 s in 3 s. */
	double p = container_stats_cpu_percent(&b, &a);
	T_ASSERT(p > 49.99 && p < 50.01);
	p = container_stats_cpu_percent(&b, NULL);
	T_ASSERT(p > 19.99 && p < 20.01);
	b.has_cgroup = false;
	T_ASSERT(container_stats_cpu_percent(&b, &a) == 0);
}

T_MAIN("container-stats", T_CASE(parses_proc_net_dev), T_CASE(skips_what_does_not_parse),
       T_CASE(json_has_runc_fields), T_CASE(cpu_percent))
