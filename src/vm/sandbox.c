/* The monitor's sandbox.  See sandbox.h for the order and why. */
#include "vm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"

#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
struct mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};
#endif

static int setattr_rec(const char *path, uint64_t set, struct cell_err **err)
{
	struct mount_attr a = { .attr_set = set };
	if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) < 0)
		return cell_err_sys(err, "sandbox: mount_setattr %s", path);
	return 0;
}

/* The sandbox's root: a tmpfs made detached (new mount API) and attached
 * on top of "/" in our own mount namespace, so that no directory of the
 * host is its mount point: a mount point in the VM's state directory had
 * to be made and removed for each VM (~0.2-0.4 ms on ext4 here).  Paths
 * still resolve from the old root until pivot(); the tmpfs is reached
 * through its fd ("/proc/self/fd/N/..."). */
static int new_root(struct sandbox *sb, bool with_root, struct cell_err **err)
{
	_cleanup_close_ int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "64k", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cell_err_sys(err, "sandbox: tmpfs");
	sb->root_fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				   MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (sb->root_fd < 0)
		return cell_err_sys(err, "sandbox: tmpfs");
	if (mkdirat(sb->root_fd, "proc", 0555) < 0 ||
	    (with_root && mkdirat(sb->root_fd, &SANDBOX_ROOT[1], 0755) < 0))
		return cell_err_sys(err, "sandbox: mkdir in the tmpfs");
	if (syscall(SYS_move_mount, sb->root_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cell_err_sys(err, "sandbox: attaching the tmpfs");
	sb->dir = xasprintf("/proc/self/fd/%d", sb->root_fd);
	return 0;
}

int sandbox_prepare(const char *rootfs, bool readonly, struct sandbox *ret, struct cell_err **err)
{
	memset(ret, 0, sizeof(*ret));
	ret->root_fd = -1;
	/* No network namespace: creating one and tearing it down costs ~2.5 ms
	 * per VM here, and the seccomp filter refuses socket(), connect() and
	 * bind() anyway, so the monitor cannot open a network endpoint. */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return cell_err_sys(err, "sandbox: unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cell_err_sys(err, "sandbox: making mounts private");
	int r = new_root(ret, rootfs != NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *proc = xasprintf("%s/proc", ret->dir);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return cell_err_sys(err, "sandbox: /proc");
	if (rootfs) {
		ret->rootfs = xasprintf("%s%s", ret->dir, SANDBOX_ROOT);
		if (mount(rootfs, ret->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			return cell_err_sys(err, "sandbox: bind %s", rootfs);
		/* No device node and no setuid bit in the guest's root works
		 * on the host, whatever the root holds. */
		r = setattr_rec(ret->rootfs, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID |
						    (readonly ? MOUNT_ATTR_RDONLY : 0), err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int pivot(struct sandbox *sb, struct cell_err **err)
{
	if (fchdir(sb->root_fd) < 0)
		return cell_err_sys(err, "sandbox: chdir to the tmpfs");
	close(sb->root_fd);
	sb->root_fd = -1;
	/* pivot_root(".", "."): the old root stacks under the new one and is
	 * detached at once (pivot_root(2), NOTES). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return cell_err_sys(err, "sandbox: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return cell_err_sys(err, "sandbox: detaching the old root");
	if (chdir("/") < 0)
		return cell_err_sys(err, "sandbox: chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		return cell_err_sys(err, "sandbox: read-only root");
	return 0;
}

/* What serving a root-owned guest's file calls needs; nothing else. */
static const cap_value_t kept[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
				    CAP_FSETID };

static int drop_caps(struct cell_err **err)
{
	int last = (int)cap_max_bits() - 1;
	for (int c = 0; c <= last; c++) {
		bool keep = false;
		for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
			keep |= kept[i] == c;
		if (!keep && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return cell_err_sys(err, "sandbox: dropping capability %d from the bounding set", c);
	}
	cap_t caps = cap_init();
	if (!caps)
		return cell_err_sys(err, "sandbox: cap_init");
	cap_set_flag(caps, CAP_PERMITTED, ARRAY_SIZE(kept), kept, CAP_SET);
	cap_set_flag(caps, CAP_EFFECTIVE, ARRAY_SIZE(kept), kept, CAP_SET);
	int r = cap_set_proc(caps);
	cap_free(caps);
	if (r < 0)
		return cell_err_sys(err, "sandbox: capset");
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cell_err_sys(err, "sandbox: no_new_privs");
	return 0;
}

static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "close", "close_range", "fstat", "newfstatat", "statx", "lseek",
	"mmap", "munmap", "mprotect", "madvise", "mremap", "mincore", "brk", "futex", "ppoll",
	"poll", "pselect6", "select", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"rt_sigtimedwait", "sigaltstack", "tgkill", "tkill", "getpid", "gettid", "getppid",
	"exit", "exit_group", "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time", "getrandom", "sched_yield", "sched_getaffinity", "openat",
	"openat2", "readlink", "readlinkat", "mkdirat", "unlinkat", "renameat", "renameat2",
	"linkat", "symlinkat", "chmod", "fchmodat", "fchownat", "utimensat", "faccessat",
	"faccessat2", "getdents64", "fcntl", "dup", "dup3", "pipe2", "sendfile", "fstatfs",
	"flock", "fallocate", "ftruncate", "fsync", "fdatasync", "accept4", "accept", "recvmsg",
	"sendmsg", "recvfrom", "sendto", "shutdown", "uname", "prlimit64", "getrlimit",
	"set_robust_list", "rseq", "restart_syscall", "sysinfo", "getuid", "geteuid", "getgid",
	"getegid", "prctl", "getrusage", "eventfd2", "signalfd4", NULL,
};

const char *const *sandbox_syscalls(void)
{
	return allowed;
}

static const unsigned long ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_MSRS,
	KVM_SET_MSRS, KVM_GET_FPU, KVM_SET_FPU, KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_SET_CPUID2,
	KVM_SET_SIGNAL_MASK, KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_IRQ_LINE,
	KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_CHECK_EXTENSION, TCGETS, TCSETS, TCSETSW, TCSETSF,
	TIOCGWINSZ, TIOCSWINSZ, FIONREAD,
};

/* The allowlist as a libseccomp context (NULL on ENOMEM, else *ret_r). */
static scmp_filter_ctx filter_ctx(int *ret_r)
{
	const char *mode = getenv("CELL_VM_SECCOMP");
	uint32_t deflt = mode && strcmp(mode, "log") == 0 ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deflt);
	if (!ctx)
		return NULL;
	/* A binary tree of syscall numbers (libseccomp >= 2.5): the kernel
	 * takes it in ~100 us here against ~250 us for the linear list, most
	 * of that its action cache running the filter once per syscall
	 * number.  An older libseccomp keeps the list. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	int r = 0;
	for (size_t i = 0; allowed[i] && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr != __NR_SCMP_ERROR)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(ioctls) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     (struct scmp_arg_cmp){ .arg = 1, .op = SCMP_CMP_EQ,
							    .datum_a = (uint32_t)ioctls[i],
							    .datum_b = 0 });
	/* Threads only (pthread_create), never a new process; clone3's
	 * flags are out of reach of a filter, so it reports ENOSYS and glibc
	 * falls back to clone. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* FIFOs and regular files only. */
	for (unsigned type = 0; type <= 1 && r == 0; type++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mknodat), 1,
				     SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, type ? S_IFIFO : S_IFREG));
	/* fchmodat2 (Linux 6.6) is newer than libseccomp's table here. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, 452, 0);
	*ret_r = r;
	return ctx;
}

static int install_seccomp(struct cell_err **err)
{
	int r = -ENOMEM;
	scmp_filter_ctx ctx = filter_ctx(&r);
	if (ctx && r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return cell_err(err, -r, "sandbox: seccomp filter");
	return 0;
}

int sandbox_filter_build(void **ret, size_t *ret_len, struct cell_err **err)
{
	int r = -ENOMEM;
	scmp_filter_ctx ctx = filter_ctx(&r);
	_cleanup_close_ int fd = ctx && r == 0 ? (int)syscall(SYS_memfd_create, "cell-seccomp", 1u)
					       : -1;
	if (ctx && r == 0 && fd < 0)
		r = -errno;
	if (fd >= 0)
		r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	off_t len = r == 0 ? lseek(fd, 0, SEEK_CUR) : -1;
	if (r == 0 && (len <= 0 || len > SANDBOX_FILTER_MAX || len % 8))
		r = -E2BIG;
	if (r < 0)
		return cell_err(err, -r, "sandbox: seccomp filter");
	void *prog = xmalloc((size_t)len);
	if (pread(fd, prog, (size_t)len, 0) != len) {
		free(prog);
		return cell_err_sys(err, "sandbox: reading the seccomp filter");
	}
	*ret = prog;
	*ret_len = (size_t)len;
	return 0;
}

/* What seccomp_load() does with our context's attributes (no TSYNC, no
 * flags; no_new_privs is set by drop_caps()). */
static int load_filter(struct sandbox *sb, struct cell_err **err)
{
	if (!sb->filter || sb->filter_len == 0 || sb->filter_len > SANDBOX_FILTER_MAX ||
	    sb->filter_len % sizeof(struct sock_filter))
		return install_seccomp(err);
	struct sock_fprog prog = { .len = (unsigned short)(sb->filter_len / sizeof(struct sock_filter)),
				   .filter = sb->filter };
	int r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
	free(sb->filter);
	sb->filter = NULL;
	if (r < 0)
		return cell_err_sys(err, "sandbox: seccomp filter");
	return 0;
}

int sandbox_enter(struct sandbox *sb, enum vm_kind kind, struct cell_err **err)
{
	(void)kind;
	/* Now that we are in the VM's cgroup, make it our cgroup root. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return cell_err_sys(err, "sandbox: cgroup namespace");
	int r = pivot(sb, err);
	if (r < 0 || (r = drop_caps(err)) < 0 || (r = load_filter(sb, err)) < 0)
		return r;
	sb->entered = true;
	return 0;
}

void sandbox_clear(struct sandbox *sb)
{
	free(sb->dir);
	free(sb->rootfs);
	free(sb->filter);
	if (sb->root_fd >= 0)
		close(sb->root_fd);
	memset(sb, 0, sizeof(*sb));
	sb->root_fd = -1;
}
