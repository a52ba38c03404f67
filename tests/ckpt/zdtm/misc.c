/* Per-process odds and ends: rlimits, umask, cwd, personality, comm,
 * child subreaper, pdeathsig, dumpable. */
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	struct rlimit nofile = { 200, 500 }, core = { 0, 0 }, stack;
	setrlimit(RLIMIT_NOFILE, &nofile);
	setrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_STACK, &stack);
	umask(027);
	if (chdir("/tmp") < 0)
		zdtm_fail("chdir");
	personality(PER_LINUX | ADDR_NO_RANDOMIZE);
	prctl(PR_SET_NAME, "renamed-zdtm");
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	prctl(PR_SET_DUMPABLE, 0);

	zdtm_ready();
	zdtm_wait();

	struct rlimit r;
	getrlimit(RLIMIT_NOFILE, &r);
	zdtm_check(r.rlim_cur == 200 && r.rlim_max == 500);
	getrlimit(RLIMIT_CORE, &r);
	zdtm_check(r.rlim_cur == 0 && r.rlim_max == 0);
	getrlimit(RLIMIT_STACK, &r);
	zdtm_check(r.rlim_cur == stack.rlim_cur && r.rlim_max == stack.rlim_max);
	zdtm_check(umask(0) == 027);
	char cwd[256];
	zdtm_check(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, "/tmp"));
	zdtm_check(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE));
	char name[16] = { 0 };
	prctl(PR_GET_NAME, name);
	zdtm_check(!strcmp(name, "renamed-zdtm"));
	int v = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &v);
	zdtm_check(v == 1);
	prctl(PR_GET_PDEATHSIG, &v);
	zdtm_check(v == SIGUSR2);
	zdtm_check(prctl(PR_GET_DUMPABLE) == 0);
	zdtm_pass();
}
