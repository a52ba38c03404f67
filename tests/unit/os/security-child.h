/* Shared by tests/unit/os/test-security*.c: run the code under test in a
 * forked child (it changes credentials, limits and filters for good) and
 * collect what it reports through a pipe, plus how it ended. */
#ifndef CELL_TESTS_SECURITY_CHILD_H
#define CELL_TESTS_SECURITY_CHILD_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"

struct child_result {
	int status;      /* from waitpid */
	char out[16384]; /* everything the child wrote to its fd */
};

/* End the child with a bare exit_group(2): the sanitizers' _exit hook runs
 * their exit checks (leaks, sigaltstack teardown), which fail in a child that
 * switched uid or whose seccomp filter denies what they call. */
static inline void __attribute__((noreturn)) child_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_unreachable();
}

/* In the child: report a line.  Formats on the stack and makes one write(2):
 * under a seccomp allow-list the child may not be able to allocate. */
__attribute__((format(printf, 2, 3))) static inline void child_say(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (n > 0 && write(fd, buf, (size_t)n) < 0)
		child_exit(9);
}

/* In the child: report a failed call and end. */
static inline void child_fail(int fd, const char *what, struct cell_err *e)
{
	child_say(fd, "error: %s: %s\n", what, e && e->msg ? e->msg : "(no message)");
	child_exit(1);
}

/* Fork; the child runs fn(c, arg) and exits 0 when fn returns.  hook, if
 * not NULL, runs in the parent with the child's pid before the output is
 * read, e.g. to set limits on the child from outside; the child waits for
 * it with child_wait_go() (EOF on go_fd once the hook returned). */
struct child_ctx {
	int fd;    /* write reports here */
	int go_fd; /* read end: EOF once the parent's hook ran */
};

static inline void run_child(void (*fn)(const struct child_ctx *c, void *arg), void *arg,
			     void (*hook)(pid_t pid, void *arg), struct child_result *res)
{
	int out[2], go[2];
	memset(res, 0, sizeof(*res));
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(out[0]);
		close(go[1]);
		struct child_ctx c = { .fd = out[1], .go_fd = go[0] };
		fn(&c, arg);
		child_exit(0);
	}
	close(out[1]);
	close(go[0]);
	if (hook)
		hook(pid, arg);
	close(go[1]);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(out[0], res->out + len, sizeof(res->out) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof(res->out) - 1)
			break;
	}
	res->out[len] = '\0';
	close(out[0]);
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
}

/* In the child: wait until the parent's hook ran. */
static inline void child_wait_go(const struct child_ctx *c)
{
	char b;
	while (read(c->go_fd, &b, 1) < 0 && errno == EINTR)
		;
}

static inline bool child_ok(const struct child_result *r)
{
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

/* The value after "key" at the start of a line ("CapEff:\t0000..."), with
 * leading blanks skipped, up to the end of the line, copied into buf. */
static inline const char *field(const struct child_result *r, const char *key, char *buf,
				size_t size)
{
	size_t n = strlen(key);
	for (const char *p = r->out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, n) != 0)
			continue;
		p += n;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, "\n");
		if (len >= size)
			len = size - 1;
		memcpy(buf, p, len);
		buf[len] = '\0';
		return buf;
	}
	return NULL;
}

/* In the child: copy the lines of /proc/self/status that start with prefix. */
static inline void child_status(int fd, const char *prefix)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[512];
	if (!f) {
		child_say(fd, "error: open /proc/self/status: %s\n", strerror(errno));
		child_exit(1);
	}
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			child_say(fd, "%s", line);
	fclose(f);
}

#endif
