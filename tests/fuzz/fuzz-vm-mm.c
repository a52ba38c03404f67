/* Address-space operations in arbitrary order with arbitrary ranges, and
 * the monitor's accesses through them, with syscall sites patched and
 * looked up among them (guest/sites.c); afterwards every frame must be
 * back (no frame leaked or freed twice) and every site gone with its frame.
 * A site a lookup accepts must hold `out %al,$LG_PORT_SYSCALL`. */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "vmtest.h"

#define RAM (32ULL << 20)
#define WIN 0x10000000ULL
#define PG 4096ULL

static uint64_t addr(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	if ((v & 0xf) == 0xf) /* now and then, anything */
		return ((uint64_t)v << 24) ^ 0x7ffffffff000ULL;
	return WIN + (uint64_t)(v % (2048 * PG));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg *lg = vt_lg(RAM, NULL);
	lg_sites_init(lg);
	uint64_t base = lg->frames.nfree;
	struct lg_mm *mm, *kid = NULL;
	if (lg_mm_new(lg, &mm) < 0)
		abort();
	mm->mmap_top = 0x7f0000000000ULL;
	uint8_t buf[3 * PG];
	struct lg_task t = { .lg = lg, .mm = mm }, kt = { .lg = lg };
	for (size_t i = 0; i + 10 <= size; i += 10) {
		const uint8_t *op = data + i;
		uint64_t a = addr(op + 1) & ~(PG - 1), b = addr(op + 5);
		uint64_t len = ((uint64_t)op[9] + 1) * PG;
		uint32_t prot = op[9] & 7;
		struct lg_task *st = (op[9] & 0x10) && kid ? &kt : &t;
		switch (op[0] % 14) {
		case 0: lg_mm_map(mm, a, len, prot, 0); break;
		case 1: lg_mm_map(mm, a, len, prot, LG_VMA_LAZY); break;
		case 2: lg_mm_map(mm, a, len, prot | PROT_READ, LG_VMA_SHARED); break;
		case 3: lg_mm_unmap(mm, a, len); break;
		case 4: lg_mm_protect(mm, a, len, prot); break;
		case 5: lg_mm_fault(mm, b, op[9] & 1, op[9] & 2); break;
		case 6: lg_copy_to(mm, b, data, size - i < sizeof(buf) ? size - i : op[9] * 8); break;
		case 7: lg_copy_from(mm, buf, b, op[9] * 16); break;
		case 8: lg_strncpy_from(mm, (char *)buf, b, (size_t)op[9] + 1); break;
		case 9:
			if (!kid && lg_mm_fork(mm, &kid) == 0)
				lg_copy_to(kid, b, "kid", 3);
			kt.mm = kid;
			break;
		case 10: {
			uint64_t to = lg_mm_find_free(mm, len, b);
			if (to && lg_mm_map(mm, to, len, PROT_READ | PROT_WRITE, LG_VMA_LAZY) == 0)
				lg_mm_move(mm, a, to, len);
			break;
		}
		case 12: /* a syscall instruction ran at b (alone in the VM or not) */
			lg->nrunning = op[9] & 8 ? 2 : 1;
			if (op[9] & 0x20)
				lg_poke(st->mm, b, "\x0f\x05", 2);
			lg_sites_patch(st, b + 2);
			break;
		case 13: {
			bool walk = op[9] & 0x20; /* the page walk, not the cache */
			if (walk)
				st->site_cache_mm = 0;
			if (lg_sites_lookup(st, b) && walk && lg_copy_from(st->mm, buf, b, 2) == 0 &&
			    (buf[0] != 0xe6 || buf[1] != LG_PORT_SYSCALL))
				__builtin_trap(); /* a site that is no `out` */
			break;
		}
		default: lg_mm_discard(mm, a, len); break;
		}
	}
	lg_mm_put(kid);
	lg_mm_put(mm);
	if (lg->frames.nfree != base)
		__builtin_trap(); /* a frame leaked or went back twice */
	if (lg->sites.n != 0)
		__builtin_trap(); /* a site outlived its frame */
	lg_sites_fini(lg);
	lg_frames_fini(lg);
	free(lg->workers);
	munmap(lg->kvm->ram, lg->kvm->ram_size);
	free(lg->kvm);
	free(lg->root_host);
	close(lg->null_fd);
	close(lg->zero_fd);
	close(lg->urandom_fd);
	free(lg);
	return 0;
}
