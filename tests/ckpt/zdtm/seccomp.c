/* Seccomp filters: pid 1 and its thread share a chain of two filters (the
 * second with SECCOMP_FILTER_FLAG_LOG, both through TSYNC); a child adds a
 * third of its own under no_new_privs.  After the restore every filter
 * must still act in every thread, the counts must match, and the threads
 * must still share their chain (a new TSYNC filter is accepted). */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "zdtm.h"

/* Fail syscall nr with errno e; allow the rest. */
static int deny(int nr, int e, unsigned flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)e),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static int allow_all(unsigned flags)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { .len = 1, .filter = f };
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* errno of a syscall, 0 if it succeeded. */
static int err_of(long nr)
{
	struct { int x; } param;
	errno = 0;
	long r = syscall(nr, 0, &param);
	return r < 0 ? errno : 0;
}

static int filters(void)
{
	char buf[4096];
	int fd = open("/proc/thread-self/status", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strstr(buf, "Seccomp_filters:");
	return p ? atoi(p + 16) : -1;
}

static const char *check(int nfilters, bool third)
{
	static char why[128];
	if (err_of(SYS_sched_getscheduler) != 42 || err_of(SYS_sched_getparam) != 43)
		return "a filter does not act";
	if (third && err_of(SYS_sched_get_priority_max) != 44)
		return "the child's own filter does not act";
	if (filters() != nfilters) {
		snprintf(why, sizeof(why), "%d filters, not %d", filters(), nfilters);
		return why;
	}
	return NULL;
}

static volatile int go;
static const char *thread_verdict = "not run";

static void *thread_main(void *arg)
{
	(void)arg;
	/* The driver's SIGTERM is for pid 1's zdtm_wait(): a process-directed
	 * signal may go to any thread that does not block it (right after the
	 * restore's ptrace detach the main thread has TIF_SIGPENDING set, and
	 * the kernel then picks another), and this one would eat it. */
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL);
	while (!go)
		usleep(1000);
	thread_verdict = check(2, false);
	return NULL;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	pthread_t th;
	pthread_create(&th, NULL, thread_main, NULL);
	if (deny(SYS_sched_getscheduler, 42, SECCOMP_FILTER_FLAG_TSYNC) != 0 ||
	    deny(SYS_sched_getparam, 43, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG) != 0)
		zdtm_fail("install filters: %s", strerror(errno));
	int p[2];
	if (pipe(p))
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0) {
		char c;
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (deny(SYS_sched_get_priority_max, 44, 0) != 0)
			_exit(2);
		if (read(p[0], &c, 1) != 1)
			_exit(3);
		_exit(check(3, true) ? 1 : 0);
	}
	zdtm_ready();
	zdtm_wait();
	const char *why = check(2, false);
	if (why)
		zdtm_fail("pid 1: %s", why);
	go = 1;
	pthread_join(th, NULL);
	if (thread_verdict)
		zdtm_fail("thread: %s", thread_verdict);
	if (allow_all(SECCOMP_FILTER_FLAG_TSYNC) != 0)
		zdtm_fail("the threads no longer share their filters (TSYNC: %s)", strerror(errno));
	int status = 0;
	if (write(p[1], "x", 1) != 1 || waitpid(kid, &status, 0) != kid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		zdtm_fail("the child's filters are wrong (status %#x)", status);
	zdtm_pass();
}
