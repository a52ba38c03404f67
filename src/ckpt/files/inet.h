/* Internet sockets, shared by files/inet.c (the kind), files/tcp-repair.c
 * (established connections) and files/sockopt.c (socket options). */
#ifndef CELL_CKPT_FILES_INET_H
#define CELL_CKPT_FILES_INET_H

#include <sys/socket.h>

#include "ckpt/files/files.h"
#include "ckpt/netlock.h"

#define CK_INET_MAX_OPTS 64 /* (id, value) pairs */

/* FILE_DATA streams of a TCP socket. */
enum { CK_INET_RECVQ = 0, CK_INET_SENDQ = 1 };

struct ck_file_inet {
	uint32_t id;
	uint32_t family; /* AF_INET, AF_INET6 */
	uint32_t type;	 /* SOCK_STREAM, SOCK_DGRAM */
	uint32_t proto;	 /* IPPROTO_TCP, IPPROTO_UDP */
	uint32_t state;	 /* TCP_ESTABLISHED, TCP_LISTEN or TCP_CLOSE (UDP: connected or not) */
	uint32_t flags;	 /* O_NONBLOCK */
	void *laddr;	 /* 4 or 16 bytes, network order */
	size_t laddr_len;
	uint32_t lport;
	void *raddr;
	size_t raddr_len;
	uint32_t rport;
	bool bound; /* TCP_CLOSE or UDP: has a local address */
	uint32_t backlog;
	uint32_t sndbuf, rcvbuf; /* as getsockopt gives them (doubled) */
	uint64_t *opts;		 /* (sockopt id, value) pairs: sockopt.c */
	size_t nopts;
	char *congestion;
	char *ifname; /* SO_BINDTODEVICE */
	/* An established TCP connection (TCP_REPAIR): */
	uint32_t snd_seq, rcv_seq;  /* write_seq, rcv_nxt */
	uint32_t outq, unsent, inq; /* queue lengths; the data is in FILE_DATA */
	uint32_t mss, snd_wscale, rcv_wscale, tcp_opts; /* tcp_opts: TCPI_OPT_* */
	uint32_t timestamp;
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
};

/* sockopt.c: read the options of s into f; set those that differ from a
 * fresh socket's.  pre: the ones that matter before bind (v6only,
 * reuseport, freebind...), or all the others; repaired: s is (or was) in
 * TCP repair mode. */
int ck_sockopts_dump(int s, struct ck_file_inet *f, struct cell_err **err);
int ck_sockopts_apply(int s, const struct ck_file_inet *f, bool pre, bool repaired,
		      struct cell_err **err);
int ck_sockopts_validate(const struct ck_file_inet *f, struct cell_err **err);
void ck_sockopts_free(struct ck_file_inet *f);

/* tcp-repair.c: an established connection.  Dump: s (the dumper's copy)
 * is put in repair mode, which it stays in until ckpt_dump is done; q gets
 * the receive and send queues (malloc'd, f->inq and f->outq bytes). */
int ck_tcp_dump(int s, struct ck_file_inet *f, void *q[2], struct cell_err **err);
int ck_tcp_write_queues(struct ck_dump *d, uint32_t id, const void *q[2], const size_t len[2],
			struct cell_err **err);
/* Restore into s (a fresh socket, the restorer's copy), left in repair
 * mode; ck_tcp_finish takes it out, then sends what was never sent. */
int ck_tcp_restore(int s, const struct ck_file *file, struct cell_err **err);
int ck_tcp_finish(int s, const struct ck_file *file, struct cell_err **err);

/* The socket address of the local or the remote end. */
void ck_inet_sockaddr(const struct ck_file_inet *f, bool local, struct sockaddr_storage *ss,
		      socklen_t *len);
/* SO_SNDBUF and SO_RCVBUF as dumped, before any data is queued. */
void ck_inet_force_buffers(int s, const struct ck_file_inet *f);
/* The lock entry of a record (established or listening). */
void ck_inet_conn(const struct ck_file_inet *f, struct ck_conn *ret);
/* "10.0.0.1:80" or "[::1]:80", into buf. */
const char *ck_inet_str(uint32_t family, const void *addr, uint32_t port, char *buf, size_t len);

#endif
