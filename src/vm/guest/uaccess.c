/* The monitor touching program memory: every guest pointer is translated
 * page by page through the program's own page tables, with the program's
 * permissions, so a syscall can reach exactly what the program could. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vm/arch/x86/layout.h"

#define PAGE X86_PAGE_SIZE
#define OOM_RETRY_US 1000

/* Translate with the read lock held; fault lazy pages in under the write
 * lock and come back with the read lock held again. */
static int translate(struct lg_mm *mm, uint64_t va, bool write, uint64_t *gpa)
{
	int r = lg_mm_translate(mm, va, write, gpa);
	if (r != -EAGAIN)
		return r;
	pthread_rwlock_unlock(&mm->lock);
	for (;;) {
		pthread_rwlock_wrlock(&mm->lock);
		r = lg_mm_fault(mm, va, write, false);
		pthread_rwlock_unlock(&mm->lock);
		/* No frame: the OOM killer; the access fails if this process is
		 * its victim (the syscall returns into the SIGKILL). */
		if (r != -ENOMEM || !lg_oom(mm->lg, mm))
			break;
		usleep(OOM_RETRY_US);
	}
	pthread_rwlock_rdlock(&mm->lock);
	if (r < 0)
		return -EFAULT;
	r = lg_mm_translate(mm, va, write, gpa);
	return r == -EAGAIN ? -EFAULT : r;
}

static bool span_ok(uint64_t va, size_t len)
{
	return va < LG_VA_USER_END && len <= LG_VA_USER_END - va;
}

static int copy(struct lg_mm *mm, uint64_t va, void *buf, size_t len, bool to_guest)
{
	if (len == 0)
		return 0;
	if (!span_ok(va, len))
		return -EFAULT;
	pthread_rwlock_rdlock(&mm->lock);
	int r = 0;
	while (len > 0) {
		uint64_t gpa;
		if ((r = translate(mm, va, to_guest, &gpa)) < 0)
			break;
		size_t n = PAGE - (va & (PAGE - 1));
		if (n > len)
			n = len;
		uint8_t *h = lg_frame_host(mm->lg, gpa) + (gpa & (PAGE - 1));
		if (to_guest)
			memcpy(h, buf, n);
		else
			memcpy(buf, h, n);
		buf = (uint8_t *)buf + n;
		va += n;
		len -= n;
	}
	pthread_rwlock_unlock(&mm->lock);
	return r < 0 ? -EFAULT : 0;
}

int lg_copy_from(struct lg_mm *mm, void *dst, uint64_t va, size_t len)
{
	return copy(mm, va, dst, len, false);
}

int lg_copy_to(struct lg_mm *mm, uint64_t va, const void *src, size_t len)
{
	return copy(mm, va, (void *)src, len, true);
}

int lg_strncpy_from(struct lg_mm *mm, char *dst, uint64_t va, size_t max)
{
	if (max == 0 || va >= LG_VA_USER_END)
		return -EFAULT;
	pthread_rwlock_rdlock(&mm->lock);
	size_t got = 0;
	int r = -ENAMETOOLONG;
	while (got < max) {
		uint64_t gpa;
		if (va + got >= LG_VA_USER_END || translate(mm, va + got, false, &gpa) < 0) {
			r = -EFAULT;
			break;
		}
		size_t n = PAGE - ((va + got) & (PAGE - 1));
		if (n > max - got)
			n = max - got;
		const char *h = (const char *)lg_frame_host(mm->lg, gpa) + (gpa & (PAGE - 1));
		const char *z = memchr(h, 0, n);
		size_t take = z ? (size_t)(z - h) + 1 : n;
		memcpy(dst + got, h, take);
		got += take;
		if (z) {
			r = (int)(got - 1);
			break;
		}
	}
	pthread_rwlock_unlock(&mm->lock);
	if (r < 0 && max > 0)
		dst[0] = '\0';
	return r;
}

/* Caller holds mm->lock for reading (kept across the I/O that follows). */
int lg_user_iov(struct lg_mm *mm, uint64_t va, size_t len, bool write, struct iovec *iov,
		unsigned maxiov, unsigned *ret_n, size_t *ret_len)
{
	if (!span_ok(va, len))
		return -EFAULT;
	unsigned n = 0;
	size_t done = 0;
	while (done < len && n < maxiov) {
		uint64_t gpa;
		int r = translate(mm, va + done, write, &gpa);
		if (r < 0) {
			if (done > 0)
				break; /* a short transfer, as Linux does up to the bad page */
			return -EFAULT;
		}
		size_t chunk = PAGE - ((va + done) & (PAGE - 1));
		if (chunk > len - done)
			chunk = len - done;
		uint8_t *h = lg_frame_host(mm->lg, gpa) + (gpa & (PAGE - 1));
		if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == h)
			iov[n - 1].iov_len += chunk;
		else if (n < maxiov)
			iov[n++] = (struct iovec){ .iov_base = h, .iov_len = chunk };
		done += chunk;
	}
	*ret_n = n;
	*ret_len = done;
	return 0;
}

int lg_poke(struct lg_mm *mm, uint64_t va, const void *src, size_t len)
{
	/* The loader writes read-only segments too: translate without the
	 * write check, against the page tables directly. */
	if (!span_ok(va, len))
		return -EFAULT;
	const uint8_t *s = src;
	while (len > 0) {
		uint64_t gpa;
		int r = lg_mm_translate(mm, va, false, &gpa);
		if (r == -EAGAIN && lg_mm_fault(mm, va, false, false) == 0)
			r = lg_mm_translate(mm, va, false, &gpa);
		if (r < 0)
			return -EFAULT;
		size_t n = PAGE - (va & (PAGE - 1));
		if (n > len)
			n = len;
		memcpy(lg_frame_host(mm->lg, gpa) + (gpa & (PAGE - 1)), s, n);
		s += n;
		va += n;
		len -= n;
	}
	return 0;
}
