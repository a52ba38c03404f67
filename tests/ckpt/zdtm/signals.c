/* Signal state: handlers with their flags and masks, an ignored signal, the
 * blocked mask, the alternate stack, and signals pending (process-wide and
 * for the thread) with their siginfo values. */
#include "zdtm.h"

static volatile sig_atomic_t got_usr1, got_rt;
static volatile int rt_value;
static char altstack[65536];
static volatile int on_alt;

static void on_usr1(int sig)
{
	(void)sig;
	stack_t ss;
	sigaltstack(NULL, &ss);
	on_alt = (ss.ss_flags & SS_ONSTACK) != 0;
	got_usr1++;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_value = si->si_value.sival_int;
	got_rt++;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	sigaltstack(&ss, NULL);
	struct sigaction a = { .sa_handler = on_usr1, .sa_flags = SA_ONSTACK | SA_RESTART };
	sigaddset(&a.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &a, NULL);
	struct sigaction r = { .sa_sigaction = on_rt, .sa_flags = SA_SIGINFO };
	sigaction(SIGRTMIN + 2, &r, NULL);
	signal(SIGHUP, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGRTMIN + 2);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, NULL);
	/* Pending: a process-wide realtime signal with a value, and one for
	 * this thread. */
	union sigval v = { .sival_int = 4242 };
	sigqueue(getpid(), SIGRTMIN + 2, v);
	raise(SIGUSR1);

	zdtm_ready();
	zdtm_wait();

	sigset_t pend, now;
	sigpending(&pend);
	zdtm_check(sigismember(&pend, SIGUSR1) && sigismember(&pend, SIGRTMIN + 2));
	sigprocmask(SIG_BLOCK, NULL, &now);
	zdtm_check(sigismember(&now, SIGWINCH) && !sigismember(&now, SIGTERM));
	struct sigaction cur;
	sigaction(SIGUSR1, NULL, &cur);
	zdtm_check(cur.sa_handler == on_usr1 && (cur.sa_flags & SA_ONSTACK) &&
		   (cur.sa_flags & SA_RESTART) && sigismember(&cur.sa_mask, SIGUSR2));
	sigaction(SIGHUP, NULL, &cur);
	zdtm_check(cur.sa_handler == SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	zdtm_check(got_usr1 == 1 && on_alt);
	zdtm_check(got_rt == 1 && rt_value == 4242);
	stack_t s2;
	sigaltstack(NULL, &s2);
	zdtm_check(s2.ss_sp == altstack && s2.ss_size == sizeof(altstack));
	zdtm_pass();
}
