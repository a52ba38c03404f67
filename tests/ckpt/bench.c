/* ckpt-bench MIB DIRTY_MIB_PER_S [ROUNDS]: the engine's own figures, without
 * the container runtime (bench/ckpt-engine runs it; it is not a test).
 *
 * The tree is one process, pid 1 of fresh PID, mount and network
 * namespaces, that touches MIB MiB of anonymous memory (every page written)
 * and then keeps rewriting DIRTY_MIB_PER_S MiB a second in 10 ms steps.
 * Each round, with images in /dev/shm:
 *
 *   full      a dump with leave_running: throughput and frozen time
 *   pre       two pre-dumps, then a dump (killing the tree) that copies
 *             what changed since: its frozen time
 *   restore   that image restored
 *
 * CKPT_BENCH_NONE_MIB=N adds N mappings of 1 MiB, every page written, then
 * made PROT_NONE (a JIT's or a GC's protected data): their pages are read
 * by forced reads, or, with CELL_CKPT_NO_FORCE=1, with the mappings made
 * readable meanwhile (ckpt.h); "full_dump_unprotected" counts those.
 *
 * One line per measurement: "NAME value unit". */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/ckpt.h"

#define PAGE 4096

struct cfg {
	size_t mib, dirty, none_mib;
	int ready[2];
	int sync;
};

static int toucher(struct cfg *c)
{
	size_t bytes = c->mib << 20, pages = bytes / PAGE, step = (c->dirty << 20) / PAGE / 100;
	uint8_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < PAGE; i += 64)
			m[p * PAGE + i] = (uint8_t)(p * 31 + i + 1);
	for (size_t k = 0; k < c->none_mib; k++) {
		uint8_t *n = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
		if (n == MAP_FAILED)
			return 1;
		memset(n, (int)k + 1, 1 << 20);
		mprotect(n, 1 << 20, PROT_NONE);
	}
	if (write(c->ready[1], "r", 1) != 1)
		return 1;
	close(c->ready[1]);
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (size_t at = 0, gen = 1;; gen++) {
		for (size_t k = 0; k < step; k++, at = (at + 1) % pages)
			m[at * PAGE] = (uint8_t)gen;
		nanosleep(&ts, NULL);
	}
}

static pid_t spawn(struct cfg *c, bool restore_child)
{
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS |
					  (restore_child ? 0 : CLONE_NEWNET),
				 .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid)
		return (pid_t)pid;
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	setsid();
	/* Nothing of ours the image would have to bring back. */
	int null = open("/dev/null", O_RDWR);
	dup2(null, 0), dup2(null, 1), dup2(null, 2);
	if (restore_child) {
		struct cell_err *err = NULL;
		ckpt_restore_child(c->sync, &err);
		_exit(99);
	}
	_exit(toucher(c));
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static const char *logs; /* CKPT_BENCH_LOGS: where dump.log and the others go */

static int dump(pid_t pid, const char *dir, const char *parent, bool pre, bool leave,
		struct ckpt_stats *st)
{
	mkdir(dir, 0700);
	struct ckpt_dump_opts o = { .root_pid = pid, .image_dir = dir, .parent_dir = parent,
				    .pre_dump = pre, .leave_running = leave, .work_dir = logs };
	struct cell_err *err = NULL;
	if (ckpt_dump(&o, st, &err) < 0) {
		fprintf(stderr, "ckpt-bench: %s\n", err->msg);
		cell_err_free(err);
		return -1;
	}
	return 0;
}

static pid_t start(struct cfg *c)
{
	if (pipe(c->ready) < 0)
		return -1;
	pid_t pid = spawn(c, false);
	close(c->ready[1]);
	char x;
	if (read(c->ready[0], &x, 1) != 1) {
		reap(pid);
		pid = -1;
	}
	close(c->ready[0]);
	/* Let the dirtying run a while, as a service would. */
	usleep(300 * 1000);
	return pid;
}

static int round_full(struct cfg *c, const char *work)
{
	pid_t pid = start(c);
	if (pid < 0)
		return -1;
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/full", work);
	struct ckpt_stats st;
	int k = dump(pid, dir, NULL, false, true, &st);
	reap(pid);
	/* Gone before the next measurement: a GiB more in /dev/shm slows the
	 * writes that follow by half here. */
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd)) {
	}
	if (k < 0)
		return k;
	double mb = (double)st.pages_written * PAGE / 1e6;
	printf("full_dump_ms %.1f ms\nfull_dump_frozen_ms %.1f ms\nfull_dump_throughput %.2f GB/s\n"
	       "full_dump_pages %llu pages\nfull_dump_unprotected %llu pages\n", ms(st.total_ns),
	       ms(st.frozen_ns), mb / 1e3 / ((double)st.total_ns / 1e9),
	       (unsigned long long)st.pages_written, (unsigned long long)st.pages_unprotected);
	return 0;
}

static int restore(struct cfg *c, const char *dir)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	c->sync = sv[1];
	pid_t pid = spawn(c, true);
	close(sv[1]);
	struct ckpt_restore_opts o = { .image_dir = dir, .init_pid = pid, .sync_fd = sv[0],
				       .work_dir = logs };
	struct ckpt_stats st;
	struct cell_err *err = NULL;
	int k = ckpt_restore(&o, &st, &err);
	close(sv[0]);
	if (k < 0) {
		fprintf(stderr, "ckpt-bench: %s\n", err->msg);
		cell_err_free(err);
	} else {
		printf("restore_ms %.1f ms\nrestore_throughput %.2f GB/s\n", ms(st.total_ns),
		       (double)(st.pages_written + st.pages_skipped) * PAGE / 1e9 /
			       ((double)st.total_ns / 1e9));
	}
	reap(pid);
	return k;
}

static int round_pre(struct cfg *c, const char *work)
{
	pid_t pid = start(c);
	if (pid < 0)
		return -1;
	char p1[300], p2[300], fin[300];
	snprintf(p1, sizeof(p1), "%s/pre1", work);
	snprintf(p2, sizeof(p2), "%s/pre2", work);
	snprintf(fin, sizeof(fin), "%s/final", work);
	struct ckpt_stats a, b, f;
	int k = dump(pid, p1, NULL, true, true, &a);
	if (k == 0)
		usleep(200 * 1000);
	if (k == 0)
		k = dump(pid, p2, "../pre1", true, true, &b);
	if (k == 0)
		usleep(200 * 1000);
	if (k == 0)
		k = dump(pid, fin, "../pre2", false, false, &f);
	waitpid(pid, NULL, 0);
	if (k < 0)
		return k;
	printf("predump1_ms %.1f ms\npredump1_frozen_ms %.1f ms\npredump2_ms %.1f ms\n"
	       "predump2_frozen_ms %.1f ms\nfinal_dump_ms %.1f ms\nfinal_dump_frozen_ms %.1f ms\n"
	       "final_dump_pages %llu pages\n", ms(a.total_ns), ms(a.frozen_ns), ms(b.total_ns),
	       ms(b.frozen_ns), ms(f.total_ns), ms(f.frozen_ns),
	       (unsigned long long)f.pages_written);
	return restore(c, fin);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr, "usage: ckpt-bench MIB DIRTY_MIB_PER_S [ROUNDS]\n");
		return 2;
	}
	struct cfg c = { .mib = strtoul(argv[1], NULL, 10), .dirty = strtoul(argv[2], NULL, 10) };
	int rounds = argc > 3 ? atoi(argv[3]) : 1;
	logs = getenv("CKPT_BENCH_LOGS");
	const char *none = getenv("CKPT_BENCH_NONE_MIB");
	c.none_mib = none ? strtoul(none, NULL, 10) : 0;
	for (int i = 0; i < rounds; i++) {
		char work[] = "/dev/shm/ckpt-bench.XXXXXX";
		if (!mkdtemp(work))
			return 1;
		int k = round_full(&c, work);
		if (k == 0)
			k = round_pre(&c, work);
		_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", work);
		if (system(cmd)) {
		}
		if (k < 0)
			return 1;
	}
	return 0;
}
