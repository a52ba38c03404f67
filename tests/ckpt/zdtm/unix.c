/* Unix sockets: a stream pair shared with a child, data queued both ways; a
 * seqpacket pair keeping message boundaries; a listening socket on a path
 * that takes new connections after the restore; a bound datagram socket
 * with datagrams waiting; an abstract-named one. */
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "zdtm.h"

static socklen_t addr(struct sockaddr_un *sun, const char *path, bool abstract)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path + abstract, path);
	return (socklen_t)(sizeof(sa_family_t) + abstract + strlen(path) + (abstract ? 0 : 1));
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int st[2], sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
		zdtm_fail("socketpair");
	if (write(st[0], "to-1", 4) != 4 || write(st[1], "to-0", 4) != 4 ||
	    write(sp[0], "one", 3) != 3 || write(sp[0], "second", 6) != 6)
		zdtm_fail("write");
	char lpath[200], dpath[200];
	snprintf(lpath, sizeof(lpath), "%s.listen", zdtm_verdict_path);
	snprintf(dpath, sizeof(dpath), "%s.dgram", zdtm_verdict_path);
	struct sockaddr_un sun;
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&sun, addr(&sun, lpath, false)) || listen(l, 7))
		zdtm_fail("listen");
	int dg = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (bind(dg, (struct sockaddr *)&sun, addr(&sun, dpath, false)))
		zdtm_fail("bind dgram");
	int tx = socket(AF_UNIX, SOCK_DGRAM, 0);
	socklen_t dl = addr(&sun, dpath, false);
	if (sendto(tx, "d1", 2, 0, (struct sockaddr *)&sun, dl) != 2 ||
	    sendto(tx, "dgram2", 6, 0, (struct sockaddr *)&sun, dl) != 6)
		zdtm_fail("sendto");
	int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (bind(ab, (struct sockaddr *)&sun, addr(&sun, "zdtm-abstract", true)))
		zdtm_fail("bind abstract");
	pid_t kid = fork();
	if (kid == 0) {
		/* The child holds st[1]: it reads what the parent sends later. */
		close(st[0]);
		char b[16] = { 0 };
		if (read(st[1], b, 4) != 4 || memcmp(b, "to-1", 4))
			_exit(3);
		if (read(st[1], b, 5) != 5 || memcmp(b, "later", 5))
			_exit(4);
		_exit(0);
	}
	close(st[1]);
	usleep(10000); /* the child has consumed "to-1"? not necessarily: fine either way */

	zdtm_ready();
	zdtm_wait();

	char b[32] = { 0 };
	zdtm_check(read(st[0], b, 4) == 4 && !memcmp(b, "to-0", 4));
	zdtm_check(write(st[0], "later", 5) == 5);
	zdtm_check(read(sp[1], b, sizeof(b)) == 3 && !memcmp(b, "one", 3));
	zdtm_check(read(sp[1], b, sizeof(b)) == 6 && !memcmp(b, "second", 6));
	zdtm_check(fcntl(dg, F_GETFL) & O_NONBLOCK);
	zdtm_check(recv(dg, b, sizeof(b), 0) == 2 && !memcmp(b, "d1", 2));
	zdtm_check(recv(dg, b, sizeof(b), 0) == 6 && !memcmp(b, "dgram2", 6));
	zdtm_check(recv(dg, b, sizeof(b), 0) < 0 && errno == EAGAIN);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	zdtm_check(connect(c, (struct sockaddr *)&sun, addr(&sun, lpath, false)) == 0);
	int a = accept(l, NULL, NULL);
	zdtm_check(a >= 0 && write(c, "hi", 2) == 2 && read(a, b, 2) == 2);
	socklen_t sl = sizeof(sun);
	zdtm_check(getsockname(ab, (struct sockaddr *)&sun, &sl) == 0 && sun.sun_path[0] == 0 &&
		   !memcmp(sun.sun_path + 1, "zdtm-abstract", 13));
	int status;
	zdtm_check(waitpid(kid, &status, 0) == kid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		zdtm_fail("child %#x", status);
	unlink(lpath);
	unlink(dpath);
	zdtm_pass();
}
