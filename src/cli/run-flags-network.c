/* Network flags of `run`: --net NAME|none|host, --ip, -p/--publish and
 * --net-rate.  They become the annotations the runtime reads (cell.network,
 * cell.ip, cell.ports, cell.net-rate; docs/network.md), so a bundle's
 * config.json can ask for the same without flags.  --net none keeps a
 * private namespace with loopback only; --net host drops the namespace. */
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "cli/run-flags.h"
#include "net/net.h"

enum { OPT_NET = 2100, OPT_IP, OPT_NET_RATE, OPT_PUBLISH = 'p' };

const struct option run_network_options[] = {
	{ "net", required_argument, NULL, OPT_NET },
	{ "network", required_argument, NULL, OPT_NET },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "net-rate", required_argument, NULL, OPT_NET_RATE },
	{ 0 },
};

static const char *get(const struct run_flags *f, const char *key)
{
	json_object *v;
	if (f->annotations && json_object_object_get_ex(f->annotations, key, &v))
		return json_object_get_string(v);
	return NULL;
}

static void set(struct run_flags *f, const char *key, const char *value)
{
	if (!f->annotations)
		f->annotations = json_object_new_object();
	json_object_object_add(f->annotations, key, json_object_new_string(value));
}

/* --ip, -p and --net-rate ask for a network (see run_network_default);
 * with --net none or host they make no sense. */
static int want_network(struct run_flags *f, const char *flag, struct cell_err **err)
{
	if (f->network_none || f->network_host)
		return cell_err(err, 0, "%s needs a network, not --net %s", flag,
				f->network_none ? "none" : "host");
	return 0;
}

static int take_net(struct run_flags *f, const char *arg, struct cell_err **err)
{
	bool none = strcmp(arg, "none") == 0, host = strcmp(arg, "host") == 0;
	if (none || host) {
		static const char *const needy[][2] = {
			{ "cell.ip", "--ip" }, { "cell.ports", "-p" }, { "cell.net-rate", "--net-rate" } };
		for (size_t i = 0; i < ARRAY_SIZE(needy); i++)
			if (get(f, needy[i][0]))
				return cell_err(err, 0, "%s needs a network, not --net %s", needy[i][1],
						arg);
		f->network_none = none;
		f->network_host = host;
		set(f, "cell.network", arg);
		return 0;
	}
	if (f->network_none || f->network_host)
		return cell_err(err, 0, "--net given twice (%s and %s)",
				f->network_none ? "none" : "host", arg);
	int r = net_name_check(arg, err);
	if (r < 0)
		return cell_err_wrap(err, "--net");
	set(f, "cell.network", arg);
	return 0;
}

static int take_port(struct run_flags *f, const char *arg, struct cell_err **err)
{
	const char *old = get(f, "cell.ports");
	_cleanup_free_ char *all = old ? xasprintf("%s,%s", old, arg) : xstrdup(arg);
	_cleanup_free_ struct net_port *ports = NULL;
	size_t n;
	struct net_port one;
	int r = net_port_parse(arg, &one, err);
	if (r == 0)
		r = net_ports_parse(all, &ports, &n, err);
	if (r < 0)
		return cell_err_wrap(err, "-p");
	set(f, "cell.ports", all);
	return 0;
}

void run_network_default(struct run_flags *f, json_object *cfg, bool generated)
{
	json_object *ann, *v;
	bool asked = generated || get(f, "cell.ip") || get(f, "cell.ports") || get(f, "cell.net-rate");
	bool named = get(f, "cell.network") ||
		     (json_object_object_get_ex(cfg, "annotations", &ann) &&
		      json_object_object_get_ex(ann, "cell.network", &v));
	if (asked && !named && !f->network_none && !f->network_host)
		set(f, "cell.network", NET_DEFAULT_NAME);
}

int run_network_option(struct run_flags *f, int c, const char *arg, struct cell_err **err)
{
	uint32_t ip;
	uint64_t rate;
	int r;
	switch (c) {
	case OPT_NET:
		return take_net(f, arg, err);
	case OPT_IP:
		if (net_ip_parse(arg, &ip) < 0)
			return cell_err(err, 0, "--ip: \"%s\" is not an IPv4 address", arg);
		if ((r = want_network(f, "--ip", err)) < 0)
			return r;
		set(f, "cell.ip", arg);
		return 0;
	case OPT_PUBLISH:
		if ((r = want_network(f, "-p", err)) < 0)
			return r;
		return take_port(f, arg, err);
	case OPT_NET_RATE:
		if ((r = net_rate_parse(arg, &rate, err)) < 0)
			return cell_err_wrap(err, "--net-rate");
		if ((r = want_network(f, "--net-rate", err)) < 0)
			return r;
		set(f, "cell.net-rate", arg);
		return 0;
	}
	return -ENOENT;
}
