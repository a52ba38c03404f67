/* Links over rtnetlink: look up, bridge, veth pair, up, delete. */
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "base/util.h"
#include "net/internal.h"

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *h)
{
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	return ifi;
}

static int linkinfo_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
		snprintf(data, 16, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
	struct nl_link *l = data;
	if (mnl_attr_get_type(a) == IFLA_LINKINFO && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
		mnl_attr_parse_nested(a, linkinfo_cb, l->kind);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *h, void *data)
{
	struct nl_link *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(h);
	if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return MNL_CB_OK;
	l->index = ifi->ifi_index;
	l->flags = ifi->ifi_flags;
	l->kind[0] = '\0';
	return mnl_attr_parse(h, sizeof(*ifi), link_attr_cb, l);
}

int nl_link_get(struct nl *nl, const char *name, struct nl_link *ret)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_GETLINK, 0);
	put_ifinfo(h);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	struct nl_link l = { 0 };
	int r = nl_talk(nl, h, link_cb, &l);
	if (r < 0)
		return r;
	if (l.index <= 0)
		return -ENODEV;
	*ret = l;
	return 0;
}

int nl_bridge_add(struct nl *nl, const char *name, const uint8_t mac[6])
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	put_ifinfo(h);
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	/* A fixed address: a bridge otherwise takes the lowest of its ports',
	 * which changes as containers come and go and stales every ARP cache. */
	mnl_attr_put(h, IFLA_ADDRESS, 6, mac);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(h, info);
	return nl_talk(nl, h, NULL, NULL);
}

int nl_veth_add(struct nl *nl, const char *name, int master, const char *peer_name,
		int peer_netns_fd)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = put_ifinfo(h);
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	if (master > 0)
		mnl_attr_put_u32(h, IFLA_MASTER, (uint32_t)master);
	struct nlattr *info = mnl_attr_nest_start(h, IFLA_LINKINFO);
	mnl_attr_put_strz(h, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(h, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(h, VETH_INFO_PEER);
	/* The peer's attributes follow an ifinfomsg of its own. */
	struct ifinfomsg *pifi = (struct ifinfomsg *)((char *)h + h->nlmsg_len);
	memset(pifi, 0, MNL_ALIGN(sizeof(*pifi)));
	pifi->ifi_family = AF_UNSPEC;
	h->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
	mnl_attr_put_strz(h, IFLA_IFNAME, peer_name);
	mnl_attr_put_u32(h, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(h, peer);
	mnl_attr_nest_end(h, data);
	mnl_attr_nest_end(h, info);
	return nl_talk(nl, h, NULL, NULL);
}

int nl_link_up(struct nl *nl, int index)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = put_ifinfo(h);
	ifi->ifi_index = index;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, h, NULL, NULL);
}

int nl_link_del(struct nl *nl, int index)
{
	char buf[NL_BUF];
	struct nlmsghdr *h = nl_msg(nl, buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = put_ifinfo(h);
	ifi->ifi_index = index;
	return nl_talk(nl, h, NULL, NULL);
}
