/* os/seccomp-filter.h: profiles compiled here (the parent), installed in a
 * forked child that then makes syscalls and reports what they returned. */
#include <fcntl.h>
#include <poll.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "os/security.h"
#include "security-child.h"
#include "t.h"

#define EXPECT_FIELD(res, key, want)                                    \
	do {                                                            \
		char buf_[256];                                         \
		T_ASSERT_STR(field((res), (key), buf_, sizeof(buf_)), (want)); \
	} while (0)

#define EXPECT_OK(r)                                                           \
	do {                                                                   \
		if (!child_ok(r))                                              \
			T_FAIL("child: status 0x%x: %s", (r)->status, (r)->out); \
	} while (0)

/* In the child: "name: ok" or "name: errno N". */
#define SAY(c, name, call)                                                    \
	do {                                                                  \
		errno = 0;                                                    \
		long rv_ = (long)(call);                                      \
		int e_ = errno;                                               \
		if (rv_ < 0)                                                  \
			child_say((c)->fd, "%s: errno %d\n", (name), e_);    \
		else                                                          \
			child_say((c)->fd, "%s: ok\n", (name));               \
	} while (0)

#define NO_DIR "/nonexistent-cell-test/x"

struct run {
	struct seccomp_prog *prog;
	void (*body)(const struct child_ctx *c, int listener);
	bool no_nnp;
};

static void sc_child(const struct child_ctx *c, void *arg)
{
	struct run *r = arg;
	struct cell_err *e = NULL;
	int listener = -2;
	if (!r->no_nnp && procattr_set_no_new_privs(&e) < 0)
		child_fail(c->fd, "nnp", e);
	if (seccomp_install(r->prog, &listener, &e) < 0)
		child_fail(c->fd, "install", e);
	r->body(c, listener);
}

static int compile(const struct oci_seccomp *s, struct seccomp_prog **ret, char *why, size_t n)
{
	struct cell_err *e = NULL;
	int r = seccomp_compile(s, ret, &e);
	if (r < 0) {
		snprintf(why, n, "seccomp_compile: %s", e->msg);
		cell_err_free(e);
	}
	return r;
}

/* Compile s, run body under it in a child, free the program. */
#define RUN(s, bodyfn, res)                                                        \
	do {                                                                       \
		char why_[512];                                                    \
		struct run run_ = { .body = (bodyfn) };                            \
		if (compile((s), &run_.prog, why_, sizeof(why_)) < 0)              \
			T_FAIL("%s", why_);                                        \
		run_child(sc_child, &run_, NULL, (res));                           \
		seccomp_prog_free(run_.prog);                                      \
	} while (0)

static char *n_mkdir[] = { "mkdir", "mkdirat", NULL };
static char *n_socket[] = { "socket", NULL };
static char *n_close[] = { "close", NULL };
static char *n_getppid[] = { "getppid", NULL };

static void body_mkdir(const struct child_ctx *c, int listener)
{
	SAY(c, "mkdir", syscall(SYS_mkdir, NO_DIR, 0700));
	SAY(c, "mkdirat", syscall(SYS_mkdirat, AT_FDCWD, NO_DIR, 0700));
	SAY(c, "getpid", syscall(SYS_getpid));
	SAY(c, "getppid", syscall(SYS_getppid));
}

static void errno_with_configured_value(void)
{
	struct oci_seccomp_syscall sc = { .names = n_mkdir, .action = OCI_SECCOMP_ERRNO,
					  .has_errno_ret = true, .errno_ret = EROFS };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_mkdir, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "mkdir:", "errno 30");
	EXPECT_FIELD(&r, "mkdirat:", "errno 30");
	EXPECT_FIELD(&r, "getpid:", "ok");
}

static void errno_defaults_to_eperm(void)
{
	struct oci_seccomp_syscall sc = { .names = n_mkdir, .action = OCI_SECCOMP_ERRNO };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_mkdir, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "mkdir:", "errno 1");
	/* The filter really is what decides: without it, ENOENT. */
	T_ASSERT(syscall(SYS_mkdir, NO_DIR, 0700) < 0 && errno == ENOENT);
}

static void body_personality(const struct child_ctx *c, int listener)
{
	SAY(c, "query", syscall(SYS_personality, 0xffffffffUL));
	SAY(c, "set", syscall(SYS_personality, (unsigned long)PER_LINUX));
}

static void arg_filter_personality(void)
{
	static char *names[] = { "personality", NULL };
	struct oci_seccomp_arg a = { .index = 0, .value = 0xffffffff, .op = SCMP_CMP_NE };
	struct oci_seccomp_syscall sc = { .names = names, .action = OCI_SECCOMP_ERRNO,
					  .has_errno_ret = true, .errno_ret = EACCES,
					  .args = &a, .n_args = 1 };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_personality, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "query:", "ok");
	EXPECT_FIELD(&r, "set:", "errno 13");
}

static long sock(int domain, int type)
{
	long fd = syscall(SYS_socket, domain, type, 0);
	if (fd >= 0)
		close((int)fd);
	return fd;
}

static void body_socket(const struct child_ctx *c, int listener)
{
	SAY(c, "inet-stream", sock(AF_INET, SOCK_STREAM));
	SAY(c, "inet-dgram", sock(AF_INET, SOCK_DGRAM));
	SAY(c, "inet6-stream", sock(AF_INET6, SOCK_STREAM));
	SAY(c, "unix-stream", sock(AF_UNIX, SOCK_STREAM));
	SAY(c, "unix-dgram", sock(AF_UNIX, SOCK_DGRAM));
}

static void arg_filter_socket_family(void)
{
	struct oci_seccomp_arg a = { .index = 0, .value = AF_INET, .op = SCMP_CMP_EQ };
	struct oci_seccomp_syscall sc = { .names = n_socket, .action = OCI_SECCOMP_ERRNO,
					  .has_errno_ret = true, .errno_ret = EAFNOSUPPORT,
					  .args = &a, .n_args = 1 };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_socket, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "inet-stream:", "errno 97");
	EXPECT_FIELD(&r, "inet-dgram:", "errno 97");
	EXPECT_FIELD(&r, "inet6-stream:", "ok");
	EXPECT_FIELD(&r, "unix-stream:", "ok");
}

/* Two args of one entry: both must match (AND). */
static void args_of_one_entry_are_anded(void)
{
	struct oci_seccomp_arg a[] = { { .index = 0, .value = AF_INET, .op = SCMP_CMP_EQ },
				       { .index = 1, .value = SOCK_DGRAM, .op = SCMP_CMP_EQ } };
	struct oci_seccomp_syscall sc = { .names = n_socket, .action = OCI_SECCOMP_ERRNO,
					  .args = a, .n_args = 2 };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_socket, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "inet-dgram:", "errno 1");
	EXPECT_FIELD(&r, "inet-stream:", "ok");
	EXPECT_FIELD(&r, "unix-dgram:", "ok");
}

/* Two entries for one name: either may match (OR). */
static void entries_for_one_name_are_ored(void)
{
	struct oci_seccomp_arg a0 = { .index = 0, .value = AF_INET, .op = SCMP_CMP_EQ };
	struct oci_seccomp_arg a1 = { .index = 0, .value = AF_INET6, .op = SCMP_CMP_EQ };
	struct oci_seccomp_syscall sc[] = {
		{ .names = n_socket, .action = OCI_SECCOMP_ERRNO, .args = &a0, .n_args = 1 },
		{ .names = n_socket, .action = OCI_SECCOMP_ERRNO, .has_errno_ret = true,
		  .errno_ret = EACCES, .args = &a1, .n_args = 1 },
	};
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = sc,
				 .n_syscalls = 2 };
	struct child_result r;
	RUN(&s, body_socket, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "inet-stream:", "errno 1");
	EXPECT_FIELD(&r, "inet6-stream:", "errno 13");
	EXPECT_FIELD(&r, "unix-stream:", "ok");
}

/* One entry comparing one argument twice: runc's semantics, each its own rule. */
static void same_argument_twice_is_ored(void)
{
	struct oci_seccomp_arg a[] = { { .index = 0, .value = AF_INET, .op = SCMP_CMP_EQ },
				       { .index = 0, .value = AF_INET6, .op = SCMP_CMP_EQ } };
	struct oci_seccomp_syscall sc = { .names = n_socket, .action = OCI_SECCOMP_ERRNO,
					  .args = a, .n_args = 2 };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_socket, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "inet-stream:", "errno 1");
	EXPECT_FIELD(&r, "inet6-stream:", "errno 1");
	EXPECT_FIELD(&r, "unix-stream:", "ok");
}

static long probe_fds[2];

static void body_close(const struct child_ctx *c, int listener)
{
	SAY(c, "a", syscall(SYS_close, probe_fds[0]));
	SAY(c, "b", syscall(SYS_close, probe_fds[1]));
}

/* Every operator, on close(fd) of fds that are not open: EBADF (9) when
 * the filter lets it through, ENOTTY (25) when the rule matches. */
static void every_operator(void)
{
	static const struct {
		int op;
		uint64_t value, value_two;
		long match, miss;
	} cases[] = {
		{ SCMP_CMP_NE, 1000, 0, 1001, 1000 },
		{ SCMP_CMP_LT, 1000, 0, 999, 1000 },
		{ SCMP_CMP_LE, 1000, 0, 1000, 1001 },
		{ SCMP_CMP_EQ, 1000, 0, 1000, 999 },
		{ SCMP_CMP_GE, 1000, 0, 1000, 999 },
		{ SCMP_CMP_GT, 1000, 0, 1001, 1000 },
		/* value is the mask, valueTwo the datum */
		{ SCMP_CMP_MASKED_EQ, 0xf00, 0x100, 0x31a5, 0x32a5 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct oci_seccomp_arg a = { .index = 0, .value = cases[i].value,
					     .value_two = cases[i].value_two, .op = cases[i].op };
		struct oci_seccomp_syscall sc = { .names = n_close, .action = OCI_SECCOMP_ERRNO,
						  .has_errno_ret = true, .errno_ret = ENOTTY,
						  .args = &a, .n_args = 1 };
		struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
					 .n_syscalls = 1 };
		struct child_result r;
		char a_[64], b_[64];
		probe_fds[0] = cases[i].match;
		probe_fds[1] = cases[i].miss;
		RUN(&s, body_close, &r);
		EXPECT_OK(&r);
		if (strcmp(field(&r, "a:", a_, sizeof(a_)) ?: "", "errno 25") != 0 ||
		    strcmp(field(&r, "b:", b_, sizeof(b_)) ?: "", "errno 9") != 0)
			T_FAIL("operator %d: %s", cases[i].op, r.out);
	}
}

static void body_getppid(const struct child_ctx *c, int listener)
{
	child_say(c->fd, "before\n");
	SAY(c, "getppid", syscall(SYS_getppid));
	child_say(c->fd, "after\n");
}

static void kill_actions_end_the_process_with_sigsys(void)
{
	const enum oci_seccomp_action_kind kinds[] = { OCI_SECCOMP_KILL_PROCESS,
						       OCI_SECCOMP_KILL_THREAD, OCI_SECCOMP_KILL };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct oci_seccomp_syscall sc = { .names = n_getppid, .action = kinds[i] };
		struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
					 .n_syscalls = 1 };
		struct child_result r;
		RUN(&s, body_getppid, &r);
		if (!WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGSYS)
			T_FAIL("action %d: status 0x%x, output %s", kinds[i], r.status, r.out);
		T_ASSERT_STR(r.out, "before\n");
	}
}

static int trap_fd = -1;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "trap: nr %d code %d\n", si->si_syscall, si->si_code);
	if (write(trap_fd, buf, (size_t)n) < 0)
		child_exit(5);
}

static void body_trap(const struct child_ctx *c, int listener)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	trap_fd = c->fd;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		child_exit(6);
	syscall(SYS_getppid);
	child_say(c->fd, "after: yes\n");
}

static void trap_raises_sigsys_with_the_syscall(void)
{
	struct oci_seccomp_syscall sc = { .names = n_getppid, .action = OCI_SECCOMP_TRAP };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	char want[64];
	/* Installing the handler needs rt_sigaction, so this runs under ALLOW. */
	RUN(&s, body_trap, &r);
	EXPECT_OK(&r);
	snprintf(want, sizeof(want), "nr %d code %d", (int)SYS_getppid, 1 /* SYS_SECCOMP */);
	EXPECT_FIELD(&r, "trap:", want);
	EXPECT_FIELD(&r, "after:", "yes");
}

static void trace_without_tracer_is_enosys(void)
{
	struct oci_seccomp_syscall sc = { .names = n_getppid, .action = OCI_SECCOMP_TRACE };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_getppid, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "getppid:", "errno 38");
}

/* What the child needs after the filter is in: write its report, exit, and
 * sigaltstack, which ASan calls before every noreturn call (child_exit). */
static char *n_needed[] = { "write", "exit", "exit_group", "getpid", "sigaltstack", NULL };

static void default_errno_with_allow_list(void)
{
	struct oci_seccomp_syscall sc = { .names = n_needed, .action = OCI_SECCOMP_ALLOW };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ERRNO,
				 .has_default_errno_ret = true, .default_errno_ret = ENOSYS,
				 .syscalls = &sc, .n_syscalls = 1 };
	struct child_result r;
	RUN(&s, body_mkdir, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "getpid:", "ok");
	EXPECT_FIELD(&r, "getppid:", "errno 38");
	EXPECT_FIELD(&r, "mkdir:", "errno 38");
}

static bool prog_returns(const struct seccomp_prog *p, uint32_t action)
{
	const struct sock_filter *f = seccomp_prog_insns(p);
	for (size_t i = 0; i < seccomp_prog_len(p); i++)
		if (f[i].code == (BPF_RET | BPF_K) && f[i].k == action)
			return true;
	return false;
}

/* The kernel's audit record of a logged syscall of pid, from /dev/kmsg
 * (read from kmsg_fd, opened and moved to the end before the child ran). */
static bool kmsg_has(int kmsg_fd, pid_t pid, long nr)
{
	char rec[8192], pidpat[32], nrpat[32];
	uint64_t end = cell_now_ns() + 3000000000u; /* kauditd hands records on later */
	snprintf(pidpat, sizeof(pidpat), " pid=%d ", (int)pid);
	snprintf(nrpat, sizeof(nrpat), " syscall=%ld ", nr);
	while (cell_now_ns() < end) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = kmsg_fd, .events = POLLIN };
			poll(&p, 1, 100);
			continue;
		}
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			return false;
		rec[n] = '\0';
		if (strstr(rec, "type=1326") && strstr(rec, pidpat) && strstr(rec, nrpat))
			return true;
	}
	return false;
}

static void body_log(const struct child_ctx *c, int listener)
{
	child_say(c->fd, "pid: %ld\n", syscall(SYS_getpid));
	child_say(c->fd, "getppid: %ld\n", syscall(SYS_getppid));
}

static void log_allows_and_logs(void)
{
	struct oci_seccomp_syscall sc[] = {
		{ .names = n_needed, .action = OCI_SECCOMP_ALLOW },
		{ .names = n_getppid, .action = OCI_SECCOMP_LOG },
	};
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ERRNO, .syscalls = sc,
				 .n_syscalls = 2 };
	struct run run = { .body = body_log };
	struct child_result r;
	char why[512], buf[64], want[32];
	if (compile(&s, &run.prog, why, sizeof(why)) < 0)
		T_FAIL("%s", why);
	T_ASSERT(prog_returns(run.prog, SECCOMP_RET_LOG));
	int kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	run_child(sc_child, &run, NULL, &r);
	seccomp_prog_free(run.prog);
	if (!child_ok(&r)) {
		if (kmsg >= 0)
			close(kmsg);
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	}
	snprintf(want, sizeof(want), "%d", (int)getpid());
	const char *pid = field(&r, "pid:", buf, sizeof(buf));
	pid_t child = pid ? (pid_t)atoi(pid) : -1;
	EXPECT_FIELD(&r, "getppid:", want);
	/* Logged when "log" is in kernel.seccomp.actions_logged and kauditd
	 * (no auditd here) passes the record on to the kernel log. */
	bool logged = kmsg >= 0 && kmsg_has(kmsg, child, SYS_getppid);
	if (kmsg >= 0)
		close(kmsg);
	if (!logged)
		T_SKIP("filter allows with SECCOMP_RET_LOG; no audit record in /dev/kmsg "
		       "(printk rate limit after back-to-back runs?)");
}

struct notify_ctx {
	int sv[2];
	struct seccomp_prog *prog;
	char err[256];
	int nr;
};

static void body_notify(const struct child_ctx *c, int listener)
{
	child_say(c->fd, "listener: %s\n", listener >= 0 ? "yes" : "no");
	SAY(c, "mkdir", syscall(SYS_mkdir, NO_DIR, 0700));
	SAY(c, "getpid", syscall(SYS_getpid));
}

static void notify_child(const struct child_ctx *c, void *arg)
{
	struct notify_ctx *n = arg;
	struct cell_err *e = NULL;
	int listener = -1;
	char dummy = 'x';
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };

	close(n->sv[0]);
	if (procattr_set_no_new_privs(&e) < 0 || seccomp_install(n->prog, &listener, &e) < 0)
		child_fail(c->fd, "install", e);
	/* Step 13 of os/security.h: hand the listener to the runtime. */
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &listener, sizeof(int));
	if (sendmsg(n->sv[1], &mh, 0) < 0)
		child_exit(7);
	close(listener);
	body_notify(c, listener);
}

static int recv_fd(int sock)
{
	char dummy;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fd = -1;
	if (cm && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The supervisor (what listenerPath's agent does): answer mkdir with EXDEV. */
static void supervise(pid_t pid, void *arg)
{
	struct notify_ctx *n = arg;
	close(n->sv[1]);
	_cleanup_close_ int listener = recv_fd(n->sv[0]);
	close(n->sv[0]);
	if (listener < 0) {
		snprintf(n->err, sizeof(n->err), "no listener fd received");
		return;
	}
	struct seccomp_notif req = { 0 };
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
		snprintf(n->err, sizeof(n->err), "NOTIF_RECV: %s", strerror(errno));
		return;
	}
	n->nr = req.data.nr;
	struct seccomp_notif_resp resp = { .id = req.id, .error = -EXDEV };
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0)
		snprintf(n->err, sizeof(n->err), "NOTIF_SEND: %s", strerror(errno));
}

static void notify_hands_the_syscall_to_the_listener(void)
{
	static char *flags[] = { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };
	static char *names[] = { "mkdir", NULL };
	struct oci_seccomp_syscall sc = { .names = names, .action = OCI_SECCOMP_NOTIFY };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .flags = flags,
				 .syscalls = &sc, .n_syscalls = 1 };
	struct notify_ctx n = { .nr = -1 };
	struct child_result r;
	char why[512];

	if (compile(&s, &n.prog, why, sizeof(why)) < 0)
		T_FAIL("%s", why);
	bool uses = seccomp_prog_uses_notify(n.prog);
	if (!uses) {
		seccomp_prog_free(n.prog);
		T_FAIL("seccomp_prog_uses_notify is false");
	}
	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, n.sv) == 0);
	run_child(notify_child, &n, supervise, &r);
	seccomp_prog_free(n.prog);
	if (n.err[0])
		T_FAIL("supervisor: %s (child: %s)", n.err, r.out);
	EXPECT_OK(&r);
	T_ASSERT_INT(n.nr, SYS_mkdir);
	EXPECT_FIELD(&r, "listener:", "yes");
	EXPECT_FIELD(&r, "mkdir:", "errno 18");
	EXPECT_FIELD(&r, "getpid:", "ok");
}

static void rule_equal_to_default_is_dropped(void)
{
	struct oci_seccomp_syscall sc[] = {
		{ .names = n_needed, .action = OCI_SECCOMP_ALLOW },
		/* same as the default: libseccomp refuses it, we drop it */
		{ .names = n_getppid, .action = OCI_SECCOMP_ERRNO },
		/* same action, other errno: a real rule */
		{ .names = n_mkdir, .action = OCI_SECCOMP_ERRNO, .has_errno_ret = true,
		  .errno_ret = EROFS },
	};
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ERRNO, .syscalls = sc,
				 .n_syscalls = 3 };
	struct child_result r;
	RUN(&s, body_mkdir, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "getppid:", "errno 1");
	EXPECT_FIELD(&r, "mkdir:", "errno 30");
}

static void body_status(const struct child_ctx *c, int listener)
{
	child_status(c->fd, "Seccomp");
	child_status(c->fd, "Speculation_Store_Bypass");
}

static void flags_are_installed(void)
{
	static char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
				 "SECCOMP_FILTER_FLAG_TSYNC", NULL };
	struct oci_seccomp_syscall sc = { .names = n_mkdir, .action = OCI_SECCOMP_ERRNO };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct child_result plain, flagged;
	char a[128], b[128];
	RUN(&s, body_status, &plain);
	s.flags = flags;
	RUN(&s, body_status, &flagged);
	EXPECT_OK(&plain);
	EXPECT_OK(&flagged);
	EXPECT_FIELD(&flagged, "Seccomp:", "2");
	EXPECT_FIELD(&flagged, "Seccomp_filters:", "1");
	/* With spec_store_bypass_disable=seccomp a filter forces the mitigation
	 * on, unless SPEC_ALLOW says not to.  Other modes show no difference. */
	const char *pa = field(&plain, "Speculation_Store_Bypass:", a, sizeof(a));
	const char *pb = field(&flagged, "Speculation_Store_Bypass:", b, sizeof(b));
	if (pa && strstr(pa, "force mitigated"))
		T_ASSERT(pb && !strstr(pb, "force mitigated"));
}

static void body_nothing(const struct child_ctx *c, int listener)
{
	child_say(c->fd, "installed\n");
}

static void drop_all_then_install(const struct child_ctx *c, void *arg)
{
	struct oci_caps none = { 0 };
	struct cell_err *e = NULL;
	if (caps_apply(&none, &e) < 0)
		child_fail(c->fd, "caps_apply", e);
	sc_child(c, arg);
}

static void install_needs_nnp_or_cap_sys_admin(void)
{
	struct oci_seccomp_syscall sc = { .names = n_mkdir, .action = OCI_SECCOMP_ERRNO };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct run run = { .body = body_nothing, .no_nnp = true };
	struct child_result r, with_admin;
	char why[512];
	if (compile(&s, &run.prog, why, sizeof(why)) < 0)
		T_FAIL("%s", why);
	run_child(drop_all_then_install, &run, NULL, &r);
	run_child(sc_child, &run, NULL, &with_admin);
	seccomp_prog_free(run.prog);
	T_ASSERT_STR(r.out, "error: install: install the seccomp filter: needs no_new_privs or "
			    "CAP_SYS_ADMIN: Permission denied\n");
	EXPECT_OK(&with_admin);
	T_ASSERT_STR(with_admin.out, "installed\n");
}

T_MAIN("os/security-seccomp",
       T_CASE(log_allows_and_logs),
       T_CASE(errno_with_configured_value),
       T_CASE(errno_defaults_to_eperm),
       T_CASE(arg_filter_personality),
       T_CASE(arg_filter_socket_family),
       T_CASE(args_of_one_entry_are_anded),
       T_CASE(entries_for_one_name_are_ored),
       T_CASE(same_argument_twice_is_ored),
       T_CASE(every_operator),
       T_CASE(kill_actions_end_the_process_with_sigsys),
       T_CASE(trap_raises_sigsys_with_the_syscall),
       T_CASE(trace_without_tracer_is_enosys),
       T_CASE(default_errno_with_allow_list),
       T_CASE(notify_hands_the_syscall_to_the_listener),
       T_CASE(rule_equal_to_default_is_dropped),
       T_CASE(flags_are_installed),
       T_CASE(install_needs_nnp_or_cap_sys_admin))
