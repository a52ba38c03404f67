/* Internet sockets (IPv4 and IPv6): TCP listening, established (through
 * TCP_REPAIR, tcp-repair.c) and not yet connected; UDP bound or connected.
 * Each comes back with the same addresses, so the tree's network namespace
 * must have them.  The network lock (netlock.h) covers the established
 * connections and the listening ports from before their state is read
 * until they run again.
 *
 * Refused: TCP in any other state (connecting, half-closed, closing) and
 * connections waiting in a listen queue (both -EAGAIN: a moment later they
 * may be established, accepted or gone), established connections unless
 * the caller asked for them (tcp_established), raw and other protocols.  Datagrams waiting
 * on a UDP socket are dropped, as a network may drop them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/inet.h"

static const struct img_field inet_fields[] = {
	IMG_U32(1, struct ck_file_inet, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_inet, family, IMG_F_REQUIRED),
	IMG_U32(3, struct ck_file_inet, type, IMG_F_REQUIRED),
	IMG_U32(4, struct ck_file_inet, proto, IMG_F_REQUIRED),
	IMG_U32(5, struct ck_file_inet, state, IMG_F_REQUIRED),
	IMG_U32(6, struct ck_file_inet, flags, 0),
	IMG_BYTES(7, struct ck_file_inet, laddr, laddr_len, 16, 0),
	IMG_U32(8, struct ck_file_inet, lport, 0),
	IMG_BYTES(9, struct ck_file_inet, raddr, raddr_len, 16, 0),
	IMG_U32(10, struct ck_file_inet, rport, 0),
	IMG_BOOL(11, struct ck_file_inet, bound, 0),
	IMG_U32(12, struct ck_file_inet, backlog, 0),
	IMG_U32(13, struct ck_file_inet, sndbuf, 0),
	IMG_U32(14, struct ck_file_inet, rcvbuf, 0),
	IMG_U64V(15, struct ck_file_inet, opts, nopts, 2 * CK_INET_MAX_OPTS, 0),
	IMG_STR(16, struct ck_file_inet, congestion, 15, 0),
	IMG_STR(17, struct ck_file_inet, ifname, 15, 0),
	IMG_U32(20, struct ck_file_inet, snd_seq, 0),
	IMG_U32(21, struct ck_file_inet, rcv_seq, 0),
	IMG_U32(22, struct ck_file_inet, outq, 0),
	IMG_U32(23, struct ck_file_inet, unsent, 0),
	IMG_U32(24, struct ck_file_inet, inq, 0),
	IMG_U32(25, struct ck_file_inet, mss, 0),
	IMG_U32(26, struct ck_file_inet, snd_wscale, 0),
	IMG_U32(27, struct ck_file_inet, rcv_wscale, 0),
	IMG_U32(28, struct ck_file_inet, tcp_opts, 0),
	IMG_U32(29, struct ck_file_inet, timestamp, 0),
	IMG_U32(30, struct ck_file_inet, snd_wl1, 0),
	IMG_U32(31, struct ck_file_inet, snd_wnd, 0),
	IMG_U32(32, struct ck_file_inet, max_window, 0),
	IMG_U32(33, struct ck_file_inet, rcv_wnd, 0),
	IMG_U32(34, struct ck_file_inet, rcv_wup, 0),
};
static const struct img_schema inet_schema =
	IMG_SCHEMA(CK_REC_FILE_INET, "file-inet", inet_fields, struct ck_file_inet);

const char *ck_inet_str(uint32_t family, const void *addr, uint32_t port, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (addr)
		inet_ntop((int)family, addr, a, sizeof(a));
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

void ck_inet_conn(const struct ck_file_inet *f, struct ck_conn *ret)
{
	static const uint8_t zero[16];
	ck_conn_set(ret, (int)f->family, f->laddr ? f->laddr : zero, (uint16_t)f->lport,
		    f->raddr ? f->raddr : zero, (uint16_t)f->rport, f->state == TCP_LISTEN);
}

static int sockopt_int(int s, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	return getsockopt(s, level, name, &v, &l) < 0 ? -1 : v;
}

static bool inet_match(const struct ck_fdinfo *fi)
{
	if (!S_ISSOCK(fi->st.st_mode))
		return false;
	int domain = sockopt_int(fi->lfd, SOL_SOCKET, SO_DOMAIN);
	return domain == AF_INET || domain == AF_INET6;
}

/* getsockname/getpeername into addr and port. */
static bool sock_addr(int s, bool peer, struct ck_file_inet *f, void **addr, size_t *alen,
		      uint32_t *port)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	if ((peer ? getpeername(s, (struct sockaddr *)&ss, &l)
		  : getsockname(s, (struct sockaddr *)&ss, &l)) < 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)&ss;
		*alen = 4;
		*addr = xmalloc(4);
		memcpy(*addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const void *)&ss;
		*alen = 16;
		*addr = xmalloc(16);
		memcpy(*addr, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
	(void)f;
	return true;
}

static const char *tcp_state_name(uint32_t st)
{
	static const char *const names[] = { "?", "established", "syn-sent", "syn-recv",
					     "fin-wait-1", "fin-wait-2", "time-wait", "closed",
					     "close-wait", "last-ack", "listening", "closing" };
	return st < ARRAY_SIZE(names) ? names[st] : "?";
}

static int dump_established(struct ck_fdinfo *fi, struct ck_file_inet *f, struct cell_err **err)
{
	char a[80], b[80];
	ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a));
	if (!sock_addr(fi->lfd, true, f, &f->raddr, &f->raddr_len, &f->rport))
		return cell_err_sys(err, "TCP %s: peer address", a);
	ck_inet_str(f->family, f->raddr, f->rport, b, sizeof(b));
	if (!fi->d->o->tcp_established)
		return cell_err(err, EOPNOTSUPP, "established TCP connection %s -> %s: allow "
				"established connections (--tcp-established) to checkpoint it", a, b);
	void *q[2] = { NULL, NULL };
	int r = ck_tcp_dump(fi->lfd, f, q, err);
	if (r == 0)
		r = ck_dump_keep_socket(fi->d, fi->lfd, err);
	if (r == 0)
		ck_logf(&fi->d->log, "TCP %s -> %s: %u bytes received, %u to send (%u unsent)", a, b,
			f->inq, f->outq, f->unsent);
	if (r == 0)
		r = img_write(fi->d->core, &inet_schema, f, err);
	const size_t len[2] = { f->inq, f->outq };
	if (r == 0)
		r = ck_tcp_write_queues(fi->d, f->id, (const void **)q, len, err);
	free(q[0]);
	free(q[1]);
	return r < 0 ? cell_err_wrap(err, "TCP %s -> %s", a, b) : 0;
}

static int dump_tcp(struct ck_fdinfo *fi, struct ck_file_inet *f, struct cell_err **err)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	char a[80];
	if (getsockopt(fi->lfd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return cell_err_sys(err, "TCP_INFO");
	f->state = ti.tcpi_state;
	ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a));
	switch (f->state) {
	case TCP_ESTABLISHED:
		return dump_established(fi, f, err);
	case TCP_LISTEN:
		/* For a listener, tcp_info's unacked and sacked are the accept
		 * queue's length and its bound (tcp_get_info). */
		if (ti.tcpi_unacked)
			return cell_err(err, EAGAIN, "TCP %s listening: %u connections wait to be "
					"accepted", a, ti.tcpi_unacked);
		f->backlog = ti.tcpi_sacked;
		break;
	case TCP_CLOSE:
		f->bound = f->lport != 0;
		break;
	default:
		/* Connecting or closing: a moment later it is likely established
		 * or gone, hence EAGAIN, which callers may retry on (ckpt.h). */
		return cell_err(err, EAGAIN, "TCP %s in state %s: not supported (try again)", a,
				tcp_state_name(f->state));
	}
	return img_write(fi->d->core, &inet_schema, f, err);
}

static int dump_udp(struct ck_fdinfo *fi, struct ck_file_inet *f, struct cell_err **err)
{
	f->bound = f->lport != 0;
	f->state = sock_addr(fi->lfd, true, f, &f->raddr, &f->raddr_len, &f->rport) ? TCP_ESTABLISHED
									       : TCP_CLOSE;
	int inq = 0;
	if (ioctl(fi->lfd, SIOCINQ, &inq) == 0 && inq > 0)
		ck_logf(&fi->d->log, "process %d fd %d: UDP datagrams waiting are dropped",
			fi->task->pid, fi->fd);
	return img_write(fi->d->core, &inet_schema, f, err);
}

static int inet_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	int s = fi->lfd;
	struct ck_file_inet f = {
		.id = id, .flags = (uint32_t)fi->flags & O_NONBLOCK,
		.family = (uint32_t)sockopt_int(s, SOL_SOCKET, SO_DOMAIN),
		.type = (uint32_t)sockopt_int(s, SOL_SOCKET, SO_TYPE),
		.proto = (uint32_t)sockopt_int(s, SOL_SOCKET, SO_PROTOCOL),
		.sndbuf = (uint32_t)sockopt_int(s, SOL_SOCKET, SO_SNDBUF),
		.rcvbuf = (uint32_t)sockopt_int(s, SOL_SOCKET, SO_RCVBUF),
	};
	bool tcp = f.type == SOCK_STREAM && f.proto == IPPROTO_TCP;
	if (!tcp && !(f.type == SOCK_DGRAM && f.proto == IPPROTO_UDP))
		return cell_err(err, EOPNOTSUPP, "internet socket of type %u, protocol %u", f.type,
				f.proto);
	if (!sock_addr(s, false, &f, &f.laddr, &f.laddr_len, &f.lport))
		return cell_err_sys(err, "local address");
	int r = ck_sockopts_dump(s, &f, err);
	if (r == 0)
		r = tcp ? dump_tcp(fi, &f, err) : dump_udp(fi, &f, err);
	free(f.laddr);
	free(f.raddr);
	ck_sockopts_free(&f);
	return r;
}

static int inet_validate(const struct ck_image *img, const struct ck_file *file,
			 struct cell_err **err)
{
	const struct ck_file_inet *f = file->obj;
	size_t alen = f->family == AF_INET ? 4 : 16;
	bool tcp = f->type == SOCK_STREAM && f->proto == IPPROTO_TCP;
	(void)img;
	if (f->family != AF_INET && f->family != AF_INET6)
		return cell_err(err, EINVAL, "inet file %u: family %u", f->id, f->family);
	if (!tcp && !(f->type == SOCK_DGRAM && f->proto == IPPROTO_UDP))
		return cell_err(err, EINVAL, "inet file %u: type %u protocol %u", f->id, f->type,
				f->proto);
	if (f->state != TCP_ESTABLISHED && f->state != TCP_CLOSE && !(tcp && f->state == TCP_LISTEN))
		return cell_err(err, EINVAL, "inet file %u: state %u", f->id, f->state);
	if (f->laddr_len != alen || (f->raddr_len && f->raddr_len != alen) ||
	    (f->state == TCP_ESTABLISHED && !f->raddr_len) || f->lport > 65535 || f->rport > 65535)
		return cell_err(err, EINVAL, "inet file %u: addresses", f->id);
	if (tcp && f->state == TCP_ESTABLISHED &&
	    (file->data[CK_INET_RECVQ].len != f->inq || file->data[CK_INET_SENDQ].len != f->outq ||
	     f->unsent > f->outq || f->snd_wscale > 14 || f->rcv_wscale > 14))
		return cell_err(err, EINVAL, "inet file %u: queues (%zu/%u received, %zu/%u to send, "
				"%u unsent) or window scales", f->id, file->data[CK_INET_RECVQ].len,
				f->inq, file->data[CK_INET_SENDQ].len, f->outq, f->unsent);
	return ck_sockopts_validate(f, err);
}

static bool established_tcp(const struct ck_file_inet *f)
{
	return f->proto == IPPROTO_TCP && f->state == TCP_ESTABLISHED;
}

static int inet_precheck(const struct ck_restore *r, const struct ck_file *file,
			 struct cell_err **err)
{
	const struct ck_file_inet *f = file->obj;
	char a[80], b[80];
	if (established_tcp(f) && !r->o->tcp_established)
		return cell_err(err, EOPNOTSUPP, "the image holds the established TCP connection "
				"%s -> %s: allow established connections (--tcp-established) to "
				"restore it", ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a)),
				ck_inet_str(f->family, f->raddr, f->rport, b, sizeof(b)));
	return 0;
}

void ck_inet_sockaddr(const struct ck_file_inet *f, bool local, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	uint16_t port = htons((uint16_t)(local ? f->lport : f->rport));
	const void *a = local ? f->laddr : f->raddr;
	if (f->family == AF_INET) {
		struct sockaddr_in *in = (void *)ss;
		*in = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = port };
		memcpy(&in->sin_addr, a, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)ss;
		*in6 = (struct sockaddr_in6){ .sin6_family = AF_INET6, .sin6_port = port };
		memcpy(&in6->sin6_addr, a, 16);
		*len = sizeof(*in6);
	}
}

/* Bind with SO_REUSEADDR, whatever the socket had: restored connections of
 * the same port may be there already; the socket's own value comes after. */
static int plain_bind(int s, const struct ck_file_inet *f, struct cell_err **err)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char a[80];
	int one = 1, old = sockopt_int(s, SOL_SOCKET, SO_REUSEADDR);
	ck_inet_sockaddr(f, true, &ss, &len);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, len) < 0)
		return cell_err_sys(err, "bind to %s (the network namespace needs the address)",
				    ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a)));
	if (old >= 0)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &old, sizeof(old));
	return 0;
}

void ck_inet_force_buffers(int s, const struct ck_file_inet *f)
{
	int sb = (int)f->sndbuf / 2, rb = (int)f->rcvbuf / 2; /* the kernel doubles them */
	if (sb > 0 && setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb)) < 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	if (rb > 0 && setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
}

static int restore_plain(int s, const struct ck_file_inet *f, struct cell_err **err)
{
	ck_inet_force_buffers(s, f);
	int r = ck_sockopts_apply(s, f, true, false, err);
	if (r == 0 && (f->bound || f->state == TCP_LISTEN))
		r = plain_bind(s, f, err);
	if (r == 0 && f->state == TCP_LISTEN && listen(s, (int)f->backlog) < 0)
		r = cell_err_sys(err, "listen");
	if (r == 0 && f->state == TCP_ESTABLISHED) { /* a connected UDP socket */
		struct sockaddr_storage ss;
		socklen_t len;
		ck_inet_sockaddr(f, false, &ss, &len);
		if (connect(s, (struct sockaddr *)&ss, len) < 0)
			r = cell_err_sys(err, "connect");
	}
	if (r == 0)
		r = ck_sockopts_apply(s, f, false, false, err);
	return r;
}

static int inet_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			int *ret_fd, struct cell_err **err)
{
	const struct ck_file_inet *f = file->obj;
	int64_t fd;
	int k = ck_rsys(t, "socket", SYS_socket, f->family, f->type | SOCK_CLOEXEC, f->proto, 0, 0,
			0, &fd, err);
	if (k < 0)
		return k;
	_cleanup_close_ int s = -1;
	k = ck_rtask_getfd(t, (int)fd, &s, err);
	if (k == 0)
		k = established_tcp(f) ? ck_tcp_restore(s, file, err) : restore_plain(s, f, err);
	if (k == 0 && (f->flags & O_NONBLOCK) && fcntl(s, F_SETFL, O_NONBLOCK) < 0)
		k = cell_err_sys(err, "O_NONBLOCK");
	if (k < 0) {
		char a[80];
		ck_rsys(t, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, NULL, NULL);
		return cell_err_wrap(err, "%s %s", f->proto == IPPROTO_TCP ? "TCP" : "UDP",
				     ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a)));
	}
	(void)r;
	*ret_fd = (int)fd;
	return 0;
}

static int inet_final(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
		      int fd, struct cell_err **err)
{
	const struct ck_file_inet *f = file->obj;
	(void)r;
	if (!established_tcp(f))
		return 0;
	_cleanup_close_ int s = -1;
	int k = ck_rtask_getfd(t, fd, &s, err);
	if (k == 0)
		k = ck_tcp_finish(s, file, err);
	return k;
}

static char *inet_describe(const struct ck_file *file)
{
	const struct ck_file_inet *f = file->obj;
	char a[80], b[80];
	bool tcp = f->proto == IPPROTO_TCP;
	ck_inet_str(f->family, f->laddr, f->lport, a, sizeof(a));
	if (f->state == TCP_ESTABLISHED)
		return xasprintf("%s %s -> %s%s, %u bytes received, %u to send", tcp ? "tcp" : "udp",
				 a, ck_inet_str(f->family, f->raddr, f->rport, b, sizeof(b)),
				 tcp ? " established" : " connected", f->inq, f->outq);
	return xasprintf("%s %s %s", tcp ? "tcp" : "udp", f->state == TCP_LISTEN ? "listening on"
							  : f->bound ? "bound to" : "unbound", a);
}

const struct ck_file_ops ck_file_inet_ops = {
	.name = "inet",
	.rec_type = CK_REC_FILE_INET,
	.schema = &inet_schema,
	.match = inet_match,
	.dump = inet_dump,
	.validate = inet_validate,
	.precheck = inet_precheck,
	.restore = inet_restore,
	.restore_final = inet_final,
	.describe = inet_describe,
};
