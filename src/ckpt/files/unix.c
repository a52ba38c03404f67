/* Unix sockets: connected pairs (stream, datagram, seqpacket) with the data
 * queued in each direction, listening sockets, and bound or unbound
 * datagram sockets.  The peer of a socket comes from sock_diag (the dumper
 * runs in the tree's network namespace); queued data is read with MSG_PEEK
 * and SO_PEEK_OFF, which leaves it in place.
 *
 * Refused: fds in flight (SCM_RIGHTS), connections waiting in a listen
 * queue, and a stream connected to a socket outside the tree.  A connected
 * pair comes back as a socketpair, so an accepted socket loses the name it
 * shared with its listener (getsockname returns an unnamed address). */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

#define UNIX_QUEUE_MAX (1u << 20)
#define UNIX_MSGS_MAX 65536

enum { UNIX_UNCONNECTED = 0, UNIX_LISTEN = 1, UNIX_CONNECTED = 2 };

struct ck_file_unix {
	uint32_t id;
	uint64_t ino, peer_ino;
	uint32_t type; /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	uint32_t state;
	uint32_t flags; /* O_NONBLOCK */
	void *name;	/* sun_path bytes; abstract names start with NUL */
	size_t name_len;
	uint32_t backlog;
	uint32_t shutdown;
	void *queue; /* received, not yet read: sent by the peer */
	size_t queue_len;
	uint32_t *msgs; /* message lengths, for datagram and seqpacket */
	size_t nmsgs;
	uint32_t sndbuf, rcvbuf;
};

static const struct img_field unix_fields[] = {
	IMG_U32(1, struct ck_file_unix, id, IMG_F_REQUIRED),
	IMG_U64(2, struct ck_file_unix, ino, IMG_F_REQUIRED),
	IMG_U64(3, struct ck_file_unix, peer_ino, 0),
	IMG_U32(4, struct ck_file_unix, type, IMG_F_REQUIRED),
	IMG_U32(5, struct ck_file_unix, state, IMG_F_REQUIRED),
	IMG_U32(6, struct ck_file_unix, flags, 0),
	IMG_BYTES(7, struct ck_file_unix, name, name_len, 108, 0),
	IMG_U32(8, struct ck_file_unix, backlog, 0),
	IMG_U32(9, struct ck_file_unix, shutdown, 0),
	IMG_BYTES(10, struct ck_file_unix, queue, queue_len, UNIX_QUEUE_MAX, 0),
	IMG_U32V(11, struct ck_file_unix, msgs, nmsgs, UNIX_MSGS_MAX, 0),
	IMG_U32(12, struct ck_file_unix, sndbuf, 0),
	IMG_U32(13, struct ck_file_unix, rcvbuf, 0),
};
static const struct img_schema unix_schema =
	IMG_SCHEMA(CK_REC_FILE_UNIX, "file-unix", unix_fields, struct ck_file_unix);

static bool unix_match(const struct ck_fdinfo *fi)
{
	int domain;
	socklen_t l = sizeof(domain);
	return S_ISSOCK(fi->st.st_mode) &&
	       getsockopt(fi->lfd, SOL_SOCKET, SO_DOMAIN, &domain, &l) == 0 && domain == AF_UNIX;
}

struct diag {
	uint32_t peer;
	uint32_t state;
	uint32_t icons;
	uint32_t backlog;
	uint8_t shutdown;
};

static void diag_attrs(const struct unix_diag_msg *m, size_t len, struct diag *d)
{
	const struct nlattr *a = (const void *)(m + 1);
	size_t left = len - sizeof(*m);
	while (left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left) {
		const void *v = a + 1;
		size_t vl = a->nla_len - sizeof(*a);
		if (a->nla_type == UNIX_DIAG_PEER && vl >= 4)
			memcpy(&d->peer, v, 4);
		else if (a->nla_type == UNIX_DIAG_ICONS)
			d->icons = (uint32_t)(vl / 4);
		else if (a->nla_type == UNIX_DIAG_RQLEN && vl >= 8)
			memcpy(&d->backlog, (const char *)v + 4, 4);
		else if (a->nla_type == UNIX_DIAG_SHUTDOWN && vl >= 1)
			memcpy(&d->shutdown, v, 1);
		size_t step = NLA_ALIGN(a->nla_len);
		if (step >= left)
			break;
		left -= step;
		a = (const void *)((const char *)a + step);
	}
}

static int query(uint32_t ino, struct diag *d, struct cell_err **err)
{
	_cleanup_close_ int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return cell_err_sys(err, "sock_diag socket");
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0U, .udiag_ino = ino,
		       .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN |
				     UDIAG_SHOW_NAME,
		       .udiag_cookie = { ~0U, ~0U } },
	};
	if (send(nl, &req, sizeof(req), 0) < 0)
		return cell_err_sys(err, "sock_diag query");
	uint32_t buf[2048];
	ssize_t n = recv(nl, buf, sizeof(buf), 0);
	const struct nlmsghdr *h = (const void *)buf;
	if (n < (ssize_t)sizeof(*h) || h->nlmsg_len > (size_t)n)
		return cell_err(err, EIO, "sock_diag of socket %u: short answer", ino);
	if (h->nlmsg_type == NLMSG_ERROR)
		return cell_err(err, -((const struct nlmsgerr *)NLMSG_DATA(h))->error,
				"sock_diag of socket %u", ino);
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return cell_err(err, EIO, "sock_diag of socket %u: short answer", ino);
	*d = (struct diag){ .state = m->udiag_state };
	diag_attrs(m, h->nlmsg_len - NLMSG_LENGTH(0), d);
	return 0;
}

/* Peek at the receive queue from offset 0 on, then put SO_PEEK_OFF back. */
static int peek_queue(int fd, struct ck_file_unix *f, struct cell_err **err)
{
	int old = -1, zero = 0;
	socklen_t l = sizeof(old);
	getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old, &l);
	if (setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return cell_err_sys(err, "SO_PEEK_OFF");
	_cleanup_free_ char *buf = xmalloc(UNIX_QUEUE_MAX);
	int r = 0;
	for (;;) {
		char cbuf[256];
		struct iovec iov = { buf, UNIX_QUEUE_MAX };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &mh, MSG_PEEK | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			r = cell_err_sys(err, "peek at a unix socket");
			break;
		}
		if (mh.msg_controllen > 0 || (mh.msg_flags & MSG_CTRUNC)) {
			r = cell_err(err, EOPNOTSUPP, "file descriptors or credentials in flight");
			break;
		}
		if (n == 0 && f->type == SOCK_STREAM)
			break;
		if (f->queue_len + (size_t)n > UNIX_QUEUE_MAX || f->nmsgs >= UNIX_MSGS_MAX) {
			r = cell_err(err, E2BIG, "more than %u bytes queued", UNIX_QUEUE_MAX);
			break;
		}
		f->queue = xrealloc(f->queue, f->queue_len + (size_t)n + 1);
		memcpy((char *)f->queue + f->queue_len, buf, (size_t)n);
		f->queue_len += (size_t)n;
		f->msgs = xrealloc(f->msgs, (f->nmsgs + 1) * sizeof(*f->msgs));
		f->msgs[f->nmsgs++] = (uint32_t)n;
	}
	setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old));
	if (f->type == SOCK_STREAM)
		f->nmsgs = 0; /* a byte stream has no boundaries */
	return r;
}

static int unix_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	struct ck_file_unix f = { .id = id, .ino = fi->st.st_ino,
				  .flags = (uint32_t)fi->flags & O_NONBLOCK };
	socklen_t l = sizeof(int);
	int type = 0, sb = 0, rb = 0;
	getsockopt(fi->lfd, SOL_SOCKET, SO_TYPE, &type, &l);
	getsockopt(fi->lfd, SOL_SOCKET, SO_SNDBUF, &sb, &l);
	getsockopt(fi->lfd, SOL_SOCKET, SO_RCVBUF, &rb, &l);
	f.type = (uint32_t)type;
	f.sndbuf = (uint32_t)sb;
	f.rcvbuf = (uint32_t)rb;
	struct diag d;
	int r = query((uint32_t)fi->st.st_ino, &d, err);
	if (r < 0)
		return r;
	struct sockaddr_un sun;
	socklen_t sl = sizeof(sun);
	if (getsockname(fi->lfd, (struct sockaddr *)&sun, &sl) == 0 && sl > sizeof(sa_family_t)) {
		f.name_len = sl - sizeof(sa_family_t);
		f.name = sun.sun_path;
	}
	f.peer_ino = d.peer;
	f.shutdown = d.shutdown;
	if (d.state == 10 /* TCP_LISTEN */) {
		if (d.icons)
			return cell_err(err, EOPNOTSUPP, "%u connections wait in its listen queue",
					d.icons);
		f.state = UNIX_LISTEN;
		f.backlog = d.backlog;
		return img_write(fi->d->core, &unix_schema, &f, err);
	}
	f.state = d.peer ? UNIX_CONNECTED : UNIX_UNCONNECTED;
	r = peek_queue(fi->lfd, &f, err);
	if (r == 0)
		r = img_write(fi->d->core, &unix_schema, &f, err);
	free(f.queue);
	free(f.msgs);
	return r;
}

static const struct ck_file *peer_of(const struct ck_image *img, const struct ck_file_unix *f)
{
	for (size_t i = 0; f->peer_ino && i < img->nfiles; i++) {
		const struct ck_file *o = &img->files[i];
		if (o->rec_type == CK_REC_FILE_UNIX &&
		    ((const struct ck_file_unix *)o->obj)->ino == f->peer_ino)
			return o;
	}
	return NULL;
}

static int unix_validate(const struct ck_image *img, const struct ck_file *file,
			 struct cell_err **err)
{
	const struct ck_file_unix *f = file->obj;
	if (f->type != SOCK_STREAM && f->type != SOCK_DGRAM && f->type != SOCK_SEQPACKET)
		return cell_err(err, EINVAL, "unix file %u: type %u", f->id, f->type);
	if (f->state > UNIX_CONNECTED)
		return cell_err(err, EINVAL, "unix file %u: state %u", f->id, f->state);
	uint64_t sum = 0;
	for (size_t i = 0; i < f->nmsgs; i++)
		sum += f->msgs[i];
	if (f->nmsgs && sum != f->queue_len)
		return cell_err(err, EINVAL, "unix file %u: message lengths do not add up", f->id);
	const struct ck_file *p = peer_of(img, f);
	if (f->state == UNIX_CONNECTED && f->type != SOCK_DGRAM && !p)
		return cell_err(err, EOPNOTSUPP, "unix file %u: connected to a socket outside the "
				"image", f->id);
	return 0;
}

/* Queue f's received data again by sending it from the other end. */
static int refill(struct ck_rtask *t, int from_fd, const struct ck_file_unix *f,
		  struct cell_err **err)
{
	if (!f->queue_len)
		return 0;
	_cleanup_close_ int s = -1;
	int k = ck_rtask_getfd(t, from_fd, &s, err);
	if (k < 0)
		return k;
	size_t off = 0;
	for (size_t i = 0; i < (f->nmsgs ? f->nmsgs : 1); i++) {
		size_t len = f->nmsgs ? f->msgs[i] : f->queue_len;
		if (send(s, (const char *)f->queue + off, len, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    (ssize_t)len)
			return cell_err_sys(err, "queue %zu bytes on a unix socket again", len);
		off += len;
	}
	return 0;
}

static int set_common(struct ck_restore *r, struct ck_rtask *t, int fd,
		      const struct ck_file_unix *f, struct cell_err **err)
{
	_cleanup_close_ int s = -1;
	int k = ck_rtask_getfd(t, fd, &s, err);
	if (k < 0)
		return k;
	int sb = (int)f->sndbuf / 2, rb = (int)f->rcvbuf / 2; /* the kernel doubles them */
	if (sb > 0 && setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb)) < 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	if (rb > 0 && setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	if (f->flags & O_NONBLOCK)
		fcntl(s, F_SETFL, O_NONBLOCK);
	(void)r;
	return 0;
}

static int bind_name(struct ck_restore *r, struct ck_rtask *t, int fd,
		     const struct ck_file_unix *f, struct cell_err **err)
{
	if (!f->name_len)
		return 0;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, f->name, f->name_len);
	socklen_t len = (socklen_t)(sizeof(sa_family_t) + f->name_len);
	uint64_t a, p;
	int k = ck_scratch_put(r, t, 0, &sun, sizeof(sun), &a, err);
	if (k < 0)
		return k;
	if (((const char *)f->name)[0]) {
		/* The socket file of the dead original is in the way. */
		_cleanup_free_ char *path = xasprintf("%.*s", (int)f->name_len, (const char *)f->name);
		k = ck_scratch_path(r, t, path, &p, err);
		if (k == 0)
			ck_rsys(t, "unlinkat", SYS_unlinkat, (uint64_t)AT_FDCWD, p, 0, 0, 0, 0, NULL,
				NULL);
	}
	k = ck_rsys(t, "bind", SYS_bind, (uint64_t)fd, a, len, 0, 0, 0, NULL, err);
	return k < 0 ? cell_err_wrap(err, "bind a unix socket again") : 0;
}

static int restore_pair(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			const struct ck_file *peer, int *ret_fd, struct cell_err **err)
{
	const struct ck_file_unix *f = file->obj, *pf = peer->obj;
	uint64_t a;
	int32_t sv[2];
	int k = ck_scratch_put(r, t, 0, NULL, 0, &a, err);
	if (k == 0)
		k = ck_rsys(t, "socketpair", SYS_socketpair, AF_UNIX, f->type | SOCK_CLOEXEC, 0, a, 0,
			    0, NULL, err);
	if (k == 0)
		k = ck_mem_read(t->pid, a, sv, sizeof(sv), err);
	if (k == 0)
		k = set_common(r, t, sv[0], f, err);
	if (k == 0)
		k = set_common(r, t, sv[1], pf, err);
	/* What f had received, its peer sends again, and the other way. */
	if (k == 0)
		k = refill(t, sv[1], f, err);
	if (k == 0)
		k = refill(t, sv[0], pf, err);
	if (k == 0 && f->shutdown)
		k = ck_rsys(t, "shutdown", SYS_shutdown, (uint64_t)sv[0], f->shutdown - 1, 0, 0, 0,
			    0, NULL, err);
	if (k < 0)
		return k;
	ck_restore_stash(r, t, peer->id, sv[1]);
	*ret_fd = sv[0];
	return 0;
}

/* Datagrams waiting on a bound socket: sent again from a socket of the
 * task connected to it (the address resolves in the task's namespaces); the
 * senders' addresses are not kept. */
static int refill_bound(struct ck_restore *r, struct ck_rtask *t, int fd,
			const struct ck_file_unix *f, struct cell_err **err)
{
	if (!f->queue_len)
		return 0;
	if (!f->name_len)
		return cell_err(err, EOPNOTSUPP, "datagrams queued on an unbound socket");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, f->name, f->name_len);
	uint64_t a;
	int64_t tmp;
	int k = ck_scratch_put(r, t, 0, &sun, sizeof(sun), &a, err);
	if (k == 0)
		k = ck_rsys(t, "socket", SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, 0, 0, 0,
			    &tmp, err);
	if (k < 0)
		return k;
	k = ck_rsys(t, "connect", SYS_connect, (uint64_t)tmp, a,
		    sizeof(sa_family_t) + f->name_len, 0, 0, 0, NULL, err);
	if (k == 0)
		k = refill(t, (int)tmp, f, err);
	ck_rsys(t, "close", SYS_close, (uint64_t)tmp, 0, 0, 0, 0, 0, NULL, NULL);
	(void)fd;
	return k;
}

static int unix_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			int *ret_fd, struct cell_err **err)
{
	const struct ck_file_unix *f = file->obj;
	const struct ck_file *peer = peer_of(r->img, f);
	if (f->state == UNIX_CONNECTED && peer)
		return restore_pair(r, t, file, peer, ret_fd, err);
	int64_t fd;
	int k = ck_rsys(t, "socket", SYS_socket, AF_UNIX, f->type | SOCK_CLOEXEC, 0, 0, 0, 0, &fd,
			err);
	if (k == 0)
		k = bind_name(r, t, (int)fd, f, err);
	if (k == 0 && f->state == UNIX_LISTEN)
		k = ck_rsys(t, "listen", SYS_listen, (uint64_t)fd, f->backlog ? f->backlog : 128, 0,
			    0, 0, 0, NULL, err);
	if (k == 0)
		k = set_common(r, t, (int)fd, f, err);
	if (k == 0 && f->type == SOCK_DGRAM)
		k = refill_bound(r, t, (int)fd, f, err);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

static char *unix_describe(const struct ck_file *file)
{
	const struct ck_file_unix *f = file->obj;
	static const char *const states[] = { "unconnected", "listening", "connected" };
	_cleanup_free_ char *name = xasprintf("%.*s", (int)f->name_len, (const char *)f->name);
	return xasprintf("unix %s %s%s%s, %zu bytes queued",
			 f->type == SOCK_STREAM ? "stream" : f->type == SOCK_DGRAM ? "dgram" : "seqpacket",
			 states[f->state > 2 ? 0 : f->state], f->name_len ? " " : "",
			 f->name_len && !name[0] ? "@abstract" : name, f->queue_len);
}

const struct ck_file_ops ck_file_unix_ops = {
	.name = "unix",
	.rec_type = CK_REC_FILE_UNIX,
	.schema = &unix_schema,
	.match = unix_match,
	.dump = unix_dump,
	.validate = unix_validate,
	.restore = unix_restore,
	.describe = unix_describe,
};
