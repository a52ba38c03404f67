/* IPv4 addresses and prefixes, parsed strictly: what a user or a definition
 * file writes is either exactly a dotted quad or an error. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "net/net.h"

int net_ip_parse(const char *s, uint32_t *ret)
{
	uint32_t ip = 0;
	const char *p = s;
	if (!s)
		return -EINVAL;
	for (int part = 0; part < 4; part++) {
		if (part > 0 && *p++ != '.')
			return -EINVAL;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned int v = 0;
		int digits = 0;
		/* No leading zeros: inet_aton reads "010" as octal 8. */
		if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			v = v * 10 + (unsigned int)(*p++ - '0');
			digits++;
		}
		if (v > 255 || (*p >= '0' && *p <= '9'))
			return -EINVAL;
		ip = ip << 8 | v;
	}
	if (*p)
		return -EINVAL;
	*ret = ip;
	return 0;
}

const char *net_ip_str(uint32_t ip, char buf[static NET_IP_STRLEN])
{
	snprintf(buf, NET_IP_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
		 ip & 0xff);
	return buf;
}

uint32_t net_prefix_mask(unsigned int prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t net_cidr_broadcast(const struct net_cidr *c)
{
	return c->addr | ~net_prefix_mask(c->prefix);
}

bool net_cidr_contains(const struct net_cidr *c, uint32_t ip)
{
	return (ip & net_prefix_mask(c->prefix)) == c->addr;
}

bool net_cidr_overlaps(const struct net_cidr *a, const struct net_cidr *b)
{
	/* Two prefixes overlap exactly when the shorter one contains the other. */
	const struct net_cidr *wide = a->prefix <= b->prefix ? a : b;
	const struct net_cidr *narrow = wide == a ? b : a;
	return net_cidr_contains(wide, narrow->addr);
}

const char *net_cidr_str(const struct net_cidr *c, char buf[static NET_IP_STRLEN + 3])
{
	char ip[NET_IP_STRLEN];
	snprintf(buf, NET_IP_STRLEN + 3, "%s/%u", net_ip_str(c->addr, ip), c->prefix);
	return buf;
}

int net_cidr_parse(const char *s, const char *what, struct net_cidr *ret, struct cell_err **err)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || slash - s >= NET_IP_STRLEN)
		return cell_err(err, 0, "%s: \"%s\" is not an IPv4 prefix like 10.89.0.0/24", what,
				s ? s : "");
	char ip[NET_IP_STRLEN];
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	uint32_t addr;
	int64_t prefix;
	if (net_ip_parse(ip, &addr) < 0 || cell_parse_int64(slash + 1, 0, 32, &prefix) < 0 ||
	    slash[1] == '+' || slash[1] == '-' || (slash[1] == '0' && slash[2]))
		return cell_err(err, 0, "%s: \"%s\" is not an IPv4 prefix like 10.89.0.0/24", what, s);
	struct net_cidr c = { .addr = addr & net_prefix_mask((unsigned int)prefix),
			      .prefix = (unsigned int)prefix };
	if (c.addr != addr) {
		char buf[NET_IP_STRLEN + 3];
		return cell_err(err, 0, "%s: \"%s\" has host bits set (the network is %s)", what, s,
				net_cidr_str(&c, buf));
	}
	*ret = c;
	return 0;
}
