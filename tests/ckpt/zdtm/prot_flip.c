/* Data whose protection the program keeps changing as it runs: a region
 * written once, then flipped between read-write and PROT_NONE every
 * millisecond by a thread of its own.  A pre-dump (or an incremental dump's
 * precopy round) may find it readable when it plans and arms tracking, and
 * unreadable when it copies with the tree running.  Where forced reads are
 * refused, such a range must be left to the next dump, not taken as kept
 * in a parent that never got it: after restore every page holds its data,
 * and the region is one mapping with the protection it had. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "zdtm.h"

#define PG 4096
#define NPG 64

static unsigned char *area;
static atomic_int stop, none;

static void *flipper(void *arg)
{
	(void)arg;
	struct timespec ms = { 0, 1000 * 1000 };
	while (!atomic_load(&stop)) {
		atomic_store(&none, !atomic_load(&none));
		mprotect(area, NPG * PG, atomic_load(&none) ? PROT_NONE : PROT_READ | PROT_WRITE);
		nanosleep(&ms, NULL);
	}
	return NULL;
}

static unsigned char pattern(size_t page, size_t i)
{
	return (unsigned char)(page * 13 + i * 7 + 1);
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	area = mmap(NULL, NPG * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		zdtm_fail("mmap: %s", strerror(errno));
	for (size_t p = 0; p < NPG; p++)
		for (size_t i = 0; i < PG; i++)
			area[p * PG + i] = pattern(p, i);
	/* SIGTERM for the main thread only: it waits for it. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_t th;
	int e = pthread_create(&th, NULL, flipper, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		zdtm_fail("pthread_create: %s", strerror(e));

	zdtm_ready();
	zdtm_wait();

	atomic_store(&stop, 1);
	zdtm_check(pthread_join(th, NULL) == 0);
	char perms[5];
	zdtm_check(zdtm_perms(area, perms) &&
		   !strcmp(perms, atomic_load(&none) ? "---p" : "rw-p"));
	zdtm_check(mprotect(area, NPG * PG, PROT_READ | PROT_WRITE) == 0);
	for (size_t p = 0; p < NPG; p++)
		for (size_t i = 0; i < PG; i++)
			if (area[p * PG + i] != pattern(p, i))
				zdtm_fail("page %zu byte %zu: %u, want %u", p, i, area[p * PG + i],
					  pattern(p, i));
	zdtm_pass();
}
