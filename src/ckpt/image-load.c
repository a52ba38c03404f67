/* Loading an image into memory: every record decoded by its schema and
 * attached to its task; then image-check.c validates the whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"
#include "ckpt/image.h"

struct ck_proc *ck_image_proc(const struct ck_image *img, uint32_t pid)
{
	for (size_t i = 0; i < img->nprocs; i++)
		if (img->procs[i].task.pid == pid)
			return &img->procs[i];
	return NULL;
}

const struct ck_file *ck_image_file(const struct ck_image *img, uint32_t id)
{
	for (size_t i = 0; i < img->nfiles; i++)
		if (img->files[i].id == id)
			return &img->files[i];
	return NULL;
}

const struct ck_shmem *ck_image_shmem(const struct ck_image *img, uint32_t id)
{
	for (size_t i = 0; i < img->nshmems; i++)
		if (img->shmems[i].id == id)
			return &img->shmems[i];
	return NULL;
}

const struct ck_seccomp *ck_image_seccomp(const struct ck_image *img, uint32_t id)
{
	for (size_t i = 0; id && i < img->nseccomps; i++)
		if (img->seccomps[i].id == id)
			return &img->seccomps[i];
	return NULL;
}

int ck_image_load_inventory(int dirfd, struct ck_inventory *ret, struct cell_err **err)
{
	_cleanup_img_reader_ struct img_reader *r = NULL;
	int k = img_reader_open_at(dirfd, "inventory.img", IMG_KIND_INVENTORY, &r, err);
	if (k < 0)
		return k;
	struct img_rec rec;
	k = img_read(r, &rec, err);
	if (k == 0)
		return cell_err(err, EINVAL, "inventory.img: no inventory record");
	if (k < 0)
		return k;
	struct ck_inventory inv;
	k = img_decode(&rec, &ck_inventory_schema, &inv, err);
	if (k < 0)
		return cell_err_wrap(err, "inventory.img");
	k = img_read(r, &rec, err);
	if (k != 0) {
		img_obj_free(&ck_inventory_schema, &inv);
		return k < 0 ? k : cell_err(err, EINVAL, "inventory.img: more than one record");
	}
	if (strcmp(inv.arch, "x86_64") != 0 || inv.page_size != IMG_PAGE_SIZE) {
		k = cell_err(err, EINVAL, "inventory.img: image of %s with %u-byte pages, this is "
			     "x86_64 with %u", inv.arch, inv.page_size, IMG_PAGE_SIZE);
		img_obj_free(&ck_inventory_schema, &inv);
		return k;
	}
	*ret = inv;
	return 0;
}

/* Grow an array by one zeroed element, refusing past a cap. */
#define PUSH(arr, n, cap, what)                                                          \
	({                                                                               \
		if ((n) >= (cap))                                                        \
			return cell_err(err, E2BIG, "more than %u %s", (unsigned)(cap), what); \
		if (((n) & ((n) - 1)) == 0) /* capacity: the next power of two */      \
			(arr) = xrealloc((arr), ((n) ? 2 * (n) : 1) * sizeof(*(arr)));   \
		memset(&(arr)[(n)], 0, sizeof(*(arr)));                                  \
		&(arr)[(n)++];                                                           \
	})

static struct ck_proc *owner(struct ck_image *img, uint32_t pid, const char *what,
			     struct cell_err **err)
{
	struct ck_proc *p = ck_image_proc(img, pid);
	if (!p)
		cell_err(err, EINVAL, "%s record for pid %u before its task record", what, pid);
	return p;
}

static int add_task(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	struct ck_task t;
	int k = img_decode(rec, &ck_task_schema, &t, err);
	if (k < 0)
		return k;
	if (ck_image_proc(img, t.pid) || t.pid == 0) {
		img_obj_free(&ck_task_schema, &t);
		return cell_err(err, EINVAL, "task %u: duplicate or zero pid", t.pid);
	}
	if (img->nprocs >= img->inv.ntasks || img->nprocs >= CK_MAX_TASKS) {
		img_obj_free(&ck_task_schema, &t);
		return cell_err(err, E2BIG, "more tasks than the inventory's %u", img->inv.ntasks);
	}
	struct ck_proc *p = PUSH(img->procs, img->nprocs, CK_MAX_TASKS, "tasks");
	p->task = t;
	return 0;
}

/* Decode into a temporary, find the owner, then attach. */
static int add_thread(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	struct ck_thread t;
	int k = img_decode(rec, &ck_thread_schema, &t, err);
	if (k < 0)
		return k;
	struct ck_proc *p = owner(img, t.pid, "thread", err);
	if (!p || p->nthreads >= p->task.nthreads) {
		img_obj_free(&ck_thread_schema, &t);
		return p ? cell_err(err, EINVAL, "task %u: more threads than its %u", t.pid,
				    p->task.nthreads)
			 : -EINVAL;
	}
	*PUSH(p->threads, p->nthreads, CK_MAX_THREADS, "threads") = t;
	return 0;
}

static int add_vma(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	struct ck_vma v;
	int k = img_decode(rec, &ck_vma_schema, &v, err);
	if (k < 0)
		return k;
	struct ck_proc *p = owner(img, v.pid, "vma", err);
	if (!p || p->nvmas >= CK_MAX_VMAS) {
		img_obj_free(&ck_vma_schema, &v);
		return p ? cell_err(err, E2BIG, "task %u: too many vmas", v.pid) : -EINVAL;
	}
	*PUSH(p->vmas, p->nvmas, CK_MAX_VMAS, "vmas") = v;
	return 0;
}

static int add_small(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	union {
		struct ck_sigaction sa;
		struct ck_rlimit rl;
		struct ck_itimer it;
		struct ck_fd fd;
	} u;
	const struct img_schema *s = rec->type == CK_REC_SIGACTION ? &ck_sigaction_schema
				     : rec->type == CK_REC_RLIMIT  ? &ck_rlimit_schema
				     : rec->type == CK_REC_ITIMER  ? &ck_itimer_schema
								   : &ck_fd_schema;
	int k = img_decode(rec, s, &u, err);
	if (k < 0)
		return k;
	/* pid is the first member of all four. */
	struct ck_proc *p = owner(img, u.sa.pid, s->name, err);
	if (!p)
		return -EINVAL;
	switch (rec->type) {
	case CK_REC_SIGACTION:
		if (u.sa.sig < 1 || u.sa.sig > CK_NSIG || p->have_sigaction[u.sa.sig - 1])
			return cell_err(err, EINVAL, "task %u: sigaction for signal %u", u.sa.pid,
					u.sa.sig);
		p->sigactions[u.sa.sig - 1] = u.sa;
		p->have_sigaction[u.sa.sig - 1] = true;
		return 0;
	case CK_REC_RLIMIT:
		if (u.rl.resource >= CK_NRLIMIT || p->have_rlimit[u.rl.resource])
			return cell_err(err, EINVAL, "task %u: rlimit %u", u.rl.pid, u.rl.resource);
		p->rlimits[u.rl.resource] = u.rl;
		p->have_rlimit[u.rl.resource] = true;
		return 0;
	case CK_REC_ITIMER:
		if (u.it.which >= 3 || p->have_itimer[u.it.which])
			return cell_err(err, EINVAL, "task %u: itimer %u", u.it.pid, u.it.which);
		p->itimers[u.it.which] = u.it;
		p->have_itimer[u.it.which] = true;
		return 0;
	}
	*PUSH(p->fds, p->nfds, CK_MAX_FDS, "fds") = u.fd;
	return 0;
}

static int add_once(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	const struct img_schema *s = rec->type == CK_REC_MM	 ? &ck_mm_schema
				     : rec->type == CK_REC_CREDS ? &ck_creds_schema
								 : &ck_tracker_schema;
	union {
		struct ck_mm mm;
		struct ck_creds creds;
		struct ck_tracker tr;
	} u;
	int k = img_decode(rec, s, &u, err);
	if (k < 0)
		return k;
	struct ck_proc *p = owner(img, u.mm.pid, s->name, err);
	bool *have = !p ? NULL : rec->type == CK_REC_MM ? &p->have_mm
			     : rec->type == CK_REC_CREDS ? &p->have_creds : &p->have_tracker;
	if (!p || *have) {
		img_obj_free(s, &u);
		return p ? cell_err(err, EINVAL, "task %u: second %s record", u.mm.pid, s->name)
			 : -EINVAL;
	}
	*have = true;
	if (rec->type == CK_REC_MM)
		p->mm = u.mm;
	else if (rec->type == CK_REC_CREDS)
		p->creds = u.creds;
	else
		p->tracker = u.tr;
	return 0;
}

static int add_list(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	if (rec->type == CK_REC_TIMER) {
		struct ck_timer t;
		int k = img_decode(rec, &ck_timer_schema, &t, err);
		if (k < 0)
			return k;
		struct ck_proc *p = owner(img, t.pid, "timer", err);
		if (!p)
			return -EINVAL;
		*PUSH(p->timers, p->ntimers, 4096, "timers per task") = t;
		return 0;
	}
	struct ck_siginfo s;
	int k = img_decode(rec, &ck_siginfo_schema, &s, err);
	if (k < 0)
		return k;
	struct ck_proc *p = owner(img, s.pid, "siginfo", err);
	if (!p || p->nsigs >= 4096 || s.info_len != 128) {
		img_obj_free(&ck_siginfo_schema, &s);
		return p ? cell_err(err, EINVAL, "task %u: bad or too many pending signals", s.pid)
			 : -EINVAL;
	}
	*PUSH(p->sigs, p->nsigs, 4096, "pending signals") = s;
	return 0;
}

static int add_shmem(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	struct ck_shmem s;
	int k = img_decode(rec, &ck_shmem_schema, &s, err);
	if (k < 0)
		return k;
	if (ck_image_shmem(img, s.id) || img->nshmems >= CK_MAX_FILES) {
		img_obj_free(&ck_shmem_schema, &s);
		return cell_err(err, EINVAL, "shmem %u: duplicate id or too many", s.id);
	}
	*PUSH(img->shmems, img->nshmems, CK_MAX_FILES, "shared memory objects") = s;
	return 0;
}

static int add_file(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	const struct ck_file_ops *ops = ck_file_kind_by_rec(rec->type);
	if (!ops)
		return cell_err(err, EINVAL, "record %llu: unknown file kind %u",
				(unsigned long long)rec->index, rec->type);
	void *obj = xcalloc(1, ops->schema->size);
	int k = img_decode(rec, ops->schema, obj, err);
	if (k < 0) {
		free(obj);
		return k;
	}
	uint32_t id = *(uint32_t *)obj;
	if (ck_image_file(img, id) || img->nfiles >= CK_MAX_FILES) {
		img_obj_free(ops->schema, obj);
		free(obj);
		return cell_err(err, EINVAL, "file %u: duplicate id or too many files", id);
	}
	struct ck_file *f = PUSH(img->files, img->nfiles, CK_MAX_FILES, "files");
	*f = (struct ck_file){ .id = id, .rec_type = rec->type, .ops = ops, .obj = obj };
	return 0;
}

/* A seccomp filter: after its parent, whole instructions, and a flag the
 * kernel knows. */
static int add_seccomp(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	struct ck_seccomp f;
	int k = img_decode(rec, &ck_seccomp_schema, &f, err);
	if (k < 0)
		return k;
	if (!f.id || ck_image_seccomp(img, f.id) || (f.parent && !ck_image_seccomp(img, f.parent)) ||
	    f.insns_len == 0 || f.insns_len % 8 || (f.flags & ~2u)) {
		img_obj_free(&ck_seccomp_schema, &f);
		return cell_err(err, EINVAL, "seccomp filter %u: duplicate, parent %u unknown, %zu "
				"bytes or flags %#x", f.id, f.parent, f.insns_len, f.flags);
	}
	if (img->nseccomps >= CK_SECCOMP_MAX) {
		img_obj_free(&ck_seccomp_schema, &f);
		return cell_err(err, E2BIG, "more than %u seccomp filters", CK_SECCOMP_MAX);
	}
	*PUSH(img->seccomps, img->nseccomps, CK_SECCOMP_MAX, "seccomp filters") = f;
	return 0;
}

/* A piece of a file's stream: after its file record, in order. */
static int add_file_data(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	struct ck_file_data d;
	int k = img_decode(rec, &ck_file_data_schema, &d, err);
	if (k < 0)
		return k;
	struct ck_file *f = (struct ck_file *)ck_image_file(img, d.id);
	if (!f || d.stream >= CK_FILE_STREAMS)
		return cell_err(err, EINVAL, "file data for %s file %u stream %u",
				f ? "a" : "missing", d.id, d.stream);
	struct ck_blob *b = &f->data[d.stream];
	if (d.offset != b->len || d.len == 0 || d.len > CK_FILE_DATA_MAX - b->len)
		return cell_err(err, EINVAL, "file %u stream %u: %zu bytes at %llu after %zu, or past "
				"%u bytes", d.id, d.stream, d.len, (unsigned long long)d.offset,
				b->len, CK_FILE_DATA_MAX);
	b->data = xrealloc(b->data, b->len + d.len);
	memcpy(b->data + b->len, d.data, d.len);
	b->len += d.len;
	return 0;
}

static int add_record(struct ck_image *img, const struct img_rec *rec, struct cell_err **err)
{
	switch (rec->type) {
	case CK_REC_TASK: return add_task(img, rec, err);
	case CK_REC_THREAD: return add_thread(img, rec, err);
	case CK_REC_VMA: return add_vma(img, rec, err);
	case CK_REC_SIGACTION:
	case CK_REC_RLIMIT:
	case CK_REC_ITIMER:
	case CK_REC_FD: return add_small(img, rec, err);
	case CK_REC_TRACKER:
		if (img->inv.flags & CK_INV_PREDUMP) {
			struct ck_tracker *t = PUSH(img->trackers, img->ntrackers, CK_MAX_TASKS,
						    "trackers");
			return img_decode(rec, &ck_tracker_schema, t, err);
		}
		return add_once(img, rec, err);
	case CK_REC_MM:
	case CK_REC_CREDS: return add_once(img, rec, err);
	case CK_REC_TIMER:
	case CK_REC_SIGINFO: return add_list(img, rec, err);
	case CK_REC_SHMEM: return add_shmem(img, rec, err);
	case CK_REC_FILE_DATA: return add_file_data(img, rec, err);
	case CK_REC_SECCOMP: return add_seccomp(img, rec, err);
	}
	if (rec->type >= CK_REC_FILE_FIRST && rec->type <= CK_REC_FILE_LAST)
		return add_file(img, rec, err);
	return cell_err(err, EINVAL, "record %llu at offset %llu: unknown type %u",
			(unsigned long long)rec->index, (unsigned long long)rec->offset, rec->type);
}

int ck_image_load_core_fd(int fd, const struct ck_inventory *inv, struct ck_image **ret,
			  struct cell_err **err)
{
	_cleanup_img_reader_ struct img_reader *r = NULL;
	int k = img_reader_from_fd(fd, "core.img", IMG_KIND_CORE, &r, err);
	if (k < 0)
		return k;
	_cleanup_ck_image_ struct ck_image *img = xcalloc(1, sizeof(*img));
	img->inv = *inv;
	/* The inventory's strings stay the caller's. */
	img->inv.engine = img->inv.kernel = img->inv.arch = img->inv.parent = NULL;
	img->inv.netlock = NULL;
	struct img_rec rec;
	while ((k = img_read(r, &rec, err)) > 0) {
		k = add_record(img, &rec, err);
		if (k < 0)
			return cell_err_wrap(err, "core.img: record %llu",
					     (unsigned long long)rec.index);
	}
	if (k < 0)
		return k;
	k = ck_image_check(img, err);
	if (k < 0)
		return cell_err_wrap(err, "core.img");
	*ret = TAKE_PTR(img);
	return 0;
}

int ck_image_load(int dirfd, struct ck_image **ret, struct cell_err **err)
{
	struct ck_inventory inv;
	int k = ck_image_load_inventory(dirfd, &inv, err);
	if (k < 0)
		return k;
	int fd = openat(dirfd, "core.img", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		img_obj_free(&ck_inventory_schema, &inv);
		return cell_err_sys(err, "open core.img");
	}
	struct ck_image *img = NULL;
	k = ck_image_load_core_fd(fd, &inv, &img, err);
	close(fd);
	if (k < 0) {
		img_obj_free(&ck_inventory_schema, &inv);
		return k;
	}
	img->inv = inv;
	*ret = img;
	return 0;
}

static void proc_free(struct ck_proc *p)
{
	img_obj_free(&ck_task_schema, &p->task);
	img_obj_free(&ck_creds_schema, &p->creds);
	img_obj_free(&ck_mm_schema, &p->mm);
	for (size_t i = 0; i < p->nthreads; i++)
		img_obj_free(&ck_thread_schema, &p->threads[i]);
	free(p->threads);
	for (size_t i = 0; i < p->nvmas; i++)
		img_obj_free(&ck_vma_schema, &p->vmas[i]);
	free(p->vmas);
	free(p->timers);
	for (size_t i = 0; i < p->nsigs; i++)
		img_obj_free(&ck_siginfo_schema, &p->sigs[i]);
	free(p->sigs);
	free(p->fds);
}

void ck_image_free(struct ck_image *img)
{
	if (!img)
		return;
	img_obj_free(&ck_inventory_schema, &img->inv);
	for (size_t i = 0; i < img->nprocs; i++)
		proc_free(&img->procs[i]);
	free(img->procs);
	for (size_t i = 0; i < img->nfiles; i++) {
		img_obj_free(img->files[i].ops->schema, img->files[i].obj);
		free(img->files[i].obj);
		for (size_t k = 0; k < CK_FILE_STREAMS; k++)
			free(img->files[i].data[k].data);
	}
	free(img->files);
	for (size_t i = 0; i < img->nshmems; i++)
		img_obj_free(&ck_shmem_schema, &img->shmems[i]);
	free(img->shmems);
	free(img->trackers);
	for (size_t i = 0; i < img->nseccomps; i++)
		img_obj_free(&ck_seccomp_schema, &img->seccomps[i]);
	free(img->seccomps);
	free(img);
}

void ck_image_freep(struct ck_image **img)
{
	ck_image_free(*img);
	*img = NULL;
}
