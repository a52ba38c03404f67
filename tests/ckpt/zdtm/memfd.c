/* Memfds held as fds: one unmapped, sealed against growing and shrinking,
 * its description shared with a child; one also mapped shared, with a
 * second, read-only description of its own at another position; one made
 * without sealing allowed.  Contents, names, seals, positions and the
 * sharing of descriptions must survive. */
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "zdtm.h"

static void fill(int fd, char c, size_t len)
{
	char buf[4096];
	memset(buf, c, sizeof(buf));
	for (size_t off = 0; off < len; off += sizeof(buf))
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != sizeof(buf))
			zdtm_fail("fill: %s", strerror(errno));
}

static void check_content(int fd, char c, size_t len, const char *what)
{
	char buf[4096];
	for (size_t off = 0; off < len; off += sizeof(buf)) {
		if (pread(fd, buf, sizeof(buf), (off_t)off) != sizeof(buf))
			zdtm_fail("%s: read at %zu: %s", what, off, strerror(errno));
		for (size_t i = 0; i < sizeof(buf); i++)
			if (buf[i] != c)
				zdtm_fail("%s: byte %zu is %d", what, off + i, buf[i]);
	}
}

static void check_name(int fd, const char *want)
{
	char path[64], link[256];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	if (!strstr(link, want))
		zdtm_fail("fd %d is %s, not %s", fd, link, want);
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int a = memfd_create("zdtm-a", MFD_ALLOW_SEALING);
	int b = memfd_create("zdtm-b", 0);
	int c = memfd_create("zdtm-c", MFD_CLOEXEC);
	if (a < 0 || b < 0 || c < 0)
		zdtm_fail("memfd_create: %s", strerror(errno));
	if (ftruncate(a, 3 * 4096) || ftruncate(b, 8 * 4096) || ftruncate(c, 4096))
		zdtm_fail("ftruncate");
	fill(a, 'a', 3 * 4096);
	fill(b, 'b', 8 * 4096);
	fill(c, 'c', 4096);
	if (fcntl(a, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		zdtm_fail("seal: %s", strerror(errno));
	lseek(a, 5000, SEEK_SET);
	char *map = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	if (map == MAP_FAILED)
		zdtm_fail("mmap");
	map[4096] = 'X'; /* through the mapping, seen through the fds */
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", b);
	int b2 = open(path, O_RDONLY);
	if (b2 < 0)
		zdtm_fail("reopen: %s", strerror(errno));
	lseek(b2, 100, SEEK_SET);
	int p[2];
	if (pipe(p))
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0) {
		char x;
		if (read(p[0], &x, 1) != 1)
			_exit(2);
		/* Shares a's description with pid 1: pid 1 will see this. */
		_exit(lseek(a, 7000, SEEK_SET) == 7000 ? 0 : 1);
	}
	zdtm_ready();
	zdtm_wait();

	check_content(a, 'a', 3 * 4096, "a");
	check_content(c, 'c', 4096, "c");
	zdtm_check(lseek(a, 0, SEEK_CUR) == 5000);
	zdtm_check(lseek(b2, 0, SEEK_CUR) == 100);
	zdtm_check(lseek(b, 0, SEEK_CUR) == 0);
	zdtm_check(fcntl(a, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW));
	zdtm_check(fcntl(c, F_GET_SEALS) == F_SEAL_SEAL);
	zdtm_check(ftruncate(a, 4096) < 0 && errno == EPERM);
	zdtm_check((fcntl(b2, F_GETFL) & O_ACCMODE) == O_RDONLY);
	zdtm_check((fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
	check_name(a, "/memfd:zdtm-a");
	check_name(b2, "/memfd:zdtm-b");
	char x;
	zdtm_check(pread(b2, &x, 1, 4096) == 1 && x == 'X');
	map[8000] = 'Y'; /* still the same object as the fds */
	zdtm_check(pread(b, &x, 1, 8000) == 1 && x == 'Y');
	zdtm_check(pread(b2, &x, 1, 8000) == 1 && x == 'Y');
	int status;
	if (write(p[1], "x", 1) != 1 || waitpid(kid, &status, 0) != kid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		zdtm_fail("child");
	zdtm_check(lseek(a, 0, SEEK_CUR) == 7000);
	zdtm_pass();
}
