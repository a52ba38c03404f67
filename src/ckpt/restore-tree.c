/* Building the tree: pid 1 is seized and given a scratch page (code for
 * injection, room for arguments) at an address free in every image layout,
 * so each child inherits it; then every process is forked by its parent
 * with clone3(set_tid = its pid), and sessions and groups are set up. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

static bool busy(const struct ck_restore *r, const struct ck_pvma *cur, size_t ncur, uint64_t a,
		 uint64_t len)
{
	for (size_t i = 0; i < r->img->nprocs; i++) {
		const struct ck_proc *p = &r->img->procs[i];
		for (size_t k = 0; k < p->nvmas; k++)
			if (a < p->vmas[k].end && p->vmas[k].start < a + len)
				return true;
	}
	for (size_t i = 0; i < ncur; i++)
		if (a < cur[i].end && cur[i].start < a + len)
			return true;
	return false;
}

/* Scratch and the vDSO parking lot: free in every image and in pid 1 now;
 * the vDSO trio's sizes must match the image's (the same kernel). */
static int choose_scratch(struct ck_restore *r, int procfd, struct cell_err **err)
{
	struct ck_pvma *cur = NULL;
	size_t n;
	int k = ck_proc_maps(procfd, r->tasks[0].pid, &cur, &n, err);
	if (k < 0)
		return k;
	uint64_t vdso = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t len = cur[i].end - cur[i].start;
		if (!cur[i].name)
			continue;
		if (!strcmp(cur[i].name, "[vdso]")) {
			r->vdso_len = len;
			vdso = cur[i].start;
		} else if (!strcmp(cur[i].name, "[vvar]")) {
			r->vvar_len = len;
		} else if (!strcmp(cur[i].name, "[vvar_vclock]")) {
			r->vclock_len = len;
		}
	}
	const struct ck_inventory *inv = &r->img->inv;
	if (r->vdso_len != inv->vdso_pages * IMG_PAGE_SIZE ||
	    r->vvar_len != inv->vvar_pages * IMG_PAGE_SIZE ||
	    r->vclock_len != inv->vvar_vclock_pages * IMG_PAGE_SIZE) {
		ck_pvmas_free(cur, n);
		return cell_err(err, EOPNOTSUPP, "the vdso here (%llu+%llu+%llu bytes) differs from "
				"the image's (%u+%u+%u pages): checkpointed on another kernel",
				(unsigned long long)r->vvar_len, (unsigned long long)r->vclock_len,
				(unsigned long long)r->vdso_len, inv->vvar_pages,
				inv->vvar_vclock_pages, inv->vdso_pages);
	}
	uint64_t need = CK_SCRATCH_SIZE + r->vvar_len + r->vclock_len + r->vdso_len;
	k = -ENOMEM;
	for (uint64_t a = 0x10000000ULL; a + need < CK_TASK_SIZE; a += 0x10000000ULL) {
		if (!busy(r, cur, n, a, need)) {
			r->scratch = a;
			r->park = a + CK_SCRATCH_SIZE;
			k = 0;
			break;
		}
	}
	ck_pvmas_free(cur, n);
	if (k < 0)
		return cell_err(err, ENOMEM, "no room for the restorer's scratch page");
	return ck_find_vdso_syscall(r->tasks[0].pid, vdso, r->vdso_len, &r->tasks[0].threads[0].thr.sc_insn,
				    err);
}

static int map_scratch(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	int64_t a;
	int k = ck_rsys(t, "mmap", SYS_mmap, r->scratch, CK_SCRATCH_SIZE,
			PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0, &a, err);
	if (k < 0)
		return cell_err_wrap(err, "map the scratch page");
	static const uint8_t code[] = { 0x0f, 0x05, 0xcc }; /* syscall; int3 */
	k = ck_mem_write(t->pid, r->scratch, code, sizeof(code), err);
	if (k < 0)
		return k;
	t->threads[0].thr.sc_insn = r->scratch;
	return 0;
}

/* The smallest fd handed over (ckpt_restore_opts.inherit, external) that
 * is >= lo, or -1. */
static int next_inherited(const struct ck_restore *r, int lo)
{
	int best = -1;
	for (size_t i = 0; i < r->o->n_inherit + r->o->n_external; i++) {
		int fd = i < r->o->n_inherit ? r->o->inherit[i].fd
					     : r->o->external[i - r->o->n_inherit].fd;
		if (fd >= lo && (best < 0 || fd < best))
			best = fd;
	}
	return best;
}

static int close_all_but_inherited(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (int lo = 0;;) {
		int keep = next_inherited(r, lo);
		uint64_t hi = keep < 0 ? ~0U : (uint64_t)keep - 1;
		int k = keep < 0 || keep > lo ? ck_rsys(t, "close_range", SYS_close_range, (uint64_t)lo,
							hi, 0, 0, 0, 0, NULL, err) : 0;
		if (k < 0)
			return k;
		if (keep < 0)
			return 0;
		lo = keep + 1;
	}
}

static int seize_init(struct ck_restore *r, struct cell_err **err)
{
	struct ck_rtask *t = &r->tasks[0];
	_cleanup_close_ int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return cell_err_sys(err, "open /proc");
	struct ck_pstatus st;
	char path[32];
	snprintf(path, sizeof(path), "%d", t->pid);
	int k = ck_proc_status(procfd, path, &st, err);
	if (k < 0)
		return cell_err_wrap(err, "process %d", t->pid);
	ck_pstatus_free(&st);
	if (st.ns_pid != 1 || st.threads != 1 || st.tracer)
		return cell_err(err, EINVAL, "process %d must be pid 1 of its PID namespace, "
				"single-threaded and untraced", t->pid);
	t->threads[0].thr.tid = t->pid;
	k = ck_thr_seize(&t->threads[0].thr, CK_SEIZE_CHILDREN | CK_SEIZE_EXITKILL, err);
	if (k == 0)
		k = ck_thr_interrupt_wait(&t->threads[0].thr, NULL, err);
	uint64_t all = ~0ULL;
	if (k == 0 && ptrace(PTRACE_SETSIGMASK, t->pid, sizeof(all), &all) < 0)
		k = cell_err_sys(err, "block signals in %d", t->pid);
	if (k == 0)
		k = choose_scratch(r, procfd, err);
	if (k == 0)
		k = map_scratch(r, t, err);
	/* Nothing of the caller's is kept but the fds it hands over: the rest
	 * go before anything forks. */
	if (k == 0)
		k = close_all_but_inherited(r, t, err);
	return k;
}

/* Fork the process p from parent with clone3(set_tid). */
static int fork_task(struct ck_restore *r, struct ck_rtask *parent, struct ck_rtask *t,
		     struct cell_err **err)
{
	pid_t vpid = (pid_t)t->p->task.pid;
	uint64_t a_tid, a_args;
	int k = ck_scratch_put(r, parent, 0, &vpid, sizeof(vpid), &a_tid, err);
	if (k < 0)
		return k;
	struct clone_args ca = { .exit_signal = t->p->task.exit_signal, .set_tid = a_tid,
				 .set_tid_size = 1 };
	k = ck_scratch_put(r, parent, 64, &ca, sizeof(ca), &a_args, err);
	if (k < 0)
		return k;
	int64_t got;
	parent->threads[0].thr.event_msg = 0;
	k = ck_rsys(parent, "clone3", SYS_clone3, a_args, sizeof(ca), 0, 0, 0, 0, &got, err);
	if (k < 0)
		return cell_err_wrap(err, "fork process %d", vpid);
	if (got != vpid || !parent->threads[0].thr.event_msg)
		return cell_err(err, EIO, "fork process %d: got %lld", vpid, (long long)got);
	t->pid = (pid_t)parent->threads[0].thr.event_msg;
	struct ck_thr *thr = &t->threads[0].thr;
	*thr = (struct ck_thr){ .tid = t->pid, .seized = true, .sc_insn = r->scratch };
	/* Auto-attached: it reports a stop before running any code. */
	int status;
	k = ck_thr_wait(thr, &status, err);
	if (k < 0)
		return k;
	if (t->p->task.sid == t->p->task.pid)
		k = ck_rsys(t, "setsid", SYS_setsid, 0, 0, 0, 0, 0, 0, NULL, err);
	return k;
}

static int set_groups(struct ck_restore *r, struct cell_err **err)
{
	/* Group leaders first, so that the others have a group to join. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->ntasks; i++) {
			struct ck_rtask *t = &r->tasks[i];
			const struct ck_task *k = &t->p->task;
			if (!k->pgid || (pass == 0) != (k->pgid == k->pid))
				continue;
			int e = ck_rsys(t, "setpgid", SYS_setpgid, 0, k->pgid, 0, 0, 0, 0, NULL, err);
			if (e < 0 && !(e == -EPERM && k->sid == k->pid && k->pgid == k->pid))
				return cell_err_wrap(err, "process %u", k->pid);
			cell_err_freep(err);
		}
	}
	return 0;
}

static size_t index_of(const struct ck_restore *r, uint32_t pid)
{
	for (size_t i = 0; i < r->ntasks; i++)
		if (r->tasks[i].p->task.pid == pid)
			return i;
	return (size_t)-1;
}

int ck_restore_tree(struct ck_restore *r, struct cell_err **err)
{
	r->ntasks = r->img->nprocs;
	r->tasks = xcalloc(r->ntasks, sizeof(*r->tasks));
	r->file_home = xcalloc(r->img->nfiles ? r->img->nfiles : 1, sizeof(*r->file_home));
	for (size_t i = 0; i < r->img->nfiles; i++)
		r->file_home[i] = -1;
	for (size_t i = 0; i < r->ntasks; i++) {
		struct ck_rtask *t = &r->tasks[i];
		t->p = &r->img->procs[i];
		t->threads = xcalloc(t->p->nthreads, sizeof(*t->threads));
		t->nthreads = 1; /* the others come with ck_restore_threads */
		for (size_t k = 0; k < t->p->nthreads; k++)
			t->threads[k].img = &t->p->threads[k];
		t->file_fd = xcalloc(r->img->nfiles ? r->img->nfiles : 1, sizeof(int));
		for (size_t k = 0; k < r->img->nfiles; k++)
			t->file_fd[k] = -1;
	}
	r->tasks[0].pid = r->o->init_pid;
	int k = seize_init(r, err);
	if (k < 0)
		return k;
	struct ck_rtask *init = &r->tasks[0];
	if (init->p->task.sid == 1 && getsid(init->pid) != init->pid)
		k = ck_rsys(init, "setsid", SYS_setsid, 0, 0, 0, 0, 0, 0, NULL, err);
	for (size_t i = 1; k == 0 && i < r->ntasks; i++) {
		size_t pi = index_of(r, r->tasks[i].p->task.ppid);
		k = fork_task(r, &r->tasks[pi], &r->tasks[i], err);
	}
	if (k == 0)
		k = set_groups(r, err);
	return k;
}
