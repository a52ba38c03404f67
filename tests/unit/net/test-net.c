/* src/net without the kernel: addresses and prefixes, rates and ports,
 * network definitions, and the lease store (files under a temporary root,
 * with real flock between real processes). */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "net/net.h"
#include "t.h"

static uint32_t ip(const char *s)
{
	uint32_t v = 0;
	return net_ip_parse(s, &v) == 0 ? v : 0xdeadbeef;
}

static void ip_parse(void)
{
	char buf[NET_IP_STRLEN];
	T_ASSERT_INT(ip("10.88.0.1"), 0x0a580001);
	T_ASSERT_STR(net_ip_str(0xc0a80101, buf), "192.168.1.1");
	T_ASSERT_STR(net_ip_str(ip("255.255.255.255"), buf), "255.255.255.255");
	static const char *const bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.04",
					   "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1..3.4", "a.b.c.d",
					   "1.2.3.-4", "1.2.3.4/24", "1234.1.1.1", "1.2.3.4\n" };
	uint32_t v;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (net_ip_parse(bad[i], &v) == 0)
			T_FAIL("\"%s\" parsed", bad[i]);
	T_ASSERT(net_ip_parse(NULL, &v) < 0);
}

static void cidr_parse(void)
{
	struct net_cidr c;
	struct cell_err *e = NULL;
	char buf[NET_IP_STRLEN + 3];
	T_ASSERT_INT(net_cidr_parse("10.88.0.0/16", "--subnet", &c, &e), 0);
	T_ASSERT_INT(c.addr, 0x0a580000);
	T_ASSERT_INT(c.prefix, 16);
	T_ASSERT_STR(net_cidr_str(&c, buf), "10.88.0.0/16");
	T_ASSERT_INT(net_cidr_broadcast(&c), ip("10.88.255.255"));
	T_ASSERT(net_cidr_contains(&c, ip("10.88.200.3")));
	T_ASSERT(!net_cidr_contains(&c, ip("10.89.0.1")));
	T_ASSERT(net_cidr_parse("10.88.0.5/16", "--subnet", &c, &e) < 0);
	T_ASSERT_CONTAINS(e->msg, "host bits set (the network is 10.88.0.0/16)");
	static const char *const bad[] = { "10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8",
					   "10.0.0.0/08", "10.0.0.0/", "/8", "10.0.0/8", "x/8" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (net_cidr_parse(bad[i], "--subnet", &c, &e) == 0)
			T_FAIL("\"%s\" parsed", bad[i]);
		T_ASSERT_CONTAINS(e->msg, "--subnet");
	}
	T_ASSERT_INT(net_cidr_parse("0.0.0.0/0", "x", &c, &e), 0);
	T_ASSERT_INT(net_prefix_mask(0), 0);
	T_ASSERT_INT(net_prefix_mask(32), 0xffffffff);
	cell_err_free(e);
}

static void cidr_overlap(void)
{
	struct net_cidr a, b;
	struct cell_err *e = NULL;
	static const struct {
		const char *a, *b;
		bool overlap;
	} cases[] = {
		{ "10.88.0.0/16", "10.88.5.0/24", true },  { "10.88.5.0/24", "10.88.0.0/16", true },
		{ "10.88.0.0/16", "10.89.0.0/16", false }, { "10.0.0.0/8", "10.255.255.0/30", true },
		{ "192.168.1.0/25", "192.168.1.128/25", false },
		{ "192.168.1.0/24", "192.168.1.0/24", true }, { "0.0.0.0/0", "1.2.3.4/32", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		T_ASSERT_INT(net_cidr_parse(cases[i].a, "a", &a, &e), 0);
		T_ASSERT_INT(net_cidr_parse(cases[i].b, "b", &b, &e), 0);
		if (net_cidr_overlaps(&a, &b) != cases[i].overlap)
			T_FAIL("%s vs %s", cases[i].a, cases[i].b);
	}
}

static void rates(void)
{
	uint64_t r;
	struct cell_err *e = NULL;
	T_ASSERT_INT(net_rate_parse("10mbit", &r, &e), 0);
	T_ASSERT_INT(r, 1250000);
	T_ASSERT_INT(net_rate_parse("1.5gbit", &r, &e), 0);
	T_ASSERT_INT(r, 187500000);
	T_ASSERT_INT(net_rate_parse("800kbit", &r, &e), 0);
	T_ASSERT_INT(r, 100000);
	T_ASSERT_INT(net_rate_parse("10MBps", &r, &e), 0);
	T_ASSERT_INT(r, 10000000);
	T_ASSERT_INT(net_rate_parse("8kbit", &r, &e), 0);
	T_ASSERT_INT(r, 1000);
	static const char *const bad[] = { "10", "mbit", "10 mbit", "10mbits", "1.2.3mbit",
					   ".5mbit", "1kbit", "-1mbit", "200tbit", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (net_rate_parse(bad[i], &r, &e) == 0)
			T_FAIL("\"%s\" parsed", bad[i]);
		T_ASSERT_CONTAINS(e->msg, "rate");
	}
	cell_err_free(e);
}

static void ports(void)
{
	struct net_port p;
	struct cell_err *e = NULL;
	T_ASSERT_INT(net_port_parse("8080:80", &p, &e), 0);
	T_ASSERT_INT(p.host_port, 8080);
	T_ASSERT_INT(p.ctr_port, 80);
	T_ASSERT_INT(p.proto, IPPROTO_TCP);
	T_ASSERT_INT(net_port_parse("53:5353/udp", &p, &e), 0);
	T_ASSERT_INT(p.proto, IPPROTO_UDP);
	T_ASSERT_INT(p.ctr_port, 5353);
	static const char *const bad[] = { "80", "0:80", "80:0", "65536:1", "80:80/sctp", "a:b",
					   ":80", "80:", "80:80/", "080:80", "1:2:3", "+1:2" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (net_port_parse(bad[i], &p, &e) == 0)
			T_FAIL("\"%s\" parsed", bad[i]);
		T_ASSERT_CONTAINS(e->msg, bad[i]);
	}
	struct net_port *v = NULL;
	size_t n = 0;
	T_ASSERT_INT(net_ports_parse("8080:80,8080:80/udp,9000:9000", &v, &n, &e), 0);
	T_ASSERT_INT(n, 3);
	T_ASSERT_INT(v[1].proto, IPPROTO_UDP);
	free(v);
	T_ASSERT(net_ports_parse("8080:80,8080:81", &v, &n, &e) < 0);
	T_ASSERT_CONTAINS(e->msg, "port 8080/tcp is given twice");
	T_ASSERT(net_ports_parse("8080:80,,1:1", &v, &n, &e) < 0);
	T_ASSERT(net_ports_parse("8080:80,", &v, &n, &e) < 0);
	cell_err_free(e);
}

static void definitions(void)
{
	struct net_network *n = NULL, *back = NULL;
	struct cell_err *e = NULL;
	T_ASSERT_INT(net_network_new("web", "10.89.0.0/24", NULL, true, false, &n, &e), 0);
	T_ASSERT_STR(n->bridge, "cell-web");
	T_ASSERT_INT(n->gateway, ip("10.89.0.1"));
	T_ASSERT(!net_network_usable(n, ip("10.89.0.0")));
	T_ASSERT(!net_network_usable(n, ip("10.89.0.1")));
	T_ASSERT(!net_network_usable(n, ip("10.89.0.255")));
	T_ASSERT(net_network_usable(n, ip("10.89.0.2")));
	char *json = net_network_json(n, false);
	T_ASSERT_INT(net_network_parse(json, strlen(json), "web.json", &back, &e), 0);
	T_ASSERT_STR(back->name, "web");
	T_ASSERT_INT(back->subnet.addr, n->subnet.addr);
	T_ASSERT(back->nat && !back->routed);
	free(json);
	net_network_free(back);
	net_network_free(n);
	/* Long names get a hashed bridge name, still a valid interface name. */
	T_ASSERT_INT(net_network_new("a-rather-long-network-name", "10.90.0.0/16", "10.90.255.254",
				     false, true, &n, &e), 0);
	T_ASSERT(strlen(n->bridge) <= 15 && cell_str_has_prefix(n->bridge, "cell-"));
	T_ASSERT_INT(n->gateway, ip("10.90.255.254"));
	net_network_free(n);
	static const struct {
		const char *name, *subnet, *gw, *msg;
	} bad[] = {
		{ "", "10.0.0.0/24", NULL, "must not be empty" },
		{ "a/b", "10.0.0.0/24", NULL, "invalid network name \"a/b\"" },
		{ "a.b", "10.0.0.0/24", NULL, "invalid network name" },
		{ "none", "10.0.0.0/24", NULL, "reserved" },
		{ "x", "10.0.0.0/31", NULL, "prefix length must be 8 to 30" },
		{ "x", "10.0.0.0/7", NULL, "prefix length" },
		{ "x", "10.0.0.0/24", "10.0.1.1", "gateway 10.0.1.1 is not a host address" },
		{ "x", "10.0.0.0/24", "10.0.0.255", "is not a host address" },
		{ "x", "10.0.0.0/24", "10.0.0.0", "is not a host address" },
		{ "x", "10.0.0.0/24", "nope", "--gateway: \"nope\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (net_network_new(bad[i].name, bad[i].subnet, bad[i].gw, true, false, &n, &e) == 0)
			T_FAIL("case %zu accepted", i);
		T_ASSERT_CONTAINS(e->msg, bad[i].msg);
	}
	cell_err_free(e);
}

static void definition_files(void)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "", "invalid JSON" },
		{ "[]", "expected a JSON object" },
		{ "{} x", "trailing data" },
		{ "{\"version\":1}", "name: required" },
		{ "{\"version\":2,\"name\":\"a\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\","
		  "\"bridge\":\"cell-a\",\"nat\":true}", "version: 2 is not 1" },
		{ "{\"version\":1,\"name\":7,\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\","
		  "\"bridge\":\"cell-a\",\"nat\":true}", "name: expected a string" },
		{ "{\"version\":1,\"name\":\"a\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\","
		  "\"bridge\":\"eth0\",\"nat\":true}", "bridge \"eth0\" is not a cell bridge name" },
		{ "{\"version\":1,\"name\":\"a\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\","
		  "\"bridge\":\"cell-a;x\",\"nat\":true}", "is not a cell bridge name" },
		{ "{\"version\":1,\"name\":\"a\",\"subnet\":\"10.0.0.9/24\",\"gateway\":\"10.0.0.1\","
		  "\"bridge\":\"cell-a\",\"nat\":true}", "host bits set" },
		{ "{\"version\":1,\"name\":\"a\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.9.1\","
		  "\"bridge\":\"cell-a\",\"nat\":true}", "gateway 10.0.9.1" },
		{ "{\"version\":1,\"name\":\"a\",\"subnet\":\"10.0.0.0/24\",\"gateway\":\"10.0.0.1\","
		  "\"bridge\":\"cell-a\",\"nat\":\"yes\"}", "nat: expected a boolean" },
	};
	struct cell_err *e = NULL;
	struct net_network *n = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (net_network_parse(bad[i].json, strlen(bad[i].json), "f.json", &n, &e) == 0)
			T_FAIL("case %zu accepted", i);
		T_ASSERT_CONTAINS(e->msg, "f.json");
		T_ASSERT_CONTAINS(e->msg, bad[i].msg);
	}
	/* A NUL inside a string must not shorten it into something valid. */
	static const char nul[] = "{\"version\":1,\"name\":\"a\\u0000;rm\",\"subnet\":\"10.0.0.0/24\","
				  "\"gateway\":\"10.0.0.1\",\"bridge\":\"cell-a\",\"nat\":true}";
	T_ASSERT(net_network_parse(nul, strlen(nul), "f.json", &n, &e) < 0);
	cell_err_free(e);
}

static void etc_files(void)
{
	char *h = net_hosts_text("web1", ip("10.88.0.7"), ip("10.88.0.1"));
	T_ASSERT_CONTAINS(h, "127.0.0.1\tlocalhost\n");
	T_ASSERT_CONTAINS(h, "10.88.0.7\tweb1\n");
	T_ASSERT_CONTAINS(h, "10.88.0.1\thost.cell.internal\n");
	free(h);
	char *r = net_resolv_text("search example.test\nnameserver 127.0.0.53\nnameserver 9.9.9.9\n"
				  "nameserver ::1\noptions edns0\n");
	T_ASSERT_STR(r, "search example.test\nnameserver 9.9.9.9\noptions edns0\n");
	free(r);
	r = net_resolv_text(NULL);
	T_ASSERT_STR(r, "");
	free(r);
}

/* A store under a fresh temporary root; owners need state directories. */
static char *temp_root(void)
{
	char tmpl[] = "/tmp/cell-net-unit.XXXXXX";
	return xstrdup(mkdtemp(tmpl));
}

static void owner_dir(const char *root, const char *id)
{
	char *d = xasprintf("%s/%s", root, id);
	mkdir(d, 0700);
	free(d);
}

static void rm_tree(const char *root)
{
	char *cmd = xasprintf("rm -rf '%s'", root);
	(void)!system(cmd);
	free(cmd);
}

static void store_defs(void)
{
	_cleanup_free_ char *root = temp_root();
	struct net_store s;
	struct cell_err *e = NULL;
	struct net_network *n = NULL, **all = NULL;
	size_t count = 0;
	T_ASSERT_INT(net_store_open(root, &s, &e), 0);
	/* The default network exists without a file. */
	T_ASSERT_INT(net_store_get(&s, "default", &n, &e), 0);
	T_ASSERT(n->implicit);
	char buf[NET_IP_STRLEN + 3];
	T_ASSERT_STR(net_cidr_str(&n->subnet, buf), NET_DEFAULT_SUBNET);
	net_network_free(n);
	T_ASSERT(net_store_get(&s, "nope", &n, &e) == -ENOENT);
	T_ASSERT_CONTAINS(e->msg, "network \"nope\" does not exist");
	T_ASSERT_INT(net_store_list(&s, &all, &count, &e), 0);
	T_ASSERT_INT(count, 1);
	net_network_free(all[0]);
	free(all);
	/* Overlaps: with the implicit default, with each other. */
	T_ASSERT_INT(net_network_new("a", "10.88.1.0/24", NULL, true, false, &n, &e), 0);
	T_ASSERT(net_store_remove(&s, "a", &e) < 0);
	T_ASSERT(net_store_add(&s, n, &e) < 0);
	T_ASSERT_CONTAINS(e->msg, "subnet 10.88.1.0/24 overlaps network \"default\" (10.88.0.0/16)");
	net_network_free(n);
	rm_tree(root);
	net_store_close(&s);
	cell_err_free(e);
}

static void lease_basics(void)
{
	_cleanup_free_ char *root = temp_root();
	struct net_store s;
	struct cell_err *e = NULL;
	struct net_network *n = NULL;
	uint32_t got, got2;
	T_ASSERT_INT(net_network_new("small", "10.123.0.0/29", NULL, true, false, &n, &e), 0);
	T_ASSERT_INT(net_store_open(root, &s, &e), 0);
	owner_dir(root, "c1");
	owner_dir(root, "c2");
	T_ASSERT_INT(net_lease_take(&s, n, 0, "c1", &got, &e), 0);
	T_ASSERT_INT(got, ip("10.123.0.2")); /* .0 network, .1 gateway */
	T_ASSERT(net_lease_take(&s, n, got, "c2", &got2, &e) == -EADDRINUSE);
	T_ASSERT_CONTAINS(e->msg, "address 10.123.0.2 in network \"small\" is in use by container \"c1\"");
	T_ASSERT(net_lease_take(&s, n, ip("10.123.0.1"), "c2", &got2, &e) < 0);
	T_ASSERT_CONTAINS(e->msg, "10.123.0.1 is not usable in network \"small\"");
	T_ASSERT(net_lease_take(&s, n, ip("10.124.0.3"), "c2", &got2, &e) < 0);
	T_ASSERT_CONTAINS(e->msg, "not usable");
	T_ASSERT_INT(net_lease_take(&s, n, ip("10.123.0.6"), "c2", &got2, &e), 0);
	/* Five usable addresses (.2-.6); fill them, then run out. */
	for (int i = 0; i < 3; i++) {
		char id[8];
		snprintf(id, sizeof(id), "f%d", i);
		owner_dir(root, id);
		T_ASSERT_INT(net_lease_take(&s, n, 0, id, &got2, &e), 0);
	}
	owner_dir(root, "late");
	T_ASSERT(net_lease_take(&s, n, 0, "late", &got2, &e) == -ENOSPC);
	T_ASSERT_CONTAINS(e->msg, "no free address");
	/* Release frees; the next search goes on round robin, not back to .2. */
	T_ASSERT_INT(net_lease_release(&s, "small", "c1", &e), 0);
	T_ASSERT_INT(net_lease_take(&s, n, 0, "late", &got2, &e), 0);
	T_ASSERT_INT(got2, ip("10.123.0.2"));
	struct net_lease *l = NULL;
	size_t count = 0;
	T_ASSERT_INT(net_lease_list(&s, n, &l, &count, &e), 0);
	T_ASSERT_INT(count, 5);
	T_ASSERT_STR(l[0].owner, "late");
	net_leases_free(l, count);
	net_store_close(&s);
	net_network_free(n);
	rm_tree(root);
	cell_err_free(e);
}

static void lease_stale(void)
{
	_cleanup_free_ char *root = temp_root();
	struct net_store s;
	struct cell_err *e = NULL;
	struct net_network *n = NULL;
	uint32_t got;
	T_ASSERT_INT(net_network_new("st", "10.124.0.0/24", NULL, true, false, &n, &e), 0);
	T_ASSERT_INT(net_store_open(root, &s, &e), 0);
	owner_dir(root, "gone");
	T_ASSERT_INT(net_lease_take(&s, n, ip("10.124.0.9"), "gone", &got, &e), 0);
	/* The container's directory went (without its undo): the lease is free. */
	char *d = xasprintf("%s/gone", root);
	rmdir(d);
	free(d);
	/* A lease file with garbage, and a writer's leftover temporary. */
	char *junk = xasprintf("%s/.net/st/10.124.0.10", root), *tmp = xasprintf("%s/.net/st/10.124.0.11.tmp.1", root);
	T_ASSERT_INT(cell_write_file_atomic_at(AT_FDCWD, junk, "../../etc\n", 10, 0600, &e), 0);
	T_ASSERT_INT(cell_write_file_atomic_at(AT_FDCWD, tmp, "x\n", 2, 0600, &e), 0);
	struct net_lease *l = NULL;
	size_t count = 9;
	T_ASSERT_INT(net_lease_list(&s, n, &l, &count, &e), 0);
	T_ASSERT_INT(count, 0);
	T_ASSERT(access(junk, F_OK) < 0 && access(tmp, F_OK) < 0);
	owner_dir(root, "new");
	T_ASSERT_INT(net_lease_take(&s, n, ip("10.124.0.9"), "new", &got, &e), 0);
	free(junk);
	free(tmp);
	net_store_close(&s);
	net_network_free(n);
	rm_tree(root);
	cell_err_free(e);
}

/* 30 processes lease at once: 30 different addresses. */
static void lease_concurrent(void)
{
	_cleanup_free_ char *root = temp_root();
	struct net_network *n = NULL;
	struct cell_err *e = NULL;
	T_ASSERT_INT(net_network_new("busy", "10.125.0.0/24", NULL, true, false, &n, &e), 0);
	enum { N = 30 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		char id[16];
		snprintf(id, sizeof(id), "k%d", i);
		owner_dir(root, id);
		pids[i] = fork();
		if (pids[i] == 0) {
			struct net_store s;
			uint32_t got;
			struct cell_err *ce = NULL;
			int r = net_store_open(root, &s, &ce);
			if (r == 0)
				r = net_lease_take(&s, n, 0, id, &got, &ce);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	struct net_store s;
	struct net_lease *l = NULL;
	size_t count = 0;
	T_ASSERT_INT(net_store_open(root, &s, &e), 0);
	T_ASSERT_INT(net_lease_list(&s, n, &l, &count, &e), 0);
	T_ASSERT_INT(count, N);
	for (size_t i = 1; i < count; i++)
		T_ASSERT(l[i].ip != l[i - 1].ip); /* sorted, so neighbours differ */
	net_leases_free(l, count);
	net_store_close(&s);
	net_network_free(n);
	rm_tree(root);
}

/* The guard that keeps a development build out of the machine's own
 * network namespace: true here (tests/run runs in it), false in a new one. */
static void init_netns_guard(void)
{
	if (!net_in_init_netns())
		T_SKIP("not run in the initial network namespace");
	/* Never make a network in the machine's own namespace to find out. */
	if (net_init_netns_allowed())
		T_SKIP("this build allows networks in the initial namespace "
		       "(-Dinit_netns_networks=true)");
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 && !net_in_init_netns() ? 0 : 1);
	int st;
	waitpid(pid, &st, 0);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct net_network *n = NULL;
	struct cell_err *e = NULL;
	T_ASSERT_INT(net_network_new("g", "10.126.0.0/24", NULL, true, false, &n, &e), 0);
	/* Refused before anything is made. */
	int r = net_network_up(n, &e);
	net_network_free(n);
	if (r == 0)
		T_FAIL("network made in the initial namespace");
	T_ASSERT_CONTAINS(e->msg, "initial network namespace");
	cell_err_free(e);
}

T_MAIN("net", T_CASE(ip_parse), T_CASE(cidr_parse), T_CASE(cidr_overlap), T_CASE(rates),
       T_CASE(ports), T_CASE(definitions), T_CASE(definition_files), T_CASE(etc_files),
       T_CASE(store_defs), T_CASE(lease_basics), T_CASE(lease_stale), T_CASE(lease_concurrent), T_CASE(init_netns_guard))
