/* A JVM-style heap: a 64 GiB PROT_NONE private anonymous reservation
 * (bigger than this machine's memory, so only not being charged as commit
 * lets it exist) with 1 MiB inside it made read-write and written.  After
 * restore the region holds its data, the rest is still PROT_NONE, and more
 * of the reservation can be made usable.  Also non-writable mappings that
 * hold data: read-only, and PROT_NONE (written, then protected). */
#include <stdint.h>
#include <sys/mman.h>

#include "zdtm.h"

#define RESERVE (64ULL << 30)
#define REGION (1UL << 20)
#define AT (8ULL << 30)

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	unsigned char *heap = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *ro = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *none = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (heap == MAP_FAILED || ro == MAP_FAILED || none == MAP_FAILED)
		zdtm_fail("mmap: %s", strerror(errno));
	if (mprotect(heap + AT, REGION, PROT_READ | PROT_WRITE) < 0)
		zdtm_fail("mprotect: %s", strerror(errno));
	zdtm_fill(heap + AT, REGION, 7);
	zdtm_fill(ro, 4 * 4096, 3);
	zdtm_fill(none + 4096, 4096, 5);
	if (mprotect(ro, 4 * 4096, PROT_READ) < 0 || mprotect(none, 4 * 4096, PROT_NONE) < 0)
		zdtm_fail("mprotect: %s", strerror(errno));

	zdtm_ready();
	zdtm_wait();

	char perms[5];
	uintptr_t s, e, h = (uintptr_t)heap;
	zdtm_check(zdtm_same(heap + AT, REGION, 7));
	zdtm_check(zdtm_vma_of((void *)(h + AT), perms, &s, &e) && !strcmp(perms, "rw-p"));
	zdtm_check(s == h + AT && e == h + AT + REGION);
	zdtm_check(zdtm_vma_of(heap, perms, &s, &e) && !strcmp(perms, "---p"));
	zdtm_check(s == h && e == h + AT);
	zdtm_check(zdtm_vma_of((void *)(h + AT + REGION), perms, &s, &e) && !strcmp(perms, "---p"));
	zdtm_check(s == h + AT + REGION && e == h + RESERVE);
	/* More of the heap committed, far from the first region. */
	zdtm_check(mprotect(heap + 4 * AT, REGION, PROT_READ | PROT_WRITE) == 0);
	zdtm_check(heap[4 * AT] == 0 && heap[4 * AT + REGION - 1] == 0);
	zdtm_fill(heap + 4 * AT, REGION, 9);
	zdtm_check(zdtm_same(heap + 4 * AT, REGION, 9));

	zdtm_check(zdtm_vma_of(ro, perms, &s, &e) && !strcmp(perms, "r--p"));
	zdtm_check(zdtm_same(ro, 4 * 4096, 3));
	zdtm_check(zdtm_vma_of(none, perms, &s, &e) && !strcmp(perms, "---p"));
	zdtm_check(e - s >= 4 * 4096);
	zdtm_check(mprotect(none, 4 * 4096, PROT_READ) == 0);
	zdtm_check(zdtm_same(none + 4096, 4096, 5) && none[0] == 0 && none[2 * 4096] == 0);
	zdtm_pass();
}
