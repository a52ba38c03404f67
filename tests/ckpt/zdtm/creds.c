/* Credentials: a child that became an unprivileged user with supplementary
 * groups, keeping a few capabilities (permitted, effective, inheritable,
 * ambient), a reduced bounding set, and no_new_privs. */
#include <linux/capability.h>
#include <grp.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "zdtm.h"

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static int caps(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int check(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	if (r != 1000 || e != 1001 || s != 1002 || gr != 2000 || ge != 2001 || gs != 2002)
		return 1;
	gid_t g[8];
	if (getgroups(8, g) != 2 || g[0] != 3000 || g[1] != 3001)
		return 2;
	uint64_t eff, prm, inh;
	uint64_t want = 1ULL << CAP_NET_BIND_SERVICE | 1ULL << CAP_KILL;
	if (caps(&eff, &prm, &inh) || prm != want || eff != (1ULL << CAP_KILL) || inh != want)
		return 3;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_NET_BIND_SERVICE, 0, 0) != 1)
		return 4;
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN) != 0 || prctl(PR_CAPBSET_READ, CAP_KILL) != 1)
		return 5;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 6;
	return 0;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	int p[2];
	if (pipe(p) < 0)
		zdtm_fail("pipe");
	pid_t kid = fork();
	if (kid == 0) {
		signal(SIGUSR1, on_usr1);
		gid_t groups[] = { 3000, 3001 };
		prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN);
		prctl(PR_SET_KEEPCAPS, 1);
		if (setgroups(2, groups) || setresgid(2000, 2001, 2002) ||
		    setresuid(1000, 1001, 1002))
			_exit(20);
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		uint32_t want = 1u << CAP_NET_BIND_SERVICE | 1u << CAP_KILL;
		struct __user_cap_data_struct d[2] = { { 1u << CAP_KILL, want, want }, { 0, 0, 0 } };
		if (syscall(SYS_capset, &h, d) ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
			_exit(21);
		int c0 = check();
		if (c0)
			_exit(30 + c0);
		if (write(p[1], "k", 1) != 1)
			_exit(23);
		sigset_t none;
		sigemptyset(&none);
		while (!go)
			sigsuspend(&none);
		_exit(check());
	}
	close(p[1]);
	char c;
	if (read(p[0], &c, 1) != 1) {
		int st = 0;
		waitpid(kid, &st, 0);
		zdtm_fail("child did not set up: %#x", st);
	}

	zdtm_ready();
	zdtm_wait();

	kill(kid, SIGUSR1);
	int st;
	zdtm_check(waitpid(kid, &st, 0) == kid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		zdtm_fail("child check %#x", st);
	zdtm_pass();
}
