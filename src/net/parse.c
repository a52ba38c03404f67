/* What users write for rates (tc's units) and published ports. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "net/net.h"

/* Bits per second below which tbf's arithmetic stops making sense for
 * Ethernet frames, and above which no veth goes. */
#define RATE_MIN_BYTES 1000ull
#define RATE_MAX_BYTES (1000ull * 1000 * 1000 * 1000 / 8 * 100) /* 100tbit */

static const struct {
	const char *unit;
	double bytes; /* bytes per second per unit */
} rate_units[] = {
	{ "bit", 1.0 / 8 },     { "kbit", 1e3 / 8 }, { "mbit", 1e6 / 8 }, { "gbit", 1e9 / 8 },
	{ "tbit", 1e12 / 8 },   { "bps", 1 },        { "kbps", 1e3 },     { "mbps", 1e6 },
	{ "gbps", 1e9 },        { "tbps", 1e12 },    { "kibit", 1024.0 / 8 },
	{ "mibit", 1048576.0 / 8 }, { "gibit", 1073741824.0 / 8 },
};

int net_rate_parse(const char *s, uint64_t *ret, struct cell_err **err)
{
	const char *p = s;
	while (p && ((*p >= '0' && *p <= '9') || *p == '.'))
		p++;
	if (!s || p == s || !*p || p - s > 20)
		return cell_err(err, 0, "rate \"%s\": expected a number and a unit, like 10mbit",
				s ? s : "");
	char num[24];
	memcpy(num, s, (size_t)(p - s));
	num[p - s] = '\0';
	char *end;
	double v = strtod(num, &end);
	if (*end || num[0] == '.' || strchr(num, '.') != strrchr(num, '.'))
		return cell_err(err, 0, "rate \"%s\": \"%s\" is not a number", s, num);
	for (size_t i = 0; i < ARRAY_SIZE(rate_units); i++) {
		if (strcasecmp(p, rate_units[i].unit) != 0)
			continue;
		double bytes = v * rate_units[i].bytes;
		if (bytes < (double)RATE_MIN_BYTES || bytes > (double)RATE_MAX_BYTES)
			return cell_err(err, 0, "rate \"%s\": out of range (8kbit to 100tbit)", s);
		*ret = (uint64_t)(bytes + 0.5);
		return 0;
	}
	return cell_err(err, 0,
			"rate \"%s\": unknown unit \"%s\" (bit, kbit, mbit, gbit, tbit; bps, kbps, "
			"mbps, gbps for bytes)", s, p);
}

const char *net_proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static int port_number(const char *s, size_t len, uint16_t *ret)
{
	char buf[8];
	int64_t v;
	if (len == 0 || len >= sizeof(buf) || s[0] == '0' || s[0] == '+' || s[0] == '-')
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (cell_parse_int64(buf, 1, 65535, &v) < 0)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

int net_port_parse(const char *s, struct net_port *ret, struct cell_err **err)
{
	struct net_port p = { .proto = IPPROTO_TCP };
	const char *colon = strchr(s, ':');
	const char *slash = strchr(s, '/');
	const char *ctr_end = slash ? slash : s + strlen(s);
	if (slash) {
		if (strcmp(slash + 1, "tcp") == 0)
			p.proto = IPPROTO_TCP;
		else if (strcmp(slash + 1, "udp") == 0)
			p.proto = IPPROTO_UDP;
		else
			return cell_err(err, 0, "port \"%s\": protocol \"%s\" is not tcp or udp", s,
					slash + 1);
	}
	if (!colon || colon > ctr_end ||
	    port_number(s, (size_t)(colon - s), &p.host_port) < 0 ||
	    port_number(colon + 1, (size_t)(ctr_end - colon - 1), &p.ctr_port) < 0)
		return cell_err(err, 0,
				"port \"%s\": expected HOSTPORT:CONTAINERPORT[/tcp|/udp] with ports "
				"1-65535", s);
	*ret = p;
	return 0;
}

int net_ports_parse(const char *s, struct net_port **ret, size_t *ret_n, struct cell_err **err)
{
	_cleanup_free_ char *copy = xstrdup(s);
	_cleanup_free_ struct net_port *ports = NULL;
	size_t n = 0;
	char *save = NULL;
	if (strstr(s, ",,") || s[0] == ',' || (*s && s[strlen(s) - 1] == ','))
		return cell_err(err, 0, "ports \"%s\": empty entry", s);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == NET_PORTS_MAX)
			return cell_err(err, 0, "ports: more than %d", NET_PORTS_MAX);
		struct net_port p;
		int r = net_port_parse(tok, &p, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < n; i++)
			if (ports[i].proto == p.proto && ports[i].host_port == p.host_port)
				return cell_err(err, 0, "port %u/%s is given twice", p.host_port,
						net_proto_name(p.proto));
		ports = xrealloc(ports, (n + 1) * sizeof(*ports));
		ports[n++] = p;
	}
	*ret = TAKE_PTR(ports);
	*ret_n = n;
	return 0;
}
