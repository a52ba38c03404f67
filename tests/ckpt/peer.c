/* The zdtm driver's TCP peer (peer.h).  Control: the driver writes 'c'
 * (answer: "N <echoed>") or 's' (answer: "OK ..."); a failing peer says
 * "FAIL: ..." at once and exits.  Answers are one line each. */
#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A slow, steady stream: the tree's receive window must not fill while it
 * is stopped, so that packets keep arriving all through the dump; without
 * the network lock, those after the queue was read would be lost. */
#define IN_FLIGHT (16u << 20)
#define CHUNK 1024
#define EVERY_MS 2

static uint8_t pat(uint64_t i)
{
	return (uint8_t)((i * 13 + (i >> 16)) & 0xff);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int dial(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (int i = 0; i < 500; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		struct pollfd p = { s, POLLOUT, 0 };
		int e = 0;
		socklen_t l = sizeof(e);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 ||
		    (errno == EINPROGRESS && poll(&p, 1, 1000) == 1 &&
		     getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == 0))
			return s;
		close(s);
		usleep(10000);
	}
	return -1;
}

struct stream {
	uint64_t sent, echoed, max_stall_ms, last_ms, last_send_ms;
	char fail[200];
};

/* One round: send what the window allows, check what came back. */
static bool pump(int s, struct stream *st)
{
	static uint8_t buf[65536];
	uint64_t t = now_ms();
	if (st->sent - st->echoed < IN_FLIGHT && t - st->last_send_ms >= EVERY_MS) {
		size_t n = CHUNK;
		st->last_send_ms = t;
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(st->sent + i);
		ssize_t k = send(s, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno != EAGAIN) {
			snprintf(st->fail, sizeof(st->fail), "send: %s", strerror(errno));
			return false;
		}
		if (k > 0)
			st->sent += (uint64_t)k;
	}
	ssize_t k = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	if (k == 0 || (k < 0 && errno != EAGAIN)) {
		snprintf(st->fail, sizeof(st->fail), "recv: %s", k ? strerror(errno) : "EOF");
		return false;
	}
	if (k > 0) {
		for (ssize_t i = 0; i < k; i++) {
			if (buf[i] != pat(st->echoed + (uint64_t)i)) {
				snprintf(st->fail, sizeof(st->fail), "byte %llu came back wrong",
					 (unsigned long long)(st->echoed + (uint64_t)i));
				return false;
			}
		}
		st->echoed += (uint64_t)k;
		if (t - st->last_ms > st->max_stall_ms)
			st->max_stall_ms = t - st->last_ms;
		st->last_ms = t;
	}
	return true;
}

static int peer_main(int netfd, uint16_t port, int ctl)
{
	if (setns(netfd, CLONE_NEWNET) < 0)
		return dprintf(ctl, "FAIL: setns: %s\n", strerror(errno)), 1;
	int s = dial(port);
	if (s < 0)
		return dprintf(ctl, "FAIL: cannot connect to port %u\n", port), 1;
	/* Every chunk on the wire at once: Nagle would hold them back while an
	 * ACK is pending, which is exactly when the lock matters. */
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct stream st = { .last_ms = now_ms() };
	bool told = false;
	for (;;) {
		struct pollfd p[2] = { { ctl, POLLIN, 0 }, { s, POLLIN, 0 } };
		poll(p, 2, 1);
		if (p[0].revents) {
			char c = 0;
			if (read(ctl, &c, 1) != 1 || c == 's')
				break;
			dprintf(ctl, "N %llu\n", (unsigned long long)st.echoed);
		}
		if (!pump(s, &st))
			return dprintf(ctl, "FAIL: %s after %llu bytes echoed\n", st.fail,
				       (unsigned long long)st.echoed), 1;
		if (!told && st.echoed) {
			told = write(ctl, "E", 1) == 1;
		}
	}
	dprintf(ctl, "OK %llu bytes echoed, longest stall %llu ms\n", (unsigned long long)st.echoed,
		(unsigned long long)st.max_stall_ms);
	return 0;
}

/* One answer line (without its newline), or "" on timeout. */
static void answer(struct peer *p, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd pf = { p->ctl, POLLIN, 0 };
		if (poll(&pf, 1, 5000) != 1 || read(p->ctl, buf + n, 1) != 1 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
}

bool peer_start(struct peer *p, int netfd, uint16_t port, char *why, size_t len)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return snprintf(why, len, "socketpair: %s", strerror(errno)), false;
	p->pid = fork();
	if (p->pid == 0) {
		close(sv[0]);
		_exit(peer_main(netfd, port, sv[1]));
	}
	close(sv[1]);
	p->ctl = sv[0];
	struct pollfd pf = { p->ctl, POLLIN, 0 };
	char msg[256] = "";
	if (poll(&pf, 1, 10000) == 1 && read(p->ctl, msg, 1) == 1 && msg[0] == 'E')
		return true;
	answer(p, msg + (msg[0] != 0), sizeof(msg) - 1);
	snprintf(why, len, "the TCP peer never got an echo%s%s", msg[0] ? ": " : "", msg);
	peer_kill(p);
	return false;
}

int64_t peer_count(struct peer *p)
{
	char line[300];
	if (p->fail[0])
		return -1;
	/* A peer that failed has said why and gone: its line is still here. */
	(void)!send(p->ctl, "c", 1, MSG_NOSIGNAL);
	answer(p, line, sizeof(line));
	if (!strncmp(line, "N ", 2))
		return strtoll(line + 2, NULL, 10);
	snprintf(p->fail, sizeof(p->fail), "%s", line[0] ? line : "no answer");
	return -1;
}

bool peer_finish(struct peer *p, int64_t than, int seconds, char *why, size_t len)
{
	for (int i = 0; i < seconds * 100; i++) {
		int64_t n = peer_count(p);
		if (n < 0 || n > than)
			break;
		usleep(10000);
	}
	char msg[300] = "";
	if (p->fail[0])
		snprintf(msg, sizeof(msg), "%s", p->fail);
	else if (send(p->ctl, "s", 1, MSG_NOSIGNAL) == 1)
		answer(p, msg, sizeof(msg));
	int64_t last = -1;
	if (!strncmp(msg, "OK ", 3))
		last = strtoll(msg + 3, NULL, 10);
	peer_kill(p);
	if (last < 0) {
		snprintf(why, len, "TCP peer: %s", msg[0] ? msg : "no verdict");
		return false;
	}
	if (last <= than) {
		snprintf(why, len, "TCP peer: no progress after the restore (%s)", msg);
		return false;
	}
	snprintf(why, len, "%s", msg);
	return true;
}

void peer_kill(struct peer *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	if (p->ctl >= 0)
		close(p->ctl);
	p->pid = -1;
	p->ctl = -1;
}
