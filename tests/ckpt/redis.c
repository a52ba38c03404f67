/* redis-server through checkpoint -> kill -> restore, with a client whose
 * TCP connection stays open across it.
 *
 * Two network namespaces of our own joined by a veth pair: redis runs as
 * pid 1 of a fresh PID and mount namespace in the first (10.77.0.1), the
 * client in the second (10.77.0.2), outside the tree.  The client loads
 * 100k keys, then keeps asking, a command every millisecond or so, all
 * through the checkpoint and the restore: INCR of a counter (each answer
 * must be the previous plus one: a command lost or run twice shows) and
 * GET of a random key (the value must be the one it set).  After the
 * restore it checks DBSIZE and that its connection never broke.
 *
 *   restore   checkpoint (redis is killed), restore into a fresh PID and
 *             mount namespace in the same network namespace
 *   pre-dump  two pre-dumps while the client runs, then as restore
 *
 * One line per mode: "ok ckpt-redis/MODE" or "FAIL ...", or "skip" when
 * redis-server is not installed.  Nothing is left behind: the namespaces
 * go with their last process. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/ckpt.h"
#include "redis-client.h"

#define REDIS "/usr/bin/redis-server"
#define KEYS 100000

struct env {
	int net_srv, net_cli; /* namespace fds */
	char work[128];
};

struct launch {
	int netfd;
	int sync; /* restore: pid 1's end of the sync socket; -1: run redis */
	const char *work;
};

static int child_main(void *arg)
{
	struct launch *l = arg;
	if (setns(l->netfd, CLONE_NEWNET) < 0)
		return 98;
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	setsid();
	if (l->sync >= 0) {
		struct cell_err *err = NULL;
		ckpt_restore_child(l->sync, &err);
		return 99;
	}
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0), dup2(null, 1), dup2(null, 2);
	char log[200];
	snprintf(log, sizeof(log), "%s/redis.log", l->work);
	execl(REDIS, "redis-server", "--bind", "10.77.0.1", "--port", "6379", "--save", "",
	      "--appendonly", "no", "--protected-mode", "no", "--dir", l->work, "--logfile", log,
	      "--daemonize", "no", (char *)NULL);
	return 127;
}

static pid_t spawn(struct launch *l)
{
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		_exit(child_main(l));
	return (pid_t)pid;
}

/* A process in a new network namespace that waits; its namespace's fd. */
static int holder(pid_t *ret)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	for (int i = 0; i < 200; i++) {
		char a[64], b[64];
		snprintf(a, sizeof(a), "/proc/%d/ns/net", pid);
		ssize_t n = readlink(a, b, sizeof(b) - 1);
		struct stat s1, s2;
		if (n > 0 && stat(a, &s1) == 0 && stat("/proc/self/ns/net", &s2) == 0 &&
		    s1.st_ino != s2.st_ino) {
			*ret = pid;
			return open(a, O_RDONLY | O_CLOEXEC);
		}
		usleep(5000);
	}
	return -1;
}

static bool sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0;
}

static bool setup_net(struct env *e)
{
	pid_t a, b;
	e->net_srv = holder(&a);
	e->net_cli = holder(&b);
	bool ok = e->net_srv >= 0 && e->net_cli >= 0 &&
		  sh("nsenter -t %d -n ip link add vsrv type veth peer name vcli netns %d", a, b) &&
		  sh("nsenter -t %d -n sh -c 'ip addr add 10.77.0.1/24 dev vsrv && ip link set vsrv up"
		     " && ip link set lo up'", a) &&
		  sh("nsenter -t %d -n sh -c 'ip addr add 10.77.0.2/24 dev vcli && ip link set vcli up"
		     " && ip link set lo up'", b);
	kill(a, SIGKILL), kill(b, SIGKILL);
	waitpid(a, NULL, 0), waitpid(b, NULL, 0);
	return ok;
}

static int wait_dead(pid_t pid, int seconds)
{
	int status = 0;
	for (int i = 0; i < seconds * 100; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static bool checkpoint(struct env *e, pid_t pid, const char *dir, const char *parent,
		       bool pre, char *why, size_t len)
{
	mkdir(dir, 0700);
	struct ckpt_dump_opts o = { .root_pid = pid, .image_dir = dir, .work_dir = e->work,
				    .parent_dir = parent, .pre_dump = pre, .tcp_established = true };
	struct ckpt_stats st;
	struct cell_err *err = NULL;
	if (ckpt_dump(&o, &st, &err) < 0) {
		snprintf(why, len, "%s: %s", pre ? "pre-dump" : "checkpoint", err->msg);
		cell_err_free(err);
		return false;
	}
	printf("# %s: %u threads, %llu pages written, %llu in parent, %.1f ms frozen, "
	       "%.1f ms in all\n", pre ? "pre-dump" : "dump", st.threads,
	       (unsigned long long)st.pages_written, (unsigned long long)st.pages_skipped,
	       (double)st.frozen_ns / 1e6, (double)st.total_ns / 1e6);
	return true;
}

static pid_t restore(struct env *e, const char *dir, char *why, size_t len)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return snprintf(why, len, "socketpair"), -1;
	struct launch l = { .netfd = e->net_srv, .sync = sv[1], .work = e->work };
	pid_t pid = spawn(&l);
	close(sv[1]);
	struct ckpt_restore_opts o = { .image_dir = dir, .work_dir = e->work, .init_pid = pid,
				       .sync_fd = sv[0], .tcp_established = true };
	struct ckpt_stats st;
	struct cell_err *err = NULL;
	int k = ckpt_restore(&o, &st, &err);
	close(sv[0]);
	if (k < 0) {
		snprintf(why, len, "restore: %s", err->msg);
		cell_err_free(err);
		wait_dead(pid, 10);
		return -1;
	}
	printf("# restore: %.1f ms\n", (double)st.total_ns / 1e6);
	return pid;
}

static bool run_mode(struct env *e, bool predump, char *why, size_t len)
{
	struct launch l = { .netfd = e->net_srv, .sync = -1, .work = e->work };
	pid_t pid = spawn(&l);
	struct client c;
	if (!client_start(&c, e->net_cli, KEYS, why, len)) {
		kill(pid, SIGKILL);
		wait_dead(pid, 10);
		return false;
	}
	char img[200], pre1[200], pre2[200];
	snprintf(img, sizeof(img), "%s/img%s", e->work, predump ? "-p" : "");
	snprintf(pre1, sizeof(pre1), "%s/pre1", e->work);
	snprintf(pre2, sizeof(pre2), "%s/pre2", e->work);
	bool ok = true;
	if (predump)
		ok = checkpoint(e, pid, pre1, NULL, true, why, len) &&
		     checkpoint(e, pid, pre2, "../pre1", true, why, len);
	int64_t before = client_count(&c);
	ok = ok && checkpoint(e, pid, img, predump ? "../pre2" : NULL, false, why, len);
	if (!ok) {
		kill(pid, SIGKILL);
		wait_dead(pid, 10);
		client_stop(&c, 0, why, len);
		return false;
	}
	if (wait_dead(pid, 10) < 0) {
		snprintf(why, len, "redis was not killed by the checkpoint");
		client_stop(&c, 0, why, len);
		return false;
	}
	pid = restore(e, img, why, len);
	if (pid < 0) {
		/* The lock stays after a checkpoint that killed redis: lift it, or
		 * the next redis on the same port gets no connections. */
		struct cell_err *err = NULL;
		if (ckpt_net_unlock(img, e->net_srv, &err) < 0)
			cell_err_free(err);
		client_stop(&c, 0, why, len);
		return false;
	}
	ok = client_stop(&c, before + 200, why, len);
	kill(pid, SIGTERM);
	if (wait_dead(pid, 20) < 0 && ok) {
		snprintf(why, len, "the restored redis did not exit on SIGTERM");
		ok = false;
	}
	return ok;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0 || access(REDIS, X_OK) != 0) {
		printf("skip ckpt-redis: needs root and %s (scripts/setup installs it)\n", REDIS);
		return 0;
	}
	struct env e = { .net_srv = -1, .net_cli = -1 };
	snprintf(e.work, sizeof(e.work), "/tmp/ckpt-redis-XXXXXX");
	if (!mkdtemp(e.work) || !setup_net(&e)) {
		printf("FAIL ckpt-redis: set up the network namespaces\n");
		return 1;
	}
	int failed = 0;
	static const char *const modes[] = { "restore", "pre-dump" };
	for (int m = 0; m < 2; m++) {
		char why[1024] = "";
		uint64_t t0 = cell_now_ns();
		if (run_mode(&e, m == 1, why, sizeof(why))) {
			printf("ok ckpt-redis/%s (%.2fs; %s)\n", modes[m],
			       (double)(cell_now_ns() - t0) / 1e9, why);
		} else {
			printf("FAIL ckpt-redis/%s: %s (logs in %s)\n", modes[m], why, e.work);
			failed++;
		}
	}
	close(e.net_srv);
	close(e.net_cli);
	/* Leak check: the locks were in our namespaces, gone with them. */
	if (sh("nft list tables 2>/dev/null | grep -q cell_ckpt_")) {
		printf("FAIL ckpt-redis: a network lock table was left in the host's namespace\n");
		failed++;
	}
	if (!failed && !getenv("ZDTM_KEEP"))
		sh("rm -rf '%s'", e.work);
	return failed ? 1 : 0;
}
