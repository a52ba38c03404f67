/* memtouch MIB DIRTY_MIB_PER_S: the workload of bench/checkpoint, run in a
 * container.  It touches MIB MiB of anonymous memory (every page written,
 * none left zero), writes "ready" to its stdout, then keeps writing
 * DIRTY_MIB_PER_S MiB a second, round-robin, in 10 ms steps: what a pre-dump
 * has to catch up with. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: memtouch MIB DIRTY_MIB_PER_S\n");
		return 2;
	}
	size_t bytes = (size_t)atol(argv[1]) << 20;
	size_t pages = bytes / PAGE, step = ((size_t)atol(argv[2]) << 20) / PAGE / 100;
	uint8_t *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!pages || m == MAP_FAILED) {
		fprintf(stderr, "memtouch: cannot map %s MiB\n", argv[1]);
		return 1;
	}
	for (size_t p = 0; p < pages; p++)
		for (size_t i = 0; i < PAGE; i += 64)
			m[p * PAGE + i] = (uint8_t)(p * 31 + i + 1);
	printf("ready\n");
	fflush(stdout);
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (size_t at = 0, gen = 1;; gen++) {
		for (size_t k = 0; k < step; k++, at = (at + 1) % pages)
			m[at * PAGE] = (uint8_t)gen;
		nanosleep(&ts, NULL);
	}
}
