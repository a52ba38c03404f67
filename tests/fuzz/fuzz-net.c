/* src/net's parsers of untrusted text: network definition files (JSON, the
 * first byte 0), and what a config's annotations carry: published ports (1),
 * rates (2), prefixes (3) and addresses (4).  Whatever parses must survive
 * a round trip and hold the invariants cell acts on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void definition(const char *s, size_t len)
{
	struct net_network *n = NULL, *back = NULL;
	struct cell_err *e = NULL;
	if (net_network_parse(s, len, "f.json", &n, &e) < 0) {
		if (!e || !strstr(e->msg, "f.json"))
			abort(); /* every error names the file */
		cell_err_free(e);
		return;
	}
	/* What cell will act on: a "cell-" bridge name fit for IFNAMSIZ, a
	 * gateway that is a host address of the subnet. */
	if (strncmp(n->bridge, "cell-", 5) != 0 || strlen(n->bridge) > 15 ||
	    !net_cidr_contains(&n->subnet, n->gateway) || n->subnet.prefix < 8 ||
	    n->subnet.prefix > 30)
		abort();
	char *json = net_network_json(n, false);
	if (net_network_parse(json, strlen(json), "again", &back, &e) < 0 ||
	    strcmp(back->name, n->name) != 0 || back->subnet.addr != n->subnet.addr ||
	    back->gateway != n->gateway || back->nat != n->nat || back->routed != n->routed)
		abort();
	free(json);
	net_network_free(back);
	net_network_free(n);
}

static void text(int kind, const char *s)
{
	struct cell_err *e = NULL;
	struct net_port *ports = NULL;
	size_t n = 0;
	uint64_t rate;
	struct net_cidr c;
	uint32_t ip;
	char buf[NET_IP_STRLEN + 3];
	switch (kind) {
	case 1:
		if (net_ports_parse(s, &ports, &n, &e) == 0)
			for (size_t i = 0; i < n; i++)
				if (!ports[i].host_port || !ports[i].ctr_port)
					abort();
		free(ports);
		break;
	case 2:
		if (net_rate_parse(s, &rate, &e) == 0 && rate < 1000)
			abort();
		break;
	case 3:
		if (net_cidr_parse(s, "x", &c, &e) == 0 && strcmp(net_cidr_str(&c, buf), s) != 0)
			abort(); /* only the canonical form parses */
		break;
	default:
		if (net_ip_parse(s, &ip) == 0 && strcmp(net_ip_str(ip, buf), s) != 0)
			abort();
		break;
	}
	cell_err_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 5 == 0)
		definition(s, size - 1);
	else if (strlen(s) == size - 1)
		text(data[0] % 5, s);
	free(s);
	return 0;
}
