/* cell's nftables table, through libnftables (never the nft binary).
 *
 *   sets    bridges   every cell bridge
 *           isolated  bridges of networks that are not "routed"
 *           self      BRIDGE . BRIDGE pairs: traffic staying on one network
 *           masq      subnets whose outbound traffic is masqueraded
 *   maps    pub_tcp, pub_udp   host port : container address . port
 *
 * The rules are fixed when the table is made; networks and ports come and
 * go as set and map elements, so nothing is ever flushed and no rule handle
 * has to be remembered. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "net/internal.h"
#include "net/nft-lib.h"

struct nft {
	const struct nft_lib *lib;
	struct nft_ctx *ctx;
	char *error; /* nft's error text of the last failed command */
};

static const char table_cmds[] =
	"create table " NFT_TABLE "\n"
	"add set " NFT_TABLE " bridges { type ifname; }\n"
	"add set " NFT_TABLE " isolated { type ifname; }\n"
	"add set " NFT_TABLE " self { type ifname . ifname; }\n"
	"add set " NFT_TABLE " masq { type ipv4_addr; flags interval; }\n"
	"add map " NFT_TABLE " pub_tcp { type inet_service : ipv4_addr . inet_service; }\n"
	"add map " NFT_TABLE " pub_udp { type inet_service : ipv4_addr . inet_service; }\n"
	/* Published ports: to any of the host's own addresses, from outside
	 * (prerouting) or from the host itself (output). */
	"add chain " NFT_TABLE " prerouting { type nat hook prerouting priority -100; }\n"
	"add chain " NFT_TABLE " output { type nat hook output priority -100; }\n"
	"add rule " NFT_TABLE " prerouting fib daddr type local meta nfproto ipv4 "
	"dnat ip to tcp dport map @pub_tcp\n"
	"add rule " NFT_TABLE " prerouting fib daddr type local meta nfproto ipv4 "
	"dnat ip to udp dport map @pub_udp\n"
	"add rule " NFT_TABLE " output fib daddr type local meta nfproto ipv4 "
	"dnat ip to tcp dport map @pub_tcp\n"
	"add rule " NFT_TABLE " output fib daddr type local meta nfproto ipv4 "
	"dnat ip to udp dport map @pub_udp\n"
	/* Published ports reached from a bridge (hairpin) or from the host's
	 * loopback: the answer must come back through the host to be un-NATed. */
	"add chain " NFT_TABLE " postrouting { type nat hook postrouting priority 100; }\n"
	"add rule " NFT_TABLE " postrouting ct status dnat iifname @bridges oifname @bridges "
	"masquerade\n"
	"add rule " NFT_TABLE " postrouting ct status dnat ip saddr 127.0.0.0/8 oifname @bridges "
	"masquerade\n"
	"add rule " NFT_TABLE " postrouting ip saddr @masq oifname != @bridges masquerade\n"
	/* Networks are isolated from each other unless both are routed;
	 * published ports stay reachable from every network. */
	"add chain " NFT_TABLE " forward { type filter hook forward priority 0; }\n"
	"add rule " NFT_TABLE " forward ct status dnat accept\n"
	"add rule " NFT_TABLE " forward iifname @isolated oifname @bridges "
	"iifname . oifname != @self drop\n"
	"add rule " NFT_TABLE " forward oifname @isolated iifname @bridges "
	"iifname . oifname != @self drop\n";

int nft_open(struct nft **ret, struct cell_err **err)
{
	const struct nft_lib *lib;
	int r = nft_lib(&lib, err);
	if (r < 0)
		return r;
	struct nft_ctx *ctx = lib->ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return cell_err(err, ENOMEM, "libnftables");
	lib->ctx_buffer_output(ctx);
	lib->ctx_buffer_error(ctx);
	struct nft *n = xcalloc(1, sizeof(*n));
	n->lib = lib;
	n->ctx = ctx;
	*ret = n;
	return 0;
}

void nft_close(struct nft *n)
{
	if (!n)
		return;
	n->lib->ctx_free(n->ctx);
	free(n->error);
	free(n);
}

void nft_closep(struct nft **n)
{
	nft_close(*n);
}

/* nft's error text, first line, without the "Error: " prefix. */
static char *first_error_line(struct nft *n)
{
	const char *e = n->error ? n->error : "";
	if (cell_str_has_prefix(e, "Error: "))
		e += strlen("Error: ");
	size_t len = strcspn(e, "\n");
	char *s = xmalloc(len + 1);
	memcpy(s, e, len);
	s[len] = '\0';
	return s;
}

/* 0, or -errno.  libnftables reports the kernel's answer only as text
 * (its errno is not reliable), so the two answers cell acts on are read
 * from it: strerror() of ENOENT and EEXIST, in cell's "C" locale. */
static int run(struct nft *n, const char *cmds)
{
	/* Reading a buffer rewinds it: every command starts with empty ones. */
	n->lib->ctx_get_output_buffer(n->ctx);
	int r = n->lib->run_cmd_from_buffer(n->ctx, cmds);
	const char *e = n->lib->ctx_get_error_buffer(n->ctx);
	free(n->error);
	n->error = xstrdup(e ? e : "");
	if (r == 0)
		return 0;
	/* Interval sets are checked in nft's own cache first, with its words. */
	if (strstr(n->error, strerror(ENOENT)) || strstr(n->error, "element does not exist"))
		return -ENOENT;
	if (strstr(n->error, strerror(EEXIST)))
		return -EEXIST;
	return -EIO;
}

int nft_run(struct nft *n, const char *cmds, struct cell_err **err)
{
	int r = run(n, cmds);
	if (r < 0) {
		_cleanup_free_ char *why = first_error_line(n);
		cell_err(err, 0, "nftables: %s", *why ? why : strerror(-r));
		if (*err)
			(*err)->errnum = -r; /* keeps cell_err_code() right */
	}
	return r;
}

int nft_table_ensure(struct nft *n, struct cell_err **err)
{
	if (run(n, "list table " NFT_TABLE) == 0)
		return 0;
	int r = run(n, table_cmds);
	/* Another cell made it between the two: as good as ours. */
	if (r == -EEXIST)
		return 0;
	if (r < 0) {
		_cleanup_free_ char *why = first_error_line(n);
		return cell_err(err, -r, "nftables: create table %s: %s", NFT_TABLE, why);
	}
	return 0;
}

int nft_list_json(struct nft *n, const char *kind, const char *name, char **ret,
		  struct cell_err **err)
{
	_cleanup_free_ char *cmd = xasprintf("list %s " NFT_TABLE " %s", kind, name);
	unsigned int flags = n->lib->ctx_output_get_flags(n->ctx);
	n->lib->ctx_output_set_flags(n->ctx, flags | NFT_CTX_OUTPUT_JSON);
	int r = run(n, cmd);
	n->lib->ctx_output_set_flags(n->ctx, flags);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		_cleanup_free_ char *why = first_error_line(n);
		return cell_err(err, -r, "nftables: %s: %s", cmd, why);
	}
	const char *out = n->lib->ctx_get_output_buffer(n->ctx);
	*ret = xstrdup(out ? out : "");
	return 0;
}

/* The "elem" array of the one set or map in a `list` answer, or NULL. */
static json_object *elems_of(json_object *root, const char *kind)
{
	json_object *arr, *elem;
	if (!json_object_object_get_ex(root, "nftables", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *s;
		if (json_object_object_get_ex(o, kind, &s) &&
		    json_object_object_get_ex(s, "elem", &elem) &&
		    json_object_is_type(elem, json_type_array))
			return elem;
	}
	return NULL;
}

int nft_set_empty(struct nft *n, const char *name, bool *ret, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	int r = nft_list_json(n, "set", name, &text, err);
	if (r == -ENOENT) {
		*ret = true;
		return 0;
	}
	if (r < 0)
		return r;
	json_object *root = json_tokener_parse(text);
	json_object *e = root ? elems_of(root, "set") : NULL;
	*ret = !e || json_object_array_length(e) == 0;
	json_object_put(root);
	return 0;
}

/* One [key, {"concat": [ip, port]}] element of a pub_ map. */
static bool port_elem(json_object *el, int key, uint32_t *ip, uint16_t *port)
{
	json_object *k, *v, *cat, *a, *b;
	if (!json_object_is_type(el, json_type_array) || json_object_array_length(el) != 2)
		return false;
	k = json_object_array_get_idx(el, 0);
	v = json_object_array_get_idx(el, 1);
	if (!json_object_is_type(k, json_type_int) || json_object_get_int(k) != key ||
	    !json_object_object_get_ex(v, "concat", &cat) ||
	    !json_object_is_type(cat, json_type_array) || json_object_array_length(cat) != 2)
		return false;
	a = json_object_array_get_idx(cat, 0);
	b = json_object_array_get_idx(cat, 1);
	int64_t p = json_object_get_int64(b);
	if (!json_object_is_type(a, json_type_string) || !json_object_is_type(b, json_type_int) ||
	    net_ip_parse(json_object_get_string(a), ip) < 0 || p < 1 || p > 65535)
		return false;
	*port = (uint16_t)p;
	return true;
}

int nft_port_lookup(struct nft *n, const struct net_port *p, uint32_t *ret_ip,
		    uint16_t *ret_port, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *map = xasprintf("pub_%s", net_proto_name(p->proto));
	int r = nft_list_json(n, "map", map, &text, err);
	if (r < 0)
		return r;
	json_object *root = json_tokener_parse(text);
	json_object *e = root ? elems_of(root, "map") : NULL;
	r = -ENOENT;
	for (size_t i = 0; e && i < json_object_array_length(e); i++)
		if (port_elem(json_object_array_get_idx(e, i), p->host_port, ret_ip, ret_port))
			r = 0;
	json_object_put(root);
	return r;
}
