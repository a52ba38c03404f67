/* Guest-physical frames of the light guest.
 *
 * Data frames: a reference count per 4 KiB frame of RAM above the sys area.
 * A frame is zero when it is handed out: RAM starts zeroed and a freed frame
 * is discarded (MADV_DONTNEED) at once.  Discarding also makes KVM's MMU
 * notifier drop every shadow mapping of the frame, which is how a page the
 * monitor unmapped stops being reachable (the monitor's own writes to page
 * tables are invisible to the shadow MMU).
 *
 * Page-table frames: in chunks, one memslot each (see layout.h for why).
 * A chunk hands out each of its frames once; freed frames wait until every
 * frame of the chunk is free, then the chunk's memslot is deleted and added
 * again (dropping the shadow MMU's cached view of all of them) and it
 * starts over. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base/log.h"
#include "base/util.h"
#include "vm/arch/x86/layout.h"

#define PFN(gpa) ((gpa) >> 12)

static int chunk_new(struct lg *lg, unsigned *ret);

int lg_frames_init(struct lg *lg, struct cell_err **err)
{
	struct lg_frames *f = &lg->frames;
	f->first = PFN(LG_GPA_DATA);
	f->end = PFN(lg->kvm->ram_size);
	if (f->end <= f->first)
		return cell_err(err, EINVAL, "guest memory too small");
	size_t bytes = (f->end - f->first) * sizeof(uint16_t);
	/* Untouched parts of the table cost no host memory. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return cell_err_sys(err, "frame table");
	f->ref = p;
	f->cursor = 0;
	/* Fixed capacity: lg_pt_host() indexes it without the lock. */
	lg->ptpool.chunks = xcalloc(LG_PT_MAX_CHUNKS, sizeof(*lg->ptpool.chunks));
	f->nfree = f->end - f->first;
	/* The first page-table chunk now, while the VM has no vCPU: its
	 * memslot, added by the first address space, waited an SRCU grace
	 * period behind the KVM_CREATE_VCPU of the thread that prestarts the
	 * first vCPU beside the program's load (~0.3 ms of every start here). */
	unsigned first;
	if (chunk_new(lg, &first) < 0)
		return cell_err(err, ENOMEM, "page-table chunk");
	return 0;
}

void lg_frames_fini(struct lg *lg)
{
	struct lg_frames *f = &lg->frames;
	if (f->ref)
		munmap(f->ref, (f->end - f->first) * sizeof(uint16_t));
	f->ref = NULL;
	struct lg_ptpool *pp = &lg->ptpool;
	for (unsigned i = 0; i < pp->n; i++)
		if (pp->chunks[i].host)
			munmap(pp->chunks[i].host, LG_PT_CHUNK_SIZE);
	free(pp->chunks);
	pp->chunks = NULL;
	pp->n = 0;
}

uint8_t *lg_frame_host(struct lg *lg, uint64_t gpa)
{
	uint64_t pfn = PFN(gpa);
	if (pfn < lg->frames.first || pfn >= lg->frames.end)
		return NULL;
	return lg->kvm->ram + (gpa & ~0xfffULL);
}

int lg_frame_alloc(struct lg *lg, uint64_t *ret_gpa)
{
	struct lg_frames *f = &lg->frames;
	pthread_mutex_lock(&lg->lock);
	uint64_t n = f->end - f->first;
	if (f->nfree == 0) {
		pthread_mutex_unlock(&lg->lock);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = (f->cursor + i) % n;
		if (f->ref[k] == 0) {
			f->ref[k] = 1;
			f->nfree--;
			f->cursor = k + 1;
			*ret_gpa = (f->first + k) << 12;
			pthread_mutex_unlock(&lg->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&lg->lock);
	return -ENOMEM;
}

void lg_frame_get(struct lg *lg, uint64_t gpa)
{
	struct lg_frames *f = &lg->frames;
	pthread_mutex_lock(&lg->lock);
	uint64_t k = PFN(gpa) - f->first;
	if (PFN(gpa) >= f->first && PFN(gpa) < f->end && f->ref[k] && f->ref[k] < UINT16_MAX)
		f->ref[k]++;
	pthread_mutex_unlock(&lg->lock);
}

unsigned lg_frame_refs(struct lg *lg, uint64_t gpa)
{
	struct lg_frames *f = &lg->frames;
	if (PFN(gpa) < f->first || PFN(gpa) >= f->end)
		return 0;
	pthread_mutex_lock(&lg->lock);
	unsigned r = f->ref[PFN(gpa) - f->first];
	pthread_mutex_unlock(&lg->lock);
	return r;
}

void lg_frame_zap(struct lg *lg, uint64_t gpa)
{
	uint8_t *h = lg_frame_host(lg, gpa);
	if (!h)
		return;
	/* Changing the host protection runs KVM's MMU notifier over the page,
	 * which drops the shadow entries that map it; the contents stay. */
	mprotect(h, X86_PAGE_SIZE, PROT_READ);
	mprotect(h, X86_PAGE_SIZE, PROT_READ | PROT_WRITE);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Discard runs of consecutive frames with one madvise each. */
static void discard_sorted(struct lg *lg, const uint64_t *gpas, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && gpas[j] == gpas[j - 1] + X86_PAGE_SIZE)
			j++;
		uint8_t *h = lg->kvm->ram + gpas[i];
		size_t len = (j - i) * X86_PAGE_SIZE;
		if (lg->kvm->ram_huge) /* hugetlb pages cannot be discarded piecewise */
			memset(h, 0, len);
		else
			madvise(h, len, MADV_DONTNEED);
		i = j;
	}
}

void lg_frame_zap_many(struct lg *lg, uint64_t *gpas, size_t n)
{
	if (n == 0)
		return;
	qsort(gpas, n, sizeof(*gpas), cmp_u64);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && gpas[j] <= gpas[j - 1] + X86_PAGE_SIZE)
			j++;
		uint8_t *h = lg_frame_host(lg, gpas[i]);
		if (h && lg_frame_host(lg, gpas[j - 1])) {
			size_t len = gpas[j - 1] - gpas[i] + X86_PAGE_SIZE;
			mprotect(h, len, PROT_READ);
			mprotect(h, len, PROT_READ | PROT_WRITE);
		}
		i = j;
	}
}

void lg_frame_put_many(struct lg *lg, uint64_t *gpas, size_t n, bool zap_shared)
{
	struct lg_frames *f = &lg->frames;
	size_t nfree = 0;
	pthread_mutex_lock(&lg->lock);
	for (size_t i = 0; i < n; i++) {
		uint64_t pfn = PFN(gpas[i]);
		if (pfn < f->first || pfn >= f->end)
			continue;
		uint16_t *ref = &f->ref[pfn - f->first];
		if (*ref == 1) {
			/* Stays marked used until discarded, so that nobody
			 * gets it before it is zero again. */
			gpas[nfree++] = gpas[i] & ~0xfffULL;
		} else if (*ref > 1) {
			if (*ref < UINT16_MAX)
				(*ref)--;
			if (zap_shared) {
				pthread_mutex_unlock(&lg->lock);
				lg_frame_zap(lg, gpas[i]);
				pthread_mutex_lock(&lg->lock);
			}
		}
	}
	pthread_mutex_unlock(&lg->lock);
	if (nfree == 0)
		return;
	qsort(gpas, nfree, sizeof(*gpas), cmp_u64);
	for (size_t i = 0; i < nfree; i++)
		lg_sites_frame_freed(lg, gpas[i]);
	discard_sorted(lg, gpas, nfree);
	pthread_mutex_lock(&lg->lock);
	for (size_t i = 0; i < nfree; i++) {
		f->ref[PFN(gpas[i]) - f->first] = 0;
		f->nfree++;
	}
	pthread_mutex_unlock(&lg->lock);
}

void lg_frame_put(struct lg *lg, uint64_t gpa)
{
	lg_frame_put_many(lg, &gpa, 1, true);
}

/* ---- page-table chunks --------------------------------------------------- */

#define PT_PER_CHUNK ((uint32_t)(LG_PT_CHUNK_SIZE / X86_PAGE_SIZE))

static uint64_t chunk_gpa(unsigned i)
{
	return LG_GPA_PT_BASE + (uint64_t)i * LG_PT_CHUNK_SIZE;
}

static int chunk_new(struct lg *lg, unsigned *ret)
{
	struct lg_ptpool *pp = &lg->ptpool;
	if (pp->n >= LG_PT_MAX_CHUNKS)
		return -ENOMEM;
	void *h = mmap(NULL, LG_PT_CHUNK_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h == MAP_FAILED)
		return -ENOMEM;
	_cleanup_err_ struct cell_err *err = NULL;
	/* fd < 0: no VM behind (unit tests, fuzzers): bookkeeping only. */
	if (lg->kvm->fd >= 0 && kvm_vm_set_slot(lg->kvm, LG_SLOT_PT_FIRST + pp->n, chunk_gpa(pp->n), h,
						LG_PT_CHUNK_SIZE, &err) < 0) {
		cell_warn("light guest: page-table chunk: %s", err->msg);
		munmap(h, LG_PT_CHUNK_SIZE);
		return -ENOMEM;
	}
	pp->chunks[pp->n] = (struct lg_ptchunk){ .host = h };
	*ret = pp->n;
	/* lg_pt_host() reads n without the lock. */
	__atomic_store_n(&pp->n, pp->n + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Drop the shadow MMU's view of every frame in chunk i; all are free. */
static int chunk_flush(struct lg *lg, unsigned i)
{
	struct lg_ptchunk *c = &lg->ptpool.chunks[i];
	_cleanup_err_ struct cell_err *err = NULL;
	if (lg->kvm->fd >= 0 &&
	    (kvm_vm_set_slot(lg->kvm, LG_SLOT_PT_FIRST + i, chunk_gpa(i), c->host, 0, &err) < 0 ||
	     kvm_vm_set_slot(lg->kvm, LG_SLOT_PT_FIRST + i, chunk_gpa(i), c->host, LG_PT_CHUNK_SIZE,
			     &err) < 0)) {
		cell_warn("light guest: page-table chunk %u: %s", i, err->msg);
		return -EIO;
	}
	madvise(c->host, LG_PT_CHUNK_SIZE, MADV_DONTNEED);
	c->next = 0;
	lg->stats.pt_flushes++;
	return 0;
}

int lg_pt_alloc(struct lg *lg, uint64_t *ret_gpa)
{
	struct lg_ptpool *pp = &lg->ptpool;
	int r = 0;
	pthread_mutex_lock(&lg->lock);
	if (pp->n == 0 || pp->chunks[pp->current].next == PT_PER_CHUNK) {
		unsigned pick = UINT32_MAX;
		for (unsigned i = 0; i < pp->n; i++)
			if (pp->chunks[i].live == 0 && pp->chunks[i].next < PT_PER_CHUNK &&
			    i != pp->current) {
				pick = i;
				break;
			}
		if (pick == UINT32_MAX)
			for (unsigned i = 0; i < pp->n; i++)
				if (pp->chunks[i].live == 0 && chunk_flush(lg, i) == 0) {
					pick = i;
					break;
				}
		if (pick == UINT32_MAX)
			r = chunk_new(lg, &pick);
		if (r == 0)
			pp->current = pick;
	}
	if (r == 0) {
		struct lg_ptchunk *c = &pp->chunks[pp->current];
		uint32_t k = c->next++;
		c->live++;
		*ret_gpa = chunk_gpa(pp->current) + (uint64_t)k * X86_PAGE_SIZE;
		memset(c->host + (uint64_t)k * X86_PAGE_SIZE, 0, X86_PAGE_SIZE);
	}
	pthread_mutex_unlock(&lg->lock);
	return r;
}

void lg_pt_free(struct lg *lg, uint64_t gpa)
{
	if (gpa < LG_GPA_PT_BASE)
		return;
	uint64_t i = (gpa - LG_GPA_PT_BASE) / LG_PT_CHUNK_SIZE;
	pthread_mutex_lock(&lg->lock);
	if (i < lg->ptpool.n && lg->ptpool.chunks[i].live > 0)
		lg->ptpool.chunks[i].live--;
	pthread_mutex_unlock(&lg->lock);
}

uint64_t *lg_pt_host(struct lg *lg, uint64_t gpa)
{
	if (gpa < LG_GPA_PT_BASE || (gpa & 0xfff))
		return NULL;
	uint64_t off = gpa - LG_GPA_PT_BASE;
	uint64_t i = off / LG_PT_CHUNK_SIZE;
	/* Chunks are only appended; n never shrinks while the VM lives. */
	if (i >= __atomic_load_n(&lg->ptpool.n, __ATOMIC_ACQUIRE))
		return NULL;
	return (uint64_t *)(lg->ptpool.chunks[i].host + off % LG_PT_CHUNK_SIZE);
}
