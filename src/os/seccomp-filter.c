/* The public side of linux.seccomp: compile in a short-lived child under a
 * deadline, keep the program as plain memory, install it with seccomp(2).
 * See seccomp-filter.h for the contract and the order. */
#include "os/seccomp-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

struct seccomp_prog {
	struct sock_filter *insns;
	unsigned short len;
	unsigned int flags; /* SECCOMP_FILTER_FLAG_*, NEW_LISTENER included when notify */
	bool notify;
};

/* What the compile child leaves in a MAP_SHARED page for the parent. */
struct compile_report {
	struct seccomp_build build;
	volatile int done; /* the child got to the end; rc is set */
	int rc;
	int errnum;
	char msg[1024];
};

/* The BPF program libseccomp wrote to fd, checked against the kernel's limit. */
static int read_bpf(int fd, struct seccomp_prog *p, struct cell_err **err)
{
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0)
		return cell_err_sys(err, "linux.seccomp: size of the BPF program");
	size_t n = (size_t)size / sizeof(struct sock_filter);
	if (n == 0 || (size_t)size % sizeof(struct sock_filter))
		return cell_err(err, EIO, "linux.seccomp: libseccomp exported %lld bytes of BPF",
				(long long)size);
	if (n > BPF_MAXINSNS)
		return cell_err(err, 0, "linux.seccomp: the filter is %zu BPF instructions, more "
				"than the kernel's limit of %d", n, BPF_MAXINSNS);
	if (lseek(fd, 0, SEEK_SET) < 0)
		return cell_err_sys(err, "linux.seccomp: rewind the BPF program");
	p->insns = xmalloc((size_t)size);
	int r = cell_read_all(fd, p->insns, (size_t)size);
	if (r < 0)
		return cell_err(err, -r, "linux.seccomp: read the BPF program back");
	p->len = (unsigned short)n;
	return 0;
}

static int to_prog(int fd, const struct seccomp_build *b, struct seccomp_prog **ret,
		   struct cell_err **err)
{
	struct seccomp_prog *p = xcalloc(1, sizeof(*p));
	int r = read_bpf(fd, p, err);
	if (r < 0) {
		seccomp_prog_free(p);
		return r;
	}
	p->flags = b->flags;
	p->notify = b->notify;
	*ret = p;
	return 0;
}

int seccomp_compile_in_process(const struct oci_seccomp *s, struct seccomp_prog **ret,
			       struct cell_err **err)
{
	struct seccomp_build b;
	_cleanup_close_ int fd = memfd_create("cell-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "linux.seccomp: memfd_create");
	int r = seccomp_build(s, fd, &b, err);
	return r < 0 ? r : to_prog(fd, &b, ret, err);
}

/* In the child: build, report, and leave with a bare exit_group -- the
 * parent's atexit handlers and stdio buffers are not the child's to run. */
static void compile_child(const struct oci_seccomp *s, int fd, struct compile_report *rep)
{
	struct cell_err *e = NULL;
	rep->rc = seccomp_build(s, fd, &rep->build, &e);
	if (rep->rc < 0 && e) {
		rep->errnum = e->errnum;
		snprintf(rep->msg, sizeof(rep->msg), "%s", e->msg);
	}
	rep->done = 1;
	syscall(SYS_exit_group, 0);
}

/* Wait until the child's end of the pipe closes (it exited), at most
 * timeout_ms.  False on timeout. */
static bool wait_exit(int done_fd, int timeout_ms)
{
	uint64_t end = cell_now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		uint64_t now = cell_now_ns();
		if (now >= end)
			return false;
		struct pollfd p = { .fd = done_fd, .events = POLLIN };
		int r = poll(&p, 1, (int)((end - now + 999999u) / 1000000u));
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

/* Set *err to msg with errnum as the recorded cause (msg already says it). */
static int report(struct cell_err **err, int errnum, int rc, const char *msg)
{
	cell_err(err, 0, "%s", msg);
	if (err && *err)
		(*err)->errnum = errnum;
	return rc;
}

static int finish(const struct compile_report *rep, int fd, bool exited, int status,
		  int timeout_ms, struct seccomp_prog **ret, struct cell_err **err)
{
	char where[48] = "", msg[256];
	if (rep->build.entry >= 0)
		snprintf(where, sizeof(where), ".syscalls[%ld]", rep->build.entry);
	if (!exited) {
		snprintf(msg, sizeof(msg), "linux.seccomp%s: libseccomp did not finish within %d ms "
			 "(a libseccomp bug, seen with some argument comparisons)", where,
			 timeout_ms);
		return report(err, ETIMEDOUT, -ETIMEDOUT, msg);
	}
	if (!rep->done && status >= 0 && WIFSIGNALED(status))
		return cell_err(err, 0, "linux.seccomp%s: libseccomp crashed with signal %d",
				where, WTERMSIG(status));
	if (!rep->done)
		return cell_err(err, EIO, "linux.seccomp%s: the compile process ended early", where);
	if (rep->rc < 0)
		return report(err, rep->errnum, rep->rc, rep->msg);
	return to_prog(fd, &rep->build, ret, err);
}

static int run_child(const struct oci_seccomp *s, int fd, struct compile_report *rep,
		     int timeout_ms, struct seccomp_prog **ret, struct cell_err **err)
{
	int pfd[2], status = -1;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return cell_err_sys(err, "linux.seccomp: pipe");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return cell_err(err, e, "linux.seccomp: fork the compile process");
	}
	if (pid == 0) {
		close(pfd[0]);
		compile_child(s, fd, rep);
	}
	close(pfd[1]);
	bool exited = wait_exit(pfd[0], timeout_ms);
	close(pfd[0]);
	if (!exited)
		kill(pid, SIGKILL);
	/* ECHILD (a SIGCHLD handler reaped it) leaves status -1; rep->done
	 * still tells a finished child from a dead one. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return finish(rep, fd, exited, status, timeout_ms, ret, err);
}

int seccomp_compile_deadline(const struct oci_seccomp *s, int timeout_ms,
			     struct seccomp_prog **ret, struct cell_err **err)
{
	_cleanup_close_ int fd = memfd_create("cell-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "linux.seccomp: memfd_create");
	struct compile_report *rep = mmap(NULL, sizeof(*rep), PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED)
		return cell_err_sys(err, "linux.seccomp: mmap");
	rep->build.entry = -1;
	int r = run_child(s, fd, rep, timeout_ms, ret, err);
	munmap(rep, sizeof(*rep));
	return r;
}

int seccomp_compile(const struct oci_seccomp *s, struct seccomp_prog **ret,
		    struct cell_err **err)
{
	return seccomp_compile_deadline(s, SECCOMP_COMPILE_TIMEOUT_MS, ret, err);
}

void seccomp_prog_free(struct seccomp_prog *p)
{
	if (!p)
		return;
	free(p->insns);
	free(p);
}

void seccomp_prog_freep(struct seccomp_prog **p)
{
	seccomp_prog_free(*p);
}

bool seccomp_prog_uses_notify(const struct seccomp_prog *p)
{
	return p->notify;
}

size_t seccomp_prog_len(const struct seccomp_prog *p)
{
	return p->len;
}

const void *seccomp_prog_insns(const struct seccomp_prog *p)
{
	return p->insns;
}

int seccomp_install(const struct seccomp_prog *p, int *ret_listener, struct cell_err **err)
{
	struct sock_fprog prog = { .len = p->len, .filter = p->insns };
	long r = seccomp_syscall(SECCOMP_SET_MODE_FILTER, p->flags, &prog);
	if (r < 0) {
		if (errno == EACCES)
			return cell_err(err, EACCES, "install the seccomp filter: needs "
					"no_new_privs or CAP_SYS_ADMIN");
		return cell_err_sys(err, "install the seccomp filter (flags 0x%x)", p->flags);
	}
	/* With TSYNC (and without a listener, which implies TSYNC_ESRCH) a
	 * positive result is the thread that could not be synchronised. */
	if (!p->notify && r > 0)
		return cell_err(err, 0, "install the seccomp filter: SECCOMP_FILTER_FLAG_TSYNC "
				"could not synchronise thread %ld", r);
	*ret_listener = p->notify ? (int)r : -1;
	return 0;
}

