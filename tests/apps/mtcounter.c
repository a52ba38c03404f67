/* A multithreaded counter for the checkpoint tests (tests/integration/
 * test_checkpoint.py), run inside a container: mtcounter DIR NTHREADS MIB.
 *
 * Each thread counts in its own slot, with a short sleep per step, and
 * rewrites its own MIB-sized block of memory from its count as it goes; the
 * main thread checks every block against its slot and, every 20 ms,
 * rewrites one line of JSON at the start of DIR/state, padded to a fixed
 * size: the file it holds open never changes size, so a checkpoint taken
 * with --leave-running still restores after it has counted on:
 *
 *   {"pid":1,"tids":[...],"counts":[...],"round":N,"bad":0}
 *
 * After a restore the tids must be the same, every count must go on from
 * where it was (never back to 0), and bad (blocks that did not match their
 * count) must stay 0. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

struct slot {
	_Atomic uint64_t count;
	pthread_mutex_t lock; /* held while the block and count change together */
	uint64_t *block;
	size_t words;
	pid_t tid;
};

static struct slot slots[MAX_THREADS];

static void nap(long ns)
{
	struct timespec ts = { 0, ns };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void fill(struct slot *s, uint64_t n)
{
	for (size_t i = 0; i < s->words; i += 512) /* one word per 4 KiB page */
		s->block[i] = n * 0x9e3779b97f4a7c15ULL + i;
}

static void *worker(void *arg)
{
	struct slot *s = arg;
	s->tid = (pid_t)syscall(SYS_gettid);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		uint64_t n = atomic_load(&s->count) + 1;
		fill(s, n);
		atomic_store(&s->count, n);
		pthread_mutex_unlock(&s->lock);
		nap(2 * 1000 * 1000);
	}
	return NULL;
}

static int check(struct slot *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t n = atomic_load(&s->count);
	int bad = 0;
	for (size_t i = 0; n && i < s->words; i += 512)
		bad |= s->block[i] != n * 0x9e3779b97f4a7c15ULL + i;
	pthread_mutex_unlock(&s->lock);
	return bad;
}

#define STATE_SIZE 1024

static void report(int fd, int nthreads, uint64_t round, uint64_t bad)
{
	char line[STATE_SIZE];
	size_t len = (size_t)snprintf(line, sizeof(line), "{\"pid\":%d,\"tids\":[", (int)getpid());
	for (int i = 0; i < nthreads; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%d", i ? "," : "",
					(int)slots[i].tid);
	len += (size_t)snprintf(line + len, sizeof(line) - len, "],\"counts\":[");
	for (int i = 0; i < nthreads; i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%llu", i ? "," : "",
					(unsigned long long)atomic_load(&slots[i].count));
	len += (size_t)snprintf(line + len, sizeof(line) - len, "],\"round\":%llu,\"bad\":%llu}",
				(unsigned long long)round, (unsigned long long)bad);
	memset(line + len, ' ', sizeof(line) - len - 1);
	line[sizeof(line) - 1] = '\n';
	(void)!pwrite(fd, line, sizeof(line), 0);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mtcounter DIR NTHREADS MIB\n");
		return 2;
	}
	int n = atoi(argv[2]);
	size_t mib = (size_t)atoi(argv[3]);
	if (n < 1 || n > MAX_THREADS || mib < 1) {
		fprintf(stderr, "mtcounter: 1 to %d threads, at least 1 MiB each\n", MAX_THREADS);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		slots[i].words = mib * 1024 * 1024 / sizeof(uint64_t);
		slots[i].block = calloc(slots[i].words, sizeof(uint64_t));
		pthread_mutex_init(&slots[i].lock, NULL);
		pthread_t th;
		if (!slots[i].block || pthread_create(&th, NULL, worker, &slots[i]) != 0) {
			fprintf(stderr, "mtcounter: cannot start thread %d\n", i);
			return 1;
		}
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/state", argv[1]);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, STATE_SIZE) < 0) {
		fprintf(stderr, "mtcounter: cannot open %s\n", path);
		return 1;
	}
	uint64_t bad = 0;
	for (uint64_t round = 1;; round++) {
		for (int i = 0; i < n; i++)
			bad += (uint64_t)check(&slots[i]);
		report(fd, n, round, bad);
		nap(20 * 1000 * 1000);
	}
}
