/* The network lock.  From the moment a tree's TCP connections are read
 * until they exist again (restored, or the tree let go), no packet of
 * theirs may be delivered or sent: data the kernel acknowledged after its
 * queue was copied would be lost, and a packet reaching a namespace where
 * the socket is gone draws a reset that kills the connection at the peer.
 *
 * The lock is an nftables table in the tree's network namespace that drops
 * the packets of exactly those connections (both directions, ahead of
 * conntrack) and the new SYNs to the tree's listening ports; the peers
 * retransmit once it is gone.  Nothing else in the namespace is touched, so
 * a tree sharing the host's namespace can be locked too.  The table has a
 * name of its own per checkpoint, recorded in the image (inventory
 * "netlock"), so that a restore (or ckpt_net_unlock) removes exactly it.
 *
 * nft runs in a child process with libnftables loaded there: it needs the
 * namespace of the tree and the host's root, and the callers are either in
 * another namespace (the restorer) or chrooted (the dumper). */
#ifndef CELL_CKPT_NETLOCK_H
#define CELL_CKPT_NETLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct ck_conn {
	int family; /* AF_INET or AF_INET6, as on the wire: v4-mapped is AF_INET */
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport; /* host order */
	bool listen;	       /* a listening socket: only lport counts */
};

/* The connection of a socket address pair, v4-mapped addresses unwrapped. */
void ck_conn_set(struct ck_conn *c, int family, const uint8_t *laddr, uint16_t lport,
		 const uint8_t *raddr, uint16_t rport, bool listen);

/* A fresh table name: "cell_ckpt_" and 16 hex digits. */
char *ck_netlock_name(void);
/* The script that (re)creates the lock table with these connections; it
 * replaces a table of the same name atomically. */
char *ck_netlock_script(const char *table, const struct ck_conn *c, size_t n);
/* The script that removes it; nothing happens if there is none. */
char *ck_netunlock_script(const char *table);
/* A child process that enters netns_fd (-1: stays in ours), takes root_fd
 * as its root (-1: ours), loads libnftables and runs the scripts it is
 * given.  Started early, it has the library loaded (most of the cost) by
 * the time the tree is stopped. */
struct ck_nft {
	pid_t pid;
	int fd;
};

int ck_nft_start(int netns_fd, int root_fd, struct ck_nft **ret, struct cell_err **err);
int ck_nft_exec(struct ck_nft *h, const char *script, struct cell_err **err);
void ck_nft_stop(struct ck_nft *h); /* NULL is fine */
/* Start, run one script, stop. */
int ck_nft_run(int netns_fd, int root_fd, const char *script, struct cell_err **err);

#endif
