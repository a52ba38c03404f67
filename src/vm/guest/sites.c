/* Patched syscall sites: the fast syscall path of the light guest.
 *
 * Under PVM, `syscall` in ring 3 costs a redirect to LSTAR (~7 us) before
 * the doorbell's exit (~25 us).  So the first time a syscall arrives from a
 * site (RCX = X, the bytes at X-2 are 0f 05, and it came through LSTAR, so it
 * was executed as `syscall`), the monitor rewrites those two bytes in the
 * frame the process maps to `out %al,$LG_PORT_SYSCALL` (e6 e7): one ring-3
 * instruction of the same length whose exit reaches the monitor directly
 * (the TSS's I/O bitmap allows that one port to ring 3).  The monitor serves
 * it as the syscall and returns to X with RCX = X and R11 = RFLAGS, as
 * Linux's `syscall` leaves them.
 *
 * The set holds the guest-physical address of each patched site's first
 * byte, for the whole VM: a frame shared after fork is patched for every
 * process mapping it.  An exit on the port is a syscall only if its
 * instruction is `e6 e7`, executable in the program's page tables and its
 * first byte is in the set; anything else is the #GP Linux gives for port
 * I/O (SIGSEGV).  Frames that are copied (fork, copy-on-write) carry their
 * entries over; a freed frame loses them (a per-frame bit makes that check
 * cheap).
 *
 * Atomicity: other vCPUs may be executing the code being patched.  Two bytes
 * inside one cache line are replaced by one 16-bit store, which instruction
 * fetch sees whole (old or new).  A site crossing a cache line (or a page) is
 * patched only while its task is the VM's only one; otherwise it stays on the
 * slow path. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "vm/arch/x86/layout.h"

#define PFN(gpa) ((gpa) >> 12)

int lg_sites_init(struct lg *lg)
{
	struct lg_sites *s = &lg->sites;
	pthread_rwlock_init(&s->lock, NULL);
	uint64_t nframes = lg->frames.end - lg->frames.first;
	/* calloc of a large zeroed block is fresh anonymous memory: the bitmap
	 * costs resident pages only where frames carry sites. */
	s->frame_bits = xcalloc(nframes / 64 + 1, sizeof(uint64_t));
	return 0;
}

void lg_sites_fini(struct lg *lg)
{
	struct lg_sites *s = &lg->sites;
	free(s->table);
	free(s->frame_bits);
	s->table = s->frame_bits = NULL;
	pthread_rwlock_destroy(&s->lock);
}

static size_t slot_of(const struct lg_sites *s, uint64_t gpa)
{
	return (size_t)((gpa * 0x9e3779b97f4a7c15ULL) >> 20) & (s->cap - 1);
}

static bool has_locked(const struct lg_sites *s, uint64_t gpa)
{
	if (!s->n)
		return false;
	for (size_t i = slot_of(s, gpa);; i = (i + 1) & (s->cap - 1)) {
		if (s->table[i] == gpa)
			return true;
		if (s->table[i] == 0)
			return false;
	}
}

static void insert_locked(struct lg *lg, uint64_t gpa)
{
	struct lg_sites *s = &lg->sites;
	if (has_locked(s, gpa))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		uint64_t *old = s->table;
		size_t oldcap = s->cap;
		s->cap = s->cap ? s->cap * 2 : 256;
		s->table = xcalloc(s->cap, sizeof(uint64_t));
		s->n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				insert_locked(lg, old[i]);
		free(old);
	}
	size_t i = slot_of(s, gpa);
	while (s->table[i])
		i = (i + 1) & (s->cap - 1);
	s->table[i] = gpa;
	s->n++;
	uint64_t k = PFN(gpa) - lg->frames.first;
	s->frame_bits[k / 64] |= 1ULL << (k % 64);
}

static bool frame_marked(struct lg *lg, uint64_t pfn)
{
	uint64_t k = pfn - lg->frames.first;
	if (!lg->sites.frame_bits || pfn < lg->frames.first || pfn >= lg->frames.end)
		return false;
	return __atomic_load_n(&lg->sites.frame_bits[k / 64], __ATOMIC_RELAXED) & (1ULL << (k % 64));
}

/* Every entry of frame pfn, removed (drop) or copied to frame to_pfn: the
 * table is rebuilt (rare: frames with sites are few). */
static void frame_entries_locked(struct lg *lg, uint64_t pfn, bool drop, uint64_t to_pfn)
{
	struct lg_sites *s = &lg->sites;
	size_t oldcap = s->cap, nm = 0;
	uint64_t *old = s->table;
	uint64_t *moved = xcalloc(oldcap ? oldcap : 1, sizeof(uint64_t));
	s->table = xcalloc(oldcap ? oldcap : 1, sizeof(uint64_t));
	s->n = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i])
			continue;
		if (PFN(old[i]) == pfn && !drop)
			moved[nm++] = (to_pfn << 12) | (old[i] & 0xfff);
		if (PFN(old[i]) != pfn || !drop)
			insert_locked(lg, old[i]);
	}
	free(old);
	for (size_t i = 0; i < nm; i++)
		insert_locked(lg, moved[i]);
	free(moved);
	if (drop) {
		uint64_t k = pfn - lg->frames.first;
		s->frame_bits[k / 64] &= ~(1ULL << (k % 64));
	}
}

void lg_sites_frame_freed(struct lg *lg, uint64_t gpa)
{
	if (!frame_marked(lg, PFN(gpa)))
		return;
	pthread_rwlock_wrlock(&lg->sites.lock);
	frame_entries_locked(lg, PFN(gpa), true, 0);
	pthread_rwlock_unlock(&lg->sites.lock);
}

void lg_sites_frame_copied(struct lg *lg, uint64_t from, uint64_t to)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* the copy's loads before the bit's */
	if (!frame_marked(lg, PFN(from)))
		return;
	pthread_rwlock_wrlock(&lg->sites.lock);
	frame_entries_locked(lg, PFN(from), false, PFN(to));
	pthread_rwlock_unlock(&lg->sites.lock);
}

/* The host bytes behind the two bytes at va, if executable for the program.
 * mm->lock held. */
static int site_bytes(struct lg_mm *mm, uint64_t va, uint8_t *h[2], uint64_t *ret_gpa)
{
	uint64_t g[2];
	for (int i = 0; i < 2; i++) {
		if (lg_mm_exec_gpa(mm, va + (uint64_t)i, &g[i]) < 0)
			return -EFAULT;
		h[i] = lg_frame_host(mm->lg, g[i]);
		if (!h[i])
			return -EFAULT;
		h[i] += g[i] & 0xfff;
	}
	*ret_gpa = g[0];
	return 0;
}

/* The task's last few sites, valid while its address space's mappings are
 * unchanged: a lookup walks the page tables twice, and right after a VM exit
 * each level is a TLB miss (~1 us per lookup measured here). */
static bool cache_has(struct lg_task *t, uint64_t site, uint64_t gen)
{
	if (t->site_cache_mm != t->mm->id || t->site_cache_gen != gen)
		return false;
	for (unsigned i = 0; i < ARRAY_SIZE(t->site_cache); i++)
		if (t->site_cache[i] == site)
			return true;
	return false;
}

static void cache_add(struct lg_task *t, uint64_t site, uint64_t gen)
{
	if (t->site_cache_mm != t->mm->id || t->site_cache_gen != gen) {
		memset(t->site_cache, 0, sizeof(t->site_cache));
		t->site_cache_mm = t->mm->id;
		t->site_cache_gen = gen;
	}
	memmove(t->site_cache + 1, t->site_cache, sizeof(t->site_cache) - sizeof(t->site_cache[0]));
	t->site_cache[0] = site;
}

bool lg_sites_lookup(struct lg_task *t, uint64_t site)
{
	struct lg_mm *mm = t->mm;
	uint8_t *h[2];
	uint64_t gpa;
	bool yes = false;
	if (!t->lg->sites.frame_bits || !site)
		return false;
	uint64_t gen = __atomic_load_n(&mm->map_gen, __ATOMIC_ACQUIRE);
	if (cache_has(t, site, gen))
		return true;
	pthread_rwlock_rdlock(&mm->lock);
	if (site_bytes(mm, site, h, &gpa) == 0 && *h[0] == 0xe6 && *h[1] == LG_PORT_SYSCALL) {
		pthread_rwlock_rdlock(&t->lg->sites.lock);
		yes = has_locked(&t->lg->sites, gpa);
		pthread_rwlock_unlock(&t->lg->sites.lock);
	}
	pthread_rwlock_unlock(&mm->lock);
	if (yes)
		cache_add(t, site, gen);
	return yes;
}

static bool only_task(struct lg *lg)
{
	pthread_mutex_lock(&lg->lock);
	bool one = lg->nrunning == 1;
	pthread_mutex_unlock(&lg->lock);
	return one;
}

void lg_sites_patch(struct lg_task *t, uint64_t x)
{
	struct lg *lg = t->lg;
	struct lg_mm *mm = t->mm;
	if (x < 2 || !lg->sites.frame_bits)
		return;
	uint8_t *h[2];
	uint64_t gpa;
	bool alone = only_task(lg); /* before the locks below (lg->lock is outside them) */
	pthread_rwlock_rdlock(&mm->lock);
	if (site_bytes(mm, x - 2, h, &gpa) < 0 || *h[0] != 0x0f || *h[1] != 0x05)
		goto out;
	/* The entry (and its frame's bit) before the bytes: a process that
	 * shares the frame and copies it (copy-on-write, under its own mm lock)
	 * and sees the new bytes then sees the bit, and carries the entry over
	 * (x86 keeps stores, and loads, in order).  An entry for bytes still
	 * 0f 05 is harmless: lookups check the bytes. */
	bool one_line = h[1] == h[0] + 1 && ((uintptr_t)h[0] & 63) != 63;
	if (!one_line && !alone)
		goto out;
	pthread_rwlock_wrlock(&lg->sites.lock);
	insert_locked(lg, gpa);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (one_line) {
		/* One store inside a cache line: fetched whole by other vCPUs. */
		uint16_t v = (uint16_t)(0xe6 | (LG_PORT_SYSCALL << 8));
		__asm__ volatile("movw %1, %0" : "=m"(*(uint16_t *)(void *)h[0]) : "r"(v) : "memory");
	} else {
		/* Across a line or a page: no other task can be executing it. */
		*h[0] = 0xe6;
		*h[1] = LG_PORT_SYSCALL;
	}
	pthread_rwlock_unlock(&lg->sites.lock);
out:
	pthread_rwlock_unlock(&mm->lock);
}
