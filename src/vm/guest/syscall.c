/* The syscall table of the light guest: an explicit array from number to
 * handler, so `grep lg_sys_` finds every call the monitor serves.  Anything
 * not here returns ENOSYS and is logged once with its name. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <sys/syscall.h>

#include "base/log.h"
#include "vm/guest/syscall-names.h"

#define E(nr, fn) [nr] = lg_sys_##fn

static const lg_sys_fn table[LG_NR_SYSCALLS] = {
	E(SYS_read, read), E(SYS_write, write), E(SYS_open, open), E(SYS_close, close),
	E(SYS_stat, stat), E(SYS_fstat, fstat), E(SYS_lstat, lstat), E(SYS_poll, poll),
	E(SYS_lseek, lseek), E(SYS_mmap, mmap), E(SYS_mprotect, mprotect),
	E(SYS_munmap, munmap), E(SYS_brk, brk), E(SYS_rt_sigaction, rt_sigaction),
	E(SYS_rt_sigprocmask, rt_sigprocmask), E(SYS_rt_sigreturn, rt_sigreturn),
	E(SYS_ioctl, ioctl), E(SYS_pread64, pread64), E(SYS_pwrite64, pwrite64),
	E(SYS_readv, readv), E(SYS_writev, writev), E(SYS_access, access), E(SYS_pipe, pipe),
	E(SYS_select, select), E(SYS_sched_yield, sched_yield), E(SYS_mremap, mremap),
	E(SYS_msync, msync), E(SYS_mincore, mincore), E(SYS_madvise, madvise),
	E(SYS_dup, dup), E(SYS_dup2, dup2), E(SYS_pause, pause), E(SYS_nanosleep, nanosleep),
	E(SYS_getitimer, getitimer), E(SYS_alarm, alarm), E(SYS_setitimer, setitimer),
	E(SYS_getpid, getpid), E(SYS_sendfile, sendfile), E(SYS_socket, socket),
	E(SYS_clone, clone), E(SYS_fork, fork), E(SYS_vfork, vfork), E(SYS_execve, execve),
	E(SYS_exit, exit), E(SYS_wait4, wait4), E(SYS_kill, kill), E(SYS_uname, uname),
	E(SYS_fcntl, fcntl), E(SYS_flock, flock), E(SYS_fsync, fsync), E(SYS_fdatasync, fsync),
	E(SYS_truncate, truncate), E(SYS_ftruncate, ftruncate), E(SYS_getcwd, getcwd),
	E(SYS_chdir, chdir), E(SYS_fchdir, fchdir), E(SYS_rename, rename), E(SYS_mkdir, mkdir),
	E(SYS_rmdir, rmdir), E(SYS_creat, creat), E(SYS_link, link), E(SYS_unlink, unlink),
	E(SYS_symlink, symlink), E(SYS_readlink, readlink), E(SYS_chmod, chmod),
	E(SYS_fchmod, fchmod), E(SYS_chown, chown), E(SYS_fchown, fchown),
	E(SYS_lchown, lchown), E(SYS_umask, umask), E(SYS_gettimeofday, gettimeofday),
	E(SYS_getrlimit, getrlimit), E(SYS_getrusage, getrusage), E(SYS_sysinfo, sysinfo),
	E(SYS_times, times), E(SYS_getuid, getuid), E(SYS_syslog, syslog),
	E(SYS_getgid, getgid), E(SYS_setuid, setuid), E(SYS_setgid, setgid),
	E(SYS_geteuid, geteuid), E(SYS_getegid, getegid), E(SYS_setpgid, setpgid),
	E(SYS_getppid, getppid), E(SYS_getpgrp, getpgrp), E(SYS_setsid, setsid),
	E(SYS_setreuid, setreuid), E(SYS_setregid, setregid), E(SYS_getgroups, getgroups),
	E(SYS_setgroups, setgroups), E(SYS_setresuid, setresuid),
	E(SYS_getresuid, getresuid), E(SYS_setresgid, setresgid),
	E(SYS_getresgid, getresgid), E(SYS_getpgid, getpgid), E(SYS_getsid, getsid),
	E(SYS_rt_sigpending, rt_sigpending), E(SYS_rt_sigtimedwait, rt_sigtimedwait),
	E(SYS_rt_sigsuspend, rt_sigsuspend), E(SYS_sigaltstack, sigaltstack),
	E(SYS_utime, zero), E(SYS_mknod, mknod), E(SYS_statfs, statfs),
	E(SYS_fstatfs, fstatfs), E(SYS_getpriority, getpriority),
	E(SYS_setpriority, setpriority), E(SYS_mlock, mlock), E(SYS_munlock, mlock),
	E(SYS_mlockall, zero), E(SYS_munlockall, zero), E(SYS_prctl, prctl),
	E(SYS_arch_prctl, arch_prctl), E(SYS_setrlimit, setrlimit), E(SYS_chroot, chroot),
	E(SYS_sync, zero), E(SYS_sethostname, sethostname), E(SYS_gettid, gettid),
	E(SYS_time, time), E(SYS_futex, futex), E(SYS_sched_getaffinity, sched_getaffinity),
	E(SYS_getdents64, getdents64), E(SYS_set_tid_address, set_tid_address),
	E(SYS_fadvise64, fadvise64), E(SYS_clock_gettime, clock_gettime),
	E(SYS_clock_getres, clock_getres), E(SYS_clock_nanosleep, clock_nanosleep),
	E(SYS_exit_group, exit_group), E(SYS_tgkill, tgkill), E(SYS_tkill, tkill),
	E(SYS_utimes, utimes), E(SYS_waitid, waitid), E(SYS_openat, openat),
	E(SYS_mkdirat, mkdirat), E(SYS_mknodat, mknodat), E(SYS_fchownat, fchownat),
	E(SYS_newfstatat, newfstatat), E(SYS_unlinkat, unlinkat), E(SYS_renameat, renameat),
	E(SYS_linkat, linkat), E(SYS_symlinkat, symlinkat), E(SYS_readlinkat, readlinkat),
	E(SYS_fchmodat, fchmodat), E(SYS_faccessat, faccessat), E(SYS_pselect6, pselect6),
	E(SYS_ppoll, ppoll), E(SYS_set_robust_list, set_robust_list),
	E(SYS_get_robust_list, enosys_quiet), E(SYS_utimensat, utimensat),
	E(SYS_fallocate, fallocate), E(SYS_dup3, dup3), E(SYS_pipe2, pipe2),
	E(SYS_preadv, preadv), E(SYS_pwritev, pwritev), E(SYS_prlimit64, prlimit64),
	E(SYS_syncfs, zero), E(SYS_getcpu, getcpu), E(SYS_renameat2, renameat2),
	E(SYS_getrandom, getrandom), E(SYS_execveat, execveat),
	E(SYS_copy_file_range, copy_file_range), E(SYS_preadv2, preadv2),
	E(SYS_pwritev2, pwritev2), E(SYS_statx, statx), E(SYS_rseq, enosys_quiet),
	E(SYS_clone3, clone3), E(SYS_close_range, close_range), E(SYS_openat2, openat2),
	E(SYS_faccessat2, faccessat2), E(SYS_membarrier, enosys_quiet),
	E(SYS_sched_getparam, enosys_quiet), E(SYS_sched_getscheduler, enosys_quiet),
};

LG_SYS(enosys_quiet)
{
	(void)t;
	(void)a;
	return -ENOSYS;
}

LG_SYS(zero)
{
	(void)t;
	(void)a;
	return 0;
}

static void log_unknown(struct lg *lg, unsigned long nr)
{
	unsigned long word = nr / 64, b = 1UL << (nr % 64);
	if (nr < 64 * 8) {
		if (__atomic_fetch_or(&lg->unknown_logged[word], b, __ATOMIC_RELAXED) & b)
			return;
	}
	cell_log(CELL_LOG_INFO, "light guest: unknown syscall %lu (%s), returning ENOSYS", nr,
		 lg_syscall_name(nr));
}

void lg_syscall(struct lg_task *t)
{
	struct lg_uctx *u = t->uctx;
	unsigned long nr = u->r.rax;
	const uint64_t a[6] = { u->r.rdi, u->r.rsi, u->r.rdx, u->r.r10, u->r.r8, u->r.r9 };
	long r;
	if (nr < LG_NR_SYSCALLS && table[nr]) {
		r = table[nr](t, a);
	} else {
		log_unknown(t->lg, nr);
		r = -ENOSYS;
	}
	if (!u->noreturn)
		u->r.rax = (uint64_t)r;
	if (cell_log_enabled(CELL_LOG_DEBUG))
		cell_debug("light guest: pid %d: %s(0x%llx, 0x%llx, 0x%llx, 0x%llx) = %ld",
			   t->tid, lg_syscall_name(nr), (unsigned long long)a[0],
			   (unsigned long long)a[1], (unsigned long long)a[2],
			   (unsigned long long)a[3], u->noreturn ? 0L : r);
}
