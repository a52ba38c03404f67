/* Syscall argument decoding and guest pointers: sequences of system calls
 * with arbitrary arguments against a light-guest task (no VM behind it).
 * Pointers are often aimed at mapped, read-only, unmapped or kernel-half
 * memory so that the decoders' checks are exercised, and the program's
 * memory holds fuzzer bytes (iovecs, sigactions, pollfds, paths...).
 * Calls that block, create processes or change the file system are left
 * out; open's flags are made read-only. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "vmtest.h"

#define RAM (32ULL << 20)
#define BUF 0x10000000ULL
#define RO 0x10004000ULL
#define HOLE 0x10005000ULL
#define ZERO 0x10006000ULL /* zeros: a timeout of 0 for the polling calls */

static const unsigned long calls[] = {
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_lseek, SYS_close,
	SYS_dup, SYS_dup2, SYS_dup3, SYS_fcntl, SYS_ioctl, SYS_getdents64, SYS_fstat, SYS_poll,
	SYS_ppoll, SYS_select, SYS_pselect6, SYS_open, SYS_openat, SYS_openat2, SYS_stat, SYS_lstat,
	SYS_newfstatat, SYS_statx, SYS_access, SYS_faccessat, SYS_faccessat2, SYS_readlink,
	SYS_readlinkat, SYS_getcwd, SYS_chdir, SYS_fchdir, SYS_statfs, SYS_fstatfs, SYS_brk,
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_msync, SYS_mincore,
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_rt_sigpending, SYS_kill,
	SYS_tgkill, SYS_getpid, SYS_getppid, SYS_uname, SYS_umask, SYS_gettimeofday, SYS_time,
	SYS_clock_gettime, SYS_clock_getres, SYS_getrlimit, SYS_setrlimit, SYS_prlimit64,
	SYS_getrusage, SYS_sysinfo, SYS_times, SYS_getuid, SYS_setuid, SYS_getgroups,
	SYS_getrandom, SYS_sched_getaffinity, SYS_getcpu, SYS_arch_prctl, SYS_prctl,
	SYS_set_tid_address, SYS_set_robust_list, SYS_wait4, SYS_waitid, SYS_getpgid,
	SYS_setpgid, SYS_setsid, SYS_execve, SYS_clone3, SYS_close_range, SYS_sendfile, 999,
};

static uint64_t arg(const uint8_t **p, size_t *n)
{
	if (*n < 9) {
		*n = 0;
		return 0;
	}
	uint8_t sel = (*p)[0];
	uint64_t v;
	memcpy(&v, *p + 1, 8);
	*p += 9;
	*n -= 9;
	switch (sel % 6) {
	case 0: return v;
	case 1: return BUF + v % (4 * 4096);
	case 2: return (uint64_t)((int64_t)(v % 300) - 2);
	case 3: return RO + v % 4096;
	case 4: return HOLE + v % 4096;
	default: return 0xffffffff80000000ULL + v % (2u << 20);
	}
}

static char root[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!root[0]) {
		vt_tmp_root(root, sizeof(root), "cell-fuzz-vm");
		char p[128];
		snprintf(p, sizeof(p), "%s/etc", root);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/etc/file", root);
		cell_write_file_atomic_at(AT_FDCWD, p, "data\n", 5, 0644, NULL);
		snprintf(p, sizeof(p), "%s/link", root);
		symlink("/etc/file", p);
	}
	struct lg *lg = vt_lg(RAM, root);
	struct lg_task *t = vt_task(lg);
	lg_mm_map(t->mm, BUF, 4 * 4096, PROT_READ | PROT_WRITE, 0);
	lg_mm_map(t->mm, RO, 4096, PROT_READ, 0);
	lg_mm_map(t->mm, ZERO, 4096, PROT_READ, 0);
	size_t pre = size < 4 * 4096 ? size : 4 * 4096;
	lg_copy_to(t->mm, BUF, data, pre);
	const uint8_t *p = data;
	size_t n = size;
	while (n > 1 && !t->proc->exiting && !t->exit_requested) {
		unsigned long nr = calls[p[0] % (sizeof(calls) / sizeof(calls[0]))];
		p++;
		n--;
		uint64_t a[6];
		for (int i = 0; i < 6; i++)
			a[i] = arg(&p, &n);
		switch (nr) { /* keep it from blocking or writing the file system */
		case SYS_open: a[1] &= O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC | O_NONBLOCK; break;
		case SYS_openat: a[2] &= O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC | O_NONBLOCK; break;
		case SYS_openat2: a[2] = BUF; lg_copy_to(t->mm, BUF, "\0\0\0\0\0\0\0\0", 8); break;
		case SYS_poll: a[2] = 0; break;
		case SYS_ppoll: a[2] = ZERO; break;
		case SYS_pselect6: a[4] = ZERO; break;
		case SYS_select: a[4] = ZERO; break;
		case SYS_wait4: a[2] = 1; break;
		case SYS_waitid: a[3] = 1 | 4; break;
		case SYS_kill: case SYS_tgkill: a[1] = a[1] % 2 ? 0 : 12345; break;
		case SYS_execve: a[1] = a[2] = 0; break;
		default: break;
		}
		vt_sys(t, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	vt_free(lg, t);
	return 0;
}
