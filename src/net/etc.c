/* The text of a networked container's /etc/hosts and /etc/resolv.conf. */
#include <string.h>

#include "base/util.h"
#include "net/net.h"

char *net_hosts_text(const char *hostname, uint32_t ip, uint32_t gateway)
{
	char a[NET_IP_STRLEN], g[NET_IP_STRLEN];
	return xasprintf("127.0.0.1\tlocalhost\n"
			 "::1\tlocalhost ip6-localhost ip6-loopback\n"
			 "%s\t%s\n"
			 "%s\thost.cell.internal\n",
			 net_ip_str(ip, a), hostname, net_ip_str(gateway, g));
}

/* A nameserver in 127.0.0.0/8 or ::1 answers on the host's loopback,
 * which the container's own loopback is not. */
static bool loopback_nameserver(const char *line)
{
	const char *p = line + strlen("nameserver");
	p += strspn(p, " \t");
	return cell_str_has_prefix(p, "127.") || cell_str_has_prefix(p, "::1");
}

char *net_resolv_text(const char *host)
{
	char *out = xstrdup("");
	if (!host)
		return out;
	_cleanup_free_ char *copy = xstrdup(host);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (cell_str_has_prefix(line, "nameserver") && loopback_nameserver(line))
			continue;
		char *t = xasprintf("%s%s\n", out, line);
		free(out);
		out = t;
	}
	return out;
}
