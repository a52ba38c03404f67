/* Processes: clone (fork, vfork, threads), execve, exit, wait, ids. */
#include "vm/guest/sys.h"

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "vm/arch/x86/layout.h"
#include "vm/guest/exec.h"
#include "vm/guest/path.h"

#define ARG_MAX_COUNT 0x7fffffff
#define ARG_MAX_BYTES (2u << 20)

LG_SYS(getpid) { (void)a; return t->proc->pid; }
LG_SYS(gettid) { (void)a; return t->tid; }

LG_SYS(getppid)
{
	(void)a;
	pthread_mutex_lock(&t->lg->lock);
	int r = t->proc->parent ? t->proc->parent->pid : 0;
	pthread_mutex_unlock(&t->lg->lock);
	return r;
}

/* ---- clone ------------------------------------------------------------------ */

struct clone_req {
	uint64_t flags, stack, ptid, ctid, tls;
	int exit_signal;
};

static void *save_fpu(struct lg_task *t, bool *is_xsave)
{
	if (!t->worker)
		return NULL; /* not running on a vCPU (tests): the child starts fresh */
	int fd = t->worker->vcpu->fd;
	if (t->lg->kvm->has_xsave) {
		struct kvm_xsave *x = xcalloc(1, sizeof(*x));
		if (ioctl(fd, KVM_GET_XSAVE, x) == 0) {
			*is_xsave = true;
			return x;
		}
		free(x);
	}
	struct kvm_fpu *f = xcalloc(1, sizeof(*f));
	if (ioctl(fd, KVM_GET_FPU, f) < 0) {
		free(f);
		return NULL;
	}
	*is_xsave = false;
	return f;
}

static struct lg_sighand *sighand_copy(const struct lg_sighand *src)
{
	struct lg_sighand *sh = xcalloc(1, sizeof(*sh));
	memcpy(sh->action, src->action, sizeof(sh->action));
	sh->refs = 1;
	return sh;
}

static struct lg_fs *fs_copy(struct lg_task *t)
{
	struct lg_fs *fs = xcalloc(1, sizeof(*fs));
	pthread_mutex_lock(&t->lg->lock);
	fs->cwd = xstrdup(t->fs->cwd);
	fs->umask = t->fs->umask;
	pthread_mutex_unlock(&t->lg->lock);
	fs->refs = 1;
	return fs;
}

/* The child's start: the parent's registers at the syscall, rax = 0. */
static void child_regs(struct lg_task *t, struct lg_task *c, const struct clone_req *q)
{
	c->start_regs = t->uctx->r;
	c->start_regs.rax = 0;
	c->start_regs.rcx = c->start_regs.rip;
	c->start_regs.r11 = c->start_regs.rflags;
	if (q->stack)
		c->start_regs.rsp = q->stack;
	c->fs_base = (q->flags & CLONE_SETTLS) ? q->tls : t->fs_base;
	c->gs_base = t->gs_base;
	c->fpu = save_fpu(t, &c->fpu_is_xsave);
}

/* A new process (or a thread, with CLONE_THREAD) in the lg->lock'd tree. */
static int link_child(struct lg_task *t, struct lg_task *c, const struct clone_req *q)
{
	struct lg *lg = t->lg;
	int r = lg_rlimit_nproc_locked(t);
	if (r < 0)
		return r;
	if (q->flags & CLONE_THREAD) {
		struct lg_proc *p = t->proc;
		if ((r = lg_pid_alloc(lg, p)) < 0)
			return r;
		c->tid = r;
		c->proc = p;
		c->next_thread = p->threads;
		p->threads = c;
		p->nthreads++;
		return r;
	}
	struct lg_proc *p = xcalloc(1, sizeof(*p));
	if ((r = lg_pid_alloc(lg, p)) < 0) {
		free(p);
		return r;
	}
	p->pid = r;
	struct lg_proc *par = (q->flags & CLONE_PARENT) && t->proc->parent ? t->proc->parent
									  : t->proc;
	p->parent = par;
	p->sibling = par->children;
	par->children = p;
	p->pgid = t->proc->pgid;
	p->sid = t->proc->sid;
	p->exit_signal = q->exit_signal;
	p->start_ns = cell_now_ns();
	memcpy(p->comm, t->proc->comm, sizeof(p->comm));
	p->exe = t->proc->exe ? xstrdup(t->proc->exe) : NULL;
	memcpy(p->rlim, t->proc->rlim, sizeof(p->rlim));
	p->uid = t->proc->uid; /* credentials are inherited (fork(2)) */
	p->gid = t->proc->gid;
	p->threads = c;
	p->nthreads = 1;
	c->proc = p;
	c->tid = p->pid;
	return p->pid;
}

static int share_or_copy(struct lg_task *t, struct lg_task *c, const struct clone_req *q)
{
	uint64_t fl = q->flags;
	if (fl & CLONE_VM) {
		pthread_mutex_lock(&t->lg->lock);
		t->mm->refs++;
		pthread_mutex_unlock(&t->lg->lock);
		c->mm = t->mm;
	} else {
		pthread_rwlock_wrlock(&t->mm->lock);
		int r = lg_mm_fork(t->mm, &c->mm);
		pthread_rwlock_unlock(&t->mm->lock);
		if (r < 0)
			return r;
	}
	if (fl & CLONE_FILES) {
		__atomic_fetch_add(&t->files->refs, 1, __ATOMIC_RELAXED);
		c->files = t->files;
	} else {
		c->files = lg_files_dup(t->files);
	}
	if (fl & CLONE_FS) {
		__atomic_fetch_add(&t->fs->refs, 1, __ATOMIC_RELAXED);
		c->fs = t->fs;
	} else {
		c->fs = fs_copy(t);
	}
	return 0;
}

static long do_clone(struct lg_task *t, const struct clone_req *q)
{
	const uint64_t ok = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			    CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID |
			    CLONE_CHILD_SETTID | CLONE_VFORK | CLONE_PARENT | CLONE_DETACHED |
			    CLONE_UNTRACED | CLONE_PTRACE | CLONE_IO;
	uint64_t fl = q->flags;
	if (fl & ~ok)
		return (fl & (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWUTS |
			      CLONE_NEWIPC | CLONE_NEWCGROUP)) ? -EPERM : -EINVAL;
	if (((fl & CLONE_THREAD) && !(fl & CLONE_SIGHAND)) || ((fl & CLONE_SIGHAND) && !(fl & CLONE_VM)))
		return -EINVAL;
	struct lg *lg = t->lg;
	struct lg_task *c = lg_task_alloc(lg);
	int r;
	/* fork copies private pages now: no frames is the OOM killer's */
	while ((r = share_or_copy(t, c, q)) == -ENOMEM && lg_oom_task(t))
		;
	if (r < 0) {
		lg_task_free(c);
		return r;
	}
	child_regs(t, c, q);
	pthread_mutex_lock(&lg->lock);
	c->blocked = t->blocked;
	c->altstack_sp = t->altstack_sp;
	c->altstack_size = t->altstack_size;
	if ((r = link_child(t, c, q)) < 0) {
		pthread_mutex_unlock(&lg->lock);
		lg_task_free(c);
		return r;
	}
	if (fl & CLONE_THREAD) {
		/* the process's own handlers */
	} else if (fl & CLONE_SIGHAND) {
		t->proc->sighand->refs++;
		c->proc->sighand = t->proc->sighand;
	} else {
		c->proc->sighand = sighand_copy(t->proc->sighand);
	}
	if (fl & CLONE_VFORK) {
		c->vfork_parent = t;
		t->proc->vfork_done = false;
	}
	int tid = c->tid;
	pthread_mutex_unlock(&lg->lock);
	if (fl & CLONE_CHILD_CLEARTID)
		c->clear_child_tid = q->ctid;
	if (fl & CLONE_CHILD_SETTID)
		lg_copy_to(c->mm, q->ctid, &tid, sizeof(tid));
	if (fl & CLONE_PARENT_SETTID)
		lg_copy_to(t->mm, q->ptid, &tid, sizeof(tid));
	__atomic_fetch_add(&lg->stats.forks, 1, __ATOMIC_RELAXED);
	_cleanup_err_ struct cell_err *err = NULL;
	if (lg_task_start(lg, c, &err) < 0) {
		cell_warn("light guest: clone: %s", err->msg);
		/* It never ran: a process dies as if killed; a thread just
		 * leaves (its process goes on). */
		pthread_mutex_lock(&lg->lock);
		if (!(fl & CLONE_THREAD)) {
			c->proc->exiting = true;
			c->proc->exit_code = SIGKILL;
		}
		pthread_mutex_unlock(&lg->lock);
		lg_task_exit(c);
		lg_task_free(c);
		return -EAGAIN;
	}
	if (fl & CLONE_VFORK) {
		/* Until the child execs or exits; only a fatal signal ends it. */
		for (;;) {
			pthread_mutex_lock(&lg->lock);
			bool done = t->proc->vfork_done || t->proc->exiting;
			pthread_mutex_unlock(&lg->lock);
			if (done)
				break;
			lg_task_sleep(t, NULL, 0, -1);
		}
	}
	return tid;
}

LG_SYS(clone)
{
	/* x86-64: clone(flags, newsp, parent_tid, child_tid, tls) */
	struct clone_req q = { .flags = a[0] & ~0xffULL, .stack = a[1], .ptid = a[2], .ctid = a[3],
			       .tls = a[4], .exit_signal = (int)(a[0] & 0xff) };
	if (q.exit_signal > LG_NSIG)
		return -EINVAL;
	return do_clone(t, &q);
}

LG_SYS(clone3)
{
	uint64_t args[11] = { 0 };
	if (a[1] < 64 || a[1] > 4096)
		return -EINVAL;
	if (lg_copy_from(t->mm, args, a[0], a[1] < sizeof(args) ? a[1] : sizeof(args)) < 0)
		return -EFAULT;
	/* flags pidfd child_tid parent_tid exit_signal stack stack_size tls set_tid... */
	if ((args[0] & CLONE_PIDFD) || (a[1] >= 80 && args[8]) || args[4] > LG_NSIG)
		return -EINVAL; /* no pidfds, no set_tid (the pidfd field is ignored without the flag) */
	struct clone_req q = { .flags = args[0], .ctid = args[2], .ptid = args[3],
			       .exit_signal = (int)args[4], .tls = args[7] };
	if (args[5])
		q.stack = args[5] + args[6];
	return do_clone(t, &q);
}

LG_SYS(fork)
{
	(void)a;
	struct clone_req q = { .exit_signal = SIGCHLD };
	return do_clone(t, &q);
}

LG_SYS(vfork)
{
	(void)a;
	struct clone_req q = { .flags = CLONE_VM | CLONE_VFORK, .exit_signal = SIGCHLD };
	return do_clone(t, &q);
}
