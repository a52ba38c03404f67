/* Patched syscall sites (src/vm/guest/sites.c): which bytes get patched,
 * which `out` instructions count as syscalls, and how sites follow frames
 * through fork, copies and frees. */
#include <sys/mman.h>

#include "t.h"
#include "vmtest.h"

#define RAM (64ULL << 20)
#define VA 0x10000000ULL
#define PG 4096ULL

/* mov $39,%eax; syscall; ret -- with the syscall's first byte at va */
static void put_getpid(struct lg_task *t, uint64_t va)
{
	static const uint8_t code[] = { 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0xc3 };
	T_ASSERT_INT(lg_poke(t->mm, va - 5, code, sizeof(code)), 0);
}

static void bytes_at(struct lg_task *t, uint64_t va, uint8_t b[2])
{
	T_ASSERT_INT(lg_copy_from(t->mm, b, va, 2), 0);
}

static struct lg *setup(struct lg_task **ret, uint32_t prot)
{
	struct lg *lg = vt_lg(RAM, NULL);
	lg_sites_init(lg);
	struct lg_task *t = vt_task(lg);
	if (lg_mm_map(t->mm, VA, 3 * PG, prot, 0) < 0)
		abort();
	lg->nrunning = 1;
	*ret = t;
	return lg;
}

static void teardown(struct lg *lg, struct lg_task *t)
{
	lg_sites_fini(lg); /* first: vt_free frees lg; later frees find no sites */
	vt_free(lg, t);
}

static void patch_and_lookup(void)
{
	struct lg_task *t;
	struct lg *lg = setup(&t, PROT_READ | PROT_EXEC);
	put_getpid(t, VA + 100);
	lg_sites_patch(t, VA + 102);
	uint8_t b[2];
	bytes_at(t, VA + 100, b);
	T_ASSERT(b[0] == 0xe6 && b[1] == LG_PORT_SYSCALL);
	T_ASSERT(lg_sites_lookup(t, VA + 100));
	T_ASSERT(!lg_sites_lookup(t, VA + 99));
	/* the same instruction written by the program elsewhere is no site */
	T_ASSERT_INT(lg_poke(t->mm, VA + 200, b, 2), 0);
	T_ASSERT(!lg_sites_lookup(t, VA + 200));
	/* patching twice is harmless; bytes that are not a syscall stay */
	lg_sites_patch(t, VA + 102);
	T_ASSERT_INT(lg_poke(t->mm, VA + 300, "\x90\x90", 2), 0);
	lg_sites_patch(t, VA + 302);
	bytes_at(t, VA + 300, b);
	T_ASSERT(b[0] == 0x90 && b[1] == 0x90);
	T_ASSERT_INT((long)lg->sites.n, 1);
	teardown(lg, t);
}

static void not_executable_not_patched(void)
{
	struct lg_task *t;
	struct lg *lg = setup(&t, PROT_READ | PROT_WRITE);
	put_getpid(t, VA + 100);
	lg_sites_patch(t, VA + 102);
	uint8_t b[2];
	bytes_at(t, VA + 100, b);
	T_ASSERT(b[0] == 0x0f && b[1] == 0x05);
	T_ASSERT(!lg_sites_lookup(t, VA + 100));
	teardown(lg, t);
}

static void straddling_sites(void)
{
	struct lg_task *t;
	struct lg *lg = setup(&t, PROT_READ | PROT_EXEC);
	uint8_t b[2];
	/* across a page: patched while the task is alone */
	put_getpid(t, VA + PG - 1);
	lg_sites_patch(t, VA + PG + 1);
	bytes_at(t, VA + PG - 1, b);
	T_ASSERT(b[0] == 0xe6 && b[1] == LG_PORT_SYSCALL);
	T_ASSERT(lg_sites_lookup(t, VA + PG - 1));
	/* across a cache line with other tasks around: left alone */
	lg->nrunning = 2;
	put_getpid(t, VA + 2 * PG + 63);
	lg_sites_patch(t, VA + 2 * PG + 65);
	bytes_at(t, VA + 2 * PG + 63, b);
	T_ASSERT(b[0] == 0x0f && b[1] == 0x05);
	/* inside a cache line: patched with other tasks around too */
	put_getpid(t, VA + 2 * PG + 200);
	lg_sites_patch(t, VA + 2 * PG + 202);
	T_ASSERT(lg_sites_lookup(t, VA + 2 * PG + 200));
	lg->nrunning = 1;
	teardown(lg, t);
}

static void fork_copy_and_free(void)
{
	struct lg_task *t;
	struct lg *lg = setup(&t, PROT_READ | PROT_WRITE | PROT_EXEC);
	put_getpid(t, VA + 100);
	lg_sites_patch(t, VA + 102);
	T_ASSERT_INT((long)lg->sites.n, 1);
	struct lg_mm *child;
	pthread_rwlock_rdlock(&t->mm->lock);
	T_ASSERT_INT(lg_mm_fork(t->mm, &child), 0);
	pthread_rwlock_unlock(&t->mm->lock);
	/* a writable page is copied at fork: the copy is a site too */
	struct lg_task c = { .lg = lg, .mm = child };
	T_ASSERT(lg_sites_lookup(&c, VA + 100));
	T_ASSERT_INT((long)lg->sites.n, 2);
	/* the child's copy goes away with its address space */
	lg_mm_put(child);
	T_ASSERT_INT((long)lg->sites.n, 1);
	T_ASSERT(lg_sites_lookup(t, VA + 100));
	/* and the parent's with its mapping */
	T_ASSERT_INT(lg_mm_unmap(t->mm, VA, 3 * PG), 0);
	T_ASSERT_INT((long)lg->sites.n, 0);
	T_ASSERT(!lg_sites_lookup(t, VA + 100));
	teardown(lg, t);
}

T_MAIN("vm-sites", T_CASE(patch_and_lookup), T_CASE(not_executable_not_patched), T_CASE(straddling_sites),
       T_CASE(fork_copy_and_free))
