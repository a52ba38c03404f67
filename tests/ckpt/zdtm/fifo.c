/* FIFOs opened by path: one with a reader (non-blocking) and a writer in
 * pid 1 and a second writer in a child, with data waiting; one opened
 * read-write with data of its own and a bigger buffer.  Data, modes, the
 * buffer size, and both ends' connection must survive. */
#include <sys/stat.h>
#include <sys/wait.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	char f1[300], f2[300];
	snprintf(f1, sizeof(f1), "%s.fifo1", zdtm_verdict_path);
	snprintf(f2, sizeof(f2), "%s.fifo2", zdtm_verdict_path);
	if (mkfifo(f1, 0600) || mkfifo(f2, 0600))
		zdtm_fail("mkfifo: %s", strerror(errno));
	int rd = open(f1, O_RDONLY | O_NONBLOCK);
	int wr = open(f1, O_WRONLY);
	int rw = open(f2, O_RDWR);
	if (rd < 0 || wr < 0 || rw < 0)
		zdtm_fail("open: %s", strerror(errno));
	if (fcntl(rw, F_SETPIPE_SZ, 256 * 1024) < 0)
		zdtm_fail("F_SETPIPE_SZ");
	if (write(wr, "hello fifo", 10) != 10 || write(rw, "read-write", 10) != 10)
		zdtm_fail("write");
	int p[2];
	if (pipe(p))
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0) {
		char c;
		close(rd);
		close(rw);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		_exit(write(wr, " and kid", 8) == 8 ? 0 : 1);
	}
	zdtm_ready();
	zdtm_wait();

	char buf[64] = "";
	zdtm_check(read(rd, buf, sizeof(buf)) == 10 && !memcmp(buf, "hello fifo", 10));
	zdtm_check((fcntl(rd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK));
	zdtm_check((fcntl(wr, F_GETFL) & O_ACCMODE) == O_WRONLY);
	zdtm_check((fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR);
	zdtm_check(fcntl(rw, F_GETPIPE_SZ) == 256 * 1024);
	zdtm_check(read(rw, buf, sizeof(buf)) == 10 && !memcmp(buf, "read-write", 10));
	int status;
	if (write(p[1], "x", 1) != 1 || waitpid(kid, &status, 0) != kid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		zdtm_fail("the child could not write");
	zdtm_check(read(rd, buf, sizeof(buf)) == 8 && !memcmp(buf, " and kid", 8));
	zdtm_check(write(wr, "again", 5) == 5 && read(rd, buf, sizeof(buf)) == 5);
	unlink(f1);
	unlink(f2);
	zdtm_pass();
}
