/* Private anonymous memory in every shape: heap, a big mapping written
 * sparsely, a terabyte MAP_NORESERVE reservation with three pages written
 * (a sanitizer's shadow: too big to track or to commit), a PROT_NONE
 * mapping with contents, a read-only one, the stack; and the pid itself. */
#include <stdint.h>
#include <sys/mman.h>

#include "zdtm.h"

#define BIG (64u << 20)
#define HUGE (1ULL << 40)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + (i >> 12));
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	unsigned char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				  -1, 0);
	unsigned char *none = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *ro = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *huge = mmap(NULL, HUGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED || none == MAP_FAILED || ro == MAP_FAILED || huge == MAP_FAILED)
		zdtm_fail("mmap");
	const uint64_t at[] = { 0, HUGE / 2 + 12345, HUGE - 1 };
	for (size_t i = 0; i < 3; i++)
		huge[at[i]] = (unsigned char)(0x71 + i);
	for (size_t i = 0; i < BIG; i += 4096 * 3)
		big[i + (i % 4000)] = pattern(i);
	memset(none, 0x5a, 3 * 4096);
	mprotect(none, 3 * 4096, PROT_NONE);
	memset(ro, 0xa5, 2 * 4096);
	mprotect(ro, 2 * 4096, PROT_READ);
	char *heap = malloc(1 << 20);
	for (int i = 0; i < 1 << 20; i++)
		heap[i] = (char)(i ^ 0x33);
	volatile char stack[8192];
	for (int i = 0; i < 8192; i++)
		stack[i] = (char)(i * 7);
	pid_t pid = getpid();

	zdtm_ready();
	zdtm_wait();

	zdtm_check(getpid() == pid && pid == 1);
	for (size_t i = 0; i < BIG; i += 4096) {
		size_t off = i + (i % 4000);
		unsigned char want = (i % (4096 * 3)) == 0 ? pattern(i) : 0;
		if (big[off] != want)
			zdtm_fail("big[%zu] = %u, want %u", off, big[off], want);
	}
	for (size_t i = 0; i < 3; i++)
		zdtm_check(huge[at[i]] == (unsigned char)(0x71 + i));
	zdtm_check(huge[4096] == 0 && huge[HUGE / 4] == 0);
	/* Still PROT_NONE (a dump may make it readable meanwhile, and must
	 * put that back before the tree runs). */
	char perms[5];
	zdtm_check(zdtm_perms(none, perms) && !strcmp(perms, "---p"));
	zdtm_check(zdtm_perms(ro, perms) && !strcmp(perms, "r--p"));
	mprotect(none, 3 * 4096, PROT_READ);
	for (int i = 0; i < 3 * 4096; i++)
		zdtm_check(none[i] == 0x5a);
	for (int i = 0; i < 2 * 4096; i++)
		zdtm_check(ro[i] == 0xa5);
	for (int i = 0; i < 1 << 20; i++)
		zdtm_check(heap[i] == (char)(i ^ 0x33));
	for (int i = 0; i < 8192; i++)
		zdtm_check(stack[i] == (char)(i * 7));
	/* brk still grows where it should. */
	char *more = malloc(8 << 20);
	zdtm_check(more != NULL);
	memset(more, 1, 8 << 20);
	zdtm_pass();
}
