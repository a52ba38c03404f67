/* IPv4 addresses and the default route over rtnetlink. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

#include "base/util.h"
#include "net/internal.h"

int nl_addr_add(struct nl *nl, int index, uint32_t ip, unsigned int prefix)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned int)index;
	struct net_cidr c = { .addr = ip & net_prefix_mask(prefix), .prefix = prefix };
	mnl_attr_put_u32(h, IFA_LOCAL, htonl(ip));
	mnl_attr_put_u32(h, IFA_ADDRESS, htonl(ip));
	mnl_attr_put_u32(h, IFA_BROADCAST, htonl(net_cidr_broadcast(&c)));
	return nl_talk(nl, h, NULL, NULL);
}

int nl_route_add_default(struct nl *nl, int index, uint32_t gateway)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rt = mnl_nlmsg_put_extra_header(h, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = 0;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(h, RTA_GATEWAY, htonl(gateway));
	mnl_attr_put_u32(h, RTA_OIF, (uint32_t)index);
	return nl_talk(nl, h, NULL, NULL);
}

struct addr_list {
	struct nl_addr *v;
	size_t n;
};

static int addr_attr_cb(const struct nlattr *a, void *data)
{
	uint32_t *ip = data;
	if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		*ip = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *h, void *data)
{
	struct addr_list *l = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(h);
	if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) ||
	    ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	uint32_t ip = 0;
	mnl_attr_parse(h, sizeof(*ifa), addr_attr_cb, &ip);
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = (struct nl_addr){ .index = (int)ifa->ifa_index, .ip = ip,
					 .prefix = ifa->ifa_prefixlen };
	return MNL_CB_OK;
}

int nl_addr_list(struct nl *nl, struct nl_addr **ret, size_t *ret_n)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(h, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	struct addr_list l = { 0 };
	int r = nl_talk(nl, h, addr_cb, &l);
	if (r < 0) {
		free(l.v);
		return r;
	}
	*ret = l.v;
	*ret_n = l.n;
	return 0;
}
