/* Socket options of internet sockets: a table of the ones worth keeping,
 * each with an id of ours (the image stores (id, value) pairs, see
 * docs/image-format.md), read at dump time and set again only where they
 * differ from a fresh socket's, so that defaults keep following sysctls. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "base/util.h"
#include "ckpt/files/inet.h"

enum { ANY = 0, TCP_ONLY = 1, UDP_ONLY = 2, V4_ONLY = 4, V6_ONLY = 8 };
enum { PLAIN, LINGER, TIMEVAL };

struct sockopt {
	uint16_t id;
	int level, name;
	uint8_t only;
	uint8_t kind;
	bool pre; /* set before bind */
	const char *desc;
};

static const struct sockopt opts[] = {
	{ 1, SOL_SOCKET, SO_REUSEADDR, ANY, PLAIN, true, "SO_REUSEADDR" },
	{ 2, SOL_SOCKET, SO_REUSEPORT, ANY, PLAIN, true, "SO_REUSEPORT" },
	{ 3, SOL_SOCKET, SO_KEEPALIVE, ANY, PLAIN, false, "SO_KEEPALIVE" },
	{ 4, SOL_SOCKET, SO_BROADCAST, UDP_ONLY, PLAIN, false, "SO_BROADCAST" },
	{ 5, SOL_SOCKET, SO_PRIORITY, ANY, PLAIN, false, "SO_PRIORITY" },
	{ 6, SOL_SOCKET, SO_MARK, ANY, PLAIN, false, "SO_MARK" },
	{ 7, SOL_SOCKET, SO_RCVLOWAT, ANY, PLAIN, false, "SO_RCVLOWAT" },
	{ 8, SOL_SOCKET, SO_OOBINLINE, TCP_ONLY, PLAIN, false, "SO_OOBINLINE" },
	{ 9, SOL_SOCKET, SO_LINGER, ANY, LINGER, false, "SO_LINGER" },
	{ 10, SOL_SOCKET, SO_RCVTIMEO, ANY, TIMEVAL, false, "SO_RCVTIMEO" },
	{ 11, SOL_SOCKET, SO_SNDTIMEO, ANY, TIMEVAL, false, "SO_SNDTIMEO" },
	{ 20, IPPROTO_TCP, TCP_NODELAY, TCP_ONLY, PLAIN, false, "TCP_NODELAY" },
	{ 21, IPPROTO_TCP, TCP_CORK, TCP_ONLY, PLAIN, false, "TCP_CORK" },
	{ 22, IPPROTO_TCP, TCP_KEEPIDLE, TCP_ONLY, PLAIN, false, "TCP_KEEPIDLE" },
	{ 23, IPPROTO_TCP, TCP_KEEPINTVL, TCP_ONLY, PLAIN, false, "TCP_KEEPINTVL" },
	{ 24, IPPROTO_TCP, TCP_KEEPCNT, TCP_ONLY, PLAIN, false, "TCP_KEEPCNT" },
	{ 25, IPPROTO_TCP, TCP_USER_TIMEOUT, TCP_ONLY, PLAIN, false, "TCP_USER_TIMEOUT" },
	{ 26, IPPROTO_TCP, TCP_NOTSENT_LOWAT, TCP_ONLY, PLAIN, false, "TCP_NOTSENT_LOWAT" },
	{ 27, IPPROTO_TCP, TCP_DEFER_ACCEPT, TCP_ONLY, PLAIN, false, "TCP_DEFER_ACCEPT" },
	{ 28, IPPROTO_TCP, TCP_FASTOPEN, TCP_ONLY, PLAIN, false, "TCP_FASTOPEN" },
	{ 29, IPPROTO_TCP, TCP_LINGER2, TCP_ONLY, PLAIN, false, "TCP_LINGER2" },
	{ 40, IPPROTO_IP, IP_TOS, V4_ONLY, PLAIN, false, "IP_TOS" },
	{ 41, IPPROTO_IP, IP_FREEBIND, V4_ONLY, PLAIN, true, "IP_FREEBIND" },
	{ 42, IPPROTO_IP, IP_TRANSPARENT, V4_ONLY, PLAIN, true, "IP_TRANSPARENT" },
	{ 50, IPPROTO_IPV6, IPV6_V6ONLY, V6_ONLY, PLAIN, true, "IPV6_V6ONLY" },
	{ 51, IPPROTO_IPV6, IPV6_TCLASS, V6_ONLY, PLAIN, false, "IPV6_TCLASS" },
	{ 52, IPPROTO_IPV6, IPV6_FREEBIND, V6_ONLY, PLAIN, true, "IPV6_FREEBIND" },
	{ 53, IPPROTO_IPV6, IPV6_TRANSPARENT, V6_ONLY, PLAIN, true, "IPV6_TRANSPARENT" },
};

static const struct sockopt *by_id(uint64_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].id == id)
			return &opts[i];
	return NULL;
}

static bool applies(const struct sockopt *o, const struct ck_file_inet *f)
{
	if ((o->only & TCP_ONLY) && f->proto != IPPROTO_TCP)
		return false;
	if ((o->only & UDP_ONLY) && f->proto != IPPROTO_UDP)
		return false;
	if ((o->only & V4_ONLY) && f->family != AF_INET)
		return false;
	return !(o->only & V6_ONLY) || f->family == AF_INET6;
}

/* The value as one number: linger packed as on << 32 | seconds, timeouts in
 * microseconds. */
static int get_value(int s, const struct sockopt *o, uint64_t *ret)
{
	union {
		int i;
		struct linger l;
		struct timeval tv;
	} u = { 0 };
	socklen_t len = o->kind == LINGER ? sizeof(u.l) : o->kind == TIMEVAL ? sizeof(u.tv)
									     : sizeof(u.i);
	if (getsockopt(s, o->level, o->name, &u, &len) < 0)
		return -errno;
	if (o->kind == LINGER)
		*ret = ((uint64_t)(u.l.l_onoff != 0) << 32) | (uint32_t)u.l.l_linger;
	else if (o->kind == TIMEVAL)
		*ret = (uint64_t)u.tv.tv_sec * 1000000 + (uint64_t)u.tv.tv_usec;
	else
		*ret = (uint64_t)(uint32_t)u.i;
	return 0;
}

static int set_value(int s, const struct sockopt *o, uint64_t v)
{
	if (o->kind == LINGER) {
		struct linger l = { .l_onoff = (int)(v >> 32), .l_linger = (int)(uint32_t)v };
		return setsockopt(s, o->level, o->name, &l, sizeof(l)) < 0 ? -errno : 0;
	}
	if (o->kind == TIMEVAL) {
		struct timeval tv = { .tv_sec = (time_t)(v / 1000000),
				      .tv_usec = (suseconds_t)(v % 1000000) };
		return setsockopt(s, o->level, o->name, &tv, sizeof(tv)) < 0 ? -errno : 0;
	}
	int i = (int)(uint32_t)v;
	return setsockopt(s, o->level, o->name, &i, sizeof(i)) < 0 ? -errno : 0;
}

int ck_sockopts_dump(int s, struct ck_file_inet *f, struct cell_err **err)
{
	f->opts = xcalloc(2 * ARRAY_SIZE(opts), sizeof(*f->opts));
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		uint64_t v = 0;
		if (!applies(&opts[i], f))
			continue;
		int r = get_value(s, &opts[i], &v);
		if (r == -ENOPROTOOPT)
			continue; /* not in this kernel */
		if (r < 0)
			return cell_err(err, -r, "read %s", opts[i].desc);
		f->opts[f->nopts++] = opts[i].id;
		f->opts[f->nopts++] = v;
	}
	char buf[64];
	socklen_t len = sizeof(buf) - 1;
	if (f->proto == IPPROTO_TCP && getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, buf, &len) == 0) {
		buf[len] = '\0';
		f->congestion = xstrdup(buf);
	}
	len = sizeof(buf) - 1;
	if (getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, buf, &len) == 0 && len > 0) {
		buf[len] = '\0';
		if (buf[0])
			f->ifname = xstrdup(buf);
	}
	return 0;
}

static int apply_strings(int s, const struct ck_file_inet *f, struct cell_err **err)
{
	char cur[64] = "";
	socklen_t len = sizeof(cur) - 1;
	if (f->ifname && setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, f->ifname,
				    (socklen_t)strlen(f->ifname)) < 0)
		return cell_err_sys(err, "SO_BINDTODEVICE %s", f->ifname);
	if (f->congestion && getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, cur, &len) == 0 &&
	    strcmp(cur, f->congestion) != 0 &&
	    setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, f->congestion,
		       (socklen_t)strlen(f->congestion)) < 0)
		return cell_err_sys(err, "TCP_CONGESTION %s", f->congestion);
	return 0;
}

/* SO_REUSEADDR of a repaired socket: TCP_REPAIR forces reuse, which any
 * SO_REUSEADDR would undo, and leaving repair mode clears it; so it comes
 * after, with the other options. */
static bool pre_bind(const struct sockopt *o, bool repaired)
{
	return o->pre && !(repaired && o->level == SOL_SOCKET && o->name == SO_REUSEADDR);
}

int ck_sockopts_apply(int s, const struct ck_file_inet *f, bool pre, bool repaired,
		      struct cell_err **err)
{
	if (pre) {
		int r = apply_strings(s, f, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i + 1 < f->nopts; i += 2) {
		const struct sockopt *o = by_id(f->opts[i]);
		uint64_t cur = 0;
		if (!o || pre_bind(o, repaired) != pre)
			continue;
		if (get_value(s, o, &cur) == 0 && cur == f->opts[i + 1])
			continue;
		int r = set_value(s, o, f->opts[i + 1]);
		if (r < 0)
			return cell_err(err, -r, "set %s to %llu", o->desc,
					(unsigned long long)f->opts[i + 1]);
	}
	return 0;
}

int ck_sockopts_validate(const struct ck_file_inet *f, struct cell_err **err)
{
	if (f->nopts % 2)
		return cell_err(err, EINVAL, "inet file %u: odd option list", f->id);
	for (size_t i = 0; i < f->nopts; i += 2) {
		const struct sockopt *o = by_id(f->opts[i]);
		if (!o || !applies(o, f))
			return cell_err(err, EINVAL, "inet file %u: socket option %llu", f->id,
					(unsigned long long)f->opts[i]);
		if (o->kind == PLAIN && f->opts[i + 1] > UINT32_MAX)
			return cell_err(err, EINVAL, "inet file %u: %s value %llu", f->id, o->desc,
					(unsigned long long)f->opts[i + 1]);
	}
	return 0;
}

void ck_sockopts_free(struct ck_file_inet *f)
{
	free(f->opts);
	free(f->congestion);
	free(f->ifname);
	f->opts = NULL;
	f->congestion = f->ifname = NULL;
}
