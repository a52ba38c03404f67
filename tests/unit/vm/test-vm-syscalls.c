/* Syscall argument decoding and guest pointers: every argument a program
 * passes is checked before the monitor acts on it (EFAULT, EINVAL, EBADF,
 * ENAMETOOLONG as Linux returns them), and names stay in the root. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "t.h"
#include "vmtest.h"

#define RAM (64ULL << 20)
#define BUF 0x10000000ULL /* 4 RW pages */
#define RO 0x10004000ULL  /* 1 RO page */
#define HOLE 0x10005000ULL
#define PG 4096ULL

static char root[64];

static struct lg_task *setup(struct lg **ret)
{
	if (!root[0]) {
		vt_tmp_root(root, sizeof(root), "cell-vmtest");
		char p[128];
		snprintf(p, sizeof(p), "%s/etc", root);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/tmp", root);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/etc/shadow", root);
		cell_write_file_atomic_at(AT_FDCWD, p, "guest\n", 6, 0644, NULL);
		snprintf(p, sizeof(p), "%s/tmp/abs", root);
		symlink("/etc/shadow", p);
		snprintf(p, sizeof(p), "%s/tmp/rel", root);
		symlink("../../../../../../../etc/shadow", p);
	}
	struct lg *lg = vt_lg(RAM, root);
	struct lg_task *t = vt_task(lg);
	if (lg_mm_map(t->mm, BUF, 4 * PG, PROT_READ | PROT_WRITE, 0) < 0 ||
	    lg_mm_map(t->mm, RO, PG, PROT_READ, 0) < 0)
		abort();
	*ret = lg;
	return t;
}

static void put_str(struct lg_task *t, uint64_t va, const char *s)
{
	lg_copy_to(t->mm, va, s, strlen(s) + 1);
}

static void io_pointers(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS3(t, SYS_write, 1, 0, 10), -EFAULT);
	T_ASSERT_INT(SYS3(t, SYS_write, 1, HOLE, 10), -EFAULT);
	T_ASSERT_INT(SYS3(t, SYS_write, 1, BUF, 10), 10);
	T_ASSERT_INT(SYS3(t, SYS_write, 1, BUF, ~0ULL), -EFAULT);
	T_ASSERT_INT(SYS3(t, SYS_write, 1, RO, 10), 10);   /* reading RO memory is fine */
	T_ASSERT_INT(SYS3(t, SYS_read, lg->null_fd, RO, 10), -EBADF); /* not a guest fd */
	T_ASSERT_INT(SYS3(t, SYS_write, 77, BUF, 1), -EBADF);
	T_ASSERT_INT(SYS3(t, SYS_write, -1, BUF, 1), -EBADF);
	/* readv: too many, a bad array, a negative length */
	T_ASSERT_INT(SYS3(t, SYS_readv, 0, BUF, 2000), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_readv, 0, HOLE, 1), -EFAULT);
	uint64_t iov[2] = { BUF, ~0ULL };
	lg_copy_to(t->mm, BUF + PG, iov, sizeof(iov));
	T_ASSERT_INT(SYS3(t, SYS_readv, 0, BUF + PG, 1), -EINVAL);
	iov[1] = 16;
	lg_copy_to(t->mm, BUF + PG, iov, sizeof(iov));
	T_ASSERT_INT(SYS3(t, SYS_writev, 1, BUF + PG, 1), 16);
	T_ASSERT_INT(SYS4(t, SYS_pread64, 0, BUF, 1, -1), -EINVAL);
	vt_free(lg, t);
}

static void fd_calls(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS1(t, SYS_close, -1), -EBADF);
	T_ASSERT_INT(SYS3(t, SYS_fcntl, 1, F_DUPFD, 1 << 20), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_fcntl, 1, 12345, 0), -EINVAL);
	T_ASSERT_INT(SYS2(t, SYS_dup2, 1, 1), 1);
	T_ASSERT_INT(SYS3(t, SYS_dup3, 1, 1, 0), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_dup3, 1, 5, 0x40), -EINVAL);
	T_ASSERT_INT(SYS2(t, SYS_dup2, 1, 100000), -EBADF);
	long fd = SYS1(t, SYS_dup, 2);
	T_ASSERT_INT(fd, 3);
	T_ASSERT_INT(SYS2(t, SYS_fcntl, fd, F_GETFD), 0);
	T_ASSERT_INT(SYS3(t, SYS_fcntl, fd, F_SETFD, FD_CLOEXEC), 0);
	T_ASSERT_INT(SYS2(t, SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
	T_ASSERT_INT(SYS3(t, SYS_ioctl, 1, 0x5401 /* TCGETS */, BUF), -ENOTTY);
	T_ASSERT_INT(SYS2(t, SYS_fstat, -5, BUF), -EBADF);
	T_ASSERT_INT(SYS2(t, SYS_fstat, 1, RO), -EFAULT);
	T_ASSERT_INT(SYS2(t, SYS_fstat, 1, BUF), 0);
	T_ASSERT_INT(SYS1(t, SYS_pipe, HOLE), -EFAULT);
	T_ASSERT_INT(SYS2(t, SYS_pipe2, BUF, 0x1234567), -EINVAL);
	vt_free(lg, t);
}

static void paths(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	const char *inside[] = { "/etc/shadow", "/../../etc/shadow", "/tmp/abs", "/tmp/rel",
				 "tmp/../../../etc/shadow" };
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		put_str(t, BUF, inside[i]);
		long fd = SYS2(t, SYS_open, BUF, O_RDONLY);
		T_ASSERT(fd >= 3);
		T_ASSERT_INT(SYS3(t, SYS_read, fd, BUF + PG, 64), 6);
		char got[8] = { 0 };
		lg_copy_from(t->mm, got, BUF + PG, 6);
		T_ASSERT_STR(got, "guest\n");
		T_ASSERT_INT(SYS1(t, SYS_close, fd), 0);
	}
	T_ASSERT_INT(SYS2(t, SYS_open, 0, O_RDONLY), -EFAULT);
	T_ASSERT_INT(SYS2(t, SYS_open, HOLE, O_RDONLY), -EFAULT);
	put_str(t, BUF, "");
	T_ASSERT_INT(SYS2(t, SYS_open, BUF, O_RDONLY), -ENOENT);
	char *longp = xmalloc(5000);
	memset(longp, 'a', 4999);
	longp[4999] = 0;
	lg_copy_to(t->mm, BUF, longp, 5000);
	free(longp);
	T_ASSERT_INT(SYS2(t, SYS_open, BUF, O_RDONLY), -ENAMETOOLONG);
	put_str(t, BUF, "etc/shadow");
	T_ASSERT_INT(SYS3(t, SYS_openat, 99, BUF, O_RDONLY), -EBADF);
	put_str(t, BUF, "/etc/shadow");
	long fd = SYS3(t, SYS_openat, 99, BUF, O_RDONLY); /* absolute: dirfd unused */
	T_ASSERT(fd >= 3);
	T_ASSERT_INT(SYS4(t, SYS_newfstatat, AT_FDCWD, BUF, BUF + PG, 0), 0);
	T_ASSERT_INT(SYS4(t, SYS_newfstatat, AT_FDCWD, BUF, BUF + PG, 0x12345), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_newfstatat, AT_FDCWD, BUF, RO, 0), -EFAULT);
	/* names of the last component */
	put_str(t, BUF, "/tmp/abs");
	T_ASSERT_INT(SYS3(t, SYS_readlink, BUF, BUF + PG, 64), 11);
	T_ASSERT_INT(SYS3(t, SYS_readlink, BUF, BUF + PG, 0), -EINVAL);
	put_str(t, BUF, "/..");
	T_ASSERT_INT(SYS2(t, SYS_mkdir, BUF, 0755), -EEXIST);
	T_ASSERT_INT(SYS1(t, SYS_rmdir, BUF), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_mknod, HOLE, S_IFBLK | 0600, 0), -EFAULT);
	put_str(t, BUF, "/tmp/dev");
	T_ASSERT_INT(SYS3(t, SYS_mknod, BUF, S_IFCHR | 0600, 0x0103), -EPERM);
	T_ASSERT_INT(SYS2(t, SYS_getcwd, BUF, 1), -ERANGE);
	T_ASSERT_INT(SYS2(t, SYS_getcwd, BUF, 64), 2);
	vt_free(lg, t);
}

static void memory_calls(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, PG, PROT_READ, MAP_ANONYMOUS, -1, 0), -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, PG, 0x100, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_mmap, BUF + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		     -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, 1, 3), -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, PG, PROT_READ, MAP_PRIVATE, 77, 0), -EBADF);
	T_ASSERT_INT(SYS6(t, SYS_mmap, 0, ~0ULL, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -ENOMEM);
	long a = SYS6(t, SYS_mmap, 0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(a > 0 && (a & 0xfff) == 0);
	T_ASSERT_INT(lg_copy_to(t->mm, (uint64_t)a + PG, "m", 1), 0);
	T_ASSERT_INT(SYS6(t, SYS_mmap, (uint64_t)a, PG, PROT_READ,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	T_ASSERT_INT(SYS2(t, SYS_munmap, (uint64_t)a + 1, PG), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_mprotect, (uint64_t)a, PG, 0x80), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_mprotect, (uint64_t)a, PG, PROT_READ), 0);
	T_ASSERT_INT(SYS2(t, SYS_munmap, (uint64_t)a, 3 * PG), 0);
	/* brk: below the start returns the break; growing maps, shrinking unmaps */
	uint64_t b0 = (uint64_t)SYS1(t, SYS_brk, 0);
	T_ASSERT_INT(SYS1(t, SYS_brk, 1), (long)b0);
	T_ASSERT_INT(SYS1(t, SYS_brk, b0 + 3 * PG), (long)(b0 + 3 * PG));
	T_ASSERT_INT(lg_copy_to(t->mm, b0 + 2 * PG, "b", 1), 0);
	T_ASSERT_INT(SYS1(t, SYS_brk, b0 + PG), (long)(b0 + PG));
	T_ASSERT_INT(lg_copy_to(t->mm, b0 + 2 * PG, "b", 1), -EFAULT);
	T_ASSERT_INT(SYS1(t, SYS_brk, ~0ULL), (long)(b0 + PG));
	T_ASSERT_INT(SYS4(t, SYS_mremap, BUF, PG, 0, 0), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_mremap, HOLE + 16 * PG, PG, 2 * PG, MREMAP_MAYMOVE), -EFAULT);
	vt_free(lg, t);
}

static void signal_calls(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, SIGUSR1, 0, 0, 4), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, 0, 0, 0, 8), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, 65, 0, 0, 8), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, SIGKILL, BUF, 0, 8), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, SIGUSR1, HOLE, 0, 8), -EFAULT);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, SIGUSR1, 0, RO, 8), -EFAULT);
	uint64_t act[4] = { 0x401000, 0x04000000, 0x401100, ~0ULL };
	lg_copy_to(t->mm, BUF, act, sizeof(act));
	T_ASSERT_INT(SYS4(t, SYS_rt_sigaction, SIGUSR1, BUF, 0, 8), 0);
	T_ASSERT(!(t->proc->sighand->action[SIGUSR1 - 1].mask & (1ULL << (SIGKILL - 1))));
	T_ASSERT_INT(SYS4(t, SYS_rt_sigprocmask, 7, BUF, 0, 8), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_rt_sigprocmask, SIG_SETMASK, BUF + 24, 0, 8), 0);
	T_ASSERT(!(t->blocked & (1ULL << (SIGKILL - 1))) && !(t->blocked & (1ULL << (SIGSTOP - 1))));
	uint64_t ss[3] = { BUF, 0, 100 };
	lg_copy_to(t->mm, BUF + PG, ss, sizeof(ss));
	T_ASSERT_INT(SYS2(t, SYS_sigaltstack, BUF + PG, 0), -ENOMEM);
	T_ASSERT_INT(SYS2(t, SYS_kill, 12345, SIGTERM), -ESRCH);
	T_ASSERT_INT(SYS2(t, SYS_kill, 1, 99), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_tgkill, 1, 0, SIGTERM), -EINVAL);
	vt_free(lg, t);
}

static void polling(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS3(t, SYS_poll, BUF, 100000, 0), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_poll, HOLE, 2, 0), -EFAULT);
	struct pollfd p[2] = { { .fd = 1, .events = POLLOUT }, { .fd = 55, .events = POLLIN } };
	lg_copy_to(t->mm, BUF, p, sizeof(p));
	T_ASSERT_INT(SYS3(t, SYS_poll, BUF, 2, 0), 2);
	lg_copy_from(t->mm, p, BUF, sizeof(p));
	T_ASSERT(p[0].revents & POLLOUT);
	T_ASSERT_INT(p[1].revents, POLLNVAL);
	T_ASSERT_INT(SYS6(t, SYS_select, -1, 0, 0, 0, 0, 0), -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_select, 5000, 0, 0, 0, 0, 0), -EINVAL);
	T_ASSERT_INT(SYS6(t, SYS_ppoll, BUF, 1, 0, BUF + PG, 4, 0), -EINVAL);
	vt_free(lg, t);
}

static void misc_calls(void)
{
	struct lg *lg;
	struct lg_task *t = setup(&lg);
	T_ASSERT_INT(SYS0(t, 999), -ENOSYS);
	T_ASSERT_INT(SYS0(t, 1ULL << 63), -ENOSYS);
	T_ASSERT_INT(SYS1(t, SYS_uname, HOLE), -EFAULT);
	T_ASSERT_INT(SYS1(t, SYS_uname, BUF), 0);
	char sys[8];
	lg_copy_from(t->mm, sys, BUF, 6);
	T_ASSERT_STR(sys, "Linux");
	T_ASSERT_INT(SYS2(t, SYS_getrlimit, 99, BUF), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_prlimit64, 4242, 0, 0, BUF), -ESRCH);
	T_ASSERT_INT(SYS2(t, SYS_arch_prctl, 0x1002, 0xffffffff80000000ULL), -EPERM);
	T_ASSERT_INT(SYS2(t, SYS_clone3, BUF, 8), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_getrandom, BUF, 3 * PG, 0), (long)(3 * PG));
	T_ASSERT_INT(SYS3(t, SYS_getrandom, HOLE, 10, 0), -EFAULT);
	T_ASSERT_INT(SYS3(t, SYS_sched_getaffinity, 0, 4, BUF), -EINVAL);
	T_ASSERT_INT(SYS3(t, SYS_execve, HOLE, 0, 0), -EFAULT);
	put_str(t, BUF, "/bin/nothing");
	T_ASSERT_INT(SYS3(t, SYS_execve, BUF, 0, 0), -ENOENT);
	put_str(t, BUF, "/etc/shadow");
	T_ASSERT_INT(SYS3(t, SYS_execve, BUF, HOLE, 0), -EFAULT);
	T_ASSERT_INT(SYS3(t, SYS_execve, BUF, 0, 0), -EACCES); /* not executable */
	T_ASSERT_INT(SYS4(t, SYS_wait4, -1, 0, 0x12345678, 0), -EINVAL);
	T_ASSERT_INT(SYS4(t, SYS_wait4, -1, 0, 1 /* WNOHANG */, 0), -ECHILD);
	vt_free(lg, t);
}

T_MAIN("vm-syscalls", T_CASE(io_pointers), T_CASE(fd_calls), T_CASE(paths), T_CASE(memory_calls),
       T_CASE(signal_calls), T_CASE(polling), T_CASE(misc_calls))
