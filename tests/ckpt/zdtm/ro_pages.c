/* Private pages of its own in mappings without PROT_WRITE, each kind a
 * restore must write past the protection:
 *
 *   - text patched as a debugger patches it (a write to /proc/self/mem, the
 *     mapping left read-execute), then run;
 *   - a private mapping of a file, one page written, then made read-only;
 *   - anonymous memory with two pages written, then made read-only;
 *   - anonymous memory with one page written, then made PROT_NONE.
 *
 * After restore the contents are back, each mapping has its protection and
 * is still one mapping (not split where its pages were written), and the
 * unwritten pages of the file mapping are the file's. */
#include <stdint.h>
#include <sys/mman.h>

#include "zdtm.h"

#define PG 4096UL

struct vma {
	uintptr_t start, end;
	char perms[5];
};

static int vma_of(uintptr_t addr, struct vma *ret)
{
	return zdtm_vma_of((const void *)addr, ret->perms, &ret->start, &ret->end);
}

static int same_vma(uintptr_t addr, const struct vma *want)
{
	struct vma now;
	return vma_of(addr, &now) && now.start == want->start && now.end == want->end &&
	       !strcmp(now.perms, want->perms);
}

/* Aligned so that the patch is on a page of its own, away from the code
 * that patches it. */
__attribute__((noinline, aligned(4096))) static int answer(void)
{
	return 41;
}

/* The `mov $41,%eax` of answer(). */
static unsigned char *imm_of_answer(void)
{
	unsigned char *p = (unsigned char *)(uintptr_t)answer;
	for (int i = 0; i < 64; i++)
		if (p[i] == 0xb8 && p[i + 1] == 41 && !p[i + 2] && !p[i + 3] && !p[i + 4])
			return p + i + 1;
	return NULL;
}

/* As a debugger does: through /proc/self/mem, past the protection.  A
 * kernel that refuses that (CONFIG_PROC_MEM_NO_FORCE) gets the whole text
 * mapping made writable for a moment instead. */
static void patch_text(unsigned char *at, unsigned char v)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pwrite(fd, &v, 1, (off_t)(uintptr_t)at) : -1;
	if (fd >= 0)
		close(fd);
	if (n == 1)
		return;
	struct vma t;
	if (!vma_of((uintptr_t)at, &t) ||
	    mprotect((void *)t.start, t.end - t.start, PROT_READ | PROT_WRITE | PROT_EXEC) < 0)
		zdtm_fail("patch the text: %s", strerror(errno));
	*at = v;
	if (mprotect((void *)t.start, t.end - t.start, PROT_READ | PROT_EXEC) < 0)
		zdtm_fail("protect the text again: %s", strerror(errno));
}

static int zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	zdtm_init(argc, argv);
	/* PROT_NONE gaps around each mapping, so none merges with another. */
	unsigned char *area = mmap(NULL, 256 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		zdtm_fail("mmap: %s", strerror(errno));
	unsigned char *ro = area + 8 * PG, *none = area + 128 * PG, *file = area + 200 * PG;
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0 ||
	    mmap(ro, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) != ro ||
	    mmap(none, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != none ||
	    mmap(file, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, exe, 0) != file)
		zdtm_fail("mmap: %s", strerror(errno));
	zdtm_fill(ro + 10 * PG, PG, 1);
	zdtm_fill(ro + 40 * PG, PG, 2);
	zdtm_fill(none + 5 * PG, PG, 3);
	zdtm_fill(file + PG, PG, 4);
	if (mprotect(ro, 64 * PG, PROT_READ) < 0 || mprotect(none, 16 * PG, PROT_NONE) < 0 ||
	    mprotect(file, 4 * PG, PROT_READ) < 0)
		zdtm_fail("mprotect: %s", strerror(errno));
	unsigned char *imm = imm_of_answer();
	if (!imm)
		zdtm_fail("no `mov $41,%%eax` in answer()");
	patch_text(imm, 42);
	int (*volatile call)(void) = answer;
	if (call() != 42)
		zdtm_fail("the patch did not take: %d", call());
	struct vma v_ro, v_none, v_file, v_text;
	if (!vma_of((uintptr_t)ro, &v_ro) || !vma_of((uintptr_t)none, &v_none) ||
	    !vma_of((uintptr_t)file, &v_file) || !vma_of((uintptr_t)imm, &v_text))
		zdtm_fail("no mapping in /proc/self/maps");

	zdtm_ready();
	zdtm_wait();

	zdtm_check(call() == 42);
	zdtm_check(same_vma((uintptr_t)imm, &v_text) && !strcmp(v_text.perms, "r-xp"));
	zdtm_check(same_vma((uintptr_t)ro, &v_ro) && !strcmp(v_ro.perms, "r--p"));
	zdtm_check(v_ro.start == (uintptr_t)ro && v_ro.end == (uintptr_t)(ro + 64 * PG));
	zdtm_check(zdtm_same(ro + 10 * PG, PG, 1) && zdtm_same(ro + 40 * PG, PG, 2));
	zdtm_check(zero(ro, 10 * PG) && zero(ro + 11 * PG, 29 * PG) && zero(ro + 41 * PG, 23 * PG));
	zdtm_check(same_vma((uintptr_t)file, &v_file) && !strcmp(v_file.perms, "r--p"));
	zdtm_check(v_file.start == (uintptr_t)file && v_file.end == (uintptr_t)(file + 4 * PG));
	zdtm_check(zdtm_same(file + PG, PG, 4));
	unsigned char page[PG];
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		zdtm_check(pread(exe, page, PG, (off_t)(i * PG)) == (ssize_t)PG);
		zdtm_check(memcmp(page, file + i * PG, PG) == 0);
	}
	/* Not split; but it may have merged with the PROT_NONE gaps around
	 * it, which only its commit charge kept apart (a restore that writes
	 * past the protection maps it without one). */
	zdtm_check(vma_of((uintptr_t)none, &v_none) && !strcmp(v_none.perms, "---p"));
	zdtm_check(v_none.start <= (uintptr_t)none && v_none.end >= (uintptr_t)(none + 16 * PG));
	zdtm_check(mprotect(none, 16 * PG, PROT_READ) == 0);
	zdtm_check(zdtm_same(none + 5 * PG, PG, 3) && zero(none, 5 * PG));
	zdtm_check(zero(none + 6 * PG, 10 * PG));
	/* The gaps are still reservations, with nothing in them. */
	struct vma gap;
	zdtm_check(vma_of((uintptr_t)(area + 100 * PG), &gap) && !strcmp(gap.perms, "---p"));
	zdtm_pass();
}
