/* The redis test's client (redis-client.h). */
#include "redis-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_WAIT_MS 15000

struct conn {
	int s;
	char buf[1 << 16];
	size_t have, at;
	uint64_t longest_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool send_all(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(c->s, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		p += k, n -= (size_t)k;
	}
	return true;
}

/* One reply line (without CRLF) into out; false on EOF, error or timeout. */
static bool line(struct conn *c, char *out, size_t len)
{
	uint64_t t0 = now_ms();
	for (;;) {
		char *nl = c->at < c->have ? memchr(c->buf + c->at, '\n', c->have - c->at) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - (c->buf + c->at));
			if (n && nl[-1] == '\r')
				n--;
			if (n >= len)
				return false;
			memcpy(out, c->buf + c->at, n);
			out[n] = '\0';
			c->at = (size_t)(nl - c->buf) + 1;
			uint64_t w = now_ms() - t0;
			if (w > c->longest_ms)
				c->longest_ms = w;
			return true;
		}
		if (c->at == c->have)
			c->at = c->have = 0;
		else if (c->at) {
			memmove(c->buf, c->buf + c->at, c->have - c->at);
			c->have -= c->at, c->at = 0;
		}
		struct pollfd p = { c->s, POLLIN, 0 };
		int left = REPLY_WAIT_MS - (int)(now_ms() - t0);
		if (left <= 0 || poll(&p, 1, left) != 1)
			return false;
		ssize_t k = recv(c->s, c->buf + c->have, sizeof(c->buf) - c->have, 0);
		if (k <= 0)
			return false;
		c->have += (size_t)k;
	}
}

static void cmd(char *out, size_t len, size_t *n, int argc, ...)
{
	va_list ap;
	va_start(ap, argc);
	*n += (size_t)snprintf(out + *n, len - *n, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++) {
		const char *a = va_arg(ap, const char *);
		*n += (size_t)snprintf(out + *n, len - *n, "$%zu\r\n%s\r\n", strlen(a), a);
	}
	va_end(ap);
}

static int dial(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(6379) };
	inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
	for (int i = 0; i < 1000; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
			int one = 1;
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return s;
		}
		close(s);
		usleep(10000);
	}
	return -1;
}

static bool load(struct conn *c, int keys, const char *salt, char *fail, size_t flen)
{
	static char out[1 << 20];
	for (int i = 0; i < keys; i += 1000) {
		size_t n = 0;
		for (int k = i; k < i + 1000 && k < keys; k++) {
			char key[32], val[64];
			snprintf(key, sizeof(key), "key:%d", k);
			snprintf(val, sizeof(val), "value:%d:%s", k, salt);
			cmd(out, sizeof(out), &n, 3, "SET", key, val);
		}
		if (!send_all(c, out, n))
			return snprintf(fail, flen, "send SETs"), false;
		for (int k = i; k < i + 1000 && k < keys; k++) {
			char r[64];
			if (!line(c, r, sizeof(r)) || strcmp(r, "+OK"))
				return snprintf(fail, flen, "SET key:%d: %s", k, r), false;
		}
	}
	return true;
}

/* The command loop: pipelined, like a busy client.  Every millisecond or
 * so an INCR of the counter and a GET of a random key go out, whatever is
 * still unanswered (up to MAX_OUT pairs), so requests keep arriving while
 * redis is stopped for the checkpoint; the answers are checked in order:
 * each INCR one more than the last (a request lost or run twice shows), each
 * GET the value this client set. */
#define MAX_OUT 512

struct pipeline {
	int key[MAX_OUT];
	size_t head, tail; /* sent pairs: tail..head */
	int64_t ctr;	   /* the counter's last answer */
	bool incr_done;	   /* the head pair's INCR is answered, its GET not */
	uint64_t last_answer_ms, longest_ms;
};

static bool send_pair(struct conn *c, struct pipeline *p, int keys)
{
	char out[256], key[32];
	size_t n = 0;
	int k = rand() % keys;
	snprintf(key, sizeof(key), "key:%d", k);
	cmd(out, sizeof(out), &n, 2, "INCR", "counter");
	cmd(out, sizeof(out), &n, 2, "GET", key);
	if (!send_all(c, out, n))
		return false;
	p->key[p->head++ % MAX_OUT] = k;
	return true;
}

/* Check the complete answers in the buffer; false and fail set on a wrong one. */
static bool check_answers(struct conn *c, struct pipeline *p, const char *salt, char *fail,
			  size_t flen)
{
	for (;;) {
		char *start = c->buf + c->at, *end = c->buf + c->have;
		char *nl = memchr(start, '\n', (size_t)(end - start));
		if (!nl || p->tail == p->head)
			return true;
		if (!p->incr_done) {
			if (start[0] != ':' || strtoll(start + 1, NULL, 10) != p->ctr + 1)
				return snprintf(fail, flen, "INCR answered %.20s after %lld", start,
						(long long)p->ctr), false;
			p->ctr++;
			p->incr_done = true;
			c->at = (size_t)(nl + 1 - c->buf);
			continue;
		}
		/* "$len\r\nvalue\r\n": both lines must be here. */
		char *nl2 = memchr(nl + 1, '\n', (size_t)(end - nl - 1));
		if (!nl2)
			return true;
		char want[64];
		int k = p->key[p->tail % MAX_OUT];
		snprintf(want, sizeof(want), "value:%d:%s", k, salt);
		if (start[0] != '$' || (size_t)(nl2 - nl - 2) != strlen(want) ||
		    memcmp(nl + 1, want, strlen(want)))
			return snprintf(fail, flen, "GET key:%d answered %.40s", k, start), false;
		c->at = (size_t)(nl2 + 1 - c->buf);
		p->tail++;
		p->incr_done = false;
		uint64_t t = now_ms();
		if (t - p->last_answer_ms > p->longest_ms)
			p->longest_ms = t - p->last_answer_ms;
		p->last_answer_ms = t;
	}
}

static bool pump(struct conn *c, struct pipeline *p, int keys, const char *salt, char *fail,
		 size_t flen)
{
	if (p->head - p->tail < MAX_OUT && !send_pair(c, p, keys))
		return snprintf(fail, flen, "send: %s", strerror(errno)), false;
	if (c->at == c->have)
		c->at = c->have = 0;
	else if (c->at > sizeof(c->buf) / 2) {
		memmove(c->buf, c->buf + c->at, c->have - c->at);
		c->have -= c->at, c->at = 0;
	}
	ssize_t k = recv(c->s, c->buf + c->have, sizeof(c->buf) - c->have, MSG_DONTWAIT);
	if (k == 0 || (k < 0 && errno != EAGAIN))
		return snprintf(fail, flen, "recv: %s", k ? strerror(errno) : "EOF"), false;
	if (k > 0)
		c->have += (size_t)k;
	if (!check_answers(c, p, salt, fail, flen))
		return false;
	if (p->tail != p->head && now_ms() - p->last_answer_ms > REPLY_WAIT_MS)
		return snprintf(fail, flen, "no answer for %d ms", REPLY_WAIT_MS), false;
	return true;
}

/* Wait for every request sent to be answered. */
static bool settle(struct conn *c, struct pipeline *p, const char *salt, char *fail, size_t flen)
{
	while (p->tail != p->head) {
		struct pollfd pf = { c->s, POLLIN, 0 };
		if (poll(&pf, 1, REPLY_WAIT_MS) != 1)
			return snprintf(fail, flen, "answers missing at the end"), false;
		ssize_t k = recv(c->s, c->buf + c->have, sizeof(c->buf) - c->have, 0);
		if (k <= 0)
			return snprintf(fail, flen, "recv at the end"), false;
		c->have += (size_t)k;
		if (!check_answers(c, p, salt, fail, flen))
			return false;
	}
	return true;
}

static int client_main(int netfd, int keys, int ctl)
{
	static struct conn c;
	char fail[256] = "", salt[16];
	if (setns(netfd, CLONE_NEWNET) < 0 || (c.s = dial()) < 0)
		return dprintf(ctl, "FAIL: cannot reach redis\n"), 1;
	srand((unsigned)getpid());
	snprintf(salt, sizeof(salt), "%x", (unsigned)rand());
	if (!load(&c, keys, salt, fail, sizeof(fail)))
		return dprintf(ctl, "FAIL: %s\n", fail), 1;
	static struct pipeline p;
	p.last_answer_ms = now_ms();
	if (!pump(&c, &p, keys, salt, fail, sizeof(fail)) ||
	    !settle(&c, &p, salt, fail, sizeof(fail)) || write(ctl, "E", 1) != 1)
		return dprintf(ctl, "FAIL: %s\n", fail), 1;
	p.longest_ms = 0;
	for (;;) {
		struct pollfd pf[2] = { { ctl, POLLIN, 0 }, { c.s, POLLIN, 0 } };
		poll(pf, 2, 1);
		if (pf[0].revents) {
			char x = 0;
			if (read(ctl, &x, 1) != 1 || x == 's')
				break;
			dprintf(ctl, "N %lld\n", (long long)p.ctr);
		}
		if (!pump(&c, &p, keys, salt, fail, sizeof(fail)))
			return dprintf(ctl, "FAIL: %s after %lld answers\n", fail, (long long)p.ctr), 1;
	}
	if (!settle(&c, &p, salt, fail, sizeof(fail)))
		return dprintf(ctl, "FAIL: %s\n", fail), 1;
	int64_t ctr = p.ctr;
	c.longest_ms = p.longest_ms;
	char out[64], r[64];
	size_t n = 0;
	cmd(out, sizeof(out), &n, 1, "DBSIZE");
	if (!send_all(&c, out, n) || !line(&c, r, sizeof(r)) || strtoll(r + 1, NULL, 10) != keys + 1)
		return dprintf(ctl, "FAIL: DBSIZE %s, not %d\n", r, keys + 1), 1;
	dprintf(ctl, "OK %lld answers on one connection, longest wait %llu ms\n", (long long)ctr,
		(unsigned long long)c.longest_ms);
	return 0;
}

static void answer(struct client *c, char *buf, size_t len, int ms)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { c->ctl, POLLIN, 0 };
		if (poll(&p, 1, ms) != 1 || read(c->ctl, buf + n, 1) != 1 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
}

bool client_start(struct client *c, int netfd, int keys, char *why, size_t len)
{
	int sv[2];
	*c = (struct client){ .pid = -1, .ctl = -1 };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return snprintf(why, len, "socketpair"), false;
	c->pid = fork();
	if (c->pid == 0) {
		close(sv[0]);
		_exit(client_main(netfd, keys, sv[1]));
	}
	close(sv[1]);
	c->ctl = sv[0];
	char msg[300] = "";
	struct pollfd p = { c->ctl, POLLIN, 0 };
	if (poll(&p, 1, 120000) == 1 && read(c->ctl, msg, 1) == 1 && msg[0] == 'E')
		return true;
	answer(c, msg + (msg[0] != 0), sizeof(msg) - 1, 1000);
	snprintf(why, len, "client: %s", msg[0] ? msg : "no answer");
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->ctl);
	return false;
}

int64_t client_count(struct client *c)
{
	char line[300];
	if (c->fail[0])
		return -1;
	(void)!send(c->ctl, "c", 1, MSG_NOSIGNAL);
	answer(c, line, sizeof(line), 20000);
	if (!strncmp(line, "N ", 2))
		return strtoll(line + 2, NULL, 10);
	snprintf(c->fail, sizeof(c->fail), "%s", line[0] ? line : "no answer");
	return -1;
}

bool client_stop(struct client *c, int64_t than, char *why, size_t len)
{
	for (int i = 0; i < 1000; i++) {
		int64_t n = client_count(c);
		if (n < 0 || n > than)
			break;
		usleep(10000);
	}
	char msg[300] = "";
	if (c->fail[0])
		snprintf(msg, sizeof(msg), "%s", c->fail);
	else if (send(c->ctl, "s", 1, MSG_NOSIGNAL) == 1)
		answer(c, msg, sizeof(msg), 20000);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->ctl);
	bool ok = !strncmp(msg, "OK ", 3) && strtoll(msg + 3, NULL, 10) > than;
	if (!why[0] || ok)
		snprintf(why, len, "client: %s", msg[0] ? msg : "no verdict");
	return ok;
}
