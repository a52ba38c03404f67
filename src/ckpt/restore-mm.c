/* The memory layout of a process, rebuilt from outside:
 *
 *   1. rseq unregistered (its area is about to vanish; the kernel would
 *      fault writing it on the next return to user space);
 *   2. the vDSO trio parked beside the scratch page (mremap, whole VMAs);
 *   3. everything else unmapped;
 *   4. every VMA of the image mapped at its address with its protection;
 *   -- pages are filled for all processes (restore-pages.c) --
 *   5. madvise bits, the vDSO moved to its old place
 *      (all three VMAs by the same delta, or clock_gettime breaks), and the
 *      mm fields with PR_SET_MM_MAP (brk, stack, args, auxv, exe). */
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

#define RSEQ_FLAG_UNREGISTER 1

static int unregister_rseq(struct ck_rtask *t, struct cell_err **err)
{
	struct { uint64_t ptr; uint32_t size, sig, flags, pad; } rc = { 0 };
	if (ptrace((enum __ptrace_request)CK_PTRACE_GET_RSEQ_CONFIGURATION, t->pid, sizeof(rc), &rc) < 0)
		return cell_err_sys(err, "rseq configuration of %d", t->pid);
	if (!rc.ptr)
		return 0;
	return ck_rsys(t, "rseq", SYS_rseq, rc.ptr, rc.size, RSEQ_FLAG_UNREGISTER, rc.sig, 0, 0,
		       NULL, err);
}

/* The trio as it is now in t: [vvar], [vvar_vclock], [vdso]. */
static int find_vdso(struct ck_rtask *t, uint64_t addr[3], uint64_t len[3], struct cell_err **err)
{
	_cleanup_close_ int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct ck_pvma *v = NULL;
	size_t n;
	int k = ck_proc_maps(procfd, t->pid, &v, &n, err);
	if (k < 0)
		return k;
	static const char *const names[3] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
	memset(addr, 0, 3 * sizeof(*addr));
	for (size_t i = 0; i < n; i++)
		for (int j = 0; j < 3; j++)
			if (v[i].name && !strcmp(v[i].name, names[j])) {
				addr[j] = v[i].start;
				len[j] = v[i].end - v[i].start;
			}
	ck_pvmas_free(v, n);
	return 0;
}

static int move(struct ck_rtask *t, uint64_t from, uint64_t len, uint64_t to,
		struct cell_err **err)
{
	if (from == to)
		return 0;
	return ck_rsys(t, "mremap", SYS_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to, 0,
		       NULL, err);
}

static int park_vdso(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	uint64_t addr[3], len[3];
	int k = find_vdso(t, addr, len, err);
	uint64_t to = r->park;
	for (int j = 0; k == 0 && j < 3; j++) {
		if (!addr[j])
			continue;
		k = move(t, addr[j], len[j], to, err);
		to += len[j];
	}
	return k < 0 ? cell_err_wrap(err, "park the vdso") : 0;
}

static int clear_layout(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	uint64_t keep_end = r->park + r->vvar_len + r->vclock_len + r->vdso_len;
	int k = ck_rsys(t, "munmap", SYS_munmap, 0, r->scratch, 0, 0, 0, 0, NULL, err);
	if (k == 0)
		k = ck_rsys(t, "munmap", SYS_munmap, keep_end, CK_TASK_SIZE - keep_end, 0, 0, 0, 0,
			    NULL, err);
	return k;
}

static int map_file(struct ck_restore *r, struct ck_rtask *t, const struct ck_vma *v,
		    uint32_t prot, uint32_t flags, struct cell_err **err)
{
	uint64_t a;
	int64_t fd;
	bool shared_w = (v->flags & CK_VMA_SHARED) && (v->prot & PROT_WRITE);
	int k = ck_scratch_path(r, t, v->path, &a, err);
	if (k == 0)
		k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a,
			    (shared_w ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0, 0, 0, &fd, err);
	if (k < 0)
		return cell_err_wrap(err, "open %s", v->path);
	k = ck_rsys(t, "mmap", SYS_mmap, v->start, v->end - v->start, prot, flags, (uint64_t)fd,
		    v->pgoff, NULL, err);
	ck_rsys(t, "close", SYS_close, (uint64_t)fd, 0, 0, 0, 0, 0, NULL, NULL);
	return k;
}

static int map_one(struct ck_restore *r, struct ck_rtask *t, const struct ck_vma *v,
		   struct cell_err **err)
{
	bool shared = v->flags & CK_VMA_SHARED;
	/* Its own protection from the start: made writable for the pages to
	 * go in, a private mapping would be charged as commit (a 64 GiB
	 * PROT_NONE reservation would be refused).  The pages of those
	 * without PROT_WRITE go in by a forced write, or with the mapping
	 * writable just meanwhile (restore-pages.c, write_ro()). */
	uint32_t prot = v->prot;
	uint32_t flags = MAP_FIXED | (shared ? MAP_SHARED : MAP_PRIVATE);
	if (v->flags & CK_VMA_GROWSDOWN)
		flags |= MAP_GROWSDOWN;
	/* Without it a terabyte-sized reservation is refused by overcommit. */
	if (v->flags & CK_VMA_NORESERVE)
		flags |= MAP_NORESERVE;
	int k;
	switch (v->kind) {
	case CK_VMA_ANON:
		k = ck_rsys(t, "mmap", SYS_mmap, v->start, v->end - v->start, prot,
			    flags | MAP_ANONYMOUS, (uint64_t)-1, 0, NULL, err);
		break;
	case CK_VMA_FILE:
		k = map_file(r, t, v, prot, flags, err);
		break;
	case CK_VMA_SHMEM: {
		int fd;
		k = ck_shmem_fd(r, t, v->shmem_id, &fd, err);
		if (k == 0)
			k = ck_rsys(t, "mmap", SYS_mmap, v->start, v->end - v->start, prot, flags,
				    (uint64_t)fd, v->pgoff, NULL, err);
		break;
	}
	default:
		return 0; /* the vDSO trio comes back in one piece at the end */
	}
	return k < 0 ? cell_err_wrap(err, "map %#llx-%#llx", (unsigned long long)v->start,
				     (unsigned long long)v->end) : 0;
}

int ck_restore_mm(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	int k = unregister_rseq(t, err);
	if (k == 0)
		k = park_vdso(r, t, err);
	if (k == 0)
		k = clear_layout(r, t, err);
	for (size_t i = 0; k == 0 && i < t->p->nvmas; i++)
		k = map_one(r, t, &t->p->vmas[i], err);
	return k;
}

static int madvise_bits(struct ck_rtask *t, const struct ck_vma *v, struct cell_err **err)
{
	static const struct {
		uint32_t flag;
		int advice;
	} map[] = {
		{ CK_VMA_DONTFORK, MADV_DONTFORK },   { CK_VMA_WIPEONFORK, MADV_WIPEONFORK },
		{ CK_VMA_DONTDUMP, MADV_DONTDUMP },   { CK_VMA_HUGEPAGE, MADV_HUGEPAGE },
		{ CK_VMA_NOHUGEPAGE, MADV_NOHUGEPAGE }, { CK_VMA_MERGEABLE, MADV_MERGEABLE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (!(v->flags & map[i].flag))
			continue;
		int k = ck_rsys(t, "madvise", SYS_madvise, v->start, v->end - v->start,
				(uint64_t)map[i].advice, 0, 0, 0, NULL, err);
		if (k < 0)
			return k;
	}
	return 0;
}

static int unpark_vdso(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	uint64_t want[3] = { 0 }, len[3] = { r->vvar_len, r->vclock_len, r->vdso_len };
	for (size_t i = 0; i < t->p->nvmas; i++) {
		const struct ck_vma *v = &t->p->vmas[i];
		if (v->kind >= CK_VMA_VDSO && v->kind <= CK_VMA_VVAR_VCLOCK)
			want[v->kind == CK_VMA_VVAR ? 0 : v->kind == CK_VMA_VVAR_VCLOCK ? 1 : 2] =
				v->start;
	}
	uint64_t at = r->park;
	for (int j = 0; j < 3; j++) {
		int k = want[j] ? move(t, at, len[j], want[j], err)
				: ck_rsys(t, "munmap", SYS_munmap, at, len[j], 0, 0, 0, 0, NULL, err);
		if (k < 0)
			return cell_err_wrap(err, "move the vdso back");
		at += len[j];
	}
	return 0;
}

static int set_mm_map(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	const struct ck_mm *mm = &t->p->mm;
	int64_t exe_fd = -1;
	uint64_t a, auxv;
	int k = 0;
	if (mm->exe && mm->exe[0] == '/') {
		k = ck_scratch_path(r, t, mm->exe, &a, err);
		if (k == 0)
			k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a,
				    O_RDONLY | O_CLOEXEC, 0, 0, 0, &exe_fd, err);
		if (k < 0)
			return cell_err_wrap(err, "open the executable %s", mm->exe);
	}
	struct prctl_mm_map m = {
		.start_code = mm->start_code, .end_code = mm->end_code, .start_data = mm->start_data,
		.end_data = mm->end_data, .start_brk = mm->start_brk, .brk = mm->brk,
		.start_stack = mm->start_stack, .arg_start = mm->arg_start, .arg_end = mm->arg_end,
		.env_start = mm->env_start, .env_end = mm->env_end,
		.auxv_size = (uint32_t)(mm->nauxv * 8), .exe_fd = (uint32_t)exe_fd,
	};
	k = ck_scratch_put(r, t, 4096, mm->auxv, mm->nauxv * 8, &auxv, err);
	m.auxv = (__u64 *)(uintptr_t)auxv;
	if (k == 0)
		k = ck_scratch_put(r, t, 0, &m, sizeof(m), &a, err);
	if (k == 0)
		k = ck_rsys(t, "prctl(PR_SET_MM_MAP)", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, a,
			    sizeof(m), 0, 0, NULL, err);
	if (exe_fd >= 0)
		ck_rsys(t, "close", SYS_close, (uint64_t)exe_fd, 0, 0, 0, 0, 0, NULL, NULL);
	return k;
}

int ck_restore_mm_finish(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (size_t i = 0; i < t->p->nvmas; i++) {
		const struct ck_vma *v = &t->p->vmas[i];
		if (v->kind == CK_VMA_VDSO || v->kind == CK_VMA_VVAR || v->kind == CK_VMA_VVAR_VCLOCK)
			continue;
		int k = madvise_bits(t, v, err);
		if (k < 0)
			return cell_err_wrap(err, "vma %#llx", (unsigned long long)v->start);
	}
	for (size_t i = 0; t->shm_fd && i < r->img->nshmems; i++) {
		if (t->shm_fd[i] >= 0)
			ck_rsys(t, "close", SYS_close, (uint64_t)t->shm_fd[i], 0, 0, 0, 0, 0, NULL, NULL);
		t->shm_fd[i] = -1;
	}
	int k = unpark_vdso(r, t, err);
	if (k == 0)
		k = set_mm_map(r, t, err);
	return k;
}
