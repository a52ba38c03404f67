/* Timers: an interval itimer, a POSIX timer with a signal and a value, one
 * that notifies nobody; they keep their time and fire after the restore. */
#include <sys/time.h>
#include <time.h>

#include "zdtm.h"

static volatile sig_atomic_t alarms, ticks;
static volatile int tick_value;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	tick_value = si->si_value.sival_int;
	ticks++;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	signal(SIGALRM, on_alarm);
	struct sigaction a = { .sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigaction(SIGRTMIN, &a, NULL);
	struct itimerval it = { .it_interval = { 0, 200000 }, .it_value = { 30, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	timer_t t1, t2;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN,
			       .sigev_value.sival_int = 77 };
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	if (timer_create(CLOCK_MONOTONIC, &ev, &t1) || timer_create(CLOCK_REALTIME, &none, &t2))
		zdtm_fail("timer_create");
	struct itimerspec s1 = { .it_interval = { 0, 100000000 }, .it_value = { 40, 0 } };
	struct itimerspec s2 = { .it_value = { 1000, 0 } };
	timer_settime(t1, 0, &s1, NULL);
	timer_settime(t2, 0, &s2, NULL);

	zdtm_ready();
	zdtm_wait();

	struct itimerval cur;
	getitimer(ITIMER_REAL, &cur);
	zdtm_check(cur.it_interval.tv_usec == 200000 && cur.it_value.tv_sec >= 20 &&
		   cur.it_value.tv_sec <= 30);
	struct itimerspec c1, c2;
	zdtm_check(timer_gettime(t1, &c1) == 0 && timer_gettime(t2, &c2) == 0);
	zdtm_check(c1.it_interval.tv_nsec == 100000000 && c1.it_value.tv_sec >= 30 &&
		   c1.it_value.tv_sec <= 40);
	zdtm_check(c2.it_value.tv_sec >= 990 && c2.it_value.tv_sec <= 1000);
	/* Make them fire soon, through the restored timers. */
	it.it_value = (struct timeval){ 0, 1000 };
	setitimer(ITIMER_REAL, &it, NULL);
	s1.it_value = (struct timespec){ 0, 1000000 };
	timer_settime(t1, 0, &s1, NULL);
	for (int i = 0; i < 200 && (alarms < 2 || ticks < 2); i++)
		usleep(10000);
	zdtm_check(alarms >= 2 && ticks >= 2 && tick_value == 77);
	zdtm_pass();
}
