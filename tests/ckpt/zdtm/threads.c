/* Threads: their TIDs, thread-local data, their own signal masks and
 * alternate stacks, all running on after the restore. */
#include <pthread.h>
#include <sys/syscall.h>

#include "zdtm.h"

#define N 4

static __thread int tls_value;
static volatile long counters[N];
static pid_t tids[N];
static volatile int stop;
static pthread_barrier_t started;

static void *worker(void *arg)
{
	long i = (long)arg;
	tls_value = (int)(1000 + i);
	tids[i] = (pid_t)syscall(SYS_gettid);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + (int)i);
	/* SIGTERM is the main thread's, as in any program that waits for it
	 * there: otherwise any thread may take it. */
	sigaddset(&m, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	static char stacks[N][65536];
	stack_t ss = { .ss_sp = stacks[i], .ss_size = sizeof(stacks[i]) };
	sigaltstack(&ss, NULL);
	pthread_barrier_wait(&started);
	while (!stop) {
		counters[i]++;
		if (i % 2)
			usleep(1000);
	}
	/* After the restore: everything still as it was. */
	if (tls_value != 1000 + i || syscall(SYS_gettid) != tids[i])
		return (void *)1;
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	if (!sigismember(&now, SIGRTMIN + (int)i) || sigismember(&now, SIGRTMIN + (int)((i + 1) % N)))
		return (void *)2;
	stack_t cur;
	sigaltstack(NULL, &cur);
	if (cur.ss_sp != stacks[i] || cur.ss_size != sizeof(stacks[i]))
		return (void *)3;
	return NULL;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	pthread_t th[N];
	pthread_barrier_init(&started, NULL, N + 1);
	for (long i = 0; i < N; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i))
			zdtm_fail("pthread_create");
	pthread_barrier_wait(&started);

	zdtm_ready();
	zdtm_wait();

	long before[N];
	for (int i = 0; i < N; i++)
		before[i] = counters[i];
	usleep(100000);
	for (int i = 0; i < N; i++)
		if (counters[i] == before[i])
			zdtm_fail("thread %d does not run", i);
	stop = 1;
	for (int i = 0; i < N; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		if (ret)
			zdtm_fail("thread %d: check %ld failed", i, (long)ret);
	}
	zdtm_pass();
}
