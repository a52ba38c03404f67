/* One container on a network: its veth pair, eth0's address and routes
 * inside, its rate limits, its published ports, and their undoing. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "net/internal.h"

#define INSIDE_IF "eth0"

char *net_netns_id(void)
{
	char buf[64];
	ssize_t n = readlink("/proc/self/ns/net", buf, sizeof(buf) - 1);
	if (n <= 0)
		return xstrdup("net:[?]");
	buf[n] = '\0';
	return xstrdup(buf);
}

bool net_netns_is_current(const char *id)
{
	_cleanup_free_ char *now = net_netns_id();
	return strcmp(now, id) == 0;
}

void net_host_ifname(uint32_t ip, char buf[static 16])
{
	snprintf(buf, 16, "cv%08x", ip);
}

int net_veth_add(const struct net_attach *a, struct cell_err **err)
{
	struct nl nl = { 0 };
	int r = nl_open(&nl, err);
	if (r < 0)
		return r;
	struct nl_link br;
	r = nl_link_get(&nl, a->net->bridge, &br);
	if (r == 0)
		r = nl_veth_add(&nl, a->host_if, br.index, INSIDE_IF, a->netns_fd);
	nl_close(&nl);
	if (r == -EEXIST)
		return cell_err(err, EEXIST, "create veth %s: a link of that name exists (another "
				"cell state root using the same subnet?)", a->host_if);
	if (r < 0)
		return cell_err(err, -r, "create veth %s on %s", a->host_if, a->net->bridge);
	return 0;
}

static int inside(struct nl *nl, const struct net_attach *a, struct cell_err **err)
{
	char ip[NET_IP_STRLEN];
	struct nl_link eth, lo;
	int r = nl_link_get(nl, INSIDE_IF, &eth);
	if (r < 0)
		return cell_err(err, -r, INSIDE_IF);
	if ((r = nl_addr_add(nl, eth.index, a->ip, a->net->subnet.prefix)) < 0)
		return cell_err(err, -r, "add %s/%u to " INSIDE_IF, net_ip_str(a->ip, ip),
				a->net->subnet.prefix);
	if ((r = nl_link_up(nl, eth.index)) < 0)
		return cell_err(err, -r, "bring " INSIDE_IF " up");
	if ((r = nl_link_get(nl, "lo", &lo)) < 0 || (r = nl_link_up(nl, lo.index)) < 0)
		return cell_err(err, -r, "bring lo up");
	if ((r = nl_route_add_default(nl, eth.index, a->net->gateway)) < 0)
		return cell_err(err, -r, "default route via %s", net_ip_str(a->net->gateway, ip));
	return 0;
}

int net_inside_configure(const struct net_attach *a, struct cell_err **err)
{
	struct nl nl = { 0 };
	int r = nl_open_in(a->netns_fd, &nl, err);
	if (r < 0)
		return r;
	r = inside(&nl, a, err);
	nl_close(&nl);
	return r < 0 ? cell_err_wrap(err, "container network") : 0;
}

static int tbf_on(struct nl *nl, const char *ifname, uint64_t rate, struct cell_err **err)
{
	struct nl_link l;
	int r = nl_link_get(nl, ifname, &l);
	if (r == 0)
		r = nl_tbf_set(nl, l.index, rate);
	return r < 0 ? cell_err(err, -r, "rate limit on %s", ifname) : 0;
}

int net_rate_apply(const struct net_attach *a, struct cell_err **err)
{
	struct nl host = { 0 }, in = { 0 };
	int r = nl_open(&host, err);
	if (r < 0)
		return r;
	r = tbf_on(&host, a->host_if, a->rate, err);
	nl_close(&host);
	if (r < 0)
		return r;
	/* The container's own egress is shaped on its eth0: a qdisc shapes only
	 * what its device sends.  Without CAP_NET_ADMIN it cannot be changed. */
	if ((r = nl_open_in(a->netns_fd, &in, err)) < 0)
		return r;
	r = tbf_on(&in, INSIDE_IF, a->rate, err);
	nl_close(&in);
	return r;
}

int net_link_remove(const char *ifname, const char *kind, struct cell_err **err)
{
	struct nl nl = { 0 };
	int r = nl_open(&nl, err);
	if (r < 0)
		return r;
	struct nl_link l;
	r = nl_link_get(&nl, ifname, &l);
	/* Only what we made: a link of another kind under the name is not ours. */
	if (r == 0 && strcmp(l.kind, kind) == 0)
		r = nl_link_del(&nl, l.index);
	nl_close(&nl);
	if (r < 0 && r != -ENODEV)
		return cell_err(err, -r, "delete %s %s", kind, ifname);
	return 0;
}

int net_qdisc_remove(const char *ifname, struct cell_err **err)
{
	struct nl nl = { 0 };
	int r = nl_open(&nl, err);
	if (r < 0)
		return r;
	struct nl_link l;
	r = nl_link_get(&nl, ifname, &l);
	if (r == 0)
		r = nl_qdisc_del_root(&nl, l.index);
	nl_close(&nl);
	if (r < 0 && r != -ENODEV && r != -ENOENT && r != -EINVAL)
		return cell_err(err, -r, "remove the rate limit on %s", ifname);
	return 0;
}

static char *port_elem(const struct net_port *p, uint32_t ip)
{
	char buf[NET_IP_STRLEN];
	return xasprintf("element " NFT_TABLE " pub_%s { %u : %s . %u }", net_proto_name(p->proto),
			 p->host_port, net_ip_str(ip, buf), p->ctr_port);
}

int net_port_publish(const struct net_port *p, uint32_t ip, uint32_t *ret_owner_ip,
		     struct cell_err **err)
{
	_cleanup_(nft_closep) struct nft *nft = NULL;
	int r = nft_open(&nft, err);
	if (r < 0 || (r = nft_table_ensure(nft, err)) < 0)
		return r;
	uint32_t owner;
	uint16_t port;
	r = nft_port_lookup(nft, p, &owner, &port, err);
	if (r == 0) {
		if (ret_owner_ip)
			*ret_owner_ip = owner;
		return cell_err(err, EADDRINUSE, "port %u/%s is already published", p->host_port,
				net_proto_name(p->proto));
	}
	if (r != -ENOENT)
		return r;
	/* "create" fails on a present key: the kernel arbitrates any race. */
	_cleanup_free_ char *el = port_elem(p, ip);
	_cleanup_free_ char *cmd = xasprintf("create %s", el);
	r = nft_run(nft, cmd, err);
	if (r == -EEXIST)
		return cell_err(err, EADDRINUSE, "port %u/%s is already published", p->host_port,
				net_proto_name(p->proto));
	return r;
}

int net_port_owner(const struct net_port *p, uint32_t *ret_ip, struct cell_err **err)
{
	_cleanup_(nft_closep) struct nft *nft = NULL;
	int r = nft_open(&nft, err);
	if (r < 0)
		return r;
	uint16_t port;
	return nft_port_lookup(nft, p, ret_ip, &port, err);
}

int net_port_withdraw(const struct net_port *p, uint32_t ip, struct cell_err **err)
{
	_cleanup_(nft_closep) struct nft *nft = NULL;
	int r = nft_open(&nft, err);
	if (r < 0)
		return r;
	uint32_t owner;
	uint16_t port;
	r = nft_port_lookup(nft, p, &owner, &port, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (owner != ip || port != p->ctr_port)
		return 0; /* another container's now: ours never came to be */
	_cleanup_free_ char *el = port_elem(p, ip);
	_cleanup_free_ char *cmd = xasprintf("delete %s", el);
	r = nft_run(nft, cmd, err);
	return r == -ENOENT ? 0 : r;
}
