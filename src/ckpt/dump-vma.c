/* The VMA list of a process: each mapping classified (anonymous, file,
 * shared memory object, vDSO and its data pages), checked restorable, and
 * written as VMA records; shared memory objects are dumped once each from
 * their file (/proc/PID/map_files), holes skipped with SEEK_DATA. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/dump-mem.h"
#include "ckpt/internal.h"
#include "ckpt/pagewriter.h"

static int open_map_file(struct ck_dump *d, pid_t pid, const struct ck_pvma *v, int *ret,
			 struct cell_err **err)
{
	char path[96];
	snprintf(path, sizeof(path), "%d/map_files/%llx-%llx", pid, (unsigned long long)v->start,
		 (unsigned long long)v->end);
	int fd = openat(d->procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open /proc/%s", path);
	*ret = fd;
	return 0;
}

static int dump_shmem_data(struct ck_dump *d, int fd, const struct ck_shmem *s,
			   struct cell_err **err)
{
	off_t at = 0;
	while ((uint64_t)at < s->size) {
		off_t data = lseek(fd, at, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;
		if (data < 0)
			return cell_err_sys(err, "seek in shared memory %u", s->id);
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return cell_err_sys(err, "seek in shared memory %u", s->id);
		data &= ~(off_t)(IMG_PAGE_SIZE - 1);
		for (off_t o = data; o < hole;) {
			uint8_t *buf = ck_pw_buffer(d->pw, err);
			if (!buf)
				return -EIO;
			size_t len = (size_t)(hole - o) < CK_PW_BUF ? (size_t)(hole - o) : CK_PW_BUF;
			len = (len + IMG_PAGE_SIZE - 1) & ~(size_t)(IMG_PAGE_SIZE - 1);
			if (len > IMG_PAGES_MAX * IMG_PAGE_SIZE)
				len = IMG_PAGES_MAX * IMG_PAGE_SIZE;
			memset(buf, 0, len);
			if (pread(fd, buf, len, o) < 0)
				return cell_err_sys(err, "read shared memory %u", s->id);
			struct ck_pages p = { .pid = s->id, .addr = (uint64_t)o,
					      .npages = (uint32_t)(len / IMG_PAGE_SIZE) };
			int r = ck_pw_record(d->pw, &ck_shmem_pages_schema, &p, 0, len, err);
			if (r == 0)
				r = ck_pw_submit(d->pw, err);
			if (r < 0)
				return r;
			o += (off_t)len;
		}
		at = hole;
	}
	return 0;
}

int ck_dump_shmem(struct ck_dump *d, int fd, const struct stat *st, const char *name,
		  uint32_t *ret, struct cell_err **err)
{
	for (size_t i = 0; i < d->nshmems; i++) {
		if (d->shmems[i].dev == st->st_dev && d->shmems[i].ino == st->st_ino) {
			*ret = d->shmems[i].id;
			return 0;
		}
	}
	d->shmems = xrealloc(d->shmems, (d->nshmems + 1) * sizeof(*d->shmems));
	struct ck_shmem *s = &d->shmems[d->nshmems++];
	*s = (struct ck_shmem){ .id = ck_dump_new_id(d), .size = (uint64_t)st->st_size,
				.dev = st->st_dev, .ino = st->st_ino };
	int seals = fcntl(fd, F_GET_SEALS);
	s->seals = seals > 0 ? (uint32_t)seals : 0; /* EINVAL: not a memfd, no seals */
	if (name && cell_str_has_prefix(name, "/memfd:")) {
		s->name = xstrdup(name + 7);
		char *del = strstr(s->name, " (deleted)");
		if (del)
			*del = '\0';
	}
	int r = img_write(d->core, &ck_shmem_schema, s, err);
	if (r == 0)
		r = dump_shmem_data(d, fd, s, err);
	*ret = s->id;
	return r;
}

static int classify_file(struct ck_dump *d, struct ck_dtask *t, const struct ck_pvma *p,
			 struct ck_vma *v, struct cell_err **err)
{
	_cleanup_close_ int fd = -1;
	int r = open_map_file(d, t->pid, p, &fd, err);
	if (r < 0)
		return r;
	struct stat st;
	struct statfs sf;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return cell_err_sys(err, "stat mapping %s", p->name);
	if (st.st_nlink == 0) {
		if (sf.f_type != TMPFS_MAGIC && sf.f_type != HUGETLBFS_MAGIC)
			return cell_err(err, EOPNOTSUPP, "mapping of unlinked file %s", p->name);
		v->kind = CK_VMA_SHMEM;
		return ck_dump_shmem(d, fd, &st, p->name, &v->shmem_id, err);
	}
	_cleanup_free_ char *link = NULL;
	char what[96];
	snprintf(what, sizeof(what), "map_files/%llx-%llx", (unsigned long long)p->start,
		 (unsigned long long)p->end);
	r = ck_proc_readlink(d->procfd, t->pid, what, &link, err);
	if (r < 0)
		return r;
	struct stat by_path;
	if (link[0] != '/' || stat(link, &by_path) < 0 || by_path.st_ino != st.st_ino ||
	    by_path.st_dev != st.st_dev)
		return cell_err(err, EOPNOTSUPP, "mapping of %s: the path does not lead to the "
			       "mapped file any more", link);
	v->kind = CK_VMA_FILE;
	v->path = TAKE_PTR(link);
	v->dev = st.st_dev;
	v->ino = st.st_ino;
	return 0;
}

static int classify(struct ck_dump *d, struct ck_dtask *t, const struct ck_pvma *p,
		    struct ck_vma *v, struct cell_err **err)
{
	*v = (struct ck_vma){ .pid = t->vpid, .start = p->start, .end = p->end, .prot = p->prot,
			      .flags = p->vmflags, .pgoff = p->pgoff, .kind = CK_VMA_ANON };
	if (p->shared)
		v->flags |= CK_VMA_SHARED;
	if (p->growsdown)
		v->flags |= CK_VMA_GROWSDOWN;
	const char *n = p->name;
	if (!n || (n[0] == '[' && strcmp(n, "[vdso]") && strcmp(n, "[vvar]") &&
		   strcmp(n, "[vvar_vclock]"))) {
		if (n && !strcmp(n, "[heap]"))
			v->flags |= CK_VMA_HEAP;
		if (n && !strcmp(n, "[stack]"))
			v->flags |= CK_VMA_STACK;
		if (p->ino == 0 && !p->shared)
			return 0;
	}
	if (n && !strcmp(n, "[vdso]"))
		v->kind = CK_VMA_VDSO;
	else if (n && !strcmp(n, "[vvar]"))
		v->kind = CK_VMA_VVAR;
	else if (n && !strcmp(n, "[vvar_vclock]"))
		v->kind = CK_VMA_VVAR_VCLOCK;
	else
		return classify_file(d, t, p, v, err);
	return 0;
}

/* The vDSO gives us a syscall instruction for injection in every thread. */
int ck_dump_find_vdso(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	struct ck_pvma *pv = NULL;
	size_t n;
	int r = ck_proc_maps(d->procfd, t->pid, &pv, &n, err);
	if (r < 0)
		return r;
	uint64_t insn = 0;
	r = cell_err(err, ENOENT, "process %d has no vdso", t->pid);
	for (size_t i = 0; i < n; i++) {
		if (pv[i].name && !strcmp(pv[i].name, "[vdso]")) {
			r = ck_find_vdso_syscall(t->pid, pv[i].start, pv[i].end - pv[i].start, &insn,
						 err);
			if (r == 0)
				cell_err_freep(err);
			break;
		}
	}
	ck_pvmas_free(pv, n);
	for (size_t i = 0; r == 0 && i < t->nthreads; i++)
		t->threads[i].thr.sc_insn = insn;
	return r;
}

/* The VMAs of t, classified; their records written when write is set. */
int ck_collect_vmas(struct ck_dump *d, struct ck_dtask *t, bool write, struct ck_scan_vma **ret,
		    size_t *ret_n, struct cell_err **err)
{
	struct ck_pvma *pv = NULL;
	size_t n;
	int r = ck_proc_vmas(d->procfd, t->pid, &pv, &n, err);
	if (r < 0)
		return r;
	struct ck_scan_vma *v = xcalloc(n ? n : 1, sizeof(*v));
	size_t nv = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (pv[i].name && !strcmp(pv[i].name, "[vsyscall]"))
			continue;
		if (pv[i].uffd_wp && t->uffd < 0) {
			r = cell_err(err, EOPNOTSUPP, "mapping %#llx is registered with a "
				     "userfaultfd of the process: not supported",
				     (unsigned long long)pv[i].start);
			break;
		}
		r = classify(d, t, &pv[i], &v[nv].v, err);
		v[nv].tracked = pv[i].uffd_wp;
		uint64_t pages = (v[nv].v.end - v[nv].v.start) / IMG_PAGE_SIZE;
		if (v[nv].v.kind == CK_VMA_VDSO)
			d->vdso_pages = pages;
		else if (v[nv].v.kind == CK_VMA_VVAR)
			d->vvar_pages = pages;
		else if (v[nv].v.kind == CK_VMA_VVAR_VCLOCK)
			d->vclock_pages = pages;
		if (r == 0 && write)
			r = img_write(d->core, &ck_vma_schema, &v[nv].v, err);
		if (r == 0)
			nv++;
		else
			free(v[nv].v.path);
	}
	ck_pvmas_free(pv, n);
	if (r < 0) {
		ck_scan_vmas_free(v, nv);
		return r;
	}
	*ret = v;
	*ret_n = nv;
	return 0;
}

void ck_scan_vmas_free(struct ck_scan_vma *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].v.path);
	free(v);
}

int ck_dump_mm(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	struct ck_scan_vma *v = NULL;
	size_t n;
	int r = ck_collect_vmas(d, t, true, &v, &n, err);
	/* smaps walks every page table for its counters: at a GiB or more
	 * this, not the pages, is most of an incremental dump's frozen time. */
	ck_logf(&d->log, "process %d: %zu mappings read", t->pid, n);
	if (r == 0)
		r = ck_dump_pages(d, t, v, n, false, err);
	ck_scan_vmas_free(v, n);
	return r;
}
