/* The network lock (netlock.h): nftables scripts, and a child that runs
 * them with libnftables where the tree's network lives. */
#include "ckpt/netlock.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

void ck_conn_set(struct ck_conn *c, int family, const uint8_t *laddr, uint16_t lport,
		 const uint8_t *raddr, uint16_t rport, bool listen)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	*c = (struct ck_conn){ .family = family, .lport = lport, .rport = rport, .listen = listen };
	size_t alen = family == AF_INET ? 4 : 16;
	memcpy(c->laddr, laddr, alen);
	memcpy(c->raddr, raddr, alen);
	/* A v6 socket's v4-mapped peer talks IPv4 on the wire. */
	if (family == AF_INET6 && !memcmp(laddr, mapped, 12) && !memcmp(raddr, mapped, 12)) {
		c->family = AF_INET;
		memmove(c->laddr, laddr + 12, 4);
		memmove(c->raddr, raddr + 12, 4);
	}
}

char *ck_netlock_name(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = cell_now_ns() ^ ((uint64_t)getpid() << 32);
	return xasprintf("cell_ckpt_%016llx", (unsigned long long)v);
}

/* The elements of a set: "a . p . b . q, ..." of one family; false if none. */
static bool put_elements(FILE *f, const struct ck_conn *c, size_t n, int family)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (c[i].listen || c[i].family != family)
			continue;
		/* Duplicates (one socket at two fds) would fail the set. */
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = !c[k].listen && c[k].family == family && c[k].lport == c[i].lport &&
			      c[k].rport == c[i].rport && !memcmp(c[k].laddr, c[i].laddr, 16) &&
			      !memcmp(c[k].raddr, c[i].raddr, 16);
		if (dup)
			continue;
		char r[INET6_ADDRSTRLEN], l[INET6_ADDRSTRLEN];
		inet_ntop(family, c[i].raddr, r, sizeof(r));
		inet_ntop(family, c[i].laddr, l, sizeof(l));
		fprintf(f, "%s%s . %u . %s . %u", any ? ", " : " elements = { ", r, c[i].rport, l,
			c[i].lport);
		any = true;
	}
	if (any)
		fputs(" }", f);
	return any;
}

static void put_ports(FILE *f, const struct ck_conn *c, size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (!c[i].listen)
			continue;
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = c[k].listen && c[k].lport == c[i].lport;
		if (dup)
			continue;
		fprintf(f, "%s%u", any ? ", " : " elements = { ", c[i].lport);
		any = true;
	}
	if (any)
		fputs(" }", f);
}

char *ck_netlock_script(const char *table, const struct ck_conn *c, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	/* Declaring it first makes the delete safe when there is none; the
	 * whole script is one transaction. */
	fprintf(f, "table inet %s {}\ndelete table inet %s\ntable inet %s {\n", table, table, table);
	fputs("  set c4 { type ipv4_addr . inet_service . ipv4_addr . inet_service;", f);
	put_elements(f, c, n, AF_INET);
	fputs(" }\n  set c6 { type ipv6_addr . inet_service . ipv6_addr . inet_service;", f);
	put_elements(f, c, n, AF_INET6);
	fputs(" }\n  set lp { type inet_service;", f);
	put_ports(f, c, n);
	/* Priority -350: before raw (-300) and conntrack (-200), so a locked
	 * packet leaves no trace anywhere. */
	fputs(" }\n"
	      "  chain in { type filter hook input priority -350; policy accept;\n"
	      "    ip saddr . tcp sport . ip daddr . tcp dport @c4 drop\n"
	      "    ip6 saddr . tcp sport . ip6 daddr . tcp dport @c6 drop\n"
	      "    tcp dport @lp tcp flags & (syn | ack) == syn drop\n  }\n"
	      "  chain out { type filter hook output priority -350; policy accept;\n"
	      "    ip daddr . tcp dport . ip saddr . tcp sport @c4 drop\n"
	      "    ip6 daddr . tcp dport . ip6 saddr . tcp sport @c6 drop\n  }\n}\n", f);
	fclose(f);
	return buf;
}

char *ck_netunlock_script(const char *table)
{
	return xasprintf("table inet %s {}\ndelete table inet %s\n", table, table);
}

typedef struct nft_ctx *(*ctx_new_fn)(uint32_t);
typedef int (*buffer_fn)(struct nft_ctx *);
typedef const char *(*get_buffer_fn)(struct nft_ctx *);
typedef int (*run_fn)(struct nft_ctx *, const char *);

/* Messages on the helper's socket: a script (one SOCK_SEQPACKET message)
 * one way; "0", or "1" and the error text, the other. */
#define SCRIPT_MAX (4u << 20)

struct nft {
	run_fn run;
	get_buffer_fn get_error;
	struct nft_ctx *ctx;
};

static const char *nft_load(struct nft *n)
{
	static char why[300];
	void *h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, sizeof(why), "load libnftables.so.1 (Debian package libnftables1): %s",
			 dlerror());
		return why;
	}
	ctx_new_fn ctx_new = (ctx_new_fn)dlsym(h, "nft_ctx_new");
	buffer_fn buffer_error = (buffer_fn)dlsym(h, "nft_ctx_buffer_error");
	n->get_error = (get_buffer_fn)dlsym(h, "nft_ctx_get_error_buffer");
	n->run = (run_fn)dlsym(h, "nft_run_cmd_from_buffer");
	if (!ctx_new || !buffer_error || !n->get_error || !n->run)
		return "libnftables.so.1 lacks the functions we use";
	n->ctx = ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx)
		return "nft_ctx_new failed";
	buffer_error(n->ctx);
	return NULL;
}

static void answer(int fd, const char *why)
{
	char msg[2048];
	int len = snprintf(msg, sizeof(msg), "%c%s", why ? '1' : '0', why ? why : "");
	(void)!send(fd, msg, (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1, MSG_NOSIGNAL);
}

/* The helper: ready (library loaded) before the first script comes, so
 * the lock itself costs only the netlink transaction. */
static int helper_main(int fd, int netns_fd, int root_fd)
{
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0) {
		answer(fd, "enter the network namespace");
		return 1;
	}
	if (root_fd >= 0 && (fchdir(root_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)) {
		answer(fd, "enter the host's root");
		return 1;
	}
	struct nft n = { 0 };
	const char *why = nft_load(&n);
	char *script = xmalloc(SCRIPT_MAX + 1);
	for (;;) {
		ssize_t k = recv(fd, script, SCRIPT_MAX, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 0;
		script[k] = '\0';
		if (!why && n.run(n.ctx, script) != 0) {
			const char *e = n.get_error(n.ctx);
			answer(fd, e && *e ? e : "nft failed");
		} else {
			answer(fd, why);
		}
	}
}

int ck_nft_start(int netns_fd, int root_fd, struct ck_nft **ret, struct cell_err **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cell_err_sys(err, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return cell_err_sys(err, "fork for nft");
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(helper_main(sv[1], netns_fd, root_fd));
	}
	close(sv[1]);
	struct ck_nft *h = xmalloc(sizeof(*h));
	*h = (struct ck_nft){ .pid = pid, .fd = sv[0] };
	*ret = h;
	return 0;
}

int ck_nft_exec(struct ck_nft *h, const char *script, struct cell_err **err)
{
	size_t len = strlen(script);
	if (len > SCRIPT_MAX)
		return cell_err(err, E2BIG, "an nftables script of %zu bytes", len);
	if (send(h->fd, script, len, MSG_NOSIGNAL) != (ssize_t)len)
		return cell_err_sys(err, "hand a script to the nft helper");
	char msg[2048];
	ssize_t k;
	while ((k = recv(h->fd, msg, sizeof(msg) - 1, 0)) < 0 && errno == EINTR)
		;
	if (k <= 0)
		return cell_err(err, EIO, "nftables: the helper died");
	msg[k] = '\0';
	if (msg[0] == '0')
		return 0;
	while (k > 1 && (msg[k - 1] == '\n' || msg[k - 1] == ' '))
		msg[--k] = '\0';
	return cell_err(err, EIO, "nftables: %s", msg + 1);
}

void ck_nft_stop(struct ck_nft *h)
{
	if (!h)
		return;
	close(h->fd); /* EOF: the helper exits */
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(h);
}

int ck_nft_run(int netns_fd, int root_fd, const char *script, struct cell_err **err)
{
	struct ck_nft *h;
	int r = ck_nft_start(netns_fd, root_fd, &h, err);
	if (r == 0)
		r = ck_nft_exec(h, script, err);
	ck_nft_stop(h);
	return r;
}
