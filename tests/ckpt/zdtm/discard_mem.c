/* Pages discarded (MADV_DONTNEED) after a pre-dump copied them: a private
 * file mapping's copied-on-write pages revert to the file (one left
 * untouched, one read again), anonymous pages revert to zeros (a single
 * page, and a whole 2 MiB-aligned page table's worth, which the kernel may
 * free).  The dump that follows the pre-dumps must not bring back what
 * the pre-dump copied.
 *
 * The program sees the pre-dumps through its own pagemap (bit 57,
 * PM_UFFD_WP): the first arms write-protect tracking on the pages it wrote;
 * it then writes a probe page, and once that is write-protected again the
 * second pre-dump has run, so the first one's copy is complete.  Only then
 * does it discard.  Without pre-dumps (the other modes) it never discards,
 * and every written page must come back as written. */
#include <stdint.h>
#include <sys/mman.h>

#include "zdtm.h"

#define FPAGES 4
#define BIG (2UL << 20)

/* Opened each time: a /proc/self file cannot be restored. */
static int wp(const void *p)
{
	uint64_t e = 0;
	off_t off = (off_t)((uintptr_t)p / 4096 * 8);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &e, sizeof(e), off) != sizeof(e))
		zdtm_fail("read /proc/self/pagemap: %s", strerror(errno));
	close(fd);
	return (int)((e >> 57) & 1);
}

static int all(const unsigned char *p, size_t len, unsigned char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	char path[256];
	snprintf(path, sizeof(path), "%s.file", zdtm_verdict_path);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static unsigned char page[4096];
	memset(page, 'F', sizeof(page));
	for (int i = 0; i < FPAGES; i++)
		if (fd < 0 || write(fd, page, sizeof(page)) != sizeof(page))
			zdtm_fail("create %s", path);
	unsigned char *f = mmap(NULL, FPAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	unsigned char *a = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* A 2 MiB-aligned 2 MiB range inside a 6 MiB mapping. */
	unsigned char *raw = mmap(NULL, 3 * BIG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f == MAP_FAILED || a == MAP_FAILED || raw == MAP_FAILED)
		zdtm_fail("mmap: %s", strerror(errno));
	unsigned char *big = (unsigned char *)(((uintptr_t)raw + BIG - 1) & ~(BIG - 1));
	madvise(raw, 3 * BIG, MADV_NOHUGEPAGE);
	for (int i = 0; i < 3; i++)
		memset(f + i * 4096, 'C', 4096); /* copied on write; page 3 stays the file's */
	memset(a, 'A', 8 * 4096);
	memset(raw, 'B', 3 * BIG);
	unsigned char *probe = a + 7 * 4096;

	zdtm_ready();
	int state = 0, discarded = 0;
	while (!zdtm_term) {
		if (state == 0 && wp(f)) { /* the first pre-dump armed tracking */
			probe[0] = 'P';
			state = 1;
		} else if (state == 1 && wp(probe)) { /* the second one ran */
			madvise(f, 2 * 4096, MADV_DONTNEED);
			madvise(a + 4096, 4096, MADV_DONTNEED);
			madvise(a + 2 * 4096, 4096, MADV_DONTNEED);
			madvise(big, BIG, MADV_DONTNEED);
			zdtm_check(f[4096] == 'F' && a[2 * 4096] == 0); /* read again */
			discarded = 1;
			state = 2;
		}
		usleep(1000);
	}

	unsigned char fc = discarded ? 'F' : 'C', ac = discarded ? 0 : 'A';
	/* Every check, so that a failure names all that came back wrong. */
	static char bad[800];
#define EXPECT(c) \
	if (!(c)) \
		snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), " %s;", #c)
	EXPECT(all(f, 4096, fc));
	EXPECT(all(f + 4096, 4096, fc));
	EXPECT(all(f + 2 * 4096, 4096, 'C'));
	EXPECT(all(f + 3 * 4096, 4096, 'F'));
	EXPECT(all(a, 4096, 'A'));
	EXPECT(all(a + 4096, 4096, ac));
	EXPECT(all(a + 2 * 4096, 4096, ac));
	EXPECT(all(a + 3 * 4096, 4 * 4096, 'A'));
	EXPECT(all(big, BIG, discarded ? 0 : 'B'));
	EXPECT(all(raw, (size_t)(big - raw), 'B'));
	EXPECT(all(big + BIG, (size_t)(raw + 3 * BIG - big - BIG), 'B'));
	if (bad[0])
		zdtm_fail("discarded=%d, wrong:%s", discarded, bad);
	unlink(path);
	zdtm_pass();
}
