/* SIGALRM from an interval timer: vm-alarm SECONDS arms ITIMER_REAL every
 * 10 ms, waits SECONDS in pause() and says whether the alarms came.  In
 * the light guest its setitimer() starts the VM's clock thread (from the
 * vCPU thread that serves the call). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(int argc, char **argv)
{
	long secs = argc > 1 ? atol(argv[1]) : 1;
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	if (setitimer(ITIMER_REAL, &it, NULL) < 0) {
		perror("setitimer");
		return 1;
	}
	time_t end = time(NULL) + secs;
	while (time(NULL) < end)
		pause();
	/* Half of what 10 ms ticks give: a loaded host delays some. */
	printf("alarms %s\n", alarms >= secs * 50 ? "came" : "missing");
	return 0;
}
