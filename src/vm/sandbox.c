/* The monitor's sandbox.  See sandbox.h for the order and why. */
#include "vm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
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

int sandbox_prepare(int dirfd, const char *dirpath, const char *rootfs, bool readonly,
		    struct sandbox *ret, struct cell_err **err)
{
	memset(ret, 0, sizeof(*ret));
	/* No network namespace: creating one and tearing it down costs ~2.5 ms
	 * per VM here, and the seccomp filter refuses socket(), connect() and
	 * bind() anyway, so the monitor cannot open a network endpoint. */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return cell_err_sys(err, "sandbox: unshare");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cell_err_sys(err, "sandbox: making mounts private");
	if (mkdirat(dirfd, "sandbox", 0700) < 0 && errno != EEXIST)
		return cell_err_sys(err, "sandbox: mkdir %s/sandbox", dirpath);
	ret->dir = xasprintf("%s/sandbox", dirpath);
	if (mount("tmpfs", ret->dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=64k") < 0)
		return cell_err_sys(err, "sandbox: tmpfs on %s", ret->dir);
	_cleanup_free_ char *proc = xasprintf("%s/proc", ret->dir);
	if (mkdir(proc, 0555) < 0 ||
	    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return cell_err_sys(err, "sandbox: /proc");
	if (rootfs) {
		ret->rootfs = xasprintf("%s%s", ret->dir, SANDBOX_ROOT);
		if (mkdir(ret->rootfs, 0755) < 0 ||
		    mount(rootfs, ret->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
			return cell_err_sys(err, "sandbox: bind %s", rootfs);
		/* No device node and no setuid bit in the guest's root works
		 * on the host, whatever the root holds. */
		int r = setattr_rec(ret->rootfs, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID |
							(readonly ? MOUNT_ATTR_RDONLY : 0), err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int pivot(const char *dir, struct cell_err **err)
{
	if (chdir(dir) < 0)
		return cell_err_sys(err, "sandbox: chdir %s", dir);
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

static int install_seccomp(struct cell_err **err)
{
	const char *mode = getenv("CELL_VM_SECCOMP");
	uint32_t deflt = mode && strcmp(mode, "log") == 0 ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	scmp_filter_ctx ctx = seccomp_init(deflt);
	if (!ctx)
		return cell_err(err, ENOMEM, "sandbox: seccomp_init");
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
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return cell_err(err, -r, "sandbox: seccomp filter");
	return 0;
}

int sandbox_enter(struct sandbox *sb, enum vm_kind kind, struct cell_err **err)
{
	(void)kind;
	/* Now that we are in the VM's cgroup, make it our cgroup root. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return cell_err_sys(err, "sandbox: cgroup namespace");
	int r = pivot(sb->dir, err);
	if (r < 0 || (r = drop_caps(err)) < 0 || (r = install_seccomp(err)) < 0)
		return r;
	sb->entered = true;
	return 0;
}

void sandbox_clear(struct sandbox *sb)
{
	free(sb->dir);
	free(sb->rootfs);
	memset(sb, 0, sizeof(*sb));
}
