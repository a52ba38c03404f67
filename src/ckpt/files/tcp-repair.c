/* Established TCP connections through TCP_REPAIR (Linux 3.5+; the repair
 * window 4.8+).  Dump, on the dumper's copy of the socket: repair mode on,
 * the sequence numbers of both queues, the queues themselves (peeked, so
 * they stay), the negotiated options, the window and the timestamp clock.
 * The socket stays in repair mode until the dump is over: if the tree is
 * killed, closing a socket in repair mode sends nothing, so the peer only
 * sees silence (and the network lock keeps it that way until the restore).
 *
 * Restore, on a fresh socket in the same order the kernel needs: repair
 * on; buffer sizes (the queues are charged against them); bind; both queue
 * sequence numbers (only possible while closed); connect (no SYN in repair
 * mode: the socket is established at once); the options (only before any
 * data is queued); the timestamp clock (or the peer's PAWS check drops our
 * segments); the received data into the receive queue and the sent but
 * unacknowledged data into the send queue, as already sent; the window.
 * Leaving repair mode and sending the never-sent tail happen last
 * (ck_tcp_finish), once every process is restored. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/inet.h"

#ifndef TCP_REPAIR_WINDOW
#define TCP_REPAIR_WINDOW 29
#endif
#ifndef TCP_REPAIR_OFF_NO_WP
#define TCP_REPAIR_OFF_NO_WP -1
#endif
#ifndef SIOCOUTQNSD
#define SIOCOUTQNSD 0x894B
#endif
#define CK_TCPOPT_MSS 2
#define CK_TCPOPT_WINDOW 3
#define CK_TCPOPT_SACK_PERM 4
#define CK_TCPOPT_TIMESTAMP 8

struct repair_window {
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
};

struct repair_opt {
	uint32_t code, val;
};

static int set_int(int s, int name, int v, const char *what, struct cell_err **err)
{
	if (setsockopt(s, IPPROTO_TCP, name, &v, sizeof(v)) < 0)
		return cell_err_sys(err, "%s", what);
	return 0;
}

static int get_u32(int s, int name, uint32_t *ret, const char *what, struct cell_err **err)
{
	int v = 0;
	socklen_t l = sizeof(v);
	if (getsockopt(s, IPPROTO_TCP, name, &v, &l) < 0)
		return cell_err_sys(err, "%s", what);
	*ret = (uint32_t)v;
	return 0;
}

/* The sequence number at the head of one queue. */
static int queue_seq(int s, int queue, uint32_t *ret, struct cell_err **err)
{
	int r = set_int(s, TCP_REPAIR_QUEUE, queue, "select a TCP queue", err);
	return r < 0 ? r : get_u32(s, TCP_QUEUE_SEQ, ret, "TCP_QUEUE_SEQ", err);
}

/* Peek len bytes of the selected queue. */
static int peek_queue(int s, int queue, size_t len, void **ret, struct cell_err **err)
{
	*ret = NULL;
	if (!len)
		return 0;
	int r = set_int(s, TCP_REPAIR_QUEUE, queue, "select a TCP queue", err);
	if (r < 0)
		return r;
	void *buf = xmalloc(len);
	ssize_t n = recv(s, buf, len, MSG_PEEK | MSG_DONTWAIT);
	if (n != (ssize_t)len) {
		free(buf);
		return cell_err(err, n < 0 ? errno : EIO, "peek the TCP %s queue (%zd of %zu bytes)",
				queue == TCP_RECV_QUEUE ? "receive" : "send", n, len);
	}
	*ret = buf;
	return 0;
}

static int read_state(int s, struct ck_file_inet *f, struct cell_err **err)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return cell_err_sys(err, "TCP_INFO");
	f->tcp_opts = ti.tcpi_options;
	f->snd_wscale = ti.tcpi_snd_wscale;
	f->rcv_wscale = ti.tcpi_rcv_wscale;
	int inq = 0, outq = 0, unsent = 0;
	if (ioctl(s, SIOCINQ, &inq) < 0 || ioctl(s, SIOCOUTQ, &outq) < 0 ||
	    ioctl(s, SIOCOUTQNSD, &unsent) < 0)
		return cell_err_sys(err, "TCP queue sizes");
	f->inq = (uint32_t)inq;
	f->outq = (uint32_t)outq;
	f->unsent = (uint32_t)unsent;
	struct repair_window w;
	l = sizeof(w);
	if (getsockopt(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &l) < 0)
		return cell_err_sys(err, "TCP_REPAIR_WINDOW");
	f->snd_wl1 = w.snd_wl1;
	f->snd_wnd = w.snd_wnd;
	f->max_window = w.max_window;
	f->rcv_wnd = w.rcv_wnd;
	f->rcv_wup = w.rcv_wup;
	int r = get_u32(s, TCP_MAXSEG, &f->mss, "TCP_MAXSEG", err);
	if (r == 0 && (f->tcp_opts & TCPI_OPT_TIMESTAMPS))
		r = get_u32(s, TCP_TIMESTAMP, &f->timestamp, "TCP_TIMESTAMP", err);
	if (r == 0)
		r = queue_seq(s, TCP_RECV_QUEUE, &f->rcv_seq, err);
	if (r == 0)
		r = queue_seq(s, TCP_SEND_QUEUE, &f->snd_seq, err);
	return r;
}

int ck_tcp_dump(int s, struct ck_file_inet *f, void *q[2], struct cell_err **err)
{
	q[0] = q[1] = NULL;
	int r = set_int(s, TCP_REPAIR, 1, "TCP_REPAIR (needs CAP_NET_ADMIN)", err);
	if (r == 0)
		r = read_state(s, f, err);
	if (r == 0 && f->unsent > f->outq)
		r = cell_err(err, EIO, "%u unsent bytes of %u queued", f->unsent, f->outq);
	if (r == 0 && (f->inq > CK_FILE_DATA_MAX || f->outq > CK_FILE_DATA_MAX))
		r = cell_err(err, E2BIG, "%u bytes received and %u to send: over %u", f->inq,
			     f->outq, CK_FILE_DATA_MAX);
	if (r == 0)
		r = peek_queue(s, TCP_RECV_QUEUE, f->inq, &q[CK_INET_RECVQ], err);
	if (r == 0)
		r = peek_queue(s, TCP_SEND_QUEUE, f->outq, &q[CK_INET_SENDQ], err);
	return r;
}

int ck_tcp_write_queues(struct ck_dump *d, uint32_t id, const void *q[2], const size_t len[2],
			struct cell_err **err)
{
	for (uint32_t st = 0; st < 2; st++) {
		for (size_t off = 0; off < len[st];) {
			size_t n = len[st] - off < CK_FILE_DATA_CHUNK ? len[st] - off : CK_FILE_DATA_CHUNK;
			struct ck_file_data fd = { .id = id, .stream = st, .offset = off,
						   .data = (const char *)q[st] + off, .len = n };
			int r = img_write(d->core, &ck_file_data_schema, &fd, err);
			if (r < 0)
				return r;
			off += n;
		}
	}
	return 0;
}

/* Queue data in repair mode: the receive queue as received, the send
 * queue as sent.  The kernel takes a bounded piece per call. */
static int fill_queue(int s, int queue, const uint8_t *p, size_t len, struct cell_err **err)
{
	int r = set_int(s, TCP_REPAIR_QUEUE, queue, "select a TCP queue", err);
	for (size_t off = 0; r == 0 && off < len;) {
		ssize_t n = send(s, p + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			return cell_err(err, n < 0 ? errno : EIO, "refill the TCP %s queue at %zu of %zu "
					"bytes", queue == TCP_RECV_QUEUE ? "receive" : "send", off, len);
		off += (size_t)n;
	}
	return r;
}

static int set_options(int s, const struct ck_file_inet *f, struct cell_err **err)
{
	struct repair_opt o[4];
	int n = 0;
	o[n++] = (struct repair_opt){ CK_TCPOPT_MSS, f->mss };
	if (f->tcp_opts & TCPI_OPT_WSCALE)
		o[n++] = (struct repair_opt){ CK_TCPOPT_WINDOW, f->snd_wscale | (f->rcv_wscale << 16) };
	if (f->tcp_opts & TCPI_OPT_SACK)
		o[n++] = (struct repair_opt){ CK_TCPOPT_SACK_PERM, 0 };
	if (f->tcp_opts & TCPI_OPT_TIMESTAMPS)
		o[n++] = (struct repair_opt){ CK_TCPOPT_TIMESTAMP, 0 };
	if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, (socklen_t)(n * sizeof(o[0]))) < 0)
		return cell_err_sys(err, "TCP_REPAIR_OPTIONS");
	if ((f->tcp_opts & TCPI_OPT_TIMESTAMPS) &&
	    set_int(s, TCP_TIMESTAMP, (int)f->timestamp, "TCP_TIMESTAMP", err) < 0)
		return -EINVAL;
	return 0;
}

static int bind_connect(int s, const struct ck_file_inet *f, struct cell_err **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char a[80], b[80];
	ck_inet_sockaddr(f, true, &ss, &len);
	if (bind(s, (struct sockaddr *)&ss, len) < 0)
		return cell_err_sys(err, "bind to %s", ck_inet_str(f->family, f->laddr, f->lport, a,
								  sizeof(a)));
	int r = set_int(s, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "select a TCP queue", err);
	/* The queues start where the data to queue again starts. */
	if (r == 0)
		r = set_int(s, TCP_QUEUE_SEQ, (int)(f->snd_seq - f->outq), "TCP_QUEUE_SEQ", err);
	if (r == 0)
		r = set_int(s, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "select a TCP queue", err);
	if (r == 0)
		r = set_int(s, TCP_QUEUE_SEQ, (int)(f->rcv_seq - f->inq), "TCP_QUEUE_SEQ", err);
	if (r < 0)
		return r;
	ck_inet_sockaddr(f, false, &ss, &len);
	if (connect(s, (struct sockaddr *)&ss, len) < 0)
		return cell_err_sys(err, "connect %s to %s in repair mode",
				    ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a)),
				    ck_inet_str(f->family, f->raddr, f->rport, b, sizeof(b)));
	return 0;
}

int ck_tcp_restore(int s, const struct ck_file *file, struct cell_err **err)
{
	const struct ck_file_inet *f = file->obj;
	int r = ck_sockopts_apply(s, f, true, true, err);
	if (r == 0)
		r = set_int(s, TCP_REPAIR, 1, "TCP_REPAIR", err);
	if (r < 0)
		return r;
	ck_inet_force_buffers(s, f);
	r = bind_connect(s, f, err);
	if (r == 0)
		r = set_options(s, f, err);
	if (r == 0)
		r = fill_queue(s, TCP_RECV_QUEUE, file->data[CK_INET_RECVQ].data, f->inq, err);
	if (r == 0)
		r = fill_queue(s, TCP_SEND_QUEUE, file->data[CK_INET_SENDQ].data, f->outq - f->unsent,
			       err);
	if (r < 0)
		return r;
	struct repair_window w = { f->snd_wl1, f->snd_wnd, f->max_window, f->rcv_wnd, f->rcv_wup };
	if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0)
		return cell_err_sys(err, "TCP_REPAIR_WINDOW");
	return 0;
}

int ck_tcp_finish(int s, const struct ck_file *file, struct cell_err **err)
{
	const struct ck_file_inet *f = file->obj;
	/* TCP_REPAIR_OFF sends a window probe: the peer learns at once that
	 * we are back, instead of at its next retransmission. */
	int r = set_int(s, TCP_REPAIR, 0, "leave TCP repair mode", err);
	if (r == 0)
		r = ck_sockopts_apply(s, f, false, true, err);
	const uint8_t *tail = file->data[CK_INET_SENDQ].data + (f->outq - f->unsent);
	for (size_t off = 0; r == 0 && off < f->unsent;) {
		ssize_t n = send(s, tail + off, f->unsent - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			return cell_err(err, n < 0 ? errno : EIO, "send the %u unsent bytes (at %zu)",
					f->unsent, off);
		off += (size_t)n;
	}
	return r;
}
