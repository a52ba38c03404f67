/* Address spaces of the light guest: page-table contents, mappings,
 * faults, fork, and the monitor's accesses to program memory (bounds and
 * permissions). */
#include <errno.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "t.h"
#include "vmtest.h"

#define RAM (64ULL << 20)
#define VA 0x10000000ULL
#define PG 4096ULL

static uint64_t *pte_of(struct lg_mm *mm, uint64_t va)
{
	uint64_t table = mm->pml4;
	for (int level = 3; level >= 1; level--) {
		uint64_t *tab = lg_pt_host(mm->lg, table);
		uint64_t e = tab[(va >> (12 + 9 * level)) & 511];
		if (!(e & PTE_P))
			return NULL;
		table = e & PTE_ADDR;
	}
	return &lg_pt_host(mm->lg, table)[(va >> 12) & 511];
}

static void map_sets_pte_bits(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 3 * PG, PROT_READ | PROT_WRITE, 0), 0);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + 3 * PG, PG, PROT_READ | PROT_EXEC, 0), 0);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + 4 * PG, PG, PROT_NONE, 0), 0);
	uint64_t *rw = pte_of(t->mm, VA), *rx = pte_of(t->mm, VA + 3 * PG);
	T_ASSERT(rw && (*rw & PTE_P) && (*rw & PTE_U) && (*rw & PTE_W) && (*rw & PTE_NX));
	T_ASSERT(rx && (*rx & PTE_P) && !(*rx & PTE_W) && !(*rx & PTE_NX));
	uint64_t *none = pte_of(t->mm, VA + 4 * PG);
	T_ASSERT(!none || !(*none & PTE_P));
	/* The kernel half is shared and supervisor-only below the top level. */
	T_ASSERT_INT(lg_pt_host(lg, t->mm->pml4)[511], lg_kernel_pml4e());
	/* fresh frames are zero */
	uint8_t buf[PG];
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		T_ASSERT(buf[i] == 0);
	vt_free(lg, t);
}

static void unmap_returns_frames(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	uint64_t before = vt_free_frames(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 256 * PG, PROT_READ | PROT_WRITE, 0), 0);
	T_ASSERT_INT(vt_free_frames(lg), before - 256);
	T_ASSERT_INT(lg_copy_to(t->mm, VA + 100 * PG, "x", 1), 0);
	/* a hole in the middle, then everything */
	T_ASSERT_INT(lg_mm_unmap(t->mm, VA + 10 * PG, 5 * PG), 0);
	T_ASSERT_INT(vt_free_frames(lg), before - 251);
	T_ASSERT(lg_mm_find_vma(t->mm, VA + 12 * PG) == NULL);
	T_ASSERT(lg_mm_find_vma(t->mm, VA + 9 * PG) != NULL);
	T_ASSERT_INT(lg_mm_unmap(t->mm, VA, 256 * PG), 0);
	T_ASSERT_INT(vt_free_frames(lg), before);
	/* a freed frame that comes back is zero again */
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 256 * PG, PROT_READ | PROT_WRITE, 0), 0);
	char c = 1;
	for (uint64_t off = 0; off < 256 * PG; off += PG) {
		T_ASSERT_INT(lg_copy_from(t->mm, &c, VA + off, 1), 0);
		T_ASSERT_INT(c, 0);
	}
	vt_free(lg, t);
}

static void bad_ranges_refused(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + 1, PG, PROT_READ, 0), -EINVAL);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 0, PROT_READ, 0), -EINVAL);
	T_ASSERT_INT(lg_mm_map(t->mm, 0, PG, PROT_READ, 0), -EINVAL); /* below mmap_min_addr */
	T_ASSERT_INT(lg_mm_map(t->mm, LG_VA_USER_END, PG, PROT_READ, 0), -EINVAL);
	T_ASSERT_INT(lg_mm_map(t->mm, LG_VA_USER_END - PG, 2 * PG, PROT_READ, 0), -EINVAL);
	T_ASSERT_INT(lg_mm_map(t->mm, 0xffffffff80000000ULL, PG, PROT_READ, 0), -EINVAL);
	/* more than RAM: ENOMEM and nothing left behind */
	uint64_t before = vt_free_frames(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, RAM * 2, PROT_READ | PROT_WRITE, 0), -ENOMEM);
	T_ASSERT_INT(vt_free_frames(lg), before);
	T_ASSERT(lg_mm_find_vma(t->mm, VA) == NULL);
	vt_free(lg, t);
}

static void copy_checks_permissions(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 2 * PG, PROT_READ | PROT_WRITE, 0), 0);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + 2 * PG, PG, PROT_READ, 0), 0);
	char buf[64] = "abc";
	/* spans the two writable pages */
	T_ASSERT_INT(lg_copy_to(t->mm, VA + PG - 2, buf, 4), 0);
	/* into the read-only page: refused, as the program could not write it */
	T_ASSERT_INT(lg_copy_to(t->mm, VA + 2 * PG - 2, buf, 4), -EFAULT);
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA + 2 * PG, 8), 0);
	/* unmapped, wrapping, kernel half */
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA + 3 * PG, 1), -EFAULT);
	T_ASSERT_INT(lg_copy_from(t->mm, buf, ~0ULL - 2, 8), -EFAULT);
	T_ASSERT_INT(lg_copy_from(t->mm, buf, LG_VA_SYS + LG_GPA_IDT, 8), -EFAULT);
	T_ASSERT_INT(lg_copy_from(t->mm, buf, LG_VA_TRAMPOLINE, 8), -EFAULT);
	T_ASSERT_INT(lg_copy_from(t->mm, buf, 0, 1), -EFAULT);
	vt_free(lg, t);
}

static void strings_and_iovecs(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 2 * PG, PROT_READ | PROT_WRITE, 0), 0);
	char out[16];
	/* a string that crosses into the second page */
	T_ASSERT_INT(lg_copy_to(t->mm, VA + PG - 3, "hello", 6), 0);
	T_ASSERT_INT(lg_strncpy_from(t->mm, out, VA + PG - 3, sizeof(out)), 5);
	T_ASSERT_STR(out, "hello");
	/* too long for the buffer, and one with no end before unmapped memory */
	T_ASSERT_INT(lg_strncpy_from(t->mm, out, VA + PG - 3, 5), -ENAMETOOLONG);
	char big[PG];
	memset(big, 'a', sizeof(big));
	T_ASSERT_INT(lg_copy_to(t->mm, VA + PG, big, sizeof(big)), 0);
	char *huge = xmalloc(3 * PG);
	T_ASSERT_INT(lg_strncpy_from(t->mm, huge, VA + PG, 3 * PG), -EFAULT);
	free(huge);
	struct iovec iov[4];
	unsigned n;
	size_t len;
	pthread_rwlock_rdlock(&t->mm->lock);
	int r = lg_user_iov(t->mm, VA + 100, 2 * PG - 100, true, iov, 4, &n, &len);
	int bad = lg_user_iov(t->mm, VA + 3 * PG, 10, false, iov, 4, &n, &len);
	pthread_rwlock_unlock(&t->mm->lock);
	T_ASSERT_INT(r, 0);
	T_ASSERT(len == 2 * PG - 100 && n >= 1 && n <= 2);
	T_ASSERT_INT(bad, -EFAULT);
	vt_free(lg, t);
}

static void protect_and_fault(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 4 * PG, PROT_READ | PROT_WRITE, 0), 0);
	T_ASSERT_INT(lg_copy_to(t->mm, VA, "keep", 5), 0);
	T_ASSERT_INT(lg_mm_protect(t->mm, VA, PG, PROT_NONE), 0);
	T_ASSERT(!(*pte_of(t->mm, VA) & PTE_P));
	T_ASSERT_INT(lg_mm_fault(t->mm, VA, false, false), -EACCES);
	T_ASSERT_INT(lg_mm_protect(t->mm, VA, PG, PROT_READ), 0);
	char buf[8];
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA, 5), 0);
	T_ASSERT_STR(buf, "keep"); /* PROT_NONE kept the contents */
	T_ASSERT_INT(lg_mm_fault(t->mm, VA, true, false), -EACCES);
	T_ASSERT_INT(lg_mm_fault(t->mm, VA + 10 * PG, false, false), -EFAULT);
	/* mprotect over a hole: ENOMEM, as Linux */
	T_ASSERT_INT(lg_mm_protect(t->mm, VA, 8 * PG, PROT_READ), -ENOMEM);
	/* a lazy mapping fills in on fault */
	uint64_t before = vt_free_frames(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + 16 * PG, 64 * PG, PROT_READ | PROT_WRITE, LG_VMA_LAZY), 0);
	T_ASSERT_INT(vt_free_frames(lg), before);
	T_ASSERT_INT(lg_mm_fault(t->mm, VA + 20 * PG + 5, true, false), 0);
	T_ASSERT_INT(vt_free_frames(lg), before - 1);
	T_ASSERT_INT(lg_copy_to(t->mm, VA + 30 * PG, "x", 1), 0); /* the monitor faults too */
	T_ASSERT_INT(vt_free_frames(lg), before - 2);
	vt_free(lg, t);
}

static void fork_copies_private_shares_readonly(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, PG, PROT_READ | PROT_WRITE, 0), 0);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + PG, PG, PROT_READ, 0), 0);
	T_ASSERT_INT(lg_mm_map(t->mm, VA + 2 * PG, PG, PROT_READ | PROT_WRITE, LG_VMA_SHARED), 0);
	T_ASSERT_INT(lg_copy_to(t->mm, VA, "parent", 7), 0);
	T_ASSERT_INT(lg_poke(t->mm, VA + PG, "text", 5), 0);
	struct lg_mm *c;
	T_ASSERT_INT(lg_mm_fork(t->mm, &c), 0);
	T_ASSERT_INT(lg_copy_to(c, VA, "child!", 7), 0);
	T_ASSERT_INT(lg_copy_to(c, VA + 2 * PG, "shared", 7), 0);
	char buf[8];
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA, 7), 0);
	T_ASSERT_STR(buf, "parent");
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA + 2 * PG, 7), 0);
	T_ASSERT_STR(buf, "shared");
	uint64_t ro_p = *pte_of(t->mm, VA + PG) & PTE_ADDR, ro_c = *pte_of(c, VA + PG) & PTE_ADDR;
	T_ASSERT(ro_p == ro_c);
	T_ASSERT_INT(lg_frame_refs(lg, ro_p), 2);
	/* making the shared read-only page writable in the child copies it */
	T_ASSERT_INT(lg_mm_protect(c, VA + PG, PG, PROT_READ | PROT_WRITE), 0);
	T_ASSERT((*pte_of(c, VA + PG) & PTE_ADDR) != ro_p);
	T_ASSERT_INT(lg_frame_refs(lg, ro_p), 1);
	T_ASSERT_INT(lg_copy_from(c, buf, VA + PG, 5), 0);
	T_ASSERT_STR(buf, "text");
	uint64_t before = vt_free_frames(lg);
	lg_mm_put(c);
	T_ASSERT(vt_free_frames(lg) > before);
	vt_free(lg, t);
}

static void find_free_and_move(void)
{
	struct lg *lg = vt_lg(RAM, NULL);
	struct lg_task *t = vt_task(lg);
	uint64_t a = lg_mm_find_free(t->mm, 4 * PG, 0);
	T_ASSERT(a && a + 4 * PG <= t->mm->mmap_top);
	T_ASSERT_INT(lg_mm_map(t->mm, a, 4 * PG, PROT_READ | PROT_WRITE, 0), 0);
	uint64_t b = lg_mm_find_free(t->mm, 4 * PG, 0);
	T_ASSERT(b + 4 * PG <= a);
	/* a free hint is honoured, a taken one is not */
	T_ASSERT(lg_mm_find_free(t->mm, PG, VA) == VA);
	T_ASSERT(lg_mm_find_free(t->mm, PG, a) != a);
	T_ASSERT(lg_mm_find_free(t->mm, LG_VA_USER_END, 0) == 0);
	T_ASSERT_INT(lg_copy_to(t->mm, a + PG, "moved", 6), 0);
	T_ASSERT_INT(lg_mm_map(t->mm, VA, 8 * PG, PROT_READ | PROT_WRITE, LG_VMA_LAZY), 0);
	T_ASSERT_INT(lg_mm_move(t->mm, a, VA, 4 * PG), 0);
	char buf[8];
	T_ASSERT_INT(lg_copy_from(t->mm, buf, VA + PG, 6), 0);
	T_ASSERT_STR(buf, "moved");
	T_ASSERT(lg_mm_find_vma(t->mm, a) == NULL);
	vt_free(lg, t);
}

T_MAIN("vm-mm", T_CASE(map_sets_pte_bits), T_CASE(unmap_returns_frames),
       T_CASE(bad_ranges_refused), T_CASE(copy_checks_permissions), T_CASE(strings_and_iovecs),
       T_CASE(protect_and_fault), T_CASE(fork_copies_private_shares_readonly),
       T_CASE(find_free_and_move))
