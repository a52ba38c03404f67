/* Pseudo-terminals inside the tree: a pty pair whose slave is the
 * controlling terminal of a child's session, echo off, a window size, and
 * a grandchild's group in the foreground; a second master left locked in
 * packet mode.  After the restore the numbers, settings, controlling
 * terminal and foreground group must be as they were, and the pair must
 * carry data both ways. */
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

#include "zdtm.h"

static int child(const char *name, int go)
{
	char c;
	setsid();
	int s = open(name, O_RDWR);
	if (s < 0 || ioctl(s, TIOCSCTTY, 0) < 0)
		return 10;
	struct termios t;
	tcgetattr(s, &t);
	t.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(s, TCSANOW, &t);
	pid_t gc = fork();
	if (gc == 0) {
		setpgid(0, 0);
		for (;;)
			pause();
	}
	setpgid(gc, gc);
	signal(SIGTTOU, SIG_IGN);
	if (tcsetpgrp(s, gc) < 0)
		return 11;
	if (read(go, &c, 1) != 1) /* the restore happens here */
		return 12;
	int rc = 0;
	char buf[64] = "";
	struct winsize ws;
	tcgetattr(s, &t);
	if ((t.c_lflag & ECHO) || !(t.c_lflag & ICANON))
		rc = 13;
	else if (tcgetpgrp(s) != gc || tcgetsid(s) != getpid())
		rc = 14;
	else if (ioctl(s, TIOCGWINSZ, &ws) < 0 || ws.ws_row != 40 || ws.ws_col != 120)
		rc = 15;
	else if (!ttyname(s) || strcmp(ttyname(s), name))
		rc = 16;
	else if (tcsetpgrp(s, getpgrp()) < 0) /* a background read would fail */
		rc = 19;
	else if (read(s, buf, sizeof(buf)) != 5 || memcmp(buf, "ping\n", 5))
		rc = 17;
	else if (write(s, "pong\n", 5) != 5)
		rc = 18;
	kill(gc, SIGKILL);
	waitpid(gc, NULL, 0);
	return rc;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	int m2 = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || m2 < 0 || grantpt(m) || unlockpt(m))
		zdtm_fail("openpt: %s", strerror(errno));
	int one = 1;
	if (ioctl(m2, TIOCPKT, &one) < 0)
		zdtm_fail("TIOCPKT");
	char name[64];
	if (ptsname_r(m, name, sizeof(name)))
		zdtm_fail("ptsname");
	struct winsize ws = { .ws_row = 40, .ws_col = 120 };
	ioctl(m, TIOCSWINSZ, &ws);
	unsigned idx2 = 0;
	ioctl(m2, TIOCGPTN, &idx2);
	int p[2];
	if (pipe(p))
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0)
		_exit(child(name, p[0]));
	/* Ready once the child has its terminal and its foreground group. */
	for (int i = 0; i < 500; i++) {
		struct termios t;
		pid_t fg = 0;
		int s = open(name, O_RDWR | O_NOCTTY);
		/* The master may ask for the foreground group; we are not its session. */
		bool done = s >= 0 && tcgetattr(s, &t) == 0 && !(t.c_lflag & ECHO) &&
			    ioctl(m, TIOCGPGRP, &fg) == 0 && fg > 0 && fg != kid;
		if (s >= 0)
			close(s);
		if (done)
			break;
		usleep(10000);
	}
	zdtm_ready();
	zdtm_wait();

	char now[64];
	unsigned idx2_now = 0;
	int locked = 0, pkt = 0;
	zdtm_check(ptsname_r(m, now, sizeof(now)) == 0 && !strcmp(now, name));
	zdtm_check(ioctl(m2, TIOCGPTN, &idx2_now) == 0 && idx2_now == idx2);
	zdtm_check(ioctl(m2, TIOCGPTLCK, &locked) == 0 && locked == 1);
	zdtm_check(ioctl(m2, TIOCGPKT, &pkt) == 0 && pkt == 1);
	zdtm_check(write(m, "ping\n", 5) == 5 && write(p[1], "x", 1) == 1);
	int status;
	if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status))
		zdtm_fail("the child's terminal is wrong (status %d)", WEXITSTATUS(status));
	char buf[64] = "";
	ssize_t n = read(m, buf, sizeof(buf) - 1);
	zdtm_check(n > 0 && strstr(buf, "pong"));
	zdtm_pass();
}
