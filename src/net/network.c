/* Network definitions: the user's words turned into a checked struct, and
 * the JSON file that keeps it.  The file is read back as untrusted input
 * (it is fuzzed): a definition that parses is one cell can act on safely. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "net/net.h"

#define NET_DEF_VERSION 1

int net_name_check(const char *name, struct cell_err **err)
{
	if (!name || !*name)
		return cell_err(err, 0, "network name must not be empty");
	if (strlen(name) > NET_NAME_MAX)
		return cell_err(err, 0, "network name \"%.*s...\" is longer than %d characters", 16,
				name, NET_NAME_MAX);
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return cell_err(err, 0,
					"invalid network name \"%s\": only letters, digits, \"_\" "
					"and \"-\" are allowed", name);
	if (strcmp(name, "none") == 0 || strcmp(name, "host") == 0)
		return cell_err(err, 0, "network name \"%s\" is reserved (--net %s means no "
				"cell network)", name, name);
	return 0;
}

/* FNV-1a: a stable short name for long network names. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static char *bridge_for(const char *name)
{
	/* IFNAMSIZ is 16 with the NUL: "cell-" leaves 10 characters. */
	if (strlen(name) <= 15 - strlen(NET_BRIDGE_PREFIX))
		return xasprintf(NET_BRIDGE_PREFIX "%s", name);
	return xasprintf(NET_BRIDGE_PREFIX "%010llx",
			 (unsigned long long)(fnv1a(name) & 0xffffffffffull));
}

static bool bridge_name_ok(const char *b)
{
	size_t n = strlen(b);
	if (n <= strlen(NET_BRIDGE_PREFIX) || n > 15 || !cell_str_has_prefix(b, NET_BRIDGE_PREFIX))
		return false;
	for (const char *p = b; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return false;
	return true;
}

bool net_network_usable(const struct net_network *n, uint32_t ip)
{
	return net_cidr_contains(&n->subnet, ip) && ip != n->subnet.addr &&
	       ip != net_cidr_broadcast(&n->subnet) && ip != n->gateway;
}

/* The checks a definition passes, from the user or from a file. */
static int check(const struct net_network *n, const char *what, struct cell_err **err)
{
	char buf[NET_IP_STRLEN + 3], gw[NET_IP_STRLEN];
	/* /8 and wider would make lease directories of millions of entries
	 * possible; /31 and /32 leave no address for a container. */
	if (n->subnet.prefix < 8 || n->subnet.prefix > 30)
		return cell_err(err, 0, "%s: subnet %s: the prefix length must be 8 to 30", what,
				net_cidr_str(&n->subnet, buf));
	if (!net_cidr_contains(&n->subnet, n->gateway) || n->gateway == n->subnet.addr ||
	    n->gateway == net_cidr_broadcast(&n->subnet))
		return cell_err(err, 0, "%s: gateway %s is not a host address of %s", what,
				net_ip_str(n->gateway, gw), net_cidr_str(&n->subnet, buf));
	if (!bridge_name_ok(n->bridge))
		return cell_err(err, 0, "%s: bridge \"%s\" is not a cell bridge name (\"%s\" and at "
				"most %zu letters, digits, \"_\" or \"-\")", what, n->bridge,
				NET_BRIDGE_PREFIX, 15 - strlen(NET_BRIDGE_PREFIX));
	return 0;
}

int net_network_new(const char *name, const char *subnet, const char *gateway, bool nat,
		    bool routed, struct net_network **ret, struct cell_err **err)
{
	int r = net_name_check(name, err);
	if (r < 0)
		return r;
	_cleanup_(net_network_freep) struct net_network *n = xcalloc(1, sizeof(*n));
	n->name = xstrdup(name);
	n->nat = nat;
	n->routed = routed;
	if ((r = net_cidr_parse(subnet, "--subnet", &n->subnet, err)) < 0)
		return r;
	n->gateway = n->subnet.addr + 1;
	if (gateway && net_ip_parse(gateway, &n->gateway) < 0)
		return cell_err(err, 0, "--gateway: \"%s\" is not an IPv4 address", gateway);
	n->bridge = bridge_for(name);
	if ((r = check(n, "network", err)) < 0)
		return r;
	*ret = TAKE_PTR(n);
	return 0;
}

static int get_field(json_object *o, const char *key, json_type type, bool required,
		     const char *what, json_object **ret, struct cell_err **err)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = NULL;
		return required ? cell_err(err, 0, "%s: %s: required", what, key) : 0;
	}
	if (!json_object_is_type(v, type))
		return cell_err(err, 0, "%s: %s: expected a %s", what, key, json_type_to_name(type));
	*ret = v;
	return 0;
}

static int parse_fields(json_object *o, const char *what, struct net_network *n,
			struct cell_err **err)
{
	json_object *name = NULL, *subnet = NULL, *gateway = NULL, *bridge = NULL, *nat = NULL;
	json_object *routed = NULL, *version = NULL;
	int r;
	if ((r = get_field(o, "version", json_type_int, true, what, &version, err)) < 0 ||
	    (r = get_field(o, "name", json_type_string, true, what, &name, err)) < 0 ||
	    (r = get_field(o, "subnet", json_type_string, true, what, &subnet, err)) < 0 ||
	    (r = get_field(o, "gateway", json_type_string, true, what, &gateway, err)) < 0 ||
	    (r = get_field(o, "bridge", json_type_string, true, what, &bridge, err)) < 0 ||
	    (r = get_field(o, "nat", json_type_boolean, true, what, &nat, err)) < 0 ||
	    (r = get_field(o, "routed", json_type_boolean, false, what, &routed, err)) < 0)
		return r;
	if (json_object_get_int64(version) != NET_DEF_VERSION)
		return cell_err(err, 0, "%s: version: %lld is not %d", what,
				(long long)json_object_get_int64(version), NET_DEF_VERSION);
	/* Strings with NULs inside would compare short: refuse them. */
	json_object *strs[] = { name, subnet, gateway, bridge };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		if (strlen(json_object_get_string(strs[i])) != (size_t)json_object_get_string_len(strs[i]))
			return cell_err(err, 0, "%s: a string holds a NUL byte", what);
	if ((r = net_name_check(json_object_get_string(name), err)) < 0 ||
	    (r = net_cidr_parse(json_object_get_string(subnet), "subnet", &n->subnet, err)) < 0)
		return cell_err_wrap(err, "%s", what);
	if (net_ip_parse(json_object_get_string(gateway), &n->gateway) < 0)
		return cell_err(err, 0, "%s: gateway: \"%s\" is not an IPv4 address", what,
				json_object_get_string(gateway));
	n->name = xstrdup(json_object_get_string(name));
	n->bridge = xstrdup(json_object_get_string(bridge));
	n->nat = json_object_get_boolean(nat);
	n->routed = routed && json_object_get_boolean(routed);
	return check(n, what, err);
}

int net_network_parse(const char *json, size_t len, const char *what, struct net_network **ret,
		      struct cell_err **err)
{
	if (len > NET_DEF_MAX_BYTES)
		return cell_err(err, 0, "%s: larger than %u bytes", what, NET_DEF_MAX_BYTES);
	json_tokener *tok = json_tokener_new_ex(32);
	if (!tok)
		return cell_err(err, ENOMEM, "%s", what);
	json_object *o = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	int r = 0;
	if (!o || jerr != json_tokener_success)
		r = cell_err(err, 0, "%s: invalid JSON: %s", what,
			     jerr == json_tokener_continue ? "unexpected end"
							   : json_tokener_error_desc(jerr));
	else if (used != len && strspn(json + used, " \t\r\n") != len - used)
		r = cell_err(err, 0, "%s: invalid JSON: trailing data", what);
	else if (!json_object_is_type(o, json_type_object))
		r = cell_err(err, 0, "%s: expected a JSON object", what);
	_cleanup_(net_network_freep) struct net_network *n = xcalloc(1, sizeof(*n));
	if (r == 0)
		r = parse_fields(o, what, n, err);
	json_object_put(o);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(n);
	return 0;
}

char *net_network_json(const struct net_network *n, bool pretty)
{
	char buf[NET_IP_STRLEN + 3], gw[NET_IP_STRLEN];
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(NET_DEF_VERSION));
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "subnet", json_object_new_string(net_cidr_str(&n->subnet, buf)));
	json_object_object_add(o, "gateway", json_object_new_string(net_ip_str(n->gateway, gw)));
	json_object_object_add(o, "bridge", json_object_new_string(n->bridge));
	json_object_object_add(o, "nat", json_object_new_boolean(n->nat));
	json_object_object_add(o, "routed", json_object_new_boolean(n->routed));
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
	char *s = xstrdup(json_object_to_json_string_ext(o, flags));
	json_object_put(o);
	return s;
}

void net_network_free(struct net_network *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->bridge);
	free(n);
}

void net_network_freep(struct net_network **n)
{
	net_network_free(*n);
}
