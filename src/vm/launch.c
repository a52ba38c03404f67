/* The caller's side of a VM: launching its monitor process, and the verbs
 * that manage VMs by id (list, stop, kill, control). */
#include "vm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "os/process.h"
#include "vm/arch/x86/layout.h"
#include "vm/control.h"
#include "vm/guest/lg.h"
#include "vm/sandbox.h"

_Static_assert(VM_GUEST_MEM_MIN == LG_RAM_MIN && VM_GUEST_MEM_MAX == LG_RAM_MAX,
	       "vm.h's light-guest RAM bounds are the guest's");

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x1
struct mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#endif

#define DEFAULT_CG_PARENT "/cell-vm"
#define READY_TIMEOUT_MS 60000
#define STATUS_LINE_MAX 4096

struct vm_instance {
	char *id;
	struct state_dir dir;
	pid_t pid;
	int pidfd;
	int status_fd;
	struct cgroup *cg, *vcpus;
	char **early_dirs; /* cg's directories made before the monitor is cloned */
};

const char *vm_instance_id(const struct vm_instance *vi) { return vi->id; }
pid_t vm_instance_pid(const struct vm_instance *vi) { return vi->pid; }
int vm_instance_pidfd(const struct vm_instance *vi) { return vi->pidfd; }

static void instance_free(struct vm_instance *vi)
{
	if (!vi)
		return;
	if (vi->pidfd >= 0)
		close(vi->pidfd);
	if (vi->status_fd >= 0)
		close(vi->status_fd);
	state_dir_close(&vi->dir);
	cgroup_free(vi->vcpus);
	cell_strv_free(vi->early_dirs);
	cgroup_free(vi->cg);
	free(vi->id);
	free(vi);
}

void vm_instance_free(struct vm_instance *vi)
{
	instance_free(vi);
}

static char *now_rfc3339(void)
{
	char buf[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

static char *new_id(void)
{
	uint8_t b[6];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		memset(b, 0, sizeof(b));
	return xasprintf("vm-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
}

/* cpuset (linux.resources.cpu.cpus/mems) on the whole VM, as on a container. */
static int apply_cpuset(struct cgroup *cg, const struct oci_resources *res, struct cell_err **err)
{
	if (!res->cpu.cpus && !res->cpu.mems)
		return 0;
	struct oci_resources set = { 0 };
	set.cpu.cpus = res->cpu.cpus;
	set.cpu.mems = res->cpu.mems;
	return cgroup_apply(cg, &set, err);
}

/* The scheduler's limits of res into cpu (when not NULL); whether res has any. */
static bool vcpu_resources(struct oci_resources *cpu, const struct oci_resources *res)
{
	bool any = res->cpu.has_shares || res->cpu.has_quota || res->cpu.has_period ||
		   res->cpu.has_burst || res->cpu.has_idle;
	if (!cpu || !any)
		return any;
	if (res->cpu.has_shares) {
		cpu->cpu.has_shares = true;
		cpu->cpu.shares = res->cpu.shares;
	}
	if (res->cpu.has_quota || res->cpu.has_period) {
		cpu->cpu.has_quota = res->cpu.has_quota;
		cpu->cpu.quota = res->cpu.quota;
		cpu->cpu.has_period = res->cpu.has_period;
		cpu->cpu.period = res->cpu.period;
	}
	cpu->cpu.has_burst = res->cpu.has_burst;
	cpu->cpu.burst = res->cpu.burst;
	cpu->cpu.has_idle = res->cpu.has_idle;
	cpu->cpu.idle = res->cpu.idle;
	return true;
}

/* The VM's cgroup: memory for guest RAM plus the monitor, pids bounded,
 * CPU for the vCPU threads in their own child cgroup.  It is made in two
 * steps: before the monitor is cloned, the hierarchies it must be in from
 * its first allocation (memory) and its first open (devices) on, and the
 * v2 one (it is born there, clone_monitor); the others (make_cgroups_rest,
 * with the limits) while it execs and creates the VM.  It moves itself
 * into the others after its go (monitor.c, enter_rest), before it has a
 * second thread or runs guest code. */
static const char *const early_ctrls[] = { "memory", "devices", NULL };

static bool pure_v2(void)
{
	enum cgroup_mode mode;
	_cleanup_err_ struct cell_err *e = NULL;
	return cgroup_host_mode(&mode, &e) == 0 && mode == CGROUP_MODE_V2;
}

static int make_vcpu_cgroup(struct vm_instance *vi, const struct vm_launch *l, const char *path,
			    struct cell_err **err);

static int make_cgroups_early(struct vm_instance *vi, const struct vm_launch *l,
			      struct cell_err **err)
{
	const char *parent = l->cgroup_parent ? l->cgroup_parent : DEFAULT_CG_PARENT;
	_cleanup_free_ char *path = xasprintf("%s/%s", parent, vi->id);
	int r;
	if (!l->cgroup_parent) {
		/* cell's own parent is shared by every VM: whoever removes the
		 * last VM removes it (when empty; never forced). */
		struct cgroup *shared = NULL;
		if ((r = cgroup_resolve(DEFAULT_CG_PARENT, &shared, err)) < 0)
			return r;
		r = ledger_append(&vi->dir, "cgroup-parent", cgroup_dirs(shared), err);
		cgroup_free(shared);
		if (r < 0)
			return r;
	}
	r = cgroup_resolve(path, &vi->cg, err);
	if (r < 0 || (r = ledger_append(&vi->dir, "cgroup", cgroup_dirs(vi->cg), err)) < 0 ||
	    (r = cgroup_make_some(vi->cg, early_ctrls, true, &vi->early_dirs, err)) < 0)
		return r;
	/* v2 makes the VM's cgroup a threaded domain for the vCPUs' threaded
	 * child: it must not have a process yet (no internal processes,
	 * cgroup-v2.rst), so that child comes first there. */
	return pure_v2() ? make_vcpu_cgroup(vi, l, path, err) : 0;
}

/* The vCPU threads' child cgroup.  Only where CPU is limited and
 * accounted: elsewhere the vCPU threads stay in the VM's cgroup, and a v1
 * host saves a mkdir and an rmdir in each other hierarchy (and the cpuset
 * copies). */
static int make_vcpu_cgroup(struct vm_instance *vi, const struct vm_launch *l, const char *path,
			    struct cell_err **err)
{
	static const char *const cpu_ctrls[] = { "cpu", "cpuacct", NULL };
	unsigned vcpus = l->kind == VM_KIND_GUEST ? l->guest.vcpus : l->linux_.vcpus;
	_cleanup_err_ struct cell_err *e2 = NULL;
	int r;
	if (cgroup_create_threaded_for(vi->cg, "vcpus", cpu_ctrls, &vi->vcpus, &e2) == 0) {
		struct oci_resources cpu = { 0 };
		cpu.cpu.has_quota = cpu.cpu.has_period = true;
		cpu.cpu.period = 100000;
		cpu.cpu.quota = (int64_t)(vcpus ? vcpus : 1) * 100000;
		if (l->resources) {
			/* The caller's CPU limits, as a container's, on the
			 * threads that run guest code: asked for, so an error. */
			vcpu_resources(&cpu, l->resources);
			if ((r = cgroup_apply(vi->vcpus, &cpu, err)) < 0)
				return cell_err_wrap(err, "VM cgroup %s/vcpus", path);
		} else if (cgroup_apply(vi->vcpus, &cpu, &e2) < 0) {
			cell_warn("vm %s: vCPU CPU limit: %s", vi->id, e2->msg);
		}
	} else if (l->resources && vcpu_resources(NULL, l->resources)) {
		return cell_err(err, 0,
				"VM cgroup %s: no cgroup for the vCPU threads' CPU limits: %s", path,
				e2->msg);
	} else {
		cell_warn("vm %s: no cgroup for vCPU threads: %s", vi->id, e2->msg);
	}
	return 0;
}

/* The v1 hierarchies made after the clone: those whose controllers limit
 * or hold the VM.  pids (the monitor's threads), cpu and cpuacct (the
 * vCPUs' quota and time), the named systemd one (where a session manager
 * looks for it, as for a container); cpuset where the caller chose CPUs
 * or memory nodes, hugetlb where a Linux guest's RAM is hugetlbfs pages.
 * Not freezer (a VM pauses by stopping its vCPUs, control.c;
 * cgroup_kill_all() does without it), nor blkio (the guest's I/O is the
 * monitor's file I/O, counted by the monitor; no blockIO limit maps to a
 * VM), nor the others.  As Firecracker's jailer, a VM's cgroup is where
 * something is set or counted: each hierarchy left out is two mkdirs, a
 * move and two rmdirs less on every start and exit (~0.1 ms here; cpuset's
 * also copies its parent's CPUs). */
static void rest_controllers(const struct vm_launch *l, const char *ctrls[static 7])
{
	size_t n = 0;
	ctrls[n++] = "pids", ctrls[n++] = "cpu", ctrls[n++] = "cpuacct";
	ctrls[n++] = "name=systemd";
	if (l->resources && (l->resources->cpu.cpus || l->resources->cpu.mems))
		ctrls[n++] = "cpuset";
	if (l->kind == VM_KIND_LINUX && l->linux_.hugepages)
		ctrls[n++] = "hugetlb";
	ctrls[n] = NULL;
}

static int make_cgroups_rest(struct vm_instance *vi, const struct vm_launch *l,
			     struct cell_err **err)
{
	const char *path = cgroup_path(vi->cg);
	const char *ctrls[7];
	rest_controllers(l, ctrls);
	int r = cgroup_make_some(vi->cg, ctrls, false, NULL, err);
	if (r < 0)
		return r;
	/* The memory limit too: it is in place before the go, and so before
	 * guest RAM is touched; until then the monitor holds little (its
	 * exec, the empty VM). */
	uint64_t mem = l->kind == VM_KIND_GUEST ? l->guest.mem_size : l->linux_.mem_size;
	mem = mem ? mem : VM_DEFAULT_MEM;
	struct oci_resources res = { 0 };
	res.memory.has_limit = true;
	res.memory.limit = (int64_t)(mem + (mem / 8 > (64ULL << 20) ? mem / 8 : (64ULL << 20)));
	res.pids.has_limit = true;
	res.pids.limit = 300;
	if ((r = cgroup_apply(vi->cg, &res, err)) < 0)
		return cell_err_wrap(err, "VM cgroup %s", path);
	if (l->resources && (r = apply_cpuset(vi->cg, l->resources, err)) < 0)
		return cell_err_wrap(err, "VM cgroup %s", path);
	return pure_v2() ? 0 : make_vcpu_cgroup(vi, l, path, err);
}

/* Read one status line from the monitor (bounded; -EPIPE at EOF). */
static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	while (n + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -ETIMEDOUT;
		ssize_t k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static char *describe_what(const struct vm_launch *l)
{
	if (l->kind == VM_KIND_LINUX)
		return xstrdup(l->linux_.kernel ? l->linux_.kernel : "");
	size_t len = 0;
	for (char *const *a = l->guest.argv; *a; a++)
		len += strlen(*a) + 1;
	char *s = xcalloc(1, len + 1);
	for (char *const *a = l->guest.argv; *a; a++) {
		if (a != l->guest.argv)
			strcat(s, " ");
		strcat(s, *a);
	}
	return s;
}

static int check_launch(const struct vm_launch *l, struct cell_err **err)
{
	if (l->kind == VM_KIND_GUEST) {
		if (!l->guest.rootfs || !l->guest.argv || !l->guest.argv[0])
			return cell_err(err, EINVAL, "a light guest needs --rootfs and a program");
		if (access(l->guest.rootfs, X_OK) < 0)
			return cell_err_sys(err, "root file system %s", l->guest.rootfs);
	} else if (!l->linux_.kernel || access(l->linux_.kernel, R_OK) < 0) {
		return cell_err_sys(err, "kernel %s", l->linux_.kernel ? l->linux_.kernel : "(none)");
	}
	if (!kvm_available(NULL))
		return cell_err(err, ENOENT, "/dev/kvm: this host has no KVM");
	return 0;
}

/* Make the state directory; a dead VM's leftovers under the same id go. */
static int make_dir(const char *vmroot, const char *id, struct state_dir *dir, struct cell_err **err)
{
	int r = state_dir_create(vmroot, id, dir, err);
	if (r != -EEXIST)
		return r;
	cell_err_free(*err);
	*err = NULL;
	struct state_dir old;
	if (state_dir_open(vmroot, id, false, &old, err) == 0) {
		bool dead = state_dir_try_lock(&old) == 0;
		if (dead)
			vm_record_cleanup(&old, err);
		state_dir_close(&old);
		cell_err_free(*err);
		*err = NULL;
		if (dead)
			return state_dir_create(vmroot, id, dir, err);
	}
	return cell_err(err, EEXIST, "vm \"%s\" already exists", id);
}

static void lphase(const char *what);

/* In the monitor before monitor_main(): a mount namespace of its own in
 * which the guest's root is a read-only bind mount of itself.  The
 * sandbox's bind of it (and the root the monitor serves from without the
 * sandbox) keeps the read-only flag: bind mounts copy it. */
static void readonly_root(const struct vm_launch *l, int status_fd)
{
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
	const char *root = l->guest.rootfs;
	const char *step = "unshare";
	if (unshare(CLONE_NEWNS) == 0 && (step = "private mounts") &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 && (step = "bind") &&
	    mount(root, root, NULL, MS_BIND | MS_REC, NULL) == 0 && (step = "read-only") &&
	    syscall(SYS_mount_setattr, AT_FDCWD, root, AT_RECURSIVE, &a, sizeof(a)) == 0)
		return;
	dprintf(status_fd, "error read-only root %s: %s: %s\n", root, step, strerror(errno));
	_exit(1);
}

/* The monitor is born in the v2 cgroup (CLONE_INTO_CGROUP) and moves its
 * single thread into the v1 ones itself (monitor_enter_cgroup): neither
 * takes the kernel's cgroup threadgroup lock for writing, whose first taker
 * waits for an RCU grace period (8-16 ms here) when the launcher writes the
 * monitor's pid to cgroup.procs. */
static pid_t clone_monitor(struct vm_instance *vi, uint64_t flags, bool *ret_in_v2)
{
	int v2 = cgroup_unified_fd(vi->cg);
	pid_t pid = v2 >= 0 ? os_clone3_into(flags, v2, &vi->pidfd) : -ENOSYS;
	*ret_in_v2 = pid >= 0;
	if (pid < 0) /* no v2 side, or a kernel without CLONE_INTO_CGROUP */
		pid = os_clone3(flags, &vi->pidfd, NULL, 0);
	return pid;
}

/* The monitor's go (monitor.c, read_sync): the seccomp program for its
 * sandbox, built here while it execs and creates the VM (libseccomp takes
 * ~0.4 ms), then one byte.  A monitor that died already is not an error
 * here: await_ready() reports why. */
static int send_sync(int fd, const struct vm_launch *l, struct cell_err **err)
{
	_cleanup_free_ void *prog = NULL;
	size_t len = 0;
	if (!l->no_sandbox) {
		int r = sandbox_filter_build(&prog, &len, err);
		if (r < 0)
			return r;
	}
	/* [length][program]["x"], in one send: the stream socket's buffer
	 * (>100 KiB) takes the program (<=32 KiB) at once. */
	uint32_t n = (uint32_t)len;
	_cleanup_free_ char *msg = xmalloc(sizeof(n) + len + 1);
	memcpy(msg, &n, sizeof(n));
	if (len)
		memcpy(msg + sizeof(n), prog, len);
	msg[sizeof(n) + len] = 'x';
	for (size_t off = 0, want = sizeof(n) + len + 1; off < want;) {
		ssize_t k = send(fd, msg + off, want - off, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	return 0;
}

static int spawn(struct vm_instance *vi, const struct vm_launch *l, struct vm_record *rec,
		 struct cell_err **err)
{
	/* A socket for the sync byte: the monitor may die before reading it,
	 * and send(MSG_NOSIGNAL) reports that instead of raising SIGPIPE. */
	int syncp[2], statusp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, syncp) < 0)
		return cell_err_sys(err, "socketpair");
	if (pipe2(statusp, O_CLOEXEC) < 0) {
		close(syncp[0]);
		close(syncp[1]);
		return cell_err_sys(err, "pipe");
	}
	uint64_t flags = CLONE_PIDFD | (l->no_sandbox ? 0 : CLONE_NEWPID);
	bool in_v2;
	int exe_fd = monitor_exe_open();
	pid_t pid = clone_monitor(vi, flags, &in_v2);
	if (pid == 0) {
		/* At once, not after the exec (monitor_main): a launcher killed
		 * after its go but before the monitor's own prctl left a VM
		 * running with nobody waiting for it.  Killed before its go,
		 * the monitor sees the sync socket close (read_sync). */
		if (!l->detach)
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(syncp[1]);
		close(statusp[0]);
		monitor_enter_cgroup(vi->early_dirs, in_v2, statusp[1]);
		if (l->readonly_root)
			readonly_root(l, statusp[1]);
		struct monitor_args a = { .l = l, .dir = &vi->dir, .rec = rec,
					  .cg_dirs = cgroup_dirs(vi->cg), .sync_fd = syncp[0],
					  .status_fd = statusp[1] };
		/* Its own small executable maps no shared libc, no ld.so and
		 * not the whole of cell (docs/vm.md, the monitor's executable);
		 * without one this process is the monitor. */
		if (exe_fd >= 0)
			monitor_exec(exe_fd, &a);
		monitor_main(&a);
	}
	if (exe_fd >= 0)
		close(exe_fd);
	close(syncp[0]);
	close(statusp[1]);
	vi->status_fd = statusp[0];
	if (pid < 0) {
		close(syncp[1]);
		return cell_err(err, (int)-pid, "starting the VM monitor");
	}
	vi->pid = pid;
	lphase("cloned");
	/* While the monitor execs and creates the VM. */
	int r = make_cgroups_rest(vi, l, err);
	lphase("cgroups");
	rec->pid = pid;
	os_proc_start_time(pid, &rec->pid_start);
	if (r == 0)
		r = vm_record_write(vi->dir.fd, rec, err);
	lphase("record written");
	if (r == 0)
		r = send_sync(syncp[1], l, err);
	close(syncp[1]);
	return r;
}

static int await_ready(struct vm_instance *vi, struct cell_err **err)
{
	char line[STATUS_LINE_MAX];
	int r = read_line(vi->status_fd, line, sizeof(line), READY_TIMEOUT_MS);
	if (r == -ETIMEDOUT)
		return cell_err(err, ETIMEDOUT, "vm %s: the monitor did not start in time", vi->id);
	if (r < 0)
		return cell_err(err, EIO, "vm %s: the monitor died while starting", vi->id);
	if (strcmp(line, "ready") == 0)
		return 0;
	/* The monitor's message is complete already (errno text included). */
	cell_err(err, 0, "%s", strncmp(line, "error ", 6) == 0 ? line + 6 : line);
	return -EINVAL;
}

static void lphase(const char *what)
{
	static uint64_t t0;
	uint64_t now = cell_now_ns();
	if (!t0)
		t0 = now;
	cell_debug("vm launch: %s at +%.3f ms", what, (double)(now - t0) / 1e6);
}

int vm_launch(const struct vm_launch *l, struct vm_instance **ret, struct cell_err **err)
{
	lphase("start");
	int r = check_launch(l, err);
	if (r < 0)
		return r;
	struct vm_instance *vi = xcalloc(1, sizeof(*vi));
	vi->pidfd = vi->status_fd = -1;
	vi->dir.fd = -1;
	vi->id = l->id ? xstrdup(l->id) : new_id();
	_cleanup_free_ char *vmroot = vm_state_root(l->root);
	struct vm_record rec = { .id = xstrdup(vi->id), .kind = l->kind, .what = describe_what(l),
				 .created = now_rfc3339(), .detached = l->detach,
				 .bundle = l->bundle ? xstrdup(l->bundle) : NULL,
				 .rootfs = l->kind == VM_KIND_GUEST && l->guest.rootfs
						   ? xstrdup(l->guest.rootfs) : NULL };
	if ((r = state_check_id(vi->id, err)) < 0 || (r = make_dir(vmroot, vi->id, &vi->dir, err)) < 0) {
		vi->dir.fd = -1;
		goto fail_early;
	}
	lphase("state directory");
	if ((r = make_cgroups_early(vi, l, err)) < 0)
		goto fail;
	lphase("early cgroups");
	if ((r = spawn(vi, l, &rec, err)) < 0)
		goto fail;
	lphase("spawned");
	if ((r = await_ready(vi, err)) < 0)
		goto fail;
	lphase("ready");
	rec.cgroup = NULL;
	vm_record_clear(&rec);
	*ret = vi;
	return 0;
fail:
	if (vi->pidfd >= 0) {
		os_pidfd_send_signal(vi->pidfd, SIGKILL);
		waitpid(vi->pid, NULL, 0);
	}
	{
		_cleanup_err_ struct cell_err *e2 = NULL;
		vm_record_cleanup(&vi->dir, &e2);
	}
fail_early:
	vm_record_clear(&rec);
	instance_free(vi);
	return r;
}

int vm_instance_finish(struct vm_instance *vi, int wstatus, struct vm_result *ret,
		       struct cell_err **err)
{
	memset(ret, 0, sizeof(*ret));
	/* The monitor writes result.json before it exits. */
	if (vm_result_read(vi->dir.fd, ret) < 0) {
		{
			ret->vm_failed = true;
			if (WIFSIGNALED(wstatus))
				snprintf(ret->report, sizeof(ret->report),
					 "the VM monitor was killed by signal %d", WTERMSIG(wstatus));
			else
				snprintf(ret->report, sizeof(ret->report), "the VM monitor died");
		}
	}
	lphase("monitor gone");
	int r = vm_record_cleanup(&vi->dir, err);
	lphase("cleaned up");
	instance_free(vi);
	return r;
}
