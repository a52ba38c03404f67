#include "os/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

pid_t os_clone3(uint64_t flags, int *ret_pidfd, const pid_t *set_tid, size_t n_set_tid)
{
	int pidfd = -1;
	struct clone_args args = {
		.flags = flags,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)set_tid,
		.set_tid_size = n_set_tid,
	};
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r < 0)
		return -errno;
	if (r > 0 && ret_pidfd && (flags & CLONE_PIDFD))
		*ret_pidfd = pidfd;
	return (pid_t)r;
}

pid_t os_clone3_into(uint64_t flags, int cgroup_fd, int *ret_pidfd)
{
	int pidfd = -1;
	struct clone_args args = {
		.flags = flags | CLONE_INTO_CGROUP,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgroup_fd,
	};
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r < 0)
		return -errno;
	if (r > 0 && ret_pidfd && (flags & CLONE_PIDFD))
		*ret_pidfd = pidfd;
	return (pid_t)r;
}

int os_pidfd_open(pid_t pid, unsigned int flags)
{
	long r = syscall(SYS_pidfd_open, pid, flags);
	return r < 0 ? -errno : (int)r;
}

int os_pidfd_send_signal(int pidfd, int sig)
{
	long r = syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
	return r < 0 ? -errno : 0;
}

int os_proc_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	char state = 0;
	unsigned long long start = 0;
	/* fields 3 (state) .. 22 (starttime) */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &state, &start) != 2)
		return -EIO;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	*ret = start;
	return 0;
}

int os_pidfd_open_checked(pid_t pid, uint64_t start_time)
{
	if (pid <= 0)
		return -ESRCH;
	int fd = os_pidfd_open(pid, 0);
	if (fd < 0)
		return fd;
	/* Checked after opening: the pidfd now pins this process, so a match
	 * means it is the one we recorded, not a later owner of the pid. */
	uint64_t now;
	if (os_proc_start_time(pid, &now) < 0 || now != start_time) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

bool os_proc_alive(pid_t pid, uint64_t start_time)
{
	uint64_t now;
	return pid > 0 && os_proc_start_time(pid, &now) == 0 && now == start_time;
}

int os_pidfd_wait_exit(int pidfd, int timeout_ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		return r == 0 ? -ETIMEDOUT : 0;
	}
}

int os_exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}
