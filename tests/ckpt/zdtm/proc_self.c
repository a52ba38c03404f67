/* Files of the process's own /proc/self held open across the checkpoint:
 * the kernel names them /proc/PID/..., and a restored process has another
 * pid; they must open the restored process's own files again (its status
 * names it, its pagemap maps its memory), not fail nor name another. */
#include <stdint.h>

#include "zdtm.h"

/* The pid the status file gives in the process's own PID namespace: the
 * last of NSpid (the procfs may be a parent namespace's). */
static long status_pid(int fd)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strstr(buf, "\nNSpid:"), *end;
	long pid = -1;
	for (p = p ? p + 7 : NULL; p && *p != '\n'; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		pid = v;
	}
	return pid;
}

static int page_present(int fd, const void *addr)
{
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)addr / 4096 * 8);
	if (pread(fd, &e, sizeof(e), off) != sizeof(e))
		return -1;
	return (int)(e >> 63);
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int status = open("/proc/self/status", O_RDONLY);
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	static char touched[4096];
	touched[0] = 1;
	if (status < 0 || pagemap < 0)
		zdtm_fail("open /proc/self files: %s", strerror(errno));
	zdtm_check(status_pid(status) == getpid());
	zdtm_check(page_present(pagemap, touched) == 1);

	zdtm_ready();
	zdtm_wait();

	zdtm_check(status_pid(status) == getpid());
	touched[1] = 1;
	zdtm_check(page_present(pagemap, touched) == 1);
	zdtm_pass();
}
