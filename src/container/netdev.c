/* /proc/PID/net/dev: the counters of every interface in the network
 * namespace of PID.  The container names its interfaces, so the text is
 * read as untrusted: names are bounded, numbers checked, lines capped
 * (tests/fuzz/fuzz-netdev.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "container/internal.h"

#define NETDEV_MAX 4096 /* interfaces kept; a namespace may have more */

/* The next whitespace-separated unsigned number; false when none. */
static bool number(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end || *s < '0' || *s > '9')
		return false;
	uint64_t v = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return true;
}

/* "  eth0: rxbytes rxpackets rxerrs rxdrop fifo frame compressed multicast
 *  txbytes txpackets txerrs txdrop fifo colls carrier compressed" */
static bool parse_line(const char *line, const char *end, struct container_net_stats *ret)
{
	const char *colon = memchr(line, ':', (size_t)(end - line));
	if (!colon)
		return false;
	const char *name = line;
	while (name < colon && *name == ' ')
		name++;
	size_t len = (size_t)(colon - name);
	if (len == 0 || len >= sizeof(ret->name))
		return false;
	/* What dev_valid_name() lets through: printable, no space or '/'. */
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '/')
			return false;
	}
	uint64_t v[16];
	const char *p = colon + 1;
	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		if (!number(&p, end, &v[i]))
			return false;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, name, len);
	ret->rx_bytes = v[0];
	ret->rx_packets = v[1];
	ret->rx_errors = v[2];
	ret->rx_dropped = v[3];
	ret->tx_bytes = v[8];
	ret->tx_packets = v[9];
	ret->tx_errors = v[10];
	ret->tx_dropped = v[11];
	return true;
}

int container_parse_net_dev(const char *text, size_t len, struct container_net_stats **ret,
			    size_t *ret_n)
{
	struct container_net_stats *out = NULL;
	size_t n = 0, cap = 0;
	const char *end = text + len;
	int line_no = 0;
	for (const char *l = text; l < end && n < NETDEV_MAX; line_no++) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *le = nl ? nl : end;
		struct container_net_stats s;
		/* Two header lines, then one line per interface. */
		if (line_no >= 2 && parse_line(l, le, &s)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				out = xrealloc(out, cap * sizeof(*out));
			}
			out[n++] = s;
		}
		l = nl ? nl + 1 : end;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}
