/* Shared inside src/net only: rtnetlink through libmnl, and cell's
 * nftables table through libnftables. */
#ifndef CELL_NET_INTERNAL_H
#define CELL_NET_INTERNAL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "net/net.h"

/* ---- rtnetlink (nl.c) ---------------------------------------------------- */

/* Requests are small; libmnl's MNL_SOCKET_BUFFER_SIZE is a runtime value. */
#define NL_BUF 8192

struct nl {
	struct mnl_socket *sock;
	unsigned int seq;
	unsigned int portid;
};

/* A socket in cell's own network namespace. */
int nl_open(struct nl *nl, struct cell_err **err);
/* A socket in the namespace of netns_fd.  Opened by a short-lived thread
 * that enters it, so cell itself never leaves its own namespace. */
int nl_open_in(int netns_fd, struct nl *nl, struct cell_err **err);
void nl_close(struct nl *nl);

/* Start a request in buf (NL_BUF bytes). */
struct nlmsghdr *nl_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags);
/* Send and read the answer to the ack or the end of a dump; cb (may be
 * NULL) sees every data message.  0 or the kernel's -errno. */
int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data);

/* ---- links, addresses, routes, qdiscs (nl-link.c, nl-addr.c, nl-tc.c) --- */

struct nl_link {
	int index;
	char kind[16];  /* IFLA_INFO_KIND: "bridge", "veth", "" */
	unsigned int flags;
};

/* -ENODEV when there is no such link. */
int nl_link_get(struct nl *nl, const char *name, struct nl_link *ret);
int nl_bridge_add(struct nl *nl, const char *name, const uint8_t mac[6]);
/* A veth pair: name in this namespace on master (0: none), up; peer created
 * in peer_netns_fd under peer_name. */
int nl_veth_add(struct nl *nl, const char *name, int master, const char *peer_name,
		int peer_netns_fd);
int nl_link_up(struct nl *nl, int index);
int nl_link_del(struct nl *nl, int index);

/* NLM_F_EXCL: -EEXIST when the address is there already. */
int nl_addr_add(struct nl *nl, int index, uint32_t ip, unsigned int prefix);
int nl_route_add_default(struct nl *nl, int index, uint32_t gateway);

struct nl_addr {
	int index;
	uint32_t ip;
	unsigned int prefix;
};

/* Every IPv4 address in the namespace. */
int nl_addr_list(struct nl *nl, struct nl_addr **ret, size_t *ret_n);

/* Replace the root qdisc of index with tbf at rate bytes/s. */
int nl_tbf_set(struct nl *nl, int index, uint64_t rate);
/* Back to the default root qdisc; -ENOENT/-EINVAL when there was none. */
int nl_qdisc_del_root(struct nl *nl, int index);

/* ---- nftables (nft.c) ------------------------------------------------------
 * One table, "inet cell", created whole in one transaction the first time.
 * Networks are elements of its sets; published ports elements of its maps.
 * Nothing outside the table is ever touched, and nothing inside it is
 * flushed: only the elements cell added are removed. */

#define NFT_TABLE "inet cell"

struct nft;
int nft_open(struct nft **ret, struct cell_err **err);
void nft_close(struct nft *n);
void nft_closep(struct nft **n);
/* Create the table with its chains, sets and rules unless it exists. */
int nft_table_ensure(struct nft *n, struct cell_err **err);
/* Run commands (one transaction); the message carries nft's error text. */
int nft_run(struct nft *n, const char *cmds, struct cell_err **err);
/* List a set or map as JSON; -ENOENT when the table or set is absent. */
int nft_list_json(struct nft *n, const char *kind, const char *name, char **ret,
		  struct cell_err **err);
/* Does set name hold any element? */
int nft_set_empty(struct nft *n, const char *name, bool *ret, struct cell_err **err);
/* The value (ip, port) of map pub_PROTO at host_port; -ENOENT when absent. */
int nft_port_lookup(struct nft *n, const struct net_port *p, uint32_t *ret_ip,
		    uint16_t *ret_port, struct cell_err **err);

/* ---- host addresses (live.c) --------------------------------------------- */

/* An error naming the address when one of the host's addresses (outside
 * bridge skip) lies in subnet. */
int net_host_conflict(const struct net_cidr *subnet, const char *skip, struct cell_err **err);

#endif
