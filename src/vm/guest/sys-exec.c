/* execve and exit. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "vm/guest/exec.h"
#include "vm/guest/path.h"

#define ARG_MAX_BYTES (2u << 20)
#define ARG_MAX_COUNT (ARG_MAX_BYTES / 8)

/* argv/envp from program memory; -E2BIG past Linux's limits. */
static int read_strv(struct lg_task *t, uint64_t va, char ***ret)
{
	char **v = xcalloc(1, sizeof(*v));
	size_t total = 0;
	if (!va) {
		*ret = v;
		return 0;
	}
	_cleanup_free_ char *buf = xmalloc(ARG_MAX_BYTES);
	for (size_t i = 0;; i++) {
		uint64_t p;
		if (i >= ARG_MAX_COUNT) {
			cell_strv_free(v);
			return -E2BIG;
		}
		if (lg_copy_from(t->mm, &p, va + i * 8, 8) < 0) {
			cell_strv_free(v);
			return -EFAULT;
		}
		if (!p)
			break;
		int n = lg_strncpy_from(t->mm, buf, p, ARG_MAX_BYTES - total);
		if (n < 0) {
			cell_strv_free(v);
			return n == -ENAMETOOLONG ? -E2BIG : n;
		}
		total += (size_t)n + 1;
		cell_strv_push(&v, buf);
	}
	*ret = v;
	return 0;
}

/* Handlers go back to SIG_DFL, ignored stay ignored (execve(2)). */
static void reset_handlers(struct lg_task *t)
{
	struct lg_proc *p = t->proc;
	pthread_mutex_lock(&t->lg->lock);
	if (p->sighand->refs > 1) {
		struct lg_sighand *sh = xcalloc(1, sizeof(*sh));
		memcpy(sh->action, p->sighand->action, sizeof(sh->action));
		sh->refs = 1;
		p->sighand->refs--;
		p->sighand = sh;
	}
	for (int i = 0; i < LG_NSIG; i++) {
		struct lg_sigaction *a = &p->sighand->action[i];
		if (a->handler != (uint64_t)(uintptr_t)SIG_IGN)
			*a = (struct lg_sigaction){ 0 };
	}
	t->altstack_sp = t->altstack_size = 0;
	pthread_mutex_unlock(&t->lg->lock);
}

static void commit(struct lg_task *t, struct lg_image *img)
{
	struct lg *lg = t->lg;
	struct lg_mm *old = t->mm;
	t->mm = img->mm;
	pthread_mutex_lock(&lg->lock);
	if (t->vfork_parent) {
		t->vfork_parent->proc->vfork_done = true;
		lg_task_kick(t->vfork_parent);
		t->vfork_parent = NULL;
	}
	memcpy(t->proc->comm, img->comm, sizeof(t->proc->comm));
	free(t->proc->exe);
	t->proc->exe = img->exe;
	t->proc->fault[0] = '\0';
	pthread_mutex_unlock(&lg->lock);
	lg_mm_put(old);
	reset_handlers(t);
	if (t->files->refs > 1) {
		struct lg_files *own = lg_files_dup(t->files);
		lg_files_put(t->files);
		t->files = own;
	}
	lg_fd_close_on_exec(t->files);
	free(t->fpu);
	t->fpu = NULL;
	t->fs_base = 0;
	t->fs_base_dirty = true;
	t->clear_child_tid = 0;
	struct lg_uctx *u = t->uctx;
	memset(&u->r, 0, sizeof(u->r));
	u->r.rip = img->entry;
	u->r.rsp = img->sp;
	u->r.rflags = 0x202;
	u->noreturn = true;
	u->in_syscall = false;
	u->reload_cr3 = true;
	__atomic_fetch_add(&lg->stats.execs, 1, __ATOMIC_RELAXED);
}

/* Linux's de_thread(): the other threads of the process go; the one that
 * execs takes the process's id.  -EINTR if the process is dying anyway. */
static int de_thread(struct lg_task *t)
{
	struct lg *lg = t->lg;
	struct lg_proc *p = t->proc;
	pthread_mutex_lock(&lg->lock);
	for (struct lg_task *o = p->threads; o; o = o->next_thread)
		if (o != t) {
			o->exit_requested = true;
			o->exit_code = 0;
			o->clear_child_tid = 0;
			lg_task_kick(o);
		}
	while (p->nthreads > 1 && !p->exiting) {
		pthread_mutex_unlock(&lg->lock);
		lg_task_sleep(t, NULL, 0, 1000000); /* the others leave within a slice */
		pthread_mutex_lock(&lg->lock);
	}
	int r = p->exiting ? -EINTR : 0;
	if (r == 0 && t->tid != p->pid) {
		if (lg->procs[t->tid] == p) {
			lg->procs[t->tid] = NULL;
			lg->nprocs--;
		}
		t->tid = p->pid;
	}
	pthread_mutex_unlock(&lg->lock);
	return r;
}

static long do_execve(struct lg_task *t, int dirfd, uint64_t upath, uint64_t uargv, uint64_t uenvp,
		      int flags)
{
	char path[LG_PATH_MAX], abs[LG_PATH_MAX];
	int r = lg_path_arg(t, upath, path, false);
	if (r < 0 || (r = lg_path_abs(t, dirfd, path, abs)) < 0)
		return r;
	(void)flags;
	_cleanup_strv_ char **argv = NULL;
	_cleanup_strv_ char **envp = NULL;
	if ((r = read_strv(t, uargv, &argv)) < 0 || (r = read_strv(t, uenvp, &envp)) < 0)
		return r;
	struct lg_image img;
	_cleanup_err_ struct cell_err *err = NULL;
	/* No frames for the new image: the OOM killer, then try again (or
	 * fail into this process's own SIGKILL, as Linux's execve would). */
	while ((r = lg_exec_prepare(t, abs, argv, envp, &img, &err)) == -ENOMEM && lg_oom_task(t)) {
		cell_err_free(err);
		err = NULL;
	}
	if (r < 0) {
		if (r == -ENOEXEC)
			cell_log(CELL_LOG_INFO, "light guest: execve: %s", err->msg);
		return r;
	}
	/* Past the point of no return: the new image is ready. */
	if (t->proc->nthreads > 1 && (r = de_thread(t)) < 0) {
		lg_mm_put(img.mm);
		free(img.exe);
		return r;
	}
	commit(t, &img);
	return 0;
}

LG_SYS(execve) { return do_execve(t, AT_FDCWD, a[0], a[1], a[2], 0); }
LG_SYS(execveat) { return do_execve(t, (int)a[0], a[1], a[2], a[3], (int)a[4]); }

LG_SYS(exit)
{
	t->exit_code = (int)(a[0] & 0xff);
	t->exit_requested = true;
	return 0;
}

LG_SYS(exit_group)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	if (!t->proc->exiting) {
		t->proc->exiting = true;
		t->proc->exit_code = (int)((a[0] & 0xff) << 8);
		for (struct lg_task *o = t->proc->threads; o; o = o->next_thread)
			if (o != t)
				lg_task_kick(o);
	}
	pthread_mutex_unlock(&lg->lock);
	t->exit_requested = true;
	return 0;
}
