/* Memory calls: brk, mmap and friends, all bookkeeping in the monitor
 * (mm.c); the program never faults for memory it asked for, except in
 * mappings made with MAP_NORESERVE, the stack, and mappings larger than
 * the free guest RAM, which fill in lazily.  As Linux, memory is
 * overcommitted: running out of frames later is the OOM killer's (oom.c);
 * ENOMEM here means the address space or RLIMIT_AS/RLIMIT_DATA. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "vm/arch/x86/layout.h"

#define PAGE X86_PAGE_SIZE

static bool page_up(uint64_t v, uint64_t *ret)
{
	if (v > UINT64_MAX - (PAGE - 1))
		return false;
	*ret = (v + PAGE - 1) & ~(PAGE - 1);
	return true;
}

static bool range_free(struct lg_mm *mm, uint64_t start, uint64_t end)
{
	for (uint64_t va = start; va < end; va += PAGE)
		if (lg_mm_find_vma(mm, va))
			return false;
	return true;
}

/* lg_mm_map, lazily when the frames are not there now (Linux overcommits
 * too): a touch with no frame left is then an OOM kill, not ENOMEM. */
static int map_overcommit(struct lg_mm *mm, uint64_t start, uint64_t len, uint32_t prot,
			  uint32_t flags)
{
	int r = lg_mm_map(mm, start, len, prot, flags);
	if (r == -ENOMEM && !(flags & LG_VMA_LAZY))
		r = lg_mm_map(mm, start, len, prot, flags | LG_VMA_LAZY);
	return r;
}

LG_SYS(brk)
{
	struct lg_mm *mm = t->mm;
	uint64_t want = a[0];
	pthread_rwlock_wrlock(&mm->lock);
	uint64_t cur = mm->brk;
	if (want < mm->brk_start || want > mm->brk_max)
		goto out;
	uint64_t old_end = 0, new_end = 0;
	page_up(cur, &old_end);
	page_up(want, &new_end);
	if (new_end > old_end) {
		if (!range_free(mm, old_end, new_end) ||
		    lg_rlimit_may_expand(t, old_end, new_end - old_end, PROT_READ | PROT_WRITE, 0) < 0 ||
		    map_overcommit(mm, old_end, new_end - old_end, PROT_READ | PROT_WRITE, 0) < 0)
			goto out;
	} else if (new_end < old_end) {
		lg_mm_unmap(mm, new_end, old_end - new_end);
	}
	mm->brk = cur = want;
out:
	pthread_rwlock_unlock(&mm->lock);
	return (long)cur;
}

/* Copy a file's bytes into a private mapping. */
static long fill_from_file(struct lg_task *t, struct lg_file *f, uint64_t start, uint64_t len,
			   uint64_t off)
{
	struct stat st;
	if (fstat(f->hostfd, &st) < 0)
		return -errno;
	uint64_t size = (uint64_t)st.st_size;
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	struct lg_mm *mm = t->mm;
	while (len > 0) {
		uint64_t gpa;
		int e = 0;
		if (lg_mm_translate(mm, start, false, &gpa) < 0 &&
		    ((e = lg_mm_fault(mm, start, false, false)) < 0 ||
		     lg_mm_translate(mm, start, false, &gpa) < 0))
			return e == -ENOMEM ? e : 0; /* PROT_NONE: nothing to fill */
		size_t n = PAGE - (start & (PAGE - 1));
		if (n > len)
			n = len;
		ssize_t r = pread(f->hostfd, lg_frame_host(t->lg, gpa) + (gpa & (PAGE - 1)), n,
				  (off_t)off);
		if (r <= 0)
			return r < 0 ? -errno : 0;
		start += (uint64_t)r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

static uint64_t free_bytes(struct lg *lg)
{
	pthread_mutex_lock(&lg->lock);
	uint64_t n = lg->frames.nfree * PAGE;
	pthread_mutex_unlock(&lg->lock);
	return n;
}

static long do_mmap(struct lg_task *t, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags,
		    int fd, uint64_t off)
{
	uint32_t type = flags & MAP_TYPE;
	if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (len == 0 || (off & (PAGE - 1)) || (prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	if (!page_up(len, &len) || len > LG_VA_USER_END)
		return -ENOMEM;
	bool anon = flags & MAP_ANONYMOUS, shared = type != MAP_PRIVATE;
	struct lg_file *f = NULL;
	if (!anon) {
		if (!(f = lg_fd_get(t->files, fd)))
			return -EBADF;
		long e = 0;
		if (f->kind != LG_FILE_REG)
			e = -ENODEV;
		else if ((f->flags & O_ACCMODE) == O_WRONLY)
			e = -EACCES;
		else if (shared && (prot & PROT_WRITE)) {
			/* Writes would never reach the file. */
			cell_log(CELL_LOG_INFO, "light guest: writable MAP_SHARED file mapping refused");
			e = -ENODEV;
		}
		if (e) {
			lg_file_put(f);
			return e;
		}
	}
	struct lg_mm *mm = t->mm;
	pthread_rwlock_wrlock(&mm->lock);
	long r;
	uint64_t start;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		start = addr;
		r = (addr & (PAGE - 1)) ? -EINVAL : 0;
		if (r == 0 && (flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) &&
		    !range_free(mm, addr, addr + len))
			r = -EEXIST;
	} else {
		start = lg_mm_find_free(mm, len, addr);
		r = start ? 0 : -ENOMEM;
	}
	uint32_t vflags = anon && shared ? LG_VMA_SHARED : 0;
	if (anon && ((flags & MAP_NORESERVE) || len > free_bytes(t->lg) / 2))
		vflags |= LG_VMA_LAZY;
	if (r == 0)
		r = lg_rlimit_may_expand(t, start, len, prot, vflags);
	if (r == 0)
		r = anon ? map_overcommit(mm, start, len, prot, vflags)
			 : lg_mm_map(mm, start, len, prot, vflags);
	if (r == 0 && f && (r = fill_from_file(t, f, start, len, off)) < 0)
		lg_mm_unmap(mm, start, len);
	pthread_rwlock_unlock(&mm->lock);
	lg_file_put(f);
	return r < 0 ? r : (long)start;
}

LG_SYS(mmap)
{
	return do_mmap(t, a[0], a[1], (uint32_t)a[2], (uint32_t)a[3], (int)a[4], a[5]);
}

LG_SYS(munmap)
{
	uint64_t len;
	if ((a[0] & (PAGE - 1)) || !page_up(a[1], &len) || len == 0)
		return -EINVAL;
	pthread_rwlock_wrlock(&t->mm->lock);
	long r = lg_mm_unmap(t->mm, a[0], len);
	pthread_rwlock_unlock(&t->mm->lock);
	return r;
}

LG_SYS(mprotect)
{
	uint64_t len;
	uint32_t prot = (uint32_t)a[2] & ~(uint32_t)(PROT_GROWSDOWN | PROT_GROWSUP);
	if ((a[0] & (PAGE - 1)) || !page_up(a[1], &len) || (prot & ~7u))
		return -EINVAL;
	if (len == 0)
		return 0;
	pthread_rwlock_wrlock(&t->mm->lock);
	long r = lg_rlimit_may_protect(t, a[0], len, prot);
	if (r == 0)
		r = lg_mm_protect(t->mm, a[0], len, prot);
	pthread_rwlock_unlock(&t->mm->lock);
	return r;
}

static long do_mremap(struct lg_task *t, uint64_t old, uint64_t oldlen, uint64_t newlen,
		      uint64_t flags, uint64_t want)
{
	struct lg_mm *mm = t->mm;
	const struct lg_vma *v = lg_mm_find_vma(mm, old);
	if (!v || v->end < old + oldlen)
		return -EFAULT;
	uint32_t prot = v->prot, vflags = v->flags;
	if (newlen <= oldlen) {
		if (newlen < oldlen)
			lg_mm_unmap(mm, old + newlen, oldlen - newlen);
		if (!(flags & MREMAP_FIXED) || want == old)
			return (long)old;
	} else if (lg_rlimit_may_expand(t, old + oldlen, newlen - oldlen, prot, vflags) < 0) {
		return -ENOMEM;
	}
	if (!(flags & MREMAP_FIXED) && range_free(mm, old + oldlen, old + newlen) &&
	    old + newlen <= LG_VA_USER_END) {
		long r = map_overcommit(mm, old + oldlen, newlen - oldlen, prot, vflags);
		return r < 0 ? r : (long)old;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	uint64_t to = (flags & MREMAP_FIXED) ? want : lg_mm_find_free(mm, newlen, 0);
	if (!to || (to & (PAGE - 1)))
		return -ENOMEM;
	uint64_t keep = oldlen < newlen ? oldlen : newlen;
	long r = lg_mm_map(mm, to, newlen, prot, vflags | LG_VMA_LAZY);
	if (r == 0)
		r = lg_mm_move(mm, old, to, keep);
	if (r == 0 && oldlen > keep)
		lg_mm_unmap(mm, old + keep, oldlen - keep);
	/* Eager as the mapping was; what finds no frame now fills in on touch. */
	if (r == 0 && !(vflags & LG_VMA_LAZY))
		for (uint64_t va = to + keep; va < to + newlen; va += PAGE)
			if (lg_mm_fault(mm, va, false, false) < 0)
				break;
	return r < 0 ? r : (long)to;
}

LG_SYS(mremap)
{
	uint64_t old = a[0], oldlen, newlen, flags = a[3];
	if ((old & (PAGE - 1)) || !page_up(a[1], &oldlen) || !page_up(a[2], &newlen) || newlen == 0 ||
	    (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) || oldlen == 0)
		return -EINVAL;
	pthread_rwlock_wrlock(&t->mm->lock);
	long r = do_mremap(t, old, oldlen, newlen, flags, a[4]);
	pthread_rwlock_unlock(&t->mm->lock);
	return r;
}

LG_SYS(madvise)
{
	uint64_t len;
	if ((a[0] & (PAGE - 1)) || !page_up(a[1], &len))
		return -EINVAL;
	if (len == 0 || a[2] != MADV_DONTNEED)
		return 0; /* advice, or MADV_FREE: keeping the contents is allowed */
	pthread_rwlock_wrlock(&t->mm->lock);
	long r = lg_mm_discard(t->mm, a[0], len);
	pthread_rwlock_unlock(&t->mm->lock);
	return r;
}

static long mapped(struct lg_task *t, uint64_t start, uint64_t len)
{
	uint64_t end;
	if ((start & (PAGE - 1)) || !page_up(start + len, &end) || start + len < start)
		return -EINVAL;
	pthread_rwlock_rdlock(&t->mm->lock);
	long r = 0;
	for (uint64_t va = start; va < end && r == 0; va += PAGE)
		if (!lg_mm_find_vma(t->mm, va))
			r = -ENOMEM;
	pthread_rwlock_unlock(&t->mm->lock);
	return r;
}

LG_SYS(msync) { return mapped(t, a[0], a[1]); }
LG_SYS(mlock) { return mapped(t, a[0] & ~(PAGE - 1), a[1] + (a[0] & (PAGE - 1))); }

LG_SYS(mincore)
{
	uint64_t len;
	if ((a[0] & (PAGE - 1)) || !page_up(a[1], &len))
		return -EINVAL;
	long r = mapped(t, a[0], len);
	if (r < 0)
		return r;
	for (uint64_t i = 0; i < len / PAGE; i++) {
		uint8_t one = 1;
		if (lg_copy_to(t->mm, a[2] + i, &one, 1) < 0)
			return -EFAULT;
	}
	return 0;
}
