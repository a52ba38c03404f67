/* Memory contents.  pages.img is checked first without reading the data
 * (record framing, and that every record lands inside a private mapping of
 * its task or inside its shared memory object), so a bad image fails before
 * any process is touched; then it is streamed into the processes with
 * process_vm_writev, one call per record of up to 16 MiB.
 *
 * Mappings without PROT_WRITE keep their own protection from the start
 * (restore-mm.c); their pages (relro, text a debugger patched, data made
 * read-only or PROT_NONE) go in by a forced write to /proc/PID/mem, or,
 * where the kernel refuses those (CONFIG_PROC_MEM_NO_FORCE), by making the
 * mapping writable meanwhile: write_ro().  Shared mappings never get page
 * records: their pages are the file's, or the shared memory object's,
 * filled through the restorer's own fd of it (write_shmem_pages). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/batch.h"
#include "ckpt/files/files.h"
#include "ckpt/internal.h"
#include "ckpt/parent.h"
#include "img/le.h"

static const struct ck_vma *vma_of(const struct ck_proc *p, uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < p->nvmas; i++) {
		const struct ck_vma *v = &p->vmas[i];
		if (addr >= v->start && addr < v->end)
			return len <= v->end - addr ? v : NULL;
	}
	return NULL;
}

/* The record's fields before its data, decoded from a prefix. */
static int decode_head(const uint8_t *p, size_t have, uint32_t len, const struct img_rec *at,
		       struct ck_pages *ret, uint64_t *ret_data_off, struct cell_err **err)
{
	size_t pos = 0;
	while (pos + IMG_FIELD_HEADER_SIZE <= have && pos < len) {
		uint16_t tag = le_get16(p + pos);
		uint32_t flen = le_get32(p + pos + 2);
		if (tag == CK_PAGES_DATA_TAG) {
			struct img_rec head = *at;
			head.data = p;
			head.len = (uint32_t)pos;
			const struct img_schema *s = at->type == CK_REC_PAGES ? &ck_pages_schema
									      : &ck_shmem_pages_schema;
			int k = img_decode(&head, s, ret, err);
			if (k < 0)
				return k;
			if ((uint64_t)pos + IMG_FIELD_HEADER_SIZE + flen != len)
				return cell_err(err, EINVAL, "record %llu: data does not end the record",
						(unsigned long long)at->index);
			ret->len = flen;
			*ret_data_off = pos + IMG_FIELD_HEADER_SIZE;
			return 0;
		}
		pos += IMG_FIELD_HEADER_SIZE + (size_t)flen;
	}
	return cell_err(err, EINVAL, "record %llu: no data field", (unsigned long long)at->index);
}

/* Pages for v, a VMA of image process p without PROT_WRITE. */
static void mark_ro(struct ck_restore *r, const struct ck_proc *p, const struct ck_vma *v)
{
	size_t pi = (size_t)(p - r->img->procs);
	if (!r->ro)
		r->ro = xcalloc(r->img->nprocs ? r->img->nprocs : 1, sizeof(*r->ro));
	if (!r->ro[pi])
		r->ro[pi] = xcalloc(p->nvmas, 1);
	r->ro[pi][v - p->vmas] |= CK_RO_FILL;
}

static int check_target(struct ck_restore *r, const struct img_rec *rec, const struct ck_pages *pg,
			struct cell_err **err)
{
	const struct ck_image *img = r->img;
	const struct ck_parent_index *parent = r->parent;
	uint64_t bytes = (uint64_t)pg->npages * IMG_PAGE_SIZE;
	if (pg->npages == 0 || pg->npages > IMG_PAGES_MAX ||
	    (!(pg->flags & CK_PAGES_IN_PARENT) && pg->len != bytes) ||
	    (pg->addr & (IMG_PAGE_SIZE - 1)))
		return cell_err(err, EINVAL, "record %llu: %u pages at %#llx with %zu bytes",
				(unsigned long long)rec->index, pg->npages,
				(unsigned long long)pg->addr, pg->len);
	if ((pg->flags & CK_PAGES_IN_PARENT) &&
	    (pg->len || !parent || rec->type != CK_REC_PAGES ||
	     ck_parent_covers(parent, pg->pid, pg->addr, bytes) != bytes))
		return cell_err(err, EINVAL, "record %llu: %u pages at %#llx of task %u are not in "
				"the parent images", (unsigned long long)rec->index, pg->npages,
				(unsigned long long)pg->addr, pg->pid);
	if (rec->type == CK_REC_SHMEM_PAGES) {
		const struct ck_shmem *s = ck_image_shmem(img, pg->pid);
		if (!s || pg->addr > s->size + IMG_PAGE_SIZE || bytes > s->size + IMG_PAGE_SIZE - pg->addr)
			return cell_err(err, EINVAL, "record %llu: pages outside shared memory %u",
					(unsigned long long)rec->index, pg->pid);
		return 0;
	}
	const struct ck_proc *p = ck_image_proc(img, pg->pid);
	const struct ck_vma *v = p ? vma_of(p, pg->addr, bytes) : NULL;
	if (!v || (v->flags & CK_VMA_SHARED) || v->kind == CK_VMA_VDSO || v->kind == CK_VMA_VVAR ||
	    v->kind == CK_VMA_VVAR_VCLOCK)
		return cell_err(err, EINVAL, "record %llu: %u pages at %#llx outside the private "
				"mappings of task %u", (unsigned long long)rec->index, pg->npages,
				(unsigned long long)pg->addr, pg->pid);
	if (!(v->prot & PROT_WRITE))
		mark_ro(r, p, v);
	return 0;
}

void ck_pages_free(struct ck_restore *r)
{
	for (size_t i = 0; r->ro && i < r->img->nprocs; i++)
		free(r->ro[i]);
	free(r->ro);
	r->ro = NULL;
}

int ck_pages_precheck(struct ck_restore *r, struct cell_err **err)
{
	_cleanup_close_ int fd = openat(r->dirfd, "pages.img", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open pages.img");
	_cleanup_img_reader_ struct img_reader *rd = NULL;
	int k = img_reader_from_fd(fd, "pages.img", IMG_KIND_PAGES, &rd, err);
	if (k < 0)
		return k;
	uint64_t off = IMG_HEADER_SIZE, index = 0;
	for (;;) {
		uint8_t h[IMG_REC_HEADER_SIZE + 256];
		ssize_t n = pread(fd, h, sizeof(h), (off_t)off);
		if (n < IMG_REC_HEADER_SIZE)
			return cell_err(err, EIO, "pages.img: truncated at offset %llu after %llu "
					"records", (unsigned long long)off, (unsigned long long)index);
		struct img_rec rec = { .type = le_get16(h), .len = le_get32(h + 4), .index = index,
				       .offset = off };
		if (le_get16(h + 2) != 0 || rec.len > IMG_PAGES_REC_MAX)
			return cell_err(err, EINVAL, "pages.img: record %llu: bad header",
					(unsigned long long)index);
		if (rec.type == IMG_REC_END) {
			uint8_t more;
			if (rec.len != 14 || le_get16(h + 8) != 1 || le_get32(h + 10) != 8 ||
			    le_get64(h + 14) != index)
				return cell_err(err, EINVAL, "pages.img: bad end record");
			if (pread(fd, &more, 1, (off_t)(off + IMG_REC_HEADER_SIZE + 14)) != 0)
				return cell_err(err, EINVAL, "pages.img: data after the end record");
			return 0;
		}
		if (rec.type != CK_REC_PAGES && rec.type != CK_REC_SHMEM_PAGES)
			return cell_err(err, EINVAL, "pages.img: record %llu of type %u",
					(unsigned long long)index, rec.type);
		struct ck_pages pg;
		uint64_t doff;
		size_t have = (size_t)n - IMG_REC_HEADER_SIZE;
		k = decode_head(h + IMG_REC_HEADER_SIZE, have, rec.len, &rec, &pg, &doff, err);
		if (k == 0)
			k = check_target(r, &rec, &pg, err);
		if (k < 0)
			return cell_err_wrap(err, "pages.img");
		off += IMG_REC_HEADER_SIZE + (uint64_t)rec.len;
		index++;
	}
}

/* A forced write: /proc/PID/mem writes past the protection (FOLL_FORCE; a
 * private mapping's page is copied on write), as a debugger's breakpoints
 * do, and the mapping stays as it is.  Kernels built with
 * CONFIG_PROC_MEM_NO_FORCE refuse it (EIO), as do those with
 * CONFIG_PROC_MEM_FORCE_PTRACE unless the writer is the tracer (we are:
 * the thread that seized the tree writes).  With CELL_CKPT_NO_FORCE it is
 * refused the same way here, so that the other path can be tested. */
static ssize_t write_forced(const struct ck_restore *r, pid_t pid, const void *data, size_t len,
			    uint64_t addr)
{
	if (r->sim_no_force) {
		errno = EIO;
		return -1;
	}
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t k = pwrite(fd, (const char *)data + done, len - done, (off_t)(addr + done));
		if (k <= 0)
			return k < 0 ? -1 : (ssize_t)done;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

/* Why the mappings had to be made writable, for messages. */
static const char *why_unforced(const struct ck_restore *r, char *buf, size_t n)
{
	return ck_unforced_why("write", r->force_errno, r->sim_no_force, buf, n);
}

static int protect_failed(struct ck_restore *r, struct ck_rtask *t, const struct ck_vma *v,
			  bool open, int64_t ret, struct cell_err **err)
{
	char p[4], why[160];
	if (open)
		return cell_err(err, (int)-ret, "process %u (pid %d): %s, and making %#llx-%#llx "
				"(%s) writable for its pages failed: mprotect", t->p->task.pid,
				t->pid, why_unforced(r, why, sizeof(why)),
				(unsigned long long)v->start, (unsigned long long)v->end,
				ck_prot_str(v->prot, p));
	return cell_err(err, (int)-ret, "process %u (pid %d): protect %#llx-%#llx back to %s "
			"after its pages: mprotect", t->p->task.pid, t->pid,
			(unsigned long long)v->start, (unsigned long long)v->end,
			ck_prot_str(v->prot, p));
}

/* Make every VMA of t that gets pages and lacks PROT_WRITE writable (open),
 * or give the opened ones their protection back, in batches of injected
 * mprotect calls (one ptrace round trip per batch).  The whole VMA, not
 * only the pages written: the written part of a private mapping stays
 * charged as commit (VM_ACCOUNT) once it has been writable, and a VMA
 * charged in part is split in two or three for good (mm/mprotect.c,
 * mprotect_fixup()).  Charged in whole, it is one VMA again, as it was in
 * the process dumped, where such pages were written while the mapping was
 * writable (a reservation with no pages is never touched). */
static int ro_protect(struct ck_restore *r, struct ck_rtask *t, bool open, struct cell_err **err)
{
	uint8_t *ro = r->ro ? r->ro[t - r->tasks] : NULL;
	if (!ro || t->ro_open == open)
		return 0;
	int k = 0;
	if (!t->batch_code)
		k = ck_mem_write(t->pid, r->scratch + CK_SCRATCH_BATCH, ck_batch_code,
				 sizeof(ck_batch_code), err);
	if (k < 0)
		return cell_err_wrap(err, "process %u: the batch loop", t->p->task.pid);
	t->batch_code = true;
	_cleanup_free_ struct ck_batch *b = xmalloc(sizeof(*b));
	_cleanup_free_ size_t *idx = xcalloc(CK_BATCH_MAX, sizeof(*idx));
	for (size_t i = 0; i < t->p->nvmas;) {
		ck_batch_init(b, r->scratch + CK_SCRATCH_BATCH);
		size_t n = 0;
		for (; i < t->p->nvmas && n < CK_BATCH_MAX; i++) {
			const struct ck_vma *v = &t->p->vmas[i];
			if (!(ro[i] & CK_RO_FILL) || !!(ro[i] & CK_RO_OPEN) == open)
				continue;
			uint32_t prot = open ? v->prot | PROT_READ | PROT_WRITE : v->prot;
			ck_batch_add(b, "mprotect", SYS_mprotect, v->start, v->end - v->start, prot,
				     0, 0, 0);
			idx[n++] = i;
		}
		if (n == 0)
			break;
		k = ck_batch_run(b, &t->threads[0].thr, t->pid, NULL, 0, err);
		if (k < 0)
			return cell_err_wrap(err, "process %u: mprotect", t->p->task.pid);
		for (size_t j = 0; j < n; j++)
			if (ck_batch_ret(b, j) == 0)
				ro[idx[j]] ^= CK_RO_OPEN;
		for (size_t j = 0; j < n; j++)
			if (ck_batch_ret(b, j) != 0)
				return protect_failed(r, t, &t->p->vmas[idx[j]], open,
						      ck_batch_ret(b, j), err);
	}
	t->ro_open = open;
	return 0;
}

/* Pages for v, a mapping of t without PROT_WRITE. */
static int write_ro(struct ck_restore *r, struct ck_rtask *t, const struct ck_vma *v,
		    const void *data, size_t len, uint64_t addr, struct cell_err **err)
{
	if (!r->force_refused) {
		ssize_t n = write_forced(r, t->pid, data, len, addr);
		if (n == (ssize_t)len)
			return 0;
		r->force_refused = true;
		r->force_errno = n < 0 ? errno : EIO;
		char why[160];
		ck_logf(&r->log, "process %u: %#llx-%#llx: %s; mappings without PROT_WRITE are "
			"made writable for their pages instead", t->p->task.pid,
			(unsigned long long)addr, (unsigned long long)(addr + len),
			why_unforced(r, why, sizeof(why)));
	}
	int k = ro_protect(r, t, true, err);
	if (k < 0)
		return k;
	struct iovec l = { (void *)data, len };
	struct iovec rv = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_writev(t->pid, &l, 1, &rv, 1, 0);
	if (n != (ssize_t)len) {
		char p[4];
		return cell_err(err, n < 0 ? errno : EIO, "process %u (pid %d): write %zu pages "
				"at %#llx-%#llx of the mapping %#llx-%#llx (%s, made writable "
				"for them)", t->p->task.pid, t->pid, len / IMG_PAGE_SIZE,
				(unsigned long long)addr, (unsigned long long)(addr + len),
				(unsigned long long)v->start, (unsigned long long)v->end,
				ck_prot_str(v->prot, p));
	}
	r->stats->pages_unprotected += len / IMG_PAGE_SIZE;
	return 0;
}

static int write_task_pages(struct ck_restore *r, const struct ck_pages *pg,
			    struct cell_err **err)
{
	for (size_t i = 0; i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		if (t->p->task.pid != pg->pid)
			continue;
		size_t len = (size_t)pg->npages * IMG_PAGE_SIZE;
		const void *data = pg->data;
		if (pg->flags & CK_PAGES_IN_PARENT) {
			if (!r->buf)
				r->buf = xmalloc(IMG_PAGES_MAX * IMG_PAGE_SIZE);
			int k = ck_parent_read(r->parent, pg->pid, pg->addr, r->buf, len, err);
			if (k < 0)
				return k;
			data = r->buf;
			r->stats->pages_skipped += pg->npages;
		}
		/* The precheck found it inside one private mapping. */
		const struct ck_vma *v = vma_of(t->p, pg->addr, len);
		if (!v)
			return cell_err(err, EINVAL, "process %u: pages at %#llx outside its "
					"mappings", pg->pid, (unsigned long long)pg->addr);
		if (!(v->prot & PROT_WRITE)) {
			uint64_t t0 = cell_now_ns();
			int k = write_ro(r, t, v, data, len, pg->addr, err);
			if (k < 0)
				return k;
			r->ro_ns += cell_now_ns() - t0;
			r->ro_pages += pg->npages;
			r->stats->pages_written += pg->npages;
			return 0;
		}
		struct iovec l = { (void *)data, len };
		struct iovec rv = { (void *)(uintptr_t)pg->addr, len };
		ssize_t n = process_vm_writev(t->pid, &l, 1, &rv, 1, 0);
		if (n != (ssize_t)len)
			return cell_err(err, n < 0 ? errno : EIO, "process %u (pid %d): write %u "
					"pages at %#llx-%#llx", pg->pid, t->pid, pg->npages,
					(unsigned long long)pg->addr,
					(unsigned long long)(pg->addr + len));
		r->stats->pages_written += pg->npages;
		return 0;
	}
	return cell_err(err, EINVAL, "pages for unknown task %u", pg->pid);
}

static int write_shmem_pages(struct ck_restore *r, const struct ck_pages *pg,
			     struct cell_err **err)
{
	for (size_t i = 0; i < r->img->nshmems; i++) {
		if (r->img->shmems[i].id != pg->pid)
			continue;
		if (!r->shm_lfd || r->shm_lfd[i] < 0)
			return 0; /* mapped by nobody: nothing to fill */
		if (pwrite(r->shm_lfd[i], pg->data, pg->len, (off_t)pg->addr) != (ssize_t)pg->len)
			return cell_err_sys(err, "fill shared memory %u", pg->pid);
		return 0;
	}
	return cell_err(err, EINVAL, "pages for unknown shared memory %u", pg->pid);
}

int ck_restore_pages(struct ck_restore *r, struct cell_err **err)
{
	_cleanup_img_reader_ struct img_reader *rd = NULL;
	int k = img_reader_open_at(r->dirfd, "pages.img", IMG_KIND_PAGES, &rd, err);
	struct img_rec rec;
	while (k == 0 && (k = img_read(rd, &rec, err)) > 0) {
		const struct img_schema *s = rec.type == CK_REC_PAGES ? &ck_pages_schema
								      : &ck_shmem_pages_schema;
		struct ck_pages pg;
		k = img_decode(&rec, s, &pg, err);
		if (k == 0)
			k = rec.type == CK_REC_PAGES ? write_task_pages(r, &pg, err)
						     : write_shmem_pages(r, &pg, err);
	}
	/* The mappings made writable for their pages get their protection back. */
	uint64_t t0 = cell_now_ns();
	for (size_t i = 0; k == 0 && i < r->ntasks; i++)
		k = ro_protect(r, &r->tasks[i], false, err);
	r->ro_ns += cell_now_ns() - t0;
	if (k == 0 && r->ro_pages)
		ck_logf(&r->log, "%llu pages of mappings without PROT_WRITE in %llu us (%s)",
			(unsigned long long)r->ro_pages, (unsigned long long)(r->ro_ns / 1000),
			r->force_refused ? "made writable meanwhile" : "forced writes");
	/* Seals last: a write seal would stop the filling. */
	for (size_t i = 0; r->shm_lfd && i < r->img->nshmems; i++) {
		uint32_t seals = r->img->shmems[i].seals;
		if (k == 0 && r->shm_lfd[i] >= 0 && seals &&
		    fcntl(r->shm_lfd[i], F_ADD_SEALS, (int)seals) < 0)
			k = cell_err_sys(err, "seal shared memory %u with %#x", r->img->shmems[i].id,
					 seals);
		if (r->shm_lfd[i] >= 0)
			close(r->shm_lfd[i]);
		r->shm_lfd[i] = -1;
	}
	return k < 0 ? cell_err_wrap(err, "pages.img") : 0;
}

static void shmem_init(struct ck_restore *r, struct ck_rtask *t)
{
	size_t n = r->img->nshmems;
	if (!r->shm_home) {
		r->shm_home = xcalloc(n ? n : 1, sizeof(*r->shm_home));
		r->shm_lfd = xcalloc(n ? n : 1, sizeof(*r->shm_lfd));
		for (size_t i = 0; i < n; i++)
			r->shm_home[i] = -1, r->shm_lfd[i] = -1;
	}
	if (t && !t->shm_fd) {
		t->shm_fd = xcalloc(n ? n : 1, sizeof(*t->shm_fd));
		for (size_t i = 0; i < n; i++)
			t->shm_fd[i] = -1;
	}
}

/* The object exists, but its home fd is gone (ck_shmem_forget): reach it
 * through a memfd file of the image that stands for it, in the task that
 * holds that file at its final number. */
static int shmem_via_file(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int64_t *ret,
			  struct cell_err **err)
{
	for (size_t k = 0; k < r->ntasks; k++) {
		struct ck_rtask *h = &r->tasks[k];
		for (size_t i = 0; i < h->p->nfds; i++) {
			const struct ck_file *f = ck_image_file(r->img, h->p->fds[i].file_id);
			if (!f || ck_memfd_shmem(f) != id)
				continue;
			int64_t pidfd, got, fd;
			uint64_t a;
			int e = ck_rsys(t, "pidfd_open", SYS_pidfd_open, h->p->task.pid, 0, 0, 0, 0, 0,
					&pidfd, err);
			if (e < 0)
				return e;
			e = ck_rsys(t, "pidfd_getfd", SYS_pidfd_getfd, (uint64_t)pidfd,
				    (uint64_t)h->p->fds[i].fd, 0, 0, 0, 0, &got, err);
			ck_rsys(t, "close", SYS_close, (uint64_t)pidfd, 0, 0, 0, 0, 0, NULL, NULL);
			if (e < 0)
				return e;
			/* A description of our own, read-write, whatever the file's. */
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%lld", (long long)got);
			e = ck_scratch_path(r, t, path, &a, err);
			if (e == 0)
				e = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a,
					    O_RDWR | O_CLOEXEC, 0, 0, 0, &fd, err);
			ck_rsys(t, "close", SYS_close, (uint64_t)got, 0, 0, 0, 0, 0, NULL, NULL);
			if (e == 0)
				*ret = fd;
			return e;
		}
	}
	return cell_err(err, ENOENT, "shared memory %u: no file stands for it any more", id);
}

static int shmem_create(struct ck_restore *r, struct ck_rtask *t, size_t i, int64_t *ret,
			struct cell_err **err)
{
	const struct ck_shmem *s = &r->img->shmems[i];
	uint64_t a;
	int64_t fd;
	/* Sealing allowed, so the image's seals (F_SEAL_SEAL included, for a
	 * memfd made without it) can be set once the pages are in. */
	int k = ck_scratch_path(r, t, s->name ? s->name : "cell-shmem", &a, err);
	if (k == 0)
		k = ck_rsys(t, "memfd_create", SYS_memfd_create, a, MFD_CLOEXEC | MFD_ALLOW_SEALING,
			    0, 0, 0, 0, &fd, err);
	if (k == 0)
		k = ck_rsys(t, "ftruncate", SYS_ftruncate, (uint64_t)fd, s->size, 0, 0, 0, 0, NULL,
			    err);
	if (k == 0)
		k = ck_rtask_getfd(t, (int)fd, &r->shm_lfd[i], err);
	if (k == 0) {
		r->shm_home[i] = t - r->tasks;
		*ret = fd;
	}
	return k;
}

int ck_shmem_fd(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int *ret,
		struct cell_err **err)
{
	shmem_init(r, t);
	size_t n = r->img->nshmems, i;
	for (i = 0; i < n && r->img->shmems[i].id != id; i++)
		;
	if (i == n)
		return cell_err(err, EINVAL, "no shared memory %u", id);
	if (t->shm_fd[i] >= 0) {
		*ret = t->shm_fd[i];
		return 0;
	}
	int64_t fd, pidfd;
	int k;
	if (r->shm_home[i] == CK_SHM_VIA_FILE) {
		k = shmem_via_file(r, t, id, &fd, err);
	} else if (r->shm_home[i] >= 0) {
		struct ck_rtask *home = &r->tasks[r->shm_home[i]];
		k = ck_rsys(t, "pidfd_open", SYS_pidfd_open, home->p->task.pid, 0, 0, 0, 0, 0, &pidfd,
			    err);
		if (k == 0)
			k = ck_rsys(t, "pidfd_getfd", SYS_pidfd_getfd, (uint64_t)pidfd,
				    (uint64_t)home->shm_fd[i], 0, 0, 0, 0, &fd, err);
		ck_rsys(t, "close", SYS_close, (uint64_t)pidfd, 0, 0, 0, 0, 0, NULL, NULL);
	} else {
		k = shmem_create(r, t, i, &fd, err);
	}
	if (k < 0)
		return cell_err_wrap(err, "shared memory %u", id);
	t->shm_fd[i] = (int)fd;
	*ret = (int)fd;
	return 0;
}

int ck_shmem_forget(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (size_t i = 0; t->shm_fd && i < r->img->nshmems; i++) {
		if (t->shm_fd[i] < 0)
			continue;
		int k = ck_rsys(t, "close", SYS_close, (uint64_t)t->shm_fd[i], 0, 0, 0, 0, 0, NULL,
				err);
		if (k < 0)
			return k;
		t->shm_fd[i] = -1;
		if (r->shm_home[i] == t - r->tasks)
			r->shm_home[i] = CK_SHM_VIA_FILE;
	}
	return 0;
}
