/* Container networks: each container gets a veth pair whose inside end is
 * its eth0, with an IPv4 address from its network's subnet; the host end sits
 * on the network's bridge.  Outbound traffic is masqueraded, published ports
 * are DNATed (nftables, table "inet cell"), rates are capped with tbf.
 *
 * Everything acts on the network namespace cell itself runs in (the "host").
 * Definitions and address leases live as files under the state root:
 *
 *   ROOT/.net/.lock          flock: one writer of definitions and leases
 *   ROOT/.net/NAME.json      a network's definition (see net_network_parse)
 *   ROOT/.net/NAME/IP        a lease: the file holds the owning container id
 *   ROOT/.net/NAME/.next     where the next address search starts
 *
 * The "default" network exists without a file (subnet NET_DEFAULT_SUBNET)
 * until someone writes one with `cell network create default --subnet ...`.
 * Only IPv4 is managed; containers still get IPv6 link-local addresses.
 * See docs/network.md for the user's view. */
#ifndef CELL_NET_NET_H
#define CELL_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* ---- addresses (ip.c) --------------------------------------------------- */

#define NET_IP_STRLEN 16 /* "255.255.255.255" and its NUL */

/* Addresses are uint32_t in host byte order throughout. */
struct net_cidr {
	uint32_t addr; /* the network address: host bits are zero */
	unsigned int prefix;
};

/* Dotted quad, exactly four decimal parts 0-255, no leading zeros (which
 * inet_aton would read as octal).  0 or -EINVAL. */
int net_ip_parse(const char *s, uint32_t *ret);
const char *net_ip_str(uint32_t ip, char buf[static NET_IP_STRLEN]);
/* "10.88.0.0/16"; host bits set is an error that says which network was
 * meant.  what names the input in messages ("--subnet"). */
int net_cidr_parse(const char *s, const char *what, struct net_cidr *ret, struct cell_err **err);
/* "10.88.0.0/16" into buf (at least NET_IP_STRLEN + 3 bytes). */
const char *net_cidr_str(const struct net_cidr *c, char buf[static NET_IP_STRLEN + 3]);
uint32_t net_prefix_mask(unsigned int prefix);
uint32_t net_cidr_broadcast(const struct net_cidr *c);
bool net_cidr_contains(const struct net_cidr *c, uint32_t ip);
bool net_cidr_overlaps(const struct net_cidr *a, const struct net_cidr *b);

/* ---- user input: rates and published ports (parse.c) -------------------- */

/* tc's units: "10mbit", "1.5gbit", "800kbit", "100bit" (bits per second,
 * k = 1000), "10mbps" (bytes per second).  A unit is required.  Returns
 * bytes per second, at least 1000 (8kbit). */
int net_rate_parse(const char *s, uint64_t *ret, struct cell_err **err);

#define NET_PORTS_MAX 64

struct net_port {
	int proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t host_port;
	uint16_t ctr_port;
};

const char *net_proto_name(int proto); /* "tcp", "udp" */
/* One "HOSTPORT:CTRPORT[/tcp|/udp]" (tcp when no protocol is given). */
int net_port_parse(const char *s, struct net_port *ret, struct cell_err **err);
/* A comma-separated list of them; the same host port and protocol twice is
 * an error.  *ret is xmalloc'd (NULL when n is 0). */
int net_ports_parse(const char *s, struct net_port **ret, size_t *ret_n, struct cell_err **err);

/* ---- network definitions (network.c) ------------------------------------ */

#define NET_DEFAULT_NAME "default"
#define NET_DEFAULT_SUBNET "10.88.0.0/16"
#define NET_NAME_MAX 64
#define NET_BRIDGE_PREFIX "cell-"
#define NET_DEF_MAX_BYTES (64u << 10)

struct net_network {
	char *name;
	struct net_cidr subnet;
	uint32_t gateway; /* the bridge's address, the containers' default route */
	char *bridge;     /* "cell-NAME", or "cell-" + a hash when NAME is long */
	bool nat;         /* masquerade traffic leaving the host */
	bool routed;      /* the host forwards between it and other routed networks */
	bool implicit;    /* the default network, not (yet) written to a file */
};

/* Letters, digits, "_" and "-"; at most NET_NAME_MAX; not "none" or "host". */
int net_name_check(const char *name, struct cell_err **err);
/* A new definition from the user's words; gateway NULL: the first address. */
int net_network_new(const char *name, const char *subnet, const char *gateway, bool nat,
		    bool routed, struct net_network **ret, struct cell_err **err);
/* A definition file's JSON, checked as untrusted input: every field's type
 * and shape, the gateway inside the subnet, the bridge a "cell-" name.
 * what names the file in messages. */
int net_network_parse(const char *json, size_t len, const char *what, struct net_network **ret,
		      struct cell_err **err);
char *net_network_json(const struct net_network *n, bool pretty);
void net_network_free(struct net_network *n);
void net_network_freep(struct net_network **n);
/* Usable addresses of the subnet: neither the network, the broadcast
 * address nor the gateway. */
bool net_network_usable(const struct net_network *n, uint32_t ip);

/* ---- the store: definitions and leases under ROOT/.net (store.c, ipam.c) -- */

struct net_store {
	char *root;  /* the absolute state root */
	char *path;  /* ROOT/.net */
	int dirfd;
	int lockfd;  /* holds the exclusive flock while the store is open */
};

/* Open (creating ROOT/.net) and lock.  Every function below needs it open. */
int net_store_open(const char *root, struct net_store *ret, struct cell_err **err);
void net_store_close(struct net_store *s);

/* -ENOENT with 'network "NAME" does not exist' when unknown. */
int net_store_get(struct net_store *s, const char *name, struct net_network **ret,
		  struct cell_err **err);
/* Every network, sorted by name, the implicit default included. */
int net_store_list(struct net_store *s, struct net_network ***ret, size_t *ret_n,
		   struct cell_err **err);
/* Write a new definition after checking it against the others (name,
 * overlapping subnets, bridge name) and against the host's own addresses. */
int net_store_add(struct net_store *s, const struct net_network *n, struct cell_err **err);
/* Remove a definition that no container uses, with its bridge and rules. */
int net_store_remove(struct net_store *s, const char *name, struct cell_err **err);

struct net_lease {
	uint32_t ip;
	char *owner; /* container id */
};

void net_leases_free(struct net_lease *l, size_t n);
/* The leases of one network, by address.  Leases whose container's state
 * directory is gone (its creator was killed and the directory removed by
 * hand) are dropped first. */
int net_lease_list(struct net_store *s, const struct net_network *n, struct net_lease **ret,
		   size_t *ret_n, struct cell_err **err);
/* Lease want (0: the next free address) to owner. */
int net_lease_take(struct net_store *s, const struct net_network *n, uint32_t want,
		   const char *owner, uint32_t *ret, struct cell_err **err);
/* Drop every lease owner holds in network name; none is not an error. */
int net_lease_release(struct net_store *s, const char *name, const char *owner,
		      struct cell_err **err);

/* ---- the network in the kernel (live.c) --------------------------------- */

/* Is cell in the machine's initial network namespace?  Unless built with
 * -Dinit_netns_networks=true, net_network_up() refuses to work there. */
bool net_in_init_netns(void);
/* Whether this build makes networks in the initial network namespace
 * (meson -Dinit_netns_networks). */
bool net_init_netns_allowed(void);
/* Make the bridge (with the gateway address, up), enable forwarding, and
 * put the network into cell's nftables sets.  Idempotent. */
int net_network_up(const struct net_network *n, struct cell_err **err);
/* The reverse; the table goes with the last network.  Idempotent. */
int net_network_down(const struct net_network *n, struct cell_err **err);

/* ---- one container (attach.c) ------------------------------------------- */

/* The identity of the network namespace cell runs in, "net:[INODE]": undo
 * entries carry it, and act only in the namespace they were made in. */
char *net_netns_id(void);
bool net_netns_is_current(const char *id);

/* The host end's name for a container address: "cv" + 8 hex digits. */
void net_host_ifname(uint32_t ip, char buf[static 16]);

struct net_attach {
	const struct net_network *net;
	uint32_t ip;
	int netns_fd;        /* the container's network namespace */
	const char *host_if; /* net_host_ifname(ip) */
	uint64_t rate;       /* bytes per second, 0: unlimited */
};

/* The veth pair: host_if on the bridge, its peer "eth0" created directly
 * inside the container's namespace (it never exists on the host). */
int net_veth_add(const struct net_attach *a, struct cell_err **err);
/* Inside the container: eth0's address, eth0 and lo up, the default route. */
int net_inside_configure(const struct net_attach *a, struct cell_err **err);
/* tbf on both ends: the host end caps what reaches the container, eth0
 * what leaves it. */
int net_rate_apply(const struct net_attach *a, struct cell_err **err);
/* Undo helpers: a link or qdisc that is already gone is success. */
int net_link_remove(const char *ifname, const char *kind, struct cell_err **err);
int net_qdisc_remove(const char *ifname, struct cell_err **err);

/* Publish host_port on every host address to ip:ctr_port.  A port already
 * published fails with -EADDRINUSE and *ret_owner_ip (when not NULL) set to
 * the address it goes to. */
int net_port_publish(const struct net_port *p, uint32_t ip, uint32_t *ret_owner_ip,
		     struct cell_err **err);
/* Where host_port goes: 0 with *ret_ip, or -ENOENT when not published. */
int net_port_owner(const struct net_port *p, uint32_t *ret_ip, struct cell_err **err);
/* Withdraw it, only if it still goes to ip:ctr_port. */
int net_port_withdraw(const struct net_port *p, uint32_t ip, struct cell_err **err);

/* ---- files for the container's /etc (etc.c) ----------------------------- */

char *net_hosts_text(const char *hostname, uint32_t ip, uint32_t gateway);
/* The host's resolv.conf without loopback nameservers (a container cannot
 * reach the host's 127.0.0.53); host may be NULL. */
char *net_resolv_text(const char *host);

#endif
