/* The network lock around a dump and a restore (netlock.h says what it is).
 *
 * Dump: with the tree stopped and before any socket is read, every fd of
 * every process is looked at; the established TCP connections and the
 * listening ports go into the lock, taken at once in the tree's network
 * namespace.  When the dump is over, the tree either runs on (the sockets
 * leave repair mode, the lock goes) or is killed: then the sockets close
 * silently in repair mode and the lock stays, named in the image, until a
 * restore (or ckpt_net_unlock) removes it.
 *
 * Restore: the image's lock is (re)taken in pid 1's network namespace
 * before any socket exists (a fresh namespace would otherwise answer the
 * peers' retransmissions with resets), and removed once every process is
 * restored, just before they run. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/ckpt.h"
#include "ckpt/files/inet.h"
#include "ckpt/internal.h"
#include "ckpt/netlock.h"

#ifndef TCP_REPAIR_OFF_NO_WP
#define TCP_REPAIR_OFF_NO_WP -1
#endif

int ck_dump_keep_socket(struct ck_dump *d, int s, struct cell_err **err)
{
	int c = fcntl(s, F_DUPFD_CLOEXEC, 3);
	if (c < 0)
		return cell_err_sys(err, "keep a socket");
	d->socks = xrealloc(d->socks, (d->nsocks + 1) * sizeof(*d->socks));
	d->socks[d->nsocks++] = c;
	return 0;
}

struct conns {
	struct ck_conn *v;
	size_t n;
};

static void conn_add(struct conns *c, const struct ck_conn *x)
{
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
	c->v[c->n++] = *x;
}

static bool addr_of(int s, bool peer, struct sockaddr_storage *ss)
{
	socklen_t l = sizeof(*ss);
	return (peer ? getpeername(s, (struct sockaddr *)ss, &l) : getsockname(s, (struct sockaddr *)ss, &l)) == 0;
}

/* As runc (through CRIU) refuses: the process as the container sees it
 * (its PID there, its name), the fd, what it holds. */
static int refuse_established(struct ck_dump *d, const struct ck_dtask *t, int fd,
			      const struct ck_conn *x, struct cell_err **err)
{
	char a[80], b[80];
	_cleanup_free_ char *comm = NULL;
	if (ck_proc_read(d->procfd, t->pid, "comm", &comm, NULL, NULL) == 0)
		comm[strcspn(comm, "\n")] = '\0';
	return cell_err(err, EOPNOTSUPP, "process %u (%s) fd %d: established TCP connection %s -> "
			"%s: allow established connections (--tcp-established) to checkpoint it",
			t->vpid, comm ? comm : "?", fd,
			ck_inet_str((uint32_t)x->family, x->laddr, x->lport, a, sizeof(a)),
			ck_inet_str((uint32_t)x->family, x->raddr, x->rport, b, sizeof(b)));
}

/* One socket: if it is TCP, established or listening, its lock entry. */
static int scan_socket(struct ck_dump *d, struct ck_dtask *t, int fd, int s, struct conns *c,
		       struct cell_err **err)
{
	int v[2] = { 0, 0 };
	socklen_t l = sizeof(int);
	getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v[0], &l);
	getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v[1], &l);
	if ((v[0] != AF_INET && v[0] != AF_INET6) || v[1] != IPPROTO_TCP)
		return 0;
	struct tcp_info ti;
	l = sizeof(ti);
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return 0; /* the kind will say why */
	if (ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_LISTEN)
		return 0;
	struct sockaddr_storage ls, rs = { 0 };
	if (!addr_of(s, false, &ls) || (ti.tcpi_state == TCP_ESTABLISHED && !addr_of(s, true, &rs)))
		return 0;
	const uint8_t *la, *ra;
	uint16_t lp, rp;
	if (v[0] == AF_INET) {
		la = (const uint8_t *)&((struct sockaddr_in *)&ls)->sin_addr;
		ra = (const uint8_t *)&((struct sockaddr_in *)&rs)->sin_addr;
		lp = ntohs(((struct sockaddr_in *)&ls)->sin_port);
		rp = ntohs(((struct sockaddr_in *)&rs)->sin_port);
	} else {
		la = (const uint8_t *)&((struct sockaddr_in6 *)&ls)->sin6_addr;
		ra = (const uint8_t *)&((struct sockaddr_in6 *)&rs)->sin6_addr;
		lp = ntohs(((struct sockaddr_in6 *)&ls)->sin6_port);
		rp = ntohs(((struct sockaddr_in6 *)&rs)->sin6_port);
	}
	struct ck_conn x;
	ck_conn_set(&x, v[0], la, lp, ra, rp, ti.tcpi_state == TCP_LISTEN);
	if (!x.listen && !d->o->tcp_established)
		return refuse_established(d, t, fd, &x, err);
	conn_add(c, &x);
	return 0;
}

static int scan_task(struct ck_dump *d, struct ck_dtask *t, struct conns *c, struct cell_err **err)
{
	_cleanup_free_ int *fds = NULL;
	size_t n = 0;
	int r = ck_dump_list_fds(d, t->pid, &fds, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char what[32];
		_cleanup_free_ char *link = NULL;
		snprintf(what, sizeof(what), "fd/%d", fds[i]);
		if (ck_proc_readlink(d->procfd, t->pid, what, &link, NULL) < 0 ||
		    !cell_str_has_prefix(link, "socket:"))
			continue;
		_cleanup_close_ int s = (int)syscall(SYS_pidfd_getfd, t->pidfd, fds[i], 0);
		if (s >= 0)
			r = scan_socket(d, t, fds[i], s, c, err);
	}
	return r;
}

/* Any TCP socket, listening or established (st 0A or 01), in the
 * namespace of pid?  A hint only: the namespace may be shared. */
static bool netns_has_tcp(int procfd, pid_t pid)
{
	static const char *const files[] = { "net/tcp", "net/tcp6" };
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *buf = NULL;
		if (ck_proc_read(procfd, pid, files[i], &buf, NULL, NULL) < 0)
			continue;
		for (char *l = strchr(buf, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
			char st[3] = "";
			if (sscanf(l + 1, "%*s %*s %*s %2s", st) == 1 && (!strcmp(st, "01") ||
									  !strcmp(st, "0A")))
				return true;
		}
	}
	return false;
}

void ck_dump_nft_prepare(struct ck_dump *d)
{
	if (d->o->pre_dump || !netns_has_tcp(d->procfd, d->o->root_pid))
		return;
	char path[64];
	snprintf(path, sizeof(path), "%d/ns/net", d->o->root_pid);
	_cleanup_close_ int ns = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	struct cell_err *e = NULL;
	if (ns < 0 || ck_nft_start(ns, -1, &d->nft, &e) < 0)
		d->nft = NULL; /* the lock starts its own, and says what fails */
	cell_err_free(e);
}

static int nft_exec(struct ck_dump *d, const char *script, struct cell_err **err)
{
	return d->nft ? ck_nft_exec(d->nft, script, err) : ck_nft_run(-1, d->hostroot, script, err);
}

int ck_dump_netlock(struct ck_dump *d, struct cell_err **err)
{
	struct conns c = { 0 };
	int r = 0;
	for (size_t i = 0; r == 0 && i < d->ntasks; i++)
		r = scan_task(d, &d->tasks[i], &c, err);
	if (r == 0 && c.n) {
		uint64_t t0 = cell_now_ns();
		d->netlock = ck_netlock_name();
		_cleanup_free_ char *script = ck_netlock_script(d->netlock, c.v, c.n);
		r = nft_exec(d, script, err);
		if (r < 0) {
			free(d->netlock);
			d->netlock = NULL;
			cell_err_wrap(err, "lock the network of the tree");
		} else {
			ck_logf(&d->log, "network locked (%zu connections and ports, table %s) in %llu us",
				c.n, d->netlock, (unsigned long long)(cell_now_ns() - t0) / 1000);
		}
	}
	free(c.v);
	return r;
}

void ck_dump_net_release(struct ck_dump *d, bool killed)
{
	for (size_t i = 0; i < d->nsocks; i++) {
		int off = TCP_REPAIR_OFF_NO_WP;
		/* Killed: closing in repair mode is silent, which is the point. */
		if (!killed && setsockopt(d->socks[i], IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0)
			ck_logf(&d->log, "leave TCP repair mode: %s", strerror(errno));
		close(d->socks[i]);
	}
	free(d->socks);
	d->socks = NULL;
	d->nsocks = 0;
	if (!d->netlock)
		return;
	if (killed) {
		ck_logf(&d->log, "network lock %s stays until the restore", d->netlock);
		return;
	}
	struct cell_err *e = NULL;
	_cleanup_free_ char *script = ck_netunlock_script(d->netlock);
	if (nft_exec(d, script, &e) < 0)
		ck_logf(&d->log, "unlock the network: %s", e->msg);
	else
		ck_logf(&d->log, "network unlocked");
	cell_err_free(e);
}

/* The image's lock entries: established TCP connections and listeners. */
static void image_conns(const struct ck_image *img, struct conns *c)
{
	for (size_t i = 0; i < img->nfiles; i++) {
		const struct ck_file *f = &img->files[i];
		if (f->rec_type != CK_REC_FILE_INET)
			continue;
		const struct ck_file_inet *in = f->obj;
		if (in->proto != IPPROTO_TCP || (in->state != TCP_ESTABLISHED && in->state != TCP_LISTEN))
			continue;
		struct ck_conn x;
		ck_inet_conn(in, &x);
		conn_add(c, &x);
	}
}

static char *script_for(const struct ck_image *img, bool lock)
{
	struct conns c = { 0 };
	image_conns(img, &c);
	char *script = lock ? ck_netlock_script(img->inv.netlock, c.v, c.n)
			    : ck_netunlock_script(img->inv.netlock);
	free(c.v);
	return script;
}

static int run_in(int netns_fd, const struct ck_image *img, bool lock, struct cell_err **err)
{
	if (!img->inv.netlock)
		return 0;
	_cleanup_free_ char *script = script_for(img, lock);
	int r = ck_nft_run(netns_fd, -1, script, err);
	return r < 0 ? cell_err_wrap(err, "%s the network", lock ? "lock" : "unlock") : 0;
}

/* The helper lives from the lock to the unlock (or the restore's end). */
int ck_restore_netlock(struct ck_restore *r, bool lock, struct cell_err **err)
{
	if (!r->img->inv.netlock)
		return 0;
	uint64_t t0 = cell_now_ns();
	int k = 0;
	if (!r->nft) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/net", r->o->init_pid);
		_cleanup_close_ int ns = open(path, O_RDONLY | O_CLOEXEC);
		k = ns < 0 ? cell_err_sys(err, "open %s", path) : ck_nft_start(ns, -1, &r->nft, err);
	}
	_cleanup_free_ char *script = script_for(r->img, lock);
	if (k == 0)
		k = ck_nft_exec(r->nft, script, err);
	if (!lock || k < 0) {
		ck_nft_stop(r->nft);
		r->nft = NULL;
	}
	if (k < 0)
		return cell_err_wrap(err, "%s the network", lock ? "lock" : "unlock");
	ck_logf(&r->log, "network %s (table %s) in %llu us", lock ? "locked" : "unlocked",
		r->img->inv.netlock, (unsigned long long)(cell_now_ns() - t0) / 1000);
	return 0;
}

static int image_netlock(const char *image_dir, int netns_fd, bool lock, struct cell_err **err)
{
	_cleanup_close_ int dirfd = open(image_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cell_err_sys(err, "image directory %s", image_dir);
	_cleanup_ck_image_ struct ck_image *img = NULL;
	int k = ck_image_load(dirfd, &img, err);
	if (k == 0)
		k = run_in(netns_fd, img, lock, err);
	return k < 0 ? cell_err_wrap(err, "image %s", image_dir) : 0;
}

int ckpt_net_lock(const char *image_dir, int netns_fd, struct cell_err **err)
{
	return image_netlock(image_dir, netns_fd, true, err);
}

int ckpt_net_unlock(const char *image_dir, int netns_fd, struct cell_err **err)
{
	return image_netlock(image_dir, netns_fd, false, err);
}
