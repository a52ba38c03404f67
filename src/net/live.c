/* A network in the kernel: its bridge with the gateway address, forwarding
 * on, and its elements in cell's nftables sets.  Made when a container
 * first needs it (so a reboot or a fresh namespace needs no setup step),
 * removed by `cell network rm`. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "net/internal.h"

/* A locally administered unicast address derived from the name. */
static void bridge_mac(const char *name, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	mac[0] = 0x02;
	for (int i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

/* Sysctls of cell's network namespace (net sysctls follow the opener's). */
static int sysctl_on(const char *path, struct cell_err **err)
{
	char cur[4] = "";
	_cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", path);
	if (read(fd, cur, sizeof(cur) - 1) > 0 && cur[0] == '1')
		return 0;
	if (pwrite(fd, "1", 1, 0) != 1)
		return cell_err_sys(err, "write 1 to %s", path);
	return 0;
}

static int bridge_up(struct nl *nl, const struct net_network *n, struct cell_err **err)
{
	struct nl_link l;
	int r = nl_link_get(nl, n->bridge, &l);
	if (r == -ENODEV) {
		uint8_t mac[6];
		bridge_mac(n->bridge, mac);
		r = nl_bridge_add(nl, n->bridge, mac);
		if (r < 0 && r != -EEXIST)
			return cell_err(err, -r, "create bridge %s", n->bridge);
		r = nl_link_get(nl, n->bridge, &l);
	}
	if (r < 0)
		return cell_err(err, -r, "bridge %s", n->bridge);
	if (strcmp(l.kind, "bridge") != 0)
		return cell_err(err, EEXIST, "%s exists and is not a bridge", n->bridge);
	r = nl_addr_add(nl, l.index, n->gateway, n->subnet.prefix);
	if (r < 0 && r != -EEXIST) {
		char gw[NET_IP_STRLEN];
		return cell_err(err, -r, "add %s/%u to %s", net_ip_str(n->gateway, gw),
				n->subnet.prefix, n->bridge);
	}
	if ((r = nl_link_up(nl, l.index)) < 0)
		return cell_err(err, -r, "bring %s up", n->bridge);
	return 0;
}

static char *elements(const struct net_network *n, bool all)
{
	char buf[NET_IP_STRLEN + 3];
	const char *b = n->bridge;
	char *s = xasprintf("element " NFT_TABLE " bridges { \"%s\" }\n"
			    "element " NFT_TABLE " self { \"%s\" . \"%s\" }\n", b, b, b);
	if (all || !n->routed) {
		char *t = xasprintf("%selement " NFT_TABLE " isolated { \"%s\" }\n", s, b);
		free(s);
		s = t;
	}
	if (all || n->nat) {
		char *t = xasprintf("%selement " NFT_TABLE " masq { %s }\n", s,
				    net_cidr_str(&n->subnet, buf));
		free(s);
		s = t;
	}
	return s;
}

static int nft_up(const struct net_network *n, struct cell_err **err)
{
	_cleanup_(nft_closep) struct nft *nft = NULL;
	int r = nft_open(&nft, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *els = elements(n, false);
	/* "add element" of a present element is no error: idempotent. */
	_cleanup_free_ char *cmds = xstrdup("");
	for (char *line = els, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		char *t = xasprintf("%sadd %.*s\n", cmds, (int)(nl - line), line);
		free(cmds);
		cmds = t;
	}
	/* Usually the table is there: try first, make it only when missing. */
	struct cell_err *e = NULL;
	r = nft_run(nft, cmds, &e);
	if (r == -ENOENT && (r = nft_table_ensure(nft, err)) == 0)
		r = nft_run(nft, cmds, err);
	else if (r < 0)
		r = nft_run(nft, cmds, err);
	cell_err_free(e);
	return r;
}

bool net_in_init_netns(void)
{
	struct stat self, init;
	if (stat("/proc/1/ns/net", &init) == 0 && stat("/proc/self/ns/net", &self) == 0)
		return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
	/* PID 1 may be hidden from us.  The kernel registers its global core
	 * sysctls in the initial namespace only (net/core/sysctl_net_core.c),
	 * and /proc/sys/net shows the caller's namespace. */
	return access("/proc/sys/net/core/netdev_max_backlog", F_OK) == 0;
}

bool net_init_netns_allowed(void)
{
	return CELL_NET_INIT_NS;
}

int net_network_up(const struct net_network *n, struct cell_err **err)
{
	/* A build option, so a development machine's own namespace stays as it
	 * is whatever anyone runs there (meson -Dinit_netns_networks). */
	if (!CELL_NET_INIT_NS && net_in_init_netns())
		return cell_err(err, EPERM, "network \"%s\": this cell is built not to make networks "
				"in the machine's initial network namespace (-Dinit_netns_networks=true "
				"allows it); use --net none, or run cell in a network namespace",
				n->name);
	struct nl nl = { 0 };
	int r = nl_open(&nl, err);
	if (r < 0)
		return r;
	r = bridge_up(&nl, n, err);
	nl_close(&nl);
	_cleanup_free_ char *localnet = xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet",
						  n->bridge);
	/* Forwarding carries containers' traffic out and published ports in;
	 * route_localnet lets the host's 127.0.0.1 reach a published port. */
	if (r == 0 && (r = sysctl_on("/proc/sys/net/ipv4/ip_forward", err)) == 0)
		r = sysctl_on(localnet, err);
	if (r == 0)
		r = nft_up(n, err);
	if (r < 0)
		return cell_err_wrap(err, "network \"%s\"", n->name);
	return 0;
}

static int nft_down(const struct net_network *n, struct cell_err **err)
{
	_cleanup_(nft_closep) struct nft *nft = NULL;
	int r = nft_open(&nft, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *els = elements(n, true);
	for (char *line = els, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		_cleanup_free_ char *cmd = xasprintf("delete %.*s", (int)(nl - line), line);
		struct cell_err *e = NULL;
		r = nft_run(nft, cmd, &e);
		if (r < 0 && r != -ENOENT) {
			cell_err_free(*err);
			*err = e;
			return r;
		}
		cell_err_free(e);
	}
	bool empty;
	if ((r = nft_set_empty(nft, "bridges", &empty, err)) < 0)
		return r;
	/* The last network takes the table with it; the rules in it are all ours. */
	if (!empty)
		return 0;
	struct cell_err *e = NULL;
	r = nft_run(nft, "delete table " NFT_TABLE, &e);
	if (r < 0 && r != -ENOENT) {
		cell_err_free(*err);
		*err = e;
		return r;
	}
	cell_err_free(e);
	return 0;
}

int net_network_down(const struct net_network *n, struct cell_err **err)
{
	int r = nft_down(n, err);
	if (r < 0)
		return cell_err_wrap(err, "network \"%s\"", n->name);
	struct nl nl = { 0 };
	if ((r = nl_open(&nl, err)) < 0)
		return r;
	struct nl_link l;
	r = nl_link_get(&nl, n->bridge, &l);
	if (r == 0 && strcmp(l.kind, "bridge") == 0)
		r = nl_link_del(&nl, l.index);
	nl_close(&nl);
	if (r < 0 && r != -ENODEV)
		return cell_err(err, -r, "network \"%s\": delete bridge %s", n->name, n->bridge);
	return 0;
}

int net_host_conflict(const struct net_cidr *subnet, const char *skip, struct cell_err **err)
{
	struct nl nl = { 0 };
	int r = nl_open(&nl, err);
	if (r < 0)
		return r;
	struct nl_addr *a = NULL;
	size_t n = 0;
	r = nl_addr_list(&nl, &a, &n);
	nl_close(&nl);
	if (r < 0)
		return cell_err(err, -r, "list the host's addresses");
	for (size_t i = 0; i < n && r == 0; i++) {
		char name[IF_NAMESIZE] = "?", ip[NET_IP_STRLEN], sub[NET_IP_STRLEN + 3];
		struct net_cidr c = { .addr = a[i].ip & net_prefix_mask(a[i].prefix),
				      .prefix = a[i].prefix };
		if (!if_indextoname((unsigned int)a[i].index, name))
			snprintf(name, sizeof(name), "#%d", a[i].index);
		if ((skip && strcmp(name, skip) == 0) || !net_cidr_overlaps(&c, subnet))
			continue;
		r = cell_err(err, 0, "subnet %s overlaps the host's address %s/%u on %s",
			     net_cidr_str(subnet, sub), net_ip_str(a[i].ip, ip), a[i].prefix, name);
	}
	free(a);
	return r;
}
