/* Threads, a mutex and joins: four threads add to a shared counter. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* "exec": a thread execs while another spins; the program that follows
 * must run alone (Linux's de_thread). */
static void *spin(void *arg)
{
	(void)arg;
	for (;;)
		__asm__ volatile("pause");
	return NULL;
}

static void *execer(void *arg)
{
	char *const argv[] = { "echo", "exec from a thread", NULL };
	execv((const char *)arg, argv);
	return NULL;
}

static void *work(void *arg)
{
	for (int i = 0; i < 10000; i++) {
		pthread_mutex_lock(&lock);
		counter += (long)arg;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[4];
	if (argc > 2 && strcmp(argv[1], "exec") == 0) {
		pthread_create(&t[0], NULL, spin, NULL);
		pthread_create(&t[1], NULL, execer, argv[2]);
		pthread_join(t[1], NULL);
		return 1; /* not reached */
	}
	for (long i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, work, (void *)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("counter %ld\n", counter);
	return 0;
}
