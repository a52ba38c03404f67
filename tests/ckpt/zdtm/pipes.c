/* Pipes with data in them, shared between parent and child, one end
 * nonblocking, a resized pipe; the data must be there after the restore. */
#include <sys/wait.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int a[2], b[2], big[2];
	if (pipe(a) < 0 || pipe2(b, O_NONBLOCK) < 0 || pipe(big) < 0)
		zdtm_fail("pipe");
	fcntl(big[1], F_SETPIPE_SZ, 256 * 1024);
	if (write(a[1], "hello", 5) != 5 || write(b[1], "nonblock", 8) != 8)
		zdtm_fail("write");
	static char blob[200000];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)(i * 13);
	if (write(big[1], blob, sizeof(blob)) != sizeof(blob))
		zdtm_fail("write big");
	int sync[2];
	if (pipe(sync) < 0)
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0) {
		/* The child shares pipe a and reads what the parent writes later. */
		close(sync[0]);
		if (write(sync[1], "r", 1) != 1)
			_exit(2);
		char buf[16] = { 0 };
		if (read(a[0], buf, 5) != 5 || memcmp(buf, "hello", 5))
			_exit(3);
		if (read(a[0], buf, 5) != 5 || memcmp(buf, "world", 5))
			_exit(4);
		_exit(0);
	}
	char c;
	if (read(sync[0], &c, 1) != 1)
		zdtm_fail("child");
	/* The child is blocked reading; give it the first word later. */

	zdtm_ready();
	zdtm_wait();

	char buf[16] = { 0 };
	zdtm_check(fcntl(b[0], F_GETFL) & O_NONBLOCK);
	zdtm_check(read(b[0], buf, 16) == 8 && !memcmp(buf, "nonblock", 8));
	zdtm_check(read(b[0], buf, 16) < 0 && errno == EAGAIN);
	zdtm_check(fcntl(big[1], F_GETPIPE_SZ) >= 256 * 1024);
	static char got[200000];
	size_t n = 0;
	while (n < sizeof(got)) {
		ssize_t k = read(big[0], got + n, sizeof(got) - n);
		zdtm_check(k > 0);
		n += (size_t)k;
	}
	zdtm_check(!memcmp(got, blob, sizeof(blob)));
	zdtm_check(write(a[1], "world", 5) == 5);
	int st;
	zdtm_check(waitpid(kid, &st, 0) == kid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		zdtm_fail("child ended with %#x", st);
	zdtm_pass();
}
