/* Memory that keeps changing while pre-dumps copy it: a large static area
 * and a set of pages rewritten all the time.  Whatever moment the final
 * dump catches, every page must hold what the program last wrote there
 * (the page being rewritten at that moment: old or new words only). */
#include <stdint.h>
#include <sys/mman.h>

#include "zdtm.h"

#define STATIC_PAGES 8192 /* 32 MiB, written once */
#define HOT_PAGES 256

static uint64_t last[HOT_PAGES];
static volatile int inprog_page = -1;
static volatile uint64_t inprog_val;

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	uint64_t *cold = mmap(NULL, STATIC_PAGES * 4096UL, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t *hot = mmap(NULL, HOT_PAGES * 4096UL, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cold == MAP_FAILED || hot == MAP_FAILED)
		zdtm_fail("mmap");
	for (size_t i = 0; i < STATIC_PAGES * 512UL; i++)
		cold[i] = i * 0x9e3779b97f4a7c15ULL;
	uint64_t v = 1;
	while (!zdtm_term) {
		if (v == 8192)
			zdtm_ready();
		int p = (int)((v * 2654435761u) % HOT_PAGES);
		inprog_val = v;
		inprog_page = p;
		for (int w = 0; w < 512; w++)
			hot[p * 512 + w] = v;
		last[p] = v;
		inprog_page = -1;
		v++;
		if (v % 4096 == 0)
			usleep(100);
	}
	for (size_t i = 0; i < STATIC_PAGES * 512UL; i++)
		if (cold[i] != i * 0x9e3779b97f4a7c15ULL)
			zdtm_fail("cold word %zu changed", i);
	for (int p = 0; p < HOT_PAGES; p++) {
		for (int w = 0; w < 512; w++) {
			uint64_t got = hot[p * 512 + w];
			if (got == last[p] || (p == inprog_page && got == inprog_val))
				continue;
			zdtm_fail("hot page %d word %d: %llu, last written %llu", p, w,
				  (unsigned long long)got, (unsigned long long)last[p]);
		}
	}
	zdtm_check(v > 8192);
	zdtm_pass();
}
