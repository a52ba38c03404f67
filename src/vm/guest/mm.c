/* Address spaces of the light guest: 4-level page tables the monitor writes
 * (4 KiB pages, user half only; the kernel half is one shared PML4 entry) and
 * a sorted list of mappings (VMAs) that says what the program asked for.
 *
 * A leaf entry is either present (P|U, W for PROT_WRITE, NX without
 * PROT_EXEC, A and D preset so that the CPU never writes them back) or not
 * present but holding a frame (PTE_SW_FRAME) when the mapping is
 * PROT_NONE.  The monitor's writes are invisible to the shadow MMU, so every
 * change that takes access away is followed by a zap of the frame
 * (frames.c); adding access needs nothing, a shadow miss walks these tables. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/util.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"

#define PTE_SW_FRAME (1ULL << 10) /* not present, but the frame is the mapping's */
#define PAGE X86_PAGE_SIZE

static bool pte_has_frame(uint64_t e)
{
	return (e & PTE_P) || (e & PTE_SW_FRAME);
}

static uint64_t pte_make(uint64_t gpa, uint32_t prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return gpa | PTE_SW_FRAME;
	uint64_t e = gpa | PTE_P | PTE_U | PTE_A;
	if (prot & PROT_WRITE)
		e |= PTE_W | PTE_D;
	if (!(prot & PROT_EXEC))
		e |= PTE_NX;
	return e;
}

/* ---- page tables --------------------------------------------------------- */

static int pt_new(struct lg_mm *mm, uint64_t *ret)
{
	uint64_t g;
	int r = lg_pt_alloc(mm->lg, &g);
	if (r < 0)
		return r;
	if (mm->npts == mm->cappts) {
		mm->cappts = mm->cappts ? mm->cappts * 2 : 16;
		mm->pts = xrealloc(mm->pts, mm->cappts * sizeof(*mm->pts));
	}
	mm->pts[mm->npts++] = g;
	*ret = g;
	return 0;
}

/* The leaf entry for va; with create, missing tables are made.  -EFAULT
 * (not mapped, no create) or -ENOMEM. */
static int pte_lookup(struct lg_mm *mm, uint64_t va, bool create, uint64_t **ret)
{
	if (va >= LG_VA_USER_END + PAGE)
		return -EFAULT;
	uint64_t table = mm->pml4;
	for (int level = 3; level >= 1; level--) {
		uint64_t *t = lg_pt_host(mm->lg, table);
		if (!t)
			return -EFAULT;
		unsigned i = (va >> (12 + 9 * level)) & 511;
		if (!(t[i] & PTE_P)) {
			if (!create)
				return -EFAULT;
			uint64_t g;
			int r = pt_new(mm, &g);
			if (r < 0)
				return r;
			t[i] = g | PTE_P | PTE_W | PTE_U;
		}
		table = t[i] & PTE_ADDR;
	}
	uint64_t *leaf = lg_pt_host(mm->lg, table);
	if (!leaf)
		return -EFAULT;
	*ret = &leaf[(va >> 12) & 511];
	return 0;
}

int lg_mm_new(struct lg *lg, struct lg_mm **ret)
{
	struct lg_mm *mm = xcalloc(1, sizeof(*mm));
	mm->lg = lg;
	mm->refs = 1;
	mm->id = __atomic_add_fetch(&lg->mm_ids, 1, __ATOMIC_RELAXED);
	pthread_rwlock_init(&mm->lock, NULL);
	int r = pt_new(mm, &mm->pml4);
	if (r < 0) {
		free(mm);
		return r;
	}
	lg_pt_host(lg, mm->pml4)[511] = lg_kernel_pml4e();
	mm->stack_top = LG_VA_USER_END;
	*ret = mm;
	return 0;
}

/* Collect the frames under a table (level 3 = PML4 without the kernel half). */
static void collect_frames(struct lg_mm *mm, uint64_t table, int level, uint64_t **v, size_t *n,
			   size_t *cap)
{
	uint64_t *t = lg_pt_host(mm->lg, table);
	if (!t)
		return;
	unsigned limit = level == 3 ? 256 : 512;
	for (unsigned i = 0; i < limit; i++) {
		uint64_t e = t[i];
		if (level > 0) {
			if (e & PTE_P)
				collect_frames(mm, e & PTE_ADDR, level - 1, v, n, cap);
			continue;
		}
		if (!pte_has_frame(e))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			*v = xrealloc(*v, *cap * sizeof(**v));
		}
		(*v)[(*n)++] = e & PTE_ADDR;
	}
}

void lg_mm_put(struct lg_mm *mm)
{
	if (!mm)
		return;
	struct lg *lg = mm->lg;
	pthread_mutex_lock(&lg->lock);
	int left = --mm->refs;
	pthread_mutex_unlock(&lg->lock);
	if (left > 0)
		return;
	uint64_t *frames = NULL;
	size_t n = 0, cap = 0;
	collect_frames(mm, mm->pml4, 3, &frames, &n, &cap);
	lg_frame_put_many(lg, frames, n, false);
	free(frames);
	for (size_t i = 0; i < mm->npts; i++)
		lg_pt_free(lg, mm->pts[i]);
	pthread_rwlock_destroy(&mm->lock);
	free(mm->pts);
	free(mm->vmas);
	free(mm);
}

/* ---- VMAs ------------------------------------------------------------------ */

/* Index of the first VMA that ends after va. */
static size_t vma_first_after(const struct lg_mm *mm, uint64_t va)
{
	size_t lo = 0, hi = mm->nvmas;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (mm->vmas[mid].end <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct lg_vma *lg_mm_find_vma(struct lg_mm *mm, uint64_t va)
{
	size_t i = vma_first_after(mm, va);
	if (i < mm->nvmas && mm->vmas[i].start <= va)
		return &mm->vmas[i];
	return NULL;
}

static void vma_insert_at(struct lg_mm *mm, size_t i, struct lg_vma v)
{
	if (mm->nvmas == mm->capvmas) {
		mm->capvmas = mm->capvmas ? mm->capvmas * 2 : 16;
		mm->vmas = xrealloc(mm->vmas, mm->capvmas * sizeof(*mm->vmas));
	}
	memmove(&mm->vmas[i + 1], &mm->vmas[i], (mm->nvmas - i) * sizeof(*mm->vmas));
	mm->vmas[i] = v;
	mm->nvmas++;
}

static void vma_delete_at(struct lg_mm *mm, size_t i)
{
	memmove(&mm->vmas[i], &mm->vmas[i + 1], (mm->nvmas - i - 1) * sizeof(*mm->vmas));
	mm->nvmas--;
}

/* Split so that start and end are VMA boundaries where a VMA covers them. */
static void vma_split(struct lg_mm *mm, uint64_t at)
{
	size_t i = vma_first_after(mm, at);
	if (i < mm->nvmas && mm->vmas[i].start < at) {
		struct lg_vma hi = mm->vmas[i];
		hi.start = at;
		mm->vmas[i].end = at;
		vma_insert_at(mm, i + 1, hi);
	}
}

static bool vma_mergeable(const struct lg_vma *a, const struct lg_vma *b)
{
	return a->end == b->start && a->prot == b->prot && a->flags == b->flags;
}

static void vma_merge_around(struct lg_mm *mm, size_t i)
{
	if (i + 1 < mm->nvmas && vma_mergeable(&mm->vmas[i], &mm->vmas[i + 1])) {
		mm->vmas[i].end = mm->vmas[i + 1].end;
		vma_delete_at(mm, i + 1);
	}
	if (i > 0 && vma_mergeable(&mm->vmas[i - 1], &mm->vmas[i])) {
		mm->vmas[i - 1].end = mm->vmas[i].end;
		vma_delete_at(mm, i);
	}
}

/* ---- mapping ------------------------------------------------------------- */

static bool range_ok(uint64_t start, uint64_t len)
{
	return len > 0 && !(start & (PAGE - 1)) && !(len & (PAGE - 1)) && start >= LG_VA_USER_MIN &&
	       start < LG_VA_USER_END && len <= LG_VA_USER_END - start;
}

/* Give va a zeroed frame with prot. */
static int populate_page(struct lg_mm *mm, uint64_t va, uint32_t prot)
{
	uint64_t *pte;
	int r = pte_lookup(mm, va, true, &pte);
	if (r < 0)
		return r;
	if (pte_has_frame(*pte))
		return 0;
	uint64_t gpa;
	if ((r = lg_frame_alloc(mm->lg, &gpa)) < 0)
		return r;
	*pte = pte_make(gpa, prot);
	mm->pages++;
	return 0;
}

/* A mapping went or changed: caches of translations (sites.c) are stale. */
static void mapping_changed(struct lg_mm *mm)
{
	__atomic_fetch_add(&mm->map_gen, 1, __ATOMIC_RELEASE);
}

/* Drop the frames of [start, end) from the page tables. */
static void clear_range(struct lg_mm *mm, uint64_t start, uint64_t end)
{
	mapping_changed(mm);
	uint64_t *frames = NULL;
	size_t n = 0, cap = 0;
	for (uint64_t va = start; va < end; va += PAGE) {
		uint64_t *pte;
		if (pte_lookup(mm, va, false, &pte) < 0) {
			/* no table: skip to the next leaf table */
			va = (va | (512 * PAGE - 1)) + 1 - PAGE;
			continue;
		}
		if (!pte_has_frame(*pte))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			frames = xrealloc(frames, cap * sizeof(*frames));
		}
		frames[n++] = *pte & PTE_ADDR;
		*pte = 0;
		mm->pages--;
	}
	lg_frame_put_many(mm->lg, frames, n, true);
	free(frames);
}

int lg_mm_unmap(struct lg_mm *mm, uint64_t start, uint64_t len)
{
	if (!range_ok(start, len))
		return -EINVAL;
	uint64_t end = start + len;
	vma_split(mm, start);
	vma_split(mm, end);
	size_t i = vma_first_after(mm, start);
	while (i < mm->nvmas && mm->vmas[i].start < end) {
		clear_range(mm, mm->vmas[i].start, mm->vmas[i].end);
		vma_delete_at(mm, i);
	}
	return 0;
}

int lg_mm_map(struct lg_mm *mm, uint64_t start, uint64_t len, uint32_t prot, uint32_t flags)
{
	if (!range_ok(start, len))
		return -EINVAL;
	int r = lg_mm_unmap(mm, start, len);
	if (r < 0)
		return r;
	struct lg_vma v = { .start = start, .end = start + len, .prot = prot, .flags = flags };
	size_t i = vma_first_after(mm, start);
	vma_insert_at(mm, i, v);
	vma_merge_around(mm, i);
	if ((flags & LG_VMA_LAZY) || !(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	for (uint64_t va = start; va < start + len; va += PAGE)
		if ((r = populate_page(mm, va, prot)) < 0) {
			lg_mm_unmap(mm, start, len);
			return r;
		}
	return 0;
}

/* A private frame shared with another address space must be copied before
 * this one may write it. */
static int make_private(struct lg_mm *mm, uint64_t *pte, uint32_t prot)
{
	mapping_changed(mm);
	uint64_t old = *pte & PTE_ADDR;
	if (lg_frame_refs(mm->lg, old) <= 1)
		return 0;
	uint64_t gpa;
	int r = lg_frame_alloc(mm->lg, &gpa);
	if (r < 0)
		return r;
	memcpy(lg_frame_host(mm->lg, gpa), lg_frame_host(mm->lg, old), PAGE);
	lg_sites_frame_copied(mm->lg, old, gpa);
	*pte = pte_make(gpa, prot);
	lg_frame_put(mm->lg, old);
	return 0;
}

static int protect_page(struct lg_mm *mm, const struct lg_vma *v, uint64_t va, uint32_t prot)
{
	mapping_changed(mm);
	uint64_t *pte;
	if (pte_lookup(mm, va, false, &pte) < 0 || !pte_has_frame(*pte)) {
		if ((v->flags & LG_VMA_LAZY) || !(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
			return 0;
		return populate_page(mm, va, prot);
	}
	uint64_t old = *pte;
	if ((prot & PROT_WRITE) && !(v->flags & LG_VMA_SHARED)) {
		int r = make_private(mm, pte, prot);
		if (r < 0)
			return r;
	}
	uint64_t neu = pte_make(*pte & PTE_ADDR, prot);
	*pte = neu;
	/* Taking away access must reach the shadow MMU. */
	bool lost = ((old & PTE_P) && !(neu & PTE_P)) || ((old & PTE_W) && !(neu & PTE_W)) ||
		    (!(old & PTE_NX) && (neu & PTE_NX));
	if (lost && (old & PTE_ADDR) == (neu & PTE_ADDR))
		lg_frame_zap(mm->lg, neu & PTE_ADDR);
	return 0;
}

int lg_mm_protect(struct lg_mm *mm, uint64_t start, uint64_t len, uint32_t prot)
{
	if (!range_ok(start, len))
		return -EINVAL;
	uint64_t end = start + len;
	/* Linux: ENOMEM if any part of the range is unmapped. */
	uint64_t at = start;
	for (size_t i = vma_first_after(mm, start); at < end; i++) {
		if (i >= mm->nvmas || mm->vmas[i].start > at)
			return -ENOMEM;
		at = mm->vmas[i].end;
	}
	vma_split(mm, start);
	vma_split(mm, end);
	for (size_t i = vma_first_after(mm, start); i < mm->nvmas && mm->vmas[i].start < end; i++) {
		struct lg_vma *v = &mm->vmas[i];
		v->prot = prot;
		for (uint64_t va = v->start; va < v->end; va += PAGE) {
			int r = protect_page(mm, v, va, prot);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = vma_first_after(mm, start); i < mm->nvmas && mm->vmas[i].start < end;) {
		size_t before = mm->nvmas;
		vma_merge_around(mm, i);
		if (mm->nvmas == before)
			i++;
	}
	return 0;
}

int lg_mm_discard(struct lg_mm *mm, uint64_t start, uint64_t len)
{
	mapping_changed(mm);
	if (!range_ok(start, len))
		return -EINVAL;
	for (uint64_t va = start; va < start + len; va += PAGE) {
		const struct lg_vma *v = lg_mm_find_vma(mm, va);
		if (!v)
			return -ENOMEM;
		if (v->flags & LG_VMA_SHARED)
			continue;
		uint64_t *pte;
		if (pte_lookup(mm, va, false, &pte) < 0 || !pte_has_frame(*pte))
			continue;
		/* A fresh zero frame replaces the old one. */
		uint64_t old = *pte & PTE_ADDR, gpa;
		int r = lg_frame_alloc(mm->lg, &gpa);
		if (r < 0)
			return r;
		*pte = pte_make(gpa, v->prot);
		lg_frame_put(mm->lg, old);
	}
	return 0;
}

int lg_mm_move(struct lg_mm *mm, uint64_t from, uint64_t to, uint64_t len)
{
	mapping_changed(mm);
	if (!range_ok(from, len) || !range_ok(to, len))
		return -EINVAL;
	uint64_t *moved = NULL;
	size_t n = 0, cap = 0;
	for (uint64_t off = 0; off < len; off += PAGE) {
		uint64_t *src, *dst;
		if (pte_lookup(mm, from + off, false, &src) < 0 || !pte_has_frame(*src))
			continue;
		int r = pte_lookup(mm, to + off, true, &dst);
		if (r < 0) {
			free(moved);
			return r;
		}
		*dst = *src;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			moved = xrealloc(moved, cap * sizeof(*moved));
		}
		moved[n++] = *src & PTE_ADDR;
		*src = 0;
	}
	/* The old addresses must stop reaching the frames. */
	lg_frame_zap_many(mm->lg, moved, n);
	free(moved);
	return lg_mm_unmap(mm, from, len);
}

uint64_t lg_mm_find_free(struct lg_mm *mm, uint64_t len, uint64_t hint)
{
	if (len == 0 || len > LG_VA_USER_END - LG_VA_USER_MIN)
		return 0;
	hint &= ~(PAGE - 1);
	if (hint >= LG_VA_USER_MIN && hint <= LG_VA_USER_END - len) {
		size_t i = vma_first_after(mm, hint);
		if (i >= mm->nvmas || mm->vmas[i].start >= hint + len)
			return hint;
	}
	/* Top down from mmap_top: the first gap below it that fits. */
	uint64_t top = mm->mmap_top;
	for (size_t k = mm->nvmas; k-- > 0;) {
		const struct lg_vma *v = &mm->vmas[k];
		if (v->start >= top)
			continue;
		if (top >= len && v->end <= top - len)
			break;
		top = v->start;
	}
	return top >= LG_VA_USER_MIN + len ? top - len : 0;
}

/* ---- faults --------------------------------------------------------------- */

static bool prot_allows(uint32_t prot, bool write, bool exec)
{
	if (write)
		return prot & PROT_WRITE;
	if (exec)
		return prot & PROT_EXEC;
	return prot & (PROT_READ | PROT_WRITE | PROT_EXEC);
}

/* The main stack grows down into the gap below it, up to its rlimit. */
static const struct lg_vma *grow_stack(struct lg_mm *mm, uint64_t va)
{
	size_t i = vma_first_after(mm, va);
	if (i >= mm->nvmas || !(mm->vmas[i].flags & LG_VMA_STACK))
		return NULL;
	struct lg_vma *v = &mm->vmas[i];
	uint64_t page = va & ~(PAGE - 1);
	if (page < mm->stack_limit || (i > 0 && mm->vmas[i - 1].end > page))
		return NULL;
	v->start = page;
	return v;
}

int lg_mm_fault(struct lg_mm *mm, uint64_t va, bool write, bool exec)
{
	const struct lg_vma *v = lg_mm_find_vma(mm, va);
	if (!v)
		v = grow_stack(mm, va);
	if (!v)
		return -EFAULT;
	if (!prot_allows(v->prot, write, exec))
		return -EACCES;
	uint64_t page = va & ~(PAGE - 1);
	uint64_t *pte;
	if (pte_lookup(mm, page, false, &pte) < 0 || !pte_has_frame(*pte))
		return populate_page(mm, page, v->prot);
	if (write && !(*pte & PTE_W) && !(v->flags & LG_VMA_SHARED)) {
		int r = make_private(mm, pte, v->prot);
		if (r < 0)
			return r;
		*pte = pte_make(*pte & PTE_ADDR, v->prot);
		return 0;
	}
	/* Present with the right permissions: the shadow MMU was stale (or
	 * another thread raced us); retrying is right. */
	*pte = pte_make(*pte & PTE_ADDR, v->prot);
	return 0;
}

int lg_mm_translate(struct lg_mm *mm, uint64_t va, bool write, uint64_t *ret_gpa)
{
	uint64_t *pte;
	if (pte_lookup(mm, va, false, &pte) == 0 && (*pte & PTE_P) && (*pte & PTE_U) &&
	    (!write || (*pte & PTE_W))) {
		uint64_t gpa = (*pte & PTE_ADDR) | (va & (PAGE - 1));
		if (!lg_frame_host(mm->lg, gpa))
			return -EFAULT;
		*ret_gpa = gpa;
		return 0;
	}
	return -EAGAIN; /* the caller takes the write lock and calls lg_mm_fault() */
}

int lg_mm_exec_gpa(struct lg_mm *mm, uint64_t va, uint64_t *ret_gpa)
{
	uint64_t *pte;
	if (pte_lookup(mm, va, false, &pte) < 0 || !(*pte & PTE_P) || !(*pte & PTE_U) ||
	    (*pte & PTE_NX))
		return -EFAULT;
	uint64_t gpa = (*pte & PTE_ADDR) | (va & (PAGE - 1));
	if (!lg_frame_host(mm->lg, gpa))
		return -EFAULT;
	*ret_gpa = gpa;
	return 0;
}

/* ---- fork ------------------------------------------------------------------ */

static int fork_page(struct lg_mm *child, const struct lg_vma *v, uint64_t va, uint64_t e)
{
	uint64_t *pte;
	int r = pte_lookup(child, va, true, &pte);
	if (r < 0)
		return r;
	uint64_t src = e & PTE_ADDR;
	if ((v->flags & LG_VMA_SHARED) || !(e & PTE_W)) {
		lg_frame_get(child->lg, src);
		*pte = e;
	} else {
		uint64_t gpa;
		if ((r = lg_frame_alloc(child->lg, &gpa)) < 0)
			return r;
		memcpy(lg_frame_host(child->lg, gpa), lg_frame_host(child->lg, src), PAGE);
		lg_sites_frame_copied(child->lg, src, gpa);
		*pte = (e & ~PTE_ADDR) | gpa;
	}
	child->pages++;
	return 0;
}

int lg_mm_fork(struct lg_mm *mm, struct lg_mm **ret)
{
	struct lg_mm *c;
	int r = lg_mm_new(mm->lg, &c);
	if (r < 0)
		return r;
	c->vmas = xmalloc((mm->nvmas ? mm->nvmas : 1) * sizeof(*c->vmas));
	if (mm->nvmas)
		memcpy(c->vmas, mm->vmas, mm->nvmas * sizeof(*c->vmas));
	c->nvmas = c->capvmas = mm->nvmas;
	c->brk_start = mm->brk_start;
	c->brk = mm->brk;
	c->brk_max = mm->brk_max;
	c->mmap_top = mm->mmap_top;
	c->stack_top = mm->stack_top;
	c->stack_limit = mm->stack_limit;
	c->arg_start = mm->arg_start;
	c->arg_end = mm->arg_end;
	c->env_start = mm->env_start;
	c->env_end = mm->env_end;
	for (size_t i = 0; i < mm->nvmas; i++) {
		const struct lg_vma *v = &mm->vmas[i];
		for (uint64_t va = v->start; va < v->end; va += PAGE) {
			uint64_t *pte;
			if (pte_lookup(mm, va, false, &pte) < 0) {
				va = (va | (512 * PAGE - 1)) + 1 - PAGE;
				continue;
			}
			if (!pte_has_frame(*pte))
				continue;
			if ((r = fork_page(c, v, va, *pte)) < 0) {
				lg_mm_put(c);
				return r;
			}
		}
	}
	*ret = c;
	return 0;
}
