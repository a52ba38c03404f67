/* cell network create NAME --subnet CIDR [--gateway IP] [--no-nat] [--routed]
 * cell network ls [--format table|json] [-q]
 * cell network inspect NAME...
 * cell network rm NAME...
 *
 * Definitions and leases live under --root (src/net/net.h); the bridge and
 * rules of a network appear in cell's network namespace when a container
 * first joins it, and go with `rm`. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "net/net.h"

static void nets_free(struct net_network **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		net_network_free(v[i]);
	free(v);
}

static int net_create(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { O_SUBNET = 1, O_GATEWAY, O_NO_NAT, O_ROUTED };
	static const struct option opts[] = {
		{ "subnet", required_argument, NULL, O_SUBNET },
		{ "gateway", required_argument, NULL, O_GATEWAY },
		{ "no-nat", no_argument, NULL, O_NO_NAT },
		{ "routed", no_argument, NULL, O_ROUTED },
		{ 0 },
	};
	const char *subnet = NULL, *gateway = NULL;
	bool nat = true, routed = false;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_SUBNET: subnet = optarg; break;
		case O_GATEWAY: gateway = optarg; break;
		case O_NO_NAT: nat = false; break;
		case O_ROUTED: routed = true; break;
		default:
			return cli_usage_error("network create", "unknown option \"%s\"",
					       argv[optind - 1]);
		}
	}
	int r = cli_expect_args("network create", argc, argv, optind, 1, "network name");
	if (r)
		return r;
	if (!subnet)
		return cli_usage_error("network create", "--subnet is required (e.g. 10.89.0.0/24)");
	struct cell_err *err = NULL;
	_cleanup_(net_network_freep) struct net_network *n = NULL;
	if (net_network_new(argv[optind], subnet, gateway, nat, routed, &n, &err) < 0)
		return cli_fail(err);
	struct net_store s = { .dirfd = -1, .lockfd = -1 };
	if (net_store_open(ctx->root, &s, &err) < 0)
		return cli_fail(err);
	r = net_store_add(&s, n, &err);
	net_store_close(&s);
	if (r < 0) {
		cell_err_wrap(&err, "network create \"%s\"", argv[optind]);
		return cli_fail(err);
	}
	printf("%s\n", n->name);
	return 0;
}

/* The definition with its containers, as inspect and ls --format json print it. */
static json_object *describe(struct net_store *s, const struct net_network *n,
			     struct cell_err **err)
{
	struct net_lease *l = NULL;
	size_t count = 0;
	if (net_lease_list(s, n, &l, &count, err) < 0)
		return NULL;
	_cleanup_free_ char *def = net_network_json(n, false);
	json_object *o = json_tokener_parse(def), *cs = json_object_new_array();
	json_object_object_del(o, "version");
	json_object_object_add(o, "implicit", json_object_new_boolean(n->implicit));
	for (size_t i = 0; i < count; i++) {
		char ip[NET_IP_STRLEN];
		json_object *e = json_object_new_object();
		json_object_object_add(e, "id", json_object_new_string(l[i].owner));
		json_object_object_add(e, "ip", json_object_new_string(net_ip_str(l[i].ip, ip)));
		json_object_array_add(cs, e);
	}
	json_object_object_add(o, "containers", cs);
	net_leases_free(l, count);
	return o;
}

static void print_json(json_object *arr)
{
	printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_SPACED |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
}

static int print_table(struct net_store *s, struct net_network **v, size_t n,
		       struct cell_err **err)
{
	printf("%-20s %-18s %-15s %-15s %-4s %-6s %s\n", "NAME", "SUBNET", "GATEWAY", "BRIDGE",
	       "NAT", "ROUTED", "CONTAINERS");
	for (size_t i = 0; i < n; i++) {
		char sub[NET_IP_STRLEN + 3], gw[NET_IP_STRLEN];
		struct net_lease *l = NULL;
		size_t count = 0;
		if (net_lease_list(s, v[i], &l, &count, err) < 0)
			return -1;
		net_leases_free(l, count);
		printf("%-20s %-18s %-15s %-15s %-4s %-6s %zu\n", v[i]->name,
		       net_cidr_str(&v[i]->subnet, sub), net_ip_str(v[i]->gateway, gw), v[i]->bridge,
		       v[i]->nat ? "yes" : "no", v[i]->routed ? "yes" : "no", count);
	}
	return 0;
}

static int net_ls(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_list_opts lo;
	int r = cli_parse_list_opts("network ls", argc, argv, &lo);
	if (r)
		return r;
	struct cell_err *err = NULL;
	struct net_store s = { .dirfd = -1, .lockfd = -1 };
	struct net_network **v = NULL;
	size_t n = 0;
	if (net_store_open(ctx->root, &s, &err) < 0)
		return cli_fail(err);
	r = net_store_list(&s, &v, &n, &err);
	if (r == 0 && lo.quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", v[i]->name);
	} else if (r == 0 && lo.json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n && r == 0; i++) {
			json_object *o = describe(&s, v[i], &err);
			r = o ? json_object_array_add(arr, o) : -1;
		}
		if (r == 0)
			print_json(arr);
		json_object_put(arr);
	} else if (r == 0) {
		r = print_table(&s, v, n, &err);
	}
	nets_free(v, n);
	net_store_close(&s);
	return r < 0 ? cli_fail(err) : 0;
}

/* inspect and rm: one store, each name in turn; the first error ends it. */
static int each_name(struct cli_ctx *ctx, int argc, char **argv, const char *cmd, bool rm)
{
	if (argc < 2)
		return cli_usage_error(cmd, "missing network name");
	if (argv[1][0] == '-')
		return cli_usage_error(cmd, "unknown option \"%s\"", argv[1]);
	struct cell_err *err = NULL;
	struct net_store s = { .dirfd = -1, .lockfd = -1 };
	if (net_store_open(ctx->root, &s, &err) < 0)
		return cli_fail(err);
	json_object *arr = json_object_new_array();
	int r = 0;
	for (int i = 1; i < argc && r == 0; i++) {
		if (rm) {
			if ((r = net_store_remove(&s, argv[i], &err)) == 0)
				printf("%s\n", argv[i]);
			continue;
		}
		_cleanup_(net_network_freep) struct net_network *n = NULL;
		json_object *o = NULL;
		if ((r = net_store_get(&s, argv[i], &n, &err)) == 0 && !(o = describe(&s, n, &err)))
			r = -1;
		if (o)
			json_object_array_add(arr, o);
	}
	net_store_close(&s);
	if (r == 0 && !rm)
		print_json(arr);
	json_object_put(arr);
	if (r < 0) {
		cell_err_wrap(&err, "%s", cmd);
		return cli_fail(err);
	}
	return 0;
}

CLI_COMMAND(network)
{
	if (argc < 2)
		return cli_usage_error("network", "missing a verb (create, ls, inspect, rm)");
	const char *v = argv[1];
	if (strcmp(v, "create") == 0)
		return net_create(ctx, argc - 1, argv + 1);
	if (strcmp(v, "ls") == 0 || strcmp(v, "list") == 0)
		return net_ls(ctx, argc - 1, argv + 1);
	if (strcmp(v, "inspect") == 0)
		return each_name(ctx, argc - 1, argv + 1, "network inspect", false);
	if (strcmp(v, "rm") == 0 || strcmp(v, "remove") == 0)
		return each_name(ctx, argc - 1, argv + 1, "network rm", true);
	return cli_usage_error("network", "unknown verb \"%s\"", v);
}
