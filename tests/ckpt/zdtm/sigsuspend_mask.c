/* A thread checkpointed inside sigsuspend: the mask the call installs for
 * its duration is not the thread's (the dump must take the thread's own,
 * which the kernel puts back once the thread leaves the call).  After the
 * restore SIGUSR1 and SIGTERM must still be blocked outside the call, and
 * SIGTERM (blocked except in sigsuspend, the race-free way to wait for
 * it) must still end the wait. */
#include "zdtm.h"

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	sigset_t blocked, during, now;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGTERM);
	sigprocmask(SIG_BLOCK, &blocked, NULL);
	sigemptyset(&during);
	sigaddset(&during, SIGUSR1);
	zdtm_ready();
	while (!zdtm_term)
		sigsuspend(&during);
	sigprocmask(SIG_BLOCK, NULL, &now);
	zdtm_check(sigismember(&now, SIGUSR1) && sigismember(&now, SIGTERM));
	zdtm_pass();
}
