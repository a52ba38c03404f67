/* Whole-image validation: what single records cannot show.  A restore
 * relies on it: after this, every reference resolves, every range is sane,
 * and nothing overlaps. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "base/util.h"
#include "ckpt/files/files.h"
#include "ckpt/image.h"

#define PID_MAX_LIMIT 4194304u
#define FD_MAX (1u << 20)

static bool page_aligned(uint64_t v)
{
	return (v & (IMG_PAGE_SIZE - 1)) == 0;
}

static int check_vmas(const struct ck_image *img, const struct ck_proc *p,
		      struct cell_err **err)
{
	int vdso = 0;
	for (size_t i = 0; i < p->nvmas; i++) {
		const struct ck_vma *v = &p->vmas[i];
		if (!page_aligned(v->start) || !page_aligned(v->end) || v->start >= v->end ||
		    v->end > CK_TASK_SIZE || v->start < IMG_PAGE_SIZE)
			return cell_err(err, EINVAL, "task %u: vma %#llx-%#llx out of range", p->task.pid,
					(unsigned long long)v->start, (unsigned long long)v->end);
		if (i > 0 && v->start < p->vmas[i - 1].end)
			return cell_err(err, EINVAL, "task %u: vma %#llx-%#llx overlaps the one before",
					p->task.pid, (unsigned long long)v->start,
					(unsigned long long)v->end);
		if (v->prot & ~(uint32_t)(PROT_READ | PROT_WRITE | PROT_EXEC))
			return cell_err(err, EINVAL, "task %u: vma %#llx: protection %#x", p->task.pid,
					(unsigned long long)v->start, v->prot);
		if (v->kind < CK_VMA_ANON || v->kind > CK_VMA_SHMEM)
			return cell_err(err, EINVAL, "task %u: vma %#llx: kind %u", p->task.pid,
					(unsigned long long)v->start, v->kind);
		if (v->kind == CK_VMA_FILE && (!v->path || v->path[0] != '/'))
			return cell_err(err, EINVAL, "task %u: file vma %#llx without an absolute path",
					p->task.pid, (unsigned long long)v->start);
		if (v->kind == CK_VMA_FILE && !page_aligned(v->pgoff))
			return cell_err(err, EINVAL, "task %u: vma %#llx: offset not page-aligned",
					p->task.pid, (unsigned long long)v->start);
		if (v->kind == CK_VMA_SHMEM && !ck_image_shmem(img, v->shmem_id))
			return cell_err(err, EINVAL, "task %u: vma %#llx: no shmem %u", p->task.pid,
					(unsigned long long)v->start, v->shmem_id);
		vdso += v->kind == CK_VMA_VDSO;
	}
	if (vdso > 1)
		return cell_err(err, EINVAL, "task %u: %d vdso mappings", p->task.pid, vdso);
	return 0;
}

static int check_threads(const struct ck_image *img, const struct ck_proc *p,
			 struct cell_err **err)
{
	if (p->nthreads != p->task.nthreads || p->nthreads == 0)
		return cell_err(err, EINVAL, "task %u: %zu thread records, %u announced", p->task.pid,
				p->nthreads, p->task.nthreads);
	if (p->threads[0].tid != p->task.pid)
		return cell_err(err, EINVAL, "task %u: first thread is %u, not the leader",
				p->task.pid, p->threads[0].tid);
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct ck_thread *t = &p->threads[i];
		if (t->tid == 0 || t->tid >= PID_MAX_LIMIT)
			return cell_err(err, EINVAL, "task %u: thread id %u", p->task.pid, t->tid);
		for (size_t j = 0; j < img->nprocs; j++) {
			const struct ck_proc *q = &img->procs[j];
			for (size_t k = 0; k < q->nthreads; k++)
				if ((q != p || k != i) && q->threads[k].tid == t->tid)
					return cell_err(err, EINVAL, "thread id %u used twice", t->tid);
		}
		if (t->seccomp_id && !ck_image_seccomp(img, t->seccomp_id))
			return cell_err(err, EINVAL, "thread %u: no seccomp filter %u", t->tid,
					t->seccomp_id);
		if (t->rseq_ptr && (t->rseq_len < 32 || t->rseq_len > 1024))
			return cell_err(err, EINVAL, "thread %u: rseq length %u", t->tid, t->rseq_len);
	}
	return 0;
}

static int check_fds(const struct ck_image *img, const struct ck_proc *p, struct cell_err **err)
{
	for (size_t i = 0; i < p->nfds; i++) {
		const struct ck_fd *f = &p->fds[i];
		if (f->fd < 0 || (uint32_t)f->fd >= FD_MAX)
			return cell_err(err, EINVAL, "task %u: fd %d out of range", p->task.pid, f->fd);
		if (i > 0 && f->fd <= p->fds[i - 1].fd)
			return cell_err(err, EINVAL, "task %u: fd %d listed twice or out of order",
					p->task.pid, f->fd);
		if (!ck_image_file(img, f->file_id))
			return cell_err(err, EINVAL, "task %u: fd %d refers to missing file %u",
					p->task.pid, f->fd, f->file_id);
	}
	for (size_t i = 0; i < p->nsigs; i++) {
		uint32_t tid = p->sigs[i].tid;
		bool ok = tid == 0;
		for (size_t k = 0; k < p->nthreads && !ok; k++)
			ok = p->threads[k].tid == tid;
		if (!ok)
			return cell_err(err, EINVAL, "task %u: pending signal for unknown thread %u",
					p->task.pid, tid);
	}
	return 0;
}

static int check_tree(const struct ck_image *img, size_t i, struct cell_err **err)
{
	const struct ck_proc *p = &img->procs[i];
	const struct ck_task *t = &p->task;
	if (t->pid >= PID_MAX_LIMIT)
		return cell_err(err, EINVAL, "task %u: pid out of range", t->pid);
	if (i == 0 && (t->pid != img->inv.root_pid || t->ppid != 0))
		return cell_err(err, EINVAL, "task %u: the first task must be the root %u",
				t->pid, img->inv.root_pid);
	if (i > 0) {
		bool found = false;
		for (size_t j = 0; j < i && !found; j++)
			found = img->procs[j].task.pid == t->ppid;
		if (!found)
			return cell_err(err, EINVAL, "task %u: parent %u is not an earlier task",
					t->pid, t->ppid);
	}
	if ((t->sid && !ck_image_proc(img, t->sid)) || (t->pgid && !ck_image_proc(img, t->pgid)))
		return cell_err(err, EINVAL, "task %u: session %u or group %u is not in the image",
				t->pid, t->sid, t->pgid);
	/* Sessions come back by inheritance and setsid(): a process is in its
	 * parent's session or leads its own (CRIU's helper trick for other
	 * layouts is not done). */
	const struct ck_proc *parent = i > 0 ? ck_image_proc(img, t->ppid) : NULL;
	if (parent && t->sid != t->pid && t->sid != parent->task.sid)
		return cell_err(err, EOPNOTSUPP, "task %u: in session %u, its parent %u in %u: "
				"this session layout cannot be rebuilt", t->pid, t->sid, t->ppid,
				parent->task.sid);
	if (!p->have_mm || !p->have_creds)
		return cell_err(err, EINVAL, "task %u: no %s record", t->pid,
				p->have_mm ? "creds" : "mm");
	if (t->exit_signal > CK_NSIG)
		return cell_err(err, EINVAL, "task %u: exit signal %u", t->pid, t->exit_signal);
	return 0;
}

int ck_image_check(const struct ck_image *img, struct cell_err **err)
{
	if (img->inv.flags & CK_INV_PREDUMP) {
		if (img->nprocs || img->nfiles)
			return cell_err(err, EINVAL, "a pre-dump image with tasks or files");
		return 0;
	}
	if (img->nprocs == 0 || img->nprocs != img->inv.ntasks)
		return cell_err(err, EINVAL, "%zu task records, the inventory says %u", img->nprocs,
				img->inv.ntasks);
	for (size_t i = 0; i < img->nprocs; i++) {
		const struct ck_proc *p = &img->procs[i];
		int k = check_tree(img, i, err);
		if (k == 0)
			k = check_threads(img, p, err);
		if (k == 0)
			k = check_vmas(img, p, err);
		if (k == 0)
			k = check_fds(img, p, err);
		if (k < 0)
			return k;
	}
	for (size_t i = 0; i < img->nfiles; i++) {
		const struct ck_file *f = &img->files[i];
		int k = f->ops->validate ? f->ops->validate(img, f, err) : 0;
		if (k < 0)
			return k;
	}
	return 0;
}
