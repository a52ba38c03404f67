/* The zdtm driver: runs each program of tests/ckpt/zdtm as pid 1 of a
 * fresh PID, mount and network namespace (our own small launcher: the
 * runtime is not involved; the restore goes back into the same network
 * namespace), then
 *
 *   restore:       checkpoint (the tree is killed), restore into another
 *                  fresh namespace, SIGTERM, read the program's verdict;
 *   leave-running: checkpoint with leave_running, SIGTERM, read the verdict;
 *   pre-dump:      two pre-dumps while it runs (the second incremental),
 *                  then a dump with the second as parent (which must store
 *                  fewer pages than a full one), and as restore;
 *   restore-noforce: as restore, with forced reads and writes of
 *                  /proc/PID/mem refused in the checkpoint and the restore
 *                  (CELL_CKPT_NO_FORCE=1, as on a kernel built with
 *                  CONFIG_PROC_MEM_NO_FORCE): the pages of mappings without
 *                  PROT_WRITE must go in with the mapping made writable
 *                  meanwhile, and some must (every program here is static,
 *                  with relro pages written by its start-up code); those
 *                  of mappings without PROT_READ must be read with the
 *                  mapping made readable meanwhile, and the programs in
 *                  `unreadable` must have some;
 *   pre-dump-noforce: as pre-dump, with forced reads and writes refused in
 *                  every dump and the restore: pages without PROT_READ are
 *                  left to the final, stopped dump;
 *   leave-running-noforce: as leave-running, with forced reads refused:
 *                  /proc/PID/maps of pid 1 of the programs in `unreadable`
 *                  must be the same before and after the checkpoint (every
 *                  protection put back), and the programs check their own.
 *
 * Programs listed in `peers` also get a TCP peer outside the tree (peer.h)
 * that streams through their echo server the whole time.
 *
 * One line per program and mode: "ok zdtm/NAME/MODE" or "FAIL ...".  Logs
 * and images of failures stay in /tmp/zdtm-NAME-*. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/ckpt.h"
#include "peer.h"

#ifndef ZDTM_DIR
#error ZDTM_DIR must name the directory of the zdtm programs
#endif

/* Programs with an echo server for a TCP peer, and its port. */
static const struct {
	const char *name;
	uint16_t port;
} peers[] = {
	{ "tcp", 7000 },
};

/* Programs with pages in mappings without PROT_READ (PROT_NONE data). */
static const char *const unreadable[] = { "anon_mem", "reserve", "ro_pages" };

/* Programs whose stdio and controlling terminal is a pty of ours, as a
 * container's console is: an external terminal, handed in anew on restore. */
static const char *const consoles[] = { "console" };

struct run {
	const char *name;
	bool console;
	bool unreadable; /* listed in unreadable[] */
	int master; /* the console's master (a new one after a restore) */
	char slave[64];
	char work[256], ready[300], verdict[300], img[300], prog[512];
	char why[4096];
	int netfd; /* the tree's network namespace */
	uint16_t peer_port;
	struct peer peer;
	int64_t echoed; /* by the peer, when the checkpoint began */
};

/* Fork into new PID and mount namespaces (and a new network namespace, or
 * the one given); the child runs fn and exits. */
static pid_t spawn_ns(int (*fn)(void *), void *arg, bool new_net)
{
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS | (new_net ? CLONE_NEWNET : 0),
				 .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid != 0)
		return (pid_t)pid;
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	_exit(fn(arg));
}

static void lo_up(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "lo" };
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
}

/* A new pty: its master in r, its slave's path in r->slave. */
static bool new_console(struct run *r)
{
	if (r->master >= 0)
		close(r->master);
	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (r->master < 0 || grantpt(r->master) || unlockpt(r->master) ||
	    ptsname_r(r->master, r->slave, sizeof(r->slave))) {
		snprintf(r->why, sizeof(r->why), "make a pty: %s", strerror(errno));
		return false;
	}
	return true;
}

static int run_prog(void *arg)
{
	struct run *r = arg;
	lo_up();
	setsid();
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0);
	if (r->console) {
		int s = open(r->slave, O_RDWR);
		if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
			return 126;
		dup2(s, 0), dup2(s, 1), dup2(s, 2);
	}
	/* Only what the program makes itself goes into its image. */
	syscall(SYS_close_range, 3, ~0U, 0);
	execl(r->prog, r->name, r->ready, r->verdict, (char *)NULL);
	return 127;
}

struct restore_child {
	int fd;
	int netfd;
	const char *console; /* the new console's slave, handed in at fd 10 */
};

static int run_restore_child(void *arg)
{
	struct restore_child *c = arg;
	struct cell_err *err = NULL;
	if (setns(c->netfd, CLONE_NEWNET) < 0)
		return 98;
	if (c->console) {
		int s = open(c->console, O_RDWR | O_NOCTTY);
		if (s < 0 || dup2(s, 10) < 0)
			return 97;
	}
	ckpt_restore_child(c->fd, &err);
	return 99;
}

/* waitpid with a deadline; SIGKILL when it passes. */
static int wait_for(pid_t pid, int seconds, int *status)
{
	for (int i = 0; i < seconds * 100; i++) {
		pid_t p = waitpid(pid, status, WNOHANG);
		if (p == pid)
			return 0;
		if (p < 0)
			return -errno;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return -ETIMEDOUT;
}

static bool wait_file(const char *path, pid_t pid, int seconds)
{
	for (int i = 0; i < seconds * 100; i++) {
		if (access(path, F_OK) == 0)
			return true;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return false;
		usleep(10000);
	}
	return false;
}

static void verdict(struct run *r, const char *stage)
{
	_cleanup_free_ char *v = NULL;
	if (cell_read_file(r->verdict, 4096, &v, NULL, NULL) < 0) {
		snprintf(r->why, sizeof(r->why), "%s: no verdict", stage);
		return;
	}
	if (strcmp(v, "PASS") != 0)
		snprintf(r->why, sizeof(r->why), "%s: %s", stage, v);
}

/* What the program wrote on its console must come out of our master. */
static void console_said(struct run *r, const char *stage)
{
	char buf[512] = "";
	size_t n = 0;
	for (int i = 0; i < 100 && !strstr(buf, "console ok"); i++) {
		ssize_t k = read(r->master, buf + n, sizeof(buf) - 1 - n);
		if (k > 0)
			n += (size_t)k;
		else
			usleep(10000);
		buf[n] = '\0';
	}
	if (!strstr(buf, "console ok"))
		snprintf(r->why, sizeof(r->why), "%s: the console showed \"%s\"", stage, buf);
}

static void finish_prog(struct run *r, pid_t pid, const char *stage)
{
	if (r->peer.pid > 0) {
		char why[512];
		/* The stream must go on past where it was at the checkpoint. */
		if (!peer_finish(&r->peer, r->echoed + 65536, 10, why, sizeof(why)))
			snprintf(r->why, sizeof(r->why), "%s: %s", stage, why);
		else if (getenv("ZDTM_VERBOSE"))
			fprintf(stderr, "%s: %s\n", r->name, why);
	}
	kill(pid, SIGTERM);
	int status;
	if (wait_for(pid, 20, &status) < 0) {
		snprintf(r->why, sizeof(r->why), "%s: did not finish after SIGTERM", stage);
		return;
	}
	if (r->why[0])
		return;
	verdict(r, stage);
	if (!r->why[0] && r->console)
		console_said(r, stage);
	if (r->why[0] && strstr(r->why, "no verdict"))
		snprintf(r->why + strlen(r->why), sizeof(r->why) - strlen(r->why),
			 " (%s %d)", WIFSIGNALED(status) ? "killed by signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

/* A restore that must be refused before pid 1 is touched: pid 1 hears why
 * and exits from ckpt_restore_child (status 99). */
static bool refused(struct run *r, const struct ckpt_restore_opts *base, const char *want)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	struct restore_child c = { .fd = sv[1], .netfd = r->netfd };
	pid_t pid = spawn_ns(run_restore_child, &c, false);
	close(sv[1]);
	struct ckpt_restore_opts o = *base;
	o.init_pid = pid;
	o.sync_fd = sv[0];
	struct cell_err *err = NULL;
	int k = ckpt_restore(&o, NULL, &err);
	close(sv[0]);
	int status = 0;
	bool ok = k < 0 && strstr(err->msg, want) && wait_for(pid, 10, &status) == 0 &&
		  WIFEXITED(status) && WEXITSTATUS(status) == 99;
	if (!ok)
		snprintf(r->why, sizeof(r->why), "restore without %s: %s (pid 1 status %#x)", want,
			 k < 0 ? err->msg : "accepted", status);
	cell_err_free(err);
	return ok;
}

enum mode { RESTORE, LEAVE_RUNNING, PREDUMP, RESTORE_NOFORCE, LEAVE_RUNNING_NOFORCE,
	    PREDUMP_NOFORCE };

static bool noforce(enum mode mode)
{
	return mode == RESTORE_NOFORCE || mode == LEAVE_RUNNING_NOFORCE || mode == PREDUMP_NOFORCE;
}

static void do_restore(struct run *r, enum mode mode)
{
	struct ckpt_restore_opts no = { .image_dir = r->img, .work_dir = r->work,
					.tcp_established = !r->peer_port };
	if (r->peer_port && !refused(r, &no, "allow established connections"))
		return;
	no.tcp_established = true;
	if (r->console && !refused(r, &no, "needs the tty tty:"))
		return;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(r->why, sizeof(r->why), "socketpair: %s", strerror(errno));
		return;
	}
	if (r->console && !new_console(r))
		return;
	struct restore_child c = { .fd = sv[1], .netfd = r->netfd,
				   .console = r->console ? r->slave : NULL };
	struct ckpt_external_fd ext = { "tty", 10 };
	pid_t pid = spawn_ns(run_restore_child, &c, false);
	close(sv[1]);
	struct ckpt_restore_opts o = { .image_dir = r->img, .work_dir = r->work, .init_pid = pid,
				       .sync_fd = sv[0], .tcp_established = true,
				       .external = r->console ? &ext : NULL, .n_external = r->console };
	struct cell_err *err = NULL;
	struct ckpt_stats st;
	if (noforce(mode))
		setenv("CELL_CKPT_NO_FORCE", "1", 1);
	int k = ckpt_restore(&o, &st, &err);
	unsetenv("CELL_CKPT_NO_FORCE");
	close(sv[0]);
	if (k < 0) {
		snprintf(r->why, sizeof(r->why), "restore: %s", err->msg);
		cell_err_free(err);
		int status;
		wait_for(pid, 10, &status);
		return;
	}
	if (noforce(mode) && st.pages_unprotected == 0) {
		snprintf(r->why, sizeof(r->why), "no page written with its mapping made writable "
			 "meanwhile");
		kill(pid, SIGKILL);
		int status;
		wait_for(pid, 10, &status);
		return;
	}
	if (getenv("ZDTM_DEBUG")) {
		/* Look at the restored tree by hand before it is asked to check. */
		fprintf(stderr, "restored %s as %d; SIGTERM in 30s\n", r->name, pid);
		sleep(30);
	}
	finish_prog(r, pid, "after restore");
}

static int predumps(struct run *r, pid_t pid, enum mode mode)
{
	/* Two rounds while the program runs: the second one incremental. */
	static const char *const dirs[2] = { "pre1", "pre2" };
	for (int i = 0; i < 2; i++) {
		char dir[400];
		snprintf(dir, sizeof(dir), "%s/%s", r->work, dirs[i]);
		mkdir(dir, 0700);
		struct ckpt_dump_opts o = { .root_pid = pid, .image_dir = dir, .work_dir = r->work,
					    .pre_dump = true, .parent_dir = i ? "../pre1" : NULL };
		struct cell_err *err = NULL;
		if (noforce(mode))
			setenv("CELL_CKPT_NO_FORCE", "1", 1);
		int k = ckpt_dump(&o, NULL, &err);
		unsetenv("CELL_CKPT_NO_FORCE");
		if (k < 0) {
			snprintf(r->why, sizeof(r->why), "pre-dump %d: %s", i + 1, err->msg);
			cell_err_free(err);
			return -1;
		}
		usleep(20000);
	}
	return 0;
}

/* /proc/PID/maps, whole; NULL if it cannot be read. */
static char *maps_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	char *text = NULL;
	if (cell_read_file(path, 1 << 20, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

/* The checkpoint, with forced reads refused for the NOFORCE modes. */
static int checkpoint(struct run *r, enum mode mode, const struct ckpt_dump_opts *o,
		      struct ckpt_stats *st, struct cell_err **err)
{
	/* Of the programs that leave their mappings alone as they wait. */
	_cleanup_free_ char *before = noforce(mode) && r->unreadable ? maps_of(o->root_pid)
								     : NULL;
	if (noforce(mode))
		setenv("CELL_CKPT_NO_FORCE", "1", 1);
	int k = ckpt_dump(o, st, err);
	unsetenv("CELL_CKPT_NO_FORCE");
	if (k < 0 || !noforce(mode))
		return k;
	if (r->unreadable && st->pages_unprotected == 0) {
		snprintf(r->why, sizeof(r->why), "checkpoint: no page read with its mapping made "
			 "readable meanwhile");
		return 0;
	}
	if (mode != LEAVE_RUNNING_NOFORCE || !r->unreadable)
		return 0;
	_cleanup_free_ char *after = maps_of(o->root_pid);
	if (!before || !after || strcmp(before, after))
		snprintf(r->why, sizeof(r->why), "left running: /proc/%d/maps changed:\n%s\n"
			 "-- after --\n%s", o->root_pid, before ? before : "?", after ? after : "?");
	return 0;
}

static void run_one(struct run *r, enum mode mode)
{
	bool leave_running = mode == LEAVE_RUNNING || mode == LEAVE_RUNNING_NOFORCE;
	if (r->console && !new_console(r))
		return;
	pid_t pid = spawn_ns(run_prog, r, true);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	r->netfd = open(path, O_RDONLY | O_CLOEXEC);
	if (!wait_file(r->ready, pid, 20)) {
		int status;
		wait_for(pid, 1, &status);
		verdict(r, "before checkpoint");
		if (!r->why[0])
			snprintf(r->why, sizeof(r->why), "never got ready");
		return;
	}
	if (r->peer_port && !peer_start(&r->peer, r->netfd, r->peer_port, r->why, sizeof(r->why))) {
		int status;
		kill(pid, SIGKILL);
		wait_for(pid, 10, &status);
		return;
	}
	if (r->peer.pid > 0 && mode == RESTORE) {
		/* Without tcp_established the dump is refused and the tree runs on. */
		char dir[400];
		snprintf(dir, sizeof(dir), "%s/refused", r->work);
		mkdir(dir, 0700);
		struct ckpt_dump_opts no = { .root_pid = pid, .image_dir = dir };
		struct cell_err *err = NULL;
		int k = ckpt_dump(&no, NULL, &err);
		if (k == 0 || !strstr(err->msg, "allow established connections") || kill(pid, 0) < 0) {
			snprintf(r->why, sizeof(r->why), "dump without tcp_established: %s",
				 k == 0 ? "accepted" : err->msg);
			cell_err_free(err);
			int status;
			kill(pid, SIGKILL);
			wait_for(pid, 10, &status);
			return;
		}
		cell_err_free(err);
	}
	if (r->peer.pid > 0)
		r->echoed = peer_count(&r->peer);
	bool pre = mode == PREDUMP || mode == PREDUMP_NOFORCE;
	if (pre && predumps(r, pid, mode) < 0) {
		int status;
		kill(pid, SIGKILL);
		wait_for(pid, 10, &status);
		return;
	}
	struct ckpt_dump_opts o = { .root_pid = pid, .image_dir = r->img, .work_dir = r->work,
				    .leave_running = leave_running, .tcp_established = true,
				    .parent_dir = pre ? "../pre2" : NULL };
	struct cell_err *err = NULL;
	struct ckpt_stats st;
	int k = checkpoint(r, mode, &o, &st, &err);
	if (k == 0 && r->why[0]) {
		int status;
		kill(pid, SIGKILL);
		wait_for(pid, 10, &status);
		return;
	}
	if (k == 0 && pre && st.pages_skipped == 0) {
		snprintf(r->why, sizeof(r->why), "the dump after pre-dumps copied every page again");
		int status;
		wait_for(pid, 10, &status);
		return;
	}
	if (k < 0) {
		snprintf(r->why, sizeof(r->why), "checkpoint: %s", err->msg);
		cell_err_free(err);
		int status;
		kill(pid, SIGKILL);
		wait_for(pid, 10, &status);
		return;
	}
	if (leave_running) {
		finish_prog(r, pid, "left running");
		return;
	}
	int status;
	if (wait_for(pid, 10, &status) < 0 || !WIFSIGNALED(status)) {
		snprintf(r->why, sizeof(r->why), "the checkpointed tree was not killed");
		return;
	}
	do_restore(r, mode);
}

static void rm_rf(const char *path)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", path);
	(void)!system(cmd);
}

static int one(const char *name, enum mode mode)
{
	struct run r = { .name = name, .netfd = -1, .master = -1,
			 .peer = { .pid = -1, .ctl = -1, .fail = "" } };
	for (size_t i = 0; i < sizeof(consoles) / sizeof(consoles[0]); i++)
		r.console |= !strcmp(consoles[i], name);
	for (size_t i = 0; i < sizeof(unreadable) / sizeof(unreadable[0]); i++)
		r.unreadable |= !strcmp(unreadable[i], name);
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++)
		if (!strcmp(peers[i].name, name))
			r.peer_port = peers[i].port;
	snprintf(r.work, sizeof(r.work), "/tmp/zdtm-%s-XXXXXX", name);
	if (!mkdtemp(r.work)) {
		printf("FAIL zdtm/%s: mkdtemp: %s\n", name, strerror(errno));
		return 1;
	}
	snprintf(r.ready, sizeof(r.ready), "%s/ready", r.work);
	snprintf(r.verdict, sizeof(r.verdict), "%s/verdict", r.work);
	snprintf(r.img, sizeof(r.img), "%s/img", r.work);
	snprintf(r.prog, sizeof(r.prog), "%s/%s", ZDTM_DIR, name);
	mkdir(r.img, 0700);
	uint64_t t0 = cell_now_ns();
	run_one(&r, mode);
	peer_kill(&r.peer);
	if (r.netfd >= 0)
		close(r.netfd);
	if (r.master >= 0)
		close(r.master);
	static const char *const modes[] = { "restore", "leave-running", "pre-dump",
					     "restore-noforce", "leave-running-noforce",
					     "pre-dump-noforce" };
	if (r.why[0]) {
		printf("FAIL zdtm/%s/%s: %s (logs in %s)\n", name, modes[mode], r.why, r.work);
		return 1;
	}
	printf("ok zdtm/%s/%s (%.2fs)\n", name, modes[mode], (double)(cell_now_ns() - t0) / 1e9);
	if (!getenv("ZDTM_KEEP"))
		rm_rf(r.work);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN); /* a peer that died is a verdict, not our end */
	if (geteuid() != 0) {
		printf("skip zdtm: needs root\n");
		return 0;
	}
	/* Programs to run: the arguments, or every one in ZDTM_DIR. */
	char **names = NULL;
	if (argc > 1) {
		names = cell_strv_dup(argv + 1);
	} else {
		DIR *d = opendir(ZDTM_DIR);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' && de->d_type == DT_REG)
				cell_strv_push(&names, de->d_name);
		if (d)
			closedir(d);
	}
	int failed = 0;
	for (size_t i = 0; names && names[i]; i++) {
		failed += one(names[i], RESTORE);
		failed += one(names[i], LEAVE_RUNNING);
		failed += one(names[i], PREDUMP);
		failed += one(names[i], RESTORE_NOFORCE);
		failed += one(names[i], LEAVE_RUNNING_NOFORCE);
		failed += one(names[i], PREDUMP_NOFORCE);
	}
	cell_strv_free(names);
	/* Leak check: every lock belongs in a namespace of ours, gone by now. */
	if (system("nft list tables 2>/dev/null | grep -q cell_ckpt_") == 0) {
		printf("FAIL zdtm: a network lock table was left in the host's namespace\n");
		failed++;
	}
	return failed ? 1 : 0;
}
