/* The monitor process, a linear list of phases:
 *   (launch.c's child: move into the VM's memory, devices and v2 cgroups)
 *   detach (own session, output to console.log) if asked
 *   prepare the sandbox (namespaces, the guest's root bind-mounted)
 *   create the VM (opens /dev/kvm, the kernel or the root)
 *   bind the control socket
 *   wait for the go (the launcher has made the rest of the cgroup, written
 *   the record, built the seccomp filter); move into the rest of the cgroup
 *   enter the sandbox (pivot, capabilities, seccomp)      -- nothing new opens after this
 *   report ready; start the vCPUs (the first KVM_RUN)
 *   serve the control socket and forward signals until the VM ends
 *   write the result; exit. */
#include "vm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "vm/control.h"
#include "vm/guest/lg.h"
#include "vm/linux.h"
#include "vm/sandbox.h"
#include "vm/stats.h"

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
				 SIGWINCH, SIGCONT, SIGALRM, SIGPWR };

#define MAX_CG_FILES 16

struct monitor {
	struct monitor_args *a;
	/* Opened before the sandbox, one pair per hierarchy where the VM's
	 * cgroup has a vcpus child: that child's thread file and the VM
	 * cgroup's own (-1 if it would not open). */
	int cg_fds[MAX_CG_FILES], cg_own_fds[MAX_CG_FILES];
	unsigned ncg;
	struct lg *lg;
	struct lx_vm *lx;
	struct vm_result result;
	int done_pipe[2];
	pthread_t waiter;
};

static void report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	for (int i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	buf[n++] = '\n';
	cell_write_all(fd, buf, (size_t)n);
}

__attribute__((noreturn)) static void die(struct monitor *m, struct cell_err *err)
{
	report(m->a->status_fd, "error %s", err && err->msg ? err->msg : "monitor failed");
	_exit(1);
}

/* The vCPU cgroup's thread files, opened while cgroupfs is still in view:
 * "tasks" in each v1 hierarchy, "cgroup.threads" in a threaded v2 one.
 * The launcher made that child only where CPU is limited and accounted
 * (launch.c, make_vcpu_cgroup): elsewhere there is none to open.  Beside
 * each, the same file of the VM's cgroup, for helper threads that a vCPU
 * thread started (in v2 the threaded domain's cgroup.threads takes a
 * thread back from its threaded child, cgroup-v2.rst "Threads"). */
static void open_vcpu_cgroup(struct monitor *m)
{
	for (char *const *d = m->a->cg_dirs; d && *d && m->ncg < MAX_CG_FILES; d++) {
		const char *file = "tasks";
		_cleanup_free_ char *t = xasprintf("%s/vcpus/tasks", *d);
		int fd = open(t, O_WRONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			file = "cgroup.threads";
			_cleanup_free_ char *th = xasprintf("%s/vcpus/cgroup.threads", *d);
			fd = open(th, O_WRONLY | O_CLOEXEC);
		}
		if (fd < 0)
			continue;
		_cleanup_free_ char *own = xasprintf("%s/%s", *d, file);
		m->cg_own_fds[m->ncg] = open(own, O_WRONLY | O_CLOEXEC);
		m->cg_fds[m->ncg++] = fd;
	}
}

/* Move this (single-threaded) process into dir: "0" to "tasks" in v1,
 * which moves just this thread without the cgroup threadgroup lock
 * (kernel/cgroup/cgroup.c, cgroup_procs_write_start); in v2 (no "tasks")
 * "0" to cgroup.procs when v2_too, else nothing.  A directory that is not
 * there (a hierarchy the cgroup is not made in) is skipped.  0 or -errno. */
static int enter_dir(const char *dir, bool v2_too)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -errno;
	_cleanup_close_ int fd = openat(dfd, "tasks", O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (!v2_too)
			return 0;
		fd = openat(dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0 || write(fd, "0", 1) != 1)
		return -errno;
	return 0;
}

void monitor_enter_cgroup(char *const *dirs, bool in_v2, int status_fd)
{
	for (char *const *d = dirs; d && *d; d++) {
		int r = enter_dir(*d, !in_v2);
		if (r < 0) {
			report(status_fd, "error moving the VM monitor into cgroup %s: %s", *d,
			       strerror(-r));
			_exit(1);
		}
	}
}

/* After the go: the VM's cgroup is made in every hierarchy now; move into
 * those the launcher made after the clone (memory, devices and v2 were
 * entered before the exec, launch.c; entering one again changes nothing). */
static int enter_rest(struct monitor *m, struct cell_err **err)
{
	for (char *const *d = m->a->cg_dirs; d && *d; d++) {
		int r = enter_dir(*d, false);
		if (r < 0)
			return cell_err(err, -r, "moving the VM monitor into cgroup %s", *d);
	}
	return 0;
}

/* In each vCPU thread: "0" moves the writing thread itself (cgroup-v1.rst,
 * cgroup-v2.rst), which works from inside the monitor's PID namespace. */
static void enter_vcpu_cgroup(void *ctx, pid_t tid)
{
	struct monitor *m = ctx;
	for (unsigned i = 0; i < m->ncg; i++)
		if (write(m->cg_fds[i], "0", 1) < 0)
			cell_warn("vm: vCPU thread %d: joining its cgroup: %s", tid, strerror(errno));
}

/* In a helper thread a vCPU thread may have started (the light guest's
 * timer): back to the VM's cgroup, out of the vCPUs' quota and CPU time.
 * Nothing to do where there is no vcpus child (ncg 0). */
static void enter_own_cgroup(void *ctx, pid_t tid)
{
	struct monitor *m = ctx;
	for (unsigned i = 0; i < m->ncg; i++)
		if (write(m->cg_own_fds[i], "0", 1) < 0) /* EBADF if it did not open */
			cell_warn("vm: helper thread %d: leaving the vCPU cgroup: %s", tid,
				  strerror(errno));
}

/* ---- control operations --------------------------------------------------- */

/* The launcher wrote the record (with our pid as the host sees it); change
 * only what we know better. */
static void update_record(struct monitor *m, bool paused)
{
	struct vm_record rec;
	_cleanup_err_ struct cell_err *err = NULL;
	if (vm_record_read(m->a->dir->fd, &rec, &err) < 0)
		return;
	rec.paused = paused;
	vm_record_write(m->a->dir->fd, &rec, &err);
	vm_record_clear(&rec);
}

static int op_pause(void *ctx, bool pause, char **why)
{
	struct monitor *m = ctx;
	(void)why;
	if (m->lg) {
		pthread_mutex_lock(&m->lg->lock);
		m->lg->paused = pause;
		for (unsigned i = 0; pause && i < m->lg->nworkers; i++)
			if (m->lg->workers[i]->vcpu)
				vcpu_kick(m->lg->workers[i]->vcpu);
		pthread_cond_broadcast(&m->lg->cond);
		pthread_mutex_unlock(&m->lg->lock);
	} else {
		pthread_mutex_lock(&m->lx->lock);
		m->lx->paused = pause;
		for (unsigned i = 0; pause && i < m->lx->nvcpus; i++)
			vcpu_kick(m->lx->vcpus[i]);
		pthread_cond_broadcast(&m->lx->cond);
		pthread_mutex_unlock(&m->lx->lock);
	}
	update_record(m, pause);
	return 0;
}

static char *op_stats(void *ctx)
{
	struct monitor *m = ctx;
	return m->lg ? vm_stats_guest(m->lg) : vm_stats_linux(m->lx);
}

static int op_signal(void *ctx, int sig, char **why)
{
	struct monitor *m = ctx;
	if (m->lg) {
		lg_signal_init(m->lg, sig);
		return 0;
	}
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT || sig == SIGKILL) {
		lx_vm_request_stop(m->lx, "stopped by a signal");
		return 0;
	}
	*why = xasprintf("a Linux guest takes no signal %d (only TERM, INT, HUP, QUIT stop it)", sig);
	return -EINVAL;
}

static void op_stop(void *ctx)
{
	struct monitor *m = ctx;
	if (m->lg) {
		op_pause(m, false, NULL);
		lg_signal_init(m->lg, SIGTERM);
	} else {
		lx_vm_request_stop(m->lx, "stopped on request");
	}
}

/* ---- resident memory ----------------------------------------------------------- */

/* Once the VM runs, the monitor touches a fraction of the code it has
 * mapped (set-up code, and the CLI's mappings when it runs in the forked
 * child without its own executable).  So drop the page-table entries
 * of the file mappings that hold no private copy (text, read-only data: the
 * pages stay in the page cache); what the monitor uses from then on comes
 * back on demand.  MADV_RANDOM stops readahead for them; fault-around
 * still maps 64 KiB around each fault on this host's kernel (measured), so
 * the saving is partial.  Setup-only heap goes back with malloc_trim().
 * smaps_fd was opened before the sandbox; only read and madvise run here
 * (both allowed). */
static void trim_mapping(uint64_t start, uint64_t end, bool candidate, unsigned long anon_kb)
{
	if (!candidate || anon_kb || end <= start)
		return;
	madvise((void *)start, end - start, MADV_RANDOM);
	madvise((void *)start, end - start, MADV_DONTNEED);
}

static void trim_line(const char *l, uint64_t *start, uint64_t *end, bool *candidate,
		      unsigned long *anon)
{
	unsigned long long a, b, ino;
	char perms[8];
	unsigned long kb;
	if (sscanf(l, "%llx-%llx %7s %*s %*s %llu", &a, &b, perms, &ino) == 4) {
		trim_mapping(*start, *end, *candidate, *anon);
		*start = a, *end = b, *anon = 0;
		/* private, not writable, backed by a file */
		*candidate = perms[1] != 'w' && perms[3] == 'p' && ino != 0;
	} else if (sscanf(l, "Anonymous: %lu kB", &kb) == 1) {
		*anon = kb;
	}
}

static void trim_resident(int smaps_fd)
{
	if (smaps_fd < 0)
		return;
	char buf[16384], line[512];
	size_t n = 0;
	uint64_t start = 0, end = 0;
	bool candidate = false;
	unsigned long anon = 0;
	ssize_t got;
	while ((got = read(smaps_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] != '\n') {
				if (n < sizeof(line) - 1)
					line[n++] = buf[i];
				continue;
			}
			line[n] = '\0';
			n = 0;
			trim_line(line, &start, &end, &candidate, &anon);
		}
	}
	trim_mapping(start, end, candidate, anon);
	close(smaps_fd);
	malloc_trim(0);
}

/* ---- phases ------------------------------------------------------------------ */

static void *waiter_main(void *arg)
{
	struct monitor *m = arg;
	if (m->lg)
		lg_wait(m->lg, &m->result);
	else
		lx_vm_wait(m->lx, &m->result);
	cell_write_all(m->done_pipe[1], "x", 1);
	return NULL;
}

static void detach(struct monitor *m)
{
	setsid();
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int out = openat(m->a->dir->fd, "console.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (in >= 0) {
		dup2(in, 0);
		close(in);
	}
	if (out >= 0) {
		dup2(out, 1);
		dup2(out, 2);
		close(out);
	}
}

static int create_vm(struct monitor *m, const struct sandbox *sb, struct cell_err **err)
{
	const struct vm_launch *l = m->a->l;
	if (l->kind == VM_KIND_GUEST) {
		struct vm_guest_config cfg = l->guest;
		if (sb->rootfs)
			cfg.rootfs = sb->rootfs;
		if (l->detach)
			cfg.stdio[0] = 0, cfg.stdio[1] = 1, cfg.stdio[2] = 2;
		struct lg_hooks hooks = { .enter_thread = enter_vcpu_cgroup,
					  .helper_thread = enter_own_cgroup,
					  .ctx = m };
		return lg_create(&cfg, &hooks, &m->lg, err);
	}
	struct vm_linux_config cfg = l->linux_;
	if (l->detach)
		cfg.console_fd = 1;
	struct lx_hooks hooks = { .enter_thread = enter_vcpu_cgroup, .ctx = m };
	return lx_vm_create(&cfg, &hooks, &m->lx, err);
}

static int start_vm(struct monitor *m, struct cell_err **err)
{
	int r = m->lg ? lg_start(m->lg, err) : lx_vm_start(m->lx, err);
	if (r < 0)
		return r;
	if (pipe2(m->done_pipe, O_CLOEXEC) < 0 || pthread_create(&m->waiter, NULL, waiter_main, m) != 0)
		return cell_err_sys(err, "vm: waiter thread");
	return 0;
}

static int signal_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* The trim waits this long: a VM that ends sooner (a short command) does
 * not pay for it on its way to the first guest instruction and out, where
 * it would compete with the vCPU thread for the CPU. */
#define TRIM_DELAY_MS 50

static void serve(struct monitor *m, int lfd, int sfd, int smaps_fd)
{
	struct control_ops ops = { op_pause, op_stats, op_stop, op_signal, m };
	uint64_t trim_at = cell_now_ns() + TRIM_DELAY_MS * 1000000ULL;
	for (;;) {
		struct pollfd p[3] = { { .fd = m->done_pipe[0], .events = POLLIN },
				       { .fd = lfd, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		int timeout = -1;
		if (smaps_fd >= 0) {
			uint64_t now = cell_now_ns();
			timeout = now >= trim_at ? 0 : (int)((trim_at - now + 999999) / 1000000);
		}
		int n = poll(p, 3, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0 && smaps_fd >= 0) {
			trim_resident(smaps_fd);
			smaps_fd = -1;
			continue;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				control_serve(c, &ops);
		}
		if (p[2].revents) {
			struct signalfd_siginfo si;
			_cleanup_free_ char *why = NULL;
			/* In the foreground we share the terminal's process group
			 * with `cell`, which forwards what it gets: a signal the
			 * terminal sent us too (SI_KERNEL) would arrive twice. */
			if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
			    (m->a->l->detach || si.ssi_code != SI_KERNEL))
				op_signal(m, (int)si.ssi_signo, &why);
		}
	}
}

static void finish(struct monitor *m)
{
	pthread_join(m->waiter, NULL);
	vm_result_write(m->a->dir->fd, &m->result);
	char *s = xasprintf("{\"exited\":%s,\"code\":%d,\"signal\":%d,\"core\":%s,\"vm_failed\":%s,"
			    "\"report\":%s}",
			    m->result.exited ? "true" : "false", m->result.code, m->result.signal,
			    m->result.core ? "true" : "false", m->result.vm_failed ? "true" : "false",
			    cell_json_quote(m->result.report));
	report(m->a->status_fd, "%s", s);
	free(s);
	/* No lg_destroy()/lx_vm_free(): the process exits next, and the kernel
	 * frees the VM, its threads and its memory in one go, where taking it
	 * apart here deletes memslots one by one (an SRCU grace period each)
	 * and wakes every pooled worker to join it.  The caller waits for our
	 * exit before it removes the cgroups, so this is on its critical path. */
}

/* The launcher's go: the length of the seccomp program it built for us
 * (0: none, build it here), the program, then one byte. */
static int read_sync(int fd, struct sandbox *sb)
{
	uint32_t len;
	char c;
	int r = cell_read_all(fd, &len, sizeof(len));
	if (r == 0 && len > SANDBOX_FILTER_MAX)
		r = -E2BIG;
	if (r == 0 && len > 0) {
		free(sb->filter);
		sb->filter = xmalloc(len);
		sb->filter_len = len;
		r = cell_read_all(fd, sb->filter, len);
	}
	return r < 0 ? r : cell_read_all(fd, &c, 1);
}

/* Phase timing for --debug: where a VM's start goes. */
static void phase(const char *what)
{
	static uint64_t t0;
	uint64_t now = cell_now_ns();
	if (!t0)
		t0 = now;
	cell_debug("vm monitor: %s at +%.3f ms", what, (double)(now - t0) / 1e6);
}

__attribute__((noreturn)) void monitor_main(struct monitor_args *a)
{
	struct monitor m = { .a = a, .done_pipe = { -1, -1 } };
	const struct vm_launch *l = a->l;
	_cleanup_err_ struct cell_err *err = NULL;
	/* One malloc arena: the vCPU and helper threads allocate little, and
	 * an arena of their own each would stay resident. */
	mallopt(M_ARENA_MAX, 1);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a guest write past our RLIMIT_FSIZE: EFBIG, not our death */
	/* PR_SET_PDEATHSIG was set by launch.c's child at once after the
	 * clone; execve of a plain executable keeps it (prctl(2)). */
	phase("forked");
	if (l->detach)
		detach(&m);
	int sfd = signal_fd();
	struct sandbox sb = { .root_fd = -1 };
	if (!l->no_sandbox &&
	    sandbox_prepare(l->kind == VM_KIND_GUEST ? l->guest.rootfs : NULL, false, &sb, &err) < 0)
		die(&m, err);
	phase("sandbox prepared");
	if (create_vm(&m, &sb, &err) < 0)
		die(&m, err);
	phase("VM created");
	_cleanup_free_ char *sock = vm_socket_path(a->dir, "control.sock");
	int lfd = control_listen(sock, &err);
	if (lfd < 0)
		die(&m, err);
	/* The go: the launcher has made the rest of the VM's cgroup and
	 * written the record (with our pid).  Nothing was charged to another
	 * memory cgroup nor opened under another device cgroup: we are in the
	 * VM's since monitor_enter_cgroup(). */
	if (read_sync(a->sync_fd, &sb) < 0) /* the launcher went away */
		_exit(1);
	close(a->sync_fd);
	if (enter_rest(&m, &err) < 0)
		die(&m, err);
	open_vcpu_cgroup(&m);
	phase("record written");
	int smaps_fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	if (!l->no_sandbox) {
		if (sandbox_enter(&sb, l->kind, &err) < 0)
			die(&m, err);
		if (m.lg)
			lg_set_root_host(m.lg, SANDBOX_ROOT);
	}
	phase("sandbox entered");
	if (start_vm(&m, &err) < 0)
		die(&m, err);
	phase("started");
	report(a->status_fd, "ready");
	serve(&m, lfd, sfd, smaps_fd);
	phase("VM ended");
	finish(&m);
	phase("finished");
	_exit(0);
}
