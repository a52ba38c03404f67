/* A console as a container has one: stdio and the controlling terminal are
 * a pty slave whose master is outside the tree (the driver's).  Raw mode,
 * special characters and a window size are set; after the restore (onto a
 * new pty the driver hands in) they must be the same, the terminal must be
 * pid 1's controlling terminal with its group in the foreground, and what
 * is written to it must reach the driver. */
#include <sys/ioctl.h>
#include <termios.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	struct termios t;
	if (tcgetattr(0, &t))
		zdtm_fail("stdin is not a terminal");
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 3;
	t.c_cc[VTIME] = 7;
	if (tcsetattr(0, TCSANOW, &t))
		zdtm_fail("tcsetattr");
	struct winsize ws = { .ws_row = 33, .ws_col = 77 };
	if (ioctl(0, TIOCSWINSZ, &ws))
		zdtm_fail("TIOCSWINSZ");
	zdtm_ready();
	zdtm_wait();

	struct termios now;
	zdtm_check(tcgetattr(0, &now) == 0);
	zdtm_check(!(now.c_lflag & (ICANON | ECHO)) && now.c_cc[VMIN] == 3 && now.c_cc[VTIME] == 7);
	struct winsize w;
	zdtm_check(ioctl(1, TIOCGWINSZ, &w) == 0 && w.ws_row == 33 && w.ws_col == 77);
	zdtm_check(tcgetsid(0) == getpid());
	zdtm_check(tcgetpgrp(0) == getpgrp());
	zdtm_check(write(1, "console ok\r\n", 12) == 12);
	zdtm_pass();
}
