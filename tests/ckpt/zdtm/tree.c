/* A process tree: children and grandchildren with their own sessions and
 * process groups; every PID, parent, group and session must come back.
 * Each descendant checks itself on SIGUSR1 and exits 0 or 1. */
#include <sys/wait.h>

#include "zdtm.h"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

struct want {
	pid_t pid, ppid, pgid, sid;
};

static void child_wait_and_check(const struct want *w)
{
	sigset_t none;
	sigemptyset(&none);
	while (!go)
		sigsuspend(&none);
	int ok = getpid() == w->pid && getppid() == w->ppid && getpgid(0) == w->pgid &&
		 getsid(0) == w->sid;
	_exit(ok ? 0 : 10 + (getpid() != w->pid) + 2 * (getppid() != w->ppid) +
			   4 * (getpgid(0) != w->pgid) + 8 * (getsid(0) != w->sid));
}

/* Fork a child that becomes what how says, then waits. */
static pid_t spawn(int how, pid_t group, int pipefd)
{
	pid_t p = fork();
	if (p != 0)
		return p;
	if (how == 1)
		setsid();
	else if (how == 2)
		setpgid(0, 0);
	else if (how == 3)
		setpgid(0, group);
	struct want w = { getpid(), getppid(), getpgid(0), getsid(0) };
	if (how == 1) {
		/* A session leader with a child of its own in a new group. */
		pid_t g = fork();
		if (g == 0) {
			setpgid(0, 0);
			struct want gw = { getpid(), getppid(), getpgid(0), getsid(0) };
			if (write(pipefd, "g", 1) != 1)
				_exit(2);
			child_wait_and_check(&gw);
		}
		signal(SIGUSR1, on_usr1);
		if (write(pipefd, "c", 1) != 1)
			_exit(2);
		sigset_t none;
		sigemptyset(&none);
		while (!go)
			sigsuspend(&none);
		kill(g, SIGUSR1);
		int st;
		waitpid(g, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			_exit(30 + (WIFEXITED(st) ? WEXITSTATUS(st) : 99));
		go = 1;
	} else if (write(pipefd, "c", 1) != 1) {
		_exit(2);
	}
	child_wait_and_check(&w);
	return 0;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	signal(SIGUSR1, on_usr1);
	int p[2];
	if (pipe(p) < 0)
		zdtm_fail("pipe");
	pid_t kids[4];
	kids[0] = spawn(0, 0, p[1]);	   /* same group and session */
	kids[1] = spawn(1, 0, p[1]);	   /* own session, with a grandchild */
	kids[2] = spawn(2, 0, p[1]);	   /* own group */
	kids[3] = spawn(3, kids[2], p[1]); /* joins kids[2]'s group */
	char c;
	for (int i = 0; i < 5; i++)
		if (read(p[0], &c, 1) != 1)
			zdtm_fail("children did not start");
	close(p[0]);
	close(p[1]);

	zdtm_ready();
	zdtm_wait();

	zdtm_check(getpid() == 1 && getsid(0) == 1 && getpgid(0) == 1);
	for (int i = 0; i < 4; i++)
		kill(kids[i], SIGUSR1);
	for (int i = 0; i < 4; i++) {
		int st;
		zdtm_check(waitpid(kids[i], &st, 0) == kids[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			zdtm_fail("child %d (%d) ended with status %#x", i, kids[i], st);
	}
	zdtm_pass();
}
