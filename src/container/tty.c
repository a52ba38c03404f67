#include "container/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "base/util.h"
#include "os/unix.h"

int tty_setup(const struct oci_process *p, bool console, int *ret_master, struct cell_err **err)
{
	_cleanup_close_ int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return cell_err_sys(err, "process.terminal: open /dev/ptmx (is /dev/pts mounted?)");
	if (unlockpt(master) < 0)
		return cell_err_sys(err, "process.terminal: unlockpt");
	char name[64];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return cell_err_sys(err, "process.terminal: ptsname");
	/* TIOCGPTPEER opens the peer of this very master, never a pts an
	 * image swapped in under that name. */
	_cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		return cell_err_sys(err, "process.terminal: open %s", name);
	if (p->has_console_size) {
		struct winsize ws = { .ws_row = (unsigned short)p->console_height,
				      .ws_col = (unsigned short)p->console_width };
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			return cell_err_sys(err, "process.consoleSize");
	}
	if (console) {
		int f = open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (f >= 0)
			close(f);
		if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
			return cell_err_sys(err, "bind %s on /dev/console", name);
	}
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return cell_err_sys(err, "process.terminal: make %s the controlling terminal", name);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return cell_err_sys(err, "process.terminal: dup2");
	*ret_master = TAKE_FD(master);
	return 0;
}

int tty_send(const char *socket_path, int master, struct cell_err **err)
{
	_cleanup_close_ int s = os_unix_connect(socket_path);
	if (s < 0)
		return cell_err(err, -s, "--console-socket %s", socket_path);
	int r = os_send_fds(s, "/dev/ptmx", strlen("/dev/ptmx"), &master, 1);
	if (r < 0)
		return cell_err(err, -r, "--console-socket %s: send the pty", socket_path);
	return 0;
}

static void copy_winsize(int from, int to)
{
	struct winsize ws;
	if (ioctl(from, TIOCGWINSZ, &ws) == 0)
		ioctl(to, TIOCSWINSZ, &ws);
}

/* Move what is readable on from to to; false at EOF or error. */
static bool pump(int from, int to)
{
	char buf[8192];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EINTR || errno == EAGAIN);
	return cell_write_all(to, buf, (size_t)n) == 0;
}

int tty_relay(int master, int pidfd, struct cell_err **err)
{
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST; /* keep our own output's newlines sane */
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		copy_winsize(STDIN_FILENO, master);
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	bool in_open = true, exited = false;
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = master, .events = POLLIN },
			{ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = exited ? -1 : pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		/* Once the process is gone, drain what it wrote, then stop. */
		int r = poll(p, 4, exited ? 100 : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r == 0 && exited))
			break;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!pump(master, STDOUT_FILENO) && (exited || !(p[0].revents & POLLIN)))
				break;
		}
		if (p[1].revents && !pump(STDIN_FILENO, master)) {
			in_open = false;
			if (!raw)
				cell_write_all(master, "\x04", 1); /* EOF for a canonical reader */
		}
		if (p[2].revents)
			exited = true;
		if (p[3].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) > 0)
				;
			copy_winsize(STDIN_FILENO, master);
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	(void)err;
	return 0;
}
