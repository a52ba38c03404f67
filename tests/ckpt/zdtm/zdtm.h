/* zdtm-style test programs (CRIU's idea): each builds some state, says it
 * is ready, waits to be checkpointed and restored (or left running), and
 * on SIGTERM checks that the state survived and writes its verdict.
 *
 *   NAME READY_FILE VERDICT_FILE
 *
 * READY_FILE is created once the state is built; VERDICT_FILE gets "PASS"
 * or "FAIL: why".  The driver (tests/ckpt/driver.c) runs each program as
 * pid 1 of a fresh PID and mount namespace. */
#ifndef ZDTM_H
#define ZDTM_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *zdtm_ready_path, *zdtm_verdict_path;
static volatile sig_atomic_t zdtm_term;

static void zdtm_on_term(int sig)
{
	(void)sig;
	zdtm_term = 1;
}

static inline void zdtm_init(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s READY VERDICT\n", argv[0]);
		exit(2);
	}
	zdtm_ready_path = argv[1];
	zdtm_verdict_path = argv[2];
	struct sigaction sa = { .sa_handler = zdtm_on_term };
	sigaction(SIGTERM, &sa, NULL);
}

static inline void zdtm_verdict(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	int fd = open(zdtm_verdict_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, buf, (size_t)n) < 0)
			_exit(3);
		close(fd);
	}
}

#define zdtm_fail(...)                                       \
	do {                                                 \
		char zdtm_b_[900];                           \
		snprintf(zdtm_b_, sizeof(zdtm_b_), __VA_ARGS__); \
		zdtm_verdict("FAIL: %s", zdtm_b_);           \
		exit(1);                                     \
	} while (0)

#define zdtm_check(cond)                                                  \
	do {                                                              \
		if (!(cond))                                              \
			zdtm_fail("%s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

static inline void zdtm_pass(void)
{
	zdtm_verdict("PASS");
	exit(0);
}

/* Say the state is built. */
static inline void zdtm_ready(void)
{
	int fd = open(zdtm_ready_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		zdtm_fail("create %s: %s", zdtm_ready_path, strerror(errno));
	close(fd);
}

/* Sleep until SIGTERM: the checkpoint and restore happen meanwhile.
 * SIGTERM stays blocked outside sigsuspend: a thread restored inside the
 * call resumes just before it (the syscall is restarted), and a SIGTERM
 * that came in that window with SIGTERM unblocked ran its handler there,
 * then the call slept for good (a restore hung, once in some thousand). */
static inline void zdtm_wait(void)
{
	sigset_t term, old, during;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	during = old;
	sigdelset(&during, SIGTERM);
	while (!zdtm_term)
		sigsuspend(&during);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The mapping that holds addr, from /proc/self/maps: its protection as
 * maps shows it ("---p" and so on) in perms, its bounds in *start and *end
 * (either may be NULL); 0 if no mapping holds it. */
static inline int zdtm_vma_of(const void *addr, char perms[5], uintptr_t *start, uintptr_t *end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int found = 0;
	unsigned long a = (unsigned long)addr, s = 0, e = 0;
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && a >= s && a < e;
	if (f)
		fclose(f);
	if (found && start)
		*start = s;
	if (found && end)
		*end = e;
	return found;
}

static inline int zdtm_perms(const void *addr, char perms[5])
{
	return zdtm_vma_of(addr, perms, NULL, NULL);
}

/* A pattern of len bytes that depends on seed, and whether p holds it. */
static inline void zdtm_fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 31 + seed);
}

static inline int zdtm_same(const unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 31 + seed))
			return 0;
	return 1;
}

#endif
