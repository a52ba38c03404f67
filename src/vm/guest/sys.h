/* System call handlers of the light guest, one family per file:
 *   sys-io.c     reading, writing, fds, pipes, polling
 *   sys-path.c   names: open, stat, mkdir, rename, chdir...
 *   sys-mem.c    brk, mmap, munmap, mprotect...
 *   sys-proc.c   clone/fork, execve, exit, wait, pids, futex
 *   sys-signal.c signal masks, actions, kill
 *   sys-misc.c   time, identity, uname, randomness
 *   rlimit.c     getrlimit, setrlimit, prlimit64 and the limits' checks
 * A handler returns the result or -errno; a[] holds rdi rsi rdx r10 r8 r9. */
#ifndef CELL_VM_GUEST_SYS_H
#define CELL_VM_GUEST_SYS_H

#include <stdint.h>

#include "vm/guest/lg.h"

#define LG_SYS(name) long lg_sys_##name(struct lg_task *t, const uint64_t *a)
typedef long (*lg_sys_fn)(struct lg_task *t, const uint64_t *a);

/* sys-io.c */
LG_SYS(read); LG_SYS(write); LG_SYS(readv); LG_SYS(writev); LG_SYS(pread64);
LG_SYS(pwrite64); LG_SYS(preadv); LG_SYS(pwritev); LG_SYS(preadv2); LG_SYS(pwritev2);
LG_SYS(lseek); LG_SYS(close); LG_SYS(dup); LG_SYS(dup2); LG_SYS(dup3); LG_SYS(fcntl);
LG_SYS(ioctl); LG_SYS(pipe); LG_SYS(pipe2); LG_SYS(getdents64); LG_SYS(fstat);
LG_SYS(sendfile); LG_SYS(poll); LG_SYS(ppoll); LG_SYS(select); LG_SYS(pselect6);
LG_SYS(ftruncate); LG_SYS(fsync); LG_SYS(fchmod); LG_SYS(fchown); LG_SYS(fstatfs);
LG_SYS(flock); LG_SYS(fallocate); LG_SYS(fadvise64); LG_SYS(copy_file_range);
LG_SYS(close_range);

/* sys-path.c */
LG_SYS(open); LG_SYS(openat); LG_SYS(openat2); LG_SYS(creat); LG_SYS(stat); LG_SYS(lstat);
LG_SYS(newfstatat); LG_SYS(statx); LG_SYS(access); LG_SYS(faccessat); LG_SYS(faccessat2);
LG_SYS(readlink); LG_SYS(readlinkat); LG_SYS(mkdir); LG_SYS(mkdirat); LG_SYS(rmdir);
LG_SYS(unlink); LG_SYS(unlinkat); LG_SYS(rename); LG_SYS(renameat); LG_SYS(renameat2);
LG_SYS(link); LG_SYS(linkat); LG_SYS(symlink); LG_SYS(symlinkat); LG_SYS(chmod);
LG_SYS(fchmodat); LG_SYS(chown); LG_SYS(lchown); LG_SYS(fchownat); LG_SYS(utimensat);
LG_SYS(utimes); LG_SYS(truncate); LG_SYS(chdir); LG_SYS(fchdir); LG_SYS(getcwd);
LG_SYS(mknod); LG_SYS(mknodat); LG_SYS(statfs); LG_SYS(chroot);

/* sys-mem.c */
LG_SYS(brk); LG_SYS(mmap); LG_SYS(munmap); LG_SYS(mprotect); LG_SYS(mremap);
LG_SYS(madvise); LG_SYS(msync); LG_SYS(mlock); LG_SYS(mincore);

/* sys-proc.c */
LG_SYS(getpid); LG_SYS(getppid); LG_SYS(gettid); LG_SYS(fork); LG_SYS(vfork);
LG_SYS(clone); LG_SYS(clone3); LG_SYS(execve); LG_SYS(execveat); LG_SYS(exit);
LG_SYS(exit_group); LG_SYS(wait4); LG_SYS(waitid); LG_SYS(set_tid_address);
LG_SYS(getpgrp); LG_SYS(getpgid); LG_SYS(setpgid); LG_SYS(getsid); LG_SYS(setsid);
LG_SYS(prctl); LG_SYS(arch_prctl); LG_SYS(sched_yield); LG_SYS(set_robust_list);
LG_SYS(futex); LG_SYS(enosys_quiet);

/* sys-signal.c */
LG_SYS(rt_sigaction); LG_SYS(rt_sigprocmask); LG_SYS(rt_sigreturn); LG_SYS(sigaltstack);
LG_SYS(rt_sigpending); LG_SYS(rt_sigsuspend); LG_SYS(pause); LG_SYS(kill); LG_SYS(tkill);
LG_SYS(tgkill); LG_SYS(alarm); LG_SYS(setitimer); LG_SYS(getitimer);
LG_SYS(rt_sigtimedwait);

/* sys-misc.c */
LG_SYS(uname); LG_SYS(umask); LG_SYS(gettimeofday); LG_SYS(time); LG_SYS(clock_gettime);
LG_SYS(clock_getres); LG_SYS(clock_nanosleep); LG_SYS(nanosleep); LG_SYS(getrlimit);
LG_SYS(setrlimit); LG_SYS(prlimit64); LG_SYS(getrusage); LG_SYS(sysinfo); LG_SYS(times);
LG_SYS(getuid); LG_SYS(geteuid); LG_SYS(getgid); LG_SYS(getegid); LG_SYS(setuid);
LG_SYS(setgid); LG_SYS(setreuid); LG_SYS(setregid); LG_SYS(setresuid); LG_SYS(setresgid);
LG_SYS(getresuid); LG_SYS(getresgid); LG_SYS(getgroups); LG_SYS(setgroups);
LG_SYS(getrandom); LG_SYS(sched_getaffinity); LG_SYS(getcpu); LG_SYS(sethostname);
LG_SYS(syslog); LG_SYS(zero); LG_SYS(socket); LG_SYS(getpriority); LG_SYS(setpriority);

#endif
