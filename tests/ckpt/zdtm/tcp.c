/* TCP and UDP, in the network namespace the driver made for the tree:
 *
 *   - an echo server on 127.0.0.1:7000 for the driver's peer, which streams
 *     through the whole checkpoint and restore (outside the tree: its
 *     connection's packets meet the network lock) and checks every byte;
 *   - an IPv6 connection inside the tree ([::1]:7001, both ends dumped),
 *     with 100 KB waiting in one direction and 4 MB in the other (the
 *     receiver's window closes: data sent but unacknowledged, and data
 *     never sent);
 *   - socket options (TCP_NODELAY, keepalive and its idle time, a send
 *     buffer size), a listening socket that accepts after the restore, a
 *     bound UDP socket and a connected one.
 *
 * Names, queues and options must all be as they were. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "zdtm.h"

#define TO_SERVER (100 * 1024)
#define TO_CLIENT (4 * 1024 * 1024)

static uint8_t pattern(size_t i, int salt)
{
	return (uint8_t)((i * 7 + (i >> 12) + (size_t)salt) & 0xff);
}

static int v4_sock(int type, uint16_t port, bool do_listen)
{
	int s = socket(AF_INET, type, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || (do_listen && listen(s, 8)))
		zdtm_fail("v4 socket on port %u: %s", port, strerror(errno));
	return s;
}

static int v6_listen(uint16_t port)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 8))
		zdtm_fail("v6 listen: %s", strerror(errno));
	return s;
}

static int v6_connect(uint16_t port)
{
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		zdtm_fail("v6 connect: %s", strerror(errno));
	return s;
}

static void read_check(int s, size_t len, int salt, const char *what)
{
	static uint8_t buf[65536];
	for (size_t got = 0; got < len;) {
		size_t want = len - got < sizeof(buf) ? len - got : sizeof(buf);
		ssize_t n = read(s, buf, want);
		if (n <= 0)
			zdtm_fail("%s: read at %zu of %zu: %s", what, got, len, n ? strerror(errno) : "EOF");
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(got + (size_t)i, salt))
				zdtm_fail("%s: byte %zu differs", what, got + (size_t)i);
		got += (size_t)n;
	}
}

/* Bytes [from, len) of the pattern. */
static void write_pattern(int s, size_t from, size_t len, int salt)
{
	static uint8_t buf[65536];
	for (size_t off = from; off < len;) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, salt);
		ssize_t k = send(s, buf, n, 0);
		if (k <= 0)
			zdtm_fail("write at %zu: %s", off, strerror(errno));
		off += (size_t)k;
	}
}

/* The client: sends TO_SERVER bytes, reads nothing until told (SIGTERM
 * reaches the whole tree), then checks TO_CLIENT bytes and echoes a word. */
static int client(void)
{
	int s = v6_connect(7001);
	write_pattern(s, 0, TO_SERVER, 1);
	zdtm_wait(); /* pid 1 passes SIGTERM on */
	read_check(s, TO_CLIENT, 2, "client");
	if (write(s, "bye", 3) != 3)
		return 2;
	return 0;
}

struct names {
	struct sockaddr_storage local, peer;
};

static void names_of(int s, struct names *n)
{
	socklen_t l = sizeof(n->local);
	memset(n, 0, sizeof(*n));
	getsockname(s, (struct sockaddr *)&n->local, &l);
	l = sizeof(n->peer);
	getpeername(s, (struct sockaddr *)&n->peer, &l);
}

static int int_opt(int s, int level, int name)
{
	int v = -1;
	socklen_t l = sizeof(v);
	getsockopt(s, level, name, &v, &l);
	return v;
}

/* Echo whatever the driver's peer sends, until SIGTERM. */
static void echo_until_term(int lis)
{
	int c = -1;
	static char buf[65536];
	while (!zdtm_term) {
		struct pollfd p = { c >= 0 ? c : lis, POLLIN, 0 };
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (c < 0) {
			c = accept(lis, NULL, NULL);
			continue;
		}
		ssize_t n = read(c, buf, sizeof(buf));
		if (n <= 0) {
			close(c);
			c = -1;
			continue;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(c, buf + off, (size_t)(n - off));
			if (k <= 0)
				zdtm_fail("echo: %s", strerror(errno));
			off += k;
		}
	}
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int echo = v4_sock(SOCK_STREAM, 7000, true);
	int lis6 = v6_listen(7001);
	pid_t kid = fork();
	if (kid == 0)
		_exit(client());
	int srv = accept(lis6, NULL, NULL);
	if (srv < 0)
		zdtm_fail("accept");
	int one = 1, idle = 77, sb = 150000;
	setsockopt(srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(srv, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(srv, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(srv, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	int sndbuf = int_opt(srv, SOL_SOCKET, SO_SNDBUF);
	/* Wait for the client's bytes to arrive, unread; then fill the other way
	 * until the window is shut (the rest stays unsent in our queue). */
	for (int i = 0; i < 200; i++) {
		int inq = 0;
		ioctl(srv, FIONREAD, &inq);
		if (inq >= TO_SERVER)
			break;
		usleep(10000);
	}
	int fl = fcntl(srv, F_GETFL);
	fcntl(srv, F_SETFL, fl | O_NONBLOCK);
	size_t queued = 0;
	static uint8_t chunk[65536];
	while (queued < TO_CLIENT) {
		size_t n = TO_CLIENT - queued < sizeof(chunk) ? TO_CLIENT - queued : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(queued + i, 2);
		ssize_t k = send(srv, chunk, n, MSG_DONTWAIT);
		if (k <= 0)
			break;
		queued += (size_t)k;
	}
	fcntl(srv, F_SETFL, fl);
	int udp = v4_sock(SOCK_DGRAM, 7002, false);
	int udpc = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = { .sin_family = AF_INET, .sin_port = htons(7002),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(udpc, (struct sockaddr *)&ua, sizeof(ua)))
		zdtm_fail("udp connect");
	struct names before, after, ubefore, uafter;
	names_of(srv, &before);
	names_of(udpc, &ubefore);
	zdtm_ready();
	echo_until_term(echo);

	names_of(srv, &after);
	names_of(udpc, &uafter);
	zdtm_check(!memcmp(&before, &after, sizeof(before)));
	zdtm_check(!memcmp(&ubefore, &uafter, sizeof(ubefore)));
	zdtm_check(int_opt(srv, IPPROTO_TCP, TCP_NODELAY) == 1);
	zdtm_check(int_opt(srv, SOL_SOCKET, SO_KEEPALIVE) == 1);
	zdtm_check(int_opt(srv, IPPROTO_TCP, TCP_KEEPIDLE) == 77);
	zdtm_check(int_opt(srv, SOL_SOCKET, SO_SNDBUF) == sndbuf);
	kill(kid, SIGTERM);
	read_check(srv, TO_SERVER, 1, "server");
	write_pattern(srv, queued, TO_CLIENT, 2);
	char bye[3];
	if (read(srv, bye, 3) != 3 || memcmp(bye, "bye", 3))
		zdtm_fail("no word from the client");
	if (send(udpc, "ping", 4, 0) != 4)
		zdtm_fail("udp send: %s", strerror(errno));
	char ub[8];
	if (recv(udp, ub, sizeof(ub), 0) != 4 || memcmp(ub, "ping", 4))
		zdtm_fail("udp recv");
	int c = v6_connect(7001);
	int a = accept(lis6, NULL, NULL);
	if (c < 0 || a < 0 || write(c, "x", 1) != 1 || read(a, ub, 1) != 1)
		zdtm_fail("new connection after restore");
	int status;
	if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status))
		zdtm_fail("the client failed (status %#x)", status);
	zdtm_pass();
}
