/* Workers: a host thread and its vCPU, running one guest task at a time.
 *
 * The loop: deliver signals, take a CPU token, KVM_RUN, give the token back,
 * then serve the exit.  A syscall is an `out` to LG_PORT_SYSCALL from a
 * patched site (guest/sites.c), or, the first time a site is seen, an MMIO
 * store to the doorbell from the trampoline at LSTAR; the registers come and
 * go through the kvm_run sync area (no extra ioctls).  An exception is an
 * `out` from the ring-0 stub with the frame on the ring-0 stack.  Anything
 * else is a VM-level failure and ends the VM. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "base/util.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"

#define WORKER_STACK (256u << 10)
#define SCHED_SLICE_NS 10000000 /* a waiting task preempts the running ones after 10 ms */

void lg_fatal(struct lg *lg, int err, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&lg->lock);
	if (!lg->fatal) {
		lg->fatal = err ? err : -EIO;
		va_start(ap, fmt);
		vsnprintf(lg->fatal_msg, sizeof(lg->fatal_msg), fmt, ap);
		va_end(ap);
		lg->done = true;
		lg_kill_all_locked(lg, SIGKILL);
	}
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
}

/* ---- the CPU gate ------------------------------------------------------------ */

int lg_cpus_init(struct lg_cpus *c, unsigned n)
{
	pthread_mutex_init(&c->m, NULL);
	pthread_cond_init(&c->c, NULL);
	c->free = n;
	return 0;
}

static void kick_running(struct lg *lg)
{
	for (unsigned i = 0; i < lg->nworkers; i++) {
		struct lg_worker *w = lg->workers[i];
		if (__atomic_load_n(&w->in_guest, __ATOMIC_RELAXED))
			vcpu_kick(w->vcpu);
	}
}

void lg_cpus_acquire(struct lg *lg, struct lg_cpus *c)
{
	pthread_mutex_lock(&c->m);
	uint64_t me = c->next_ticket++;
	while (!(c->free > 0 && c->serving == me)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SCHED_SLICE_NS;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&c->c, &c->m, &ts) == ETIMEDOUT && c->free == 0)
			kick_running(lg); /* time slice over: they requeue behind us */
	}
	c->serving++;
	c->free--;
	pthread_cond_broadcast(&c->c);
	pthread_mutex_unlock(&c->m);
}

void lg_cpus_release(struct lg_cpus *c)
{
	pthread_mutex_lock(&c->m);
	c->free++;
	pthread_cond_broadcast(&c->c);
	pthread_mutex_unlock(&c->m);
}

/* ---- loading a task into the vCPU ------------------------------------------- */

static int load_fpu(struct lg_worker *w, struct lg_task *t, struct cell_err **err)
{
	if (t->fpu) {
		unsigned long req = t->fpu_is_xsave ? KVM_SET_XSAVE : KVM_SET_FPU;
		if (ioctl(w->vcpu->fd, req, t->fpu) < 0)
			return cell_err_sys(err, "vCPU %u: restoring FPU state", w->vcpu->id);
		return 0;
	}
	struct kvm_fpu f = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(w->vcpu->fd, KVM_SET_FPU, &f) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_SET_FPU", w->vcpu->id);
	return 0;
}

int lg_worker_load(struct lg_worker *w, struct lg_task *t, struct cell_err **err)
{
	struct kvm_sregs s;
	int r = vcpu_get_sregs(w->vcpu, &s, err);
	if (r < 0)
		return r;
	lg_user_sregs(&s, w->slot, t->mm->pml4, t->lg->osxsave);
	if ((r = vcpu_set_sregs(w->vcpu, &s, err)) < 0)
		return r;
	uint64_t mbuf[(sizeof(struct kvm_msrs) + 7 * sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *m = (struct kvm_msrs *)mbuf;
	m->nmsrs = 7;
	const uint64_t star = ((uint64_t)(LG_SEL_USER32_CS & ~3) << 48) | ((uint64_t)LG_SEL_KERNEL_CS << 32);
	const struct kvm_msr_entry e[7] = {
		{ .index = MSR_STAR, .data = star },
		{ .index = MSR_LSTAR, .data = LG_VA_TRAMPOLINE },
		{ .index = MSR_CSTAR, .data = LG_VA_TRAMPOLINE },
		{ .index = MSR_SFMASK, .data = X86_RFLAGS_TF | X86_RFLAGS_IF | (1 << 10) | X86_RFLAGS_NT | (1 << 18) },
		{ .index = MSR_FS_BASE, .data = t->fs_base },
		{ .index = MSR_GS_BASE, .data = 0 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0 },
	};
	memcpy(m->entries, e, sizeof(e));
	if (ioctl(w->vcpu->fd, KVM_SET_MSRS, m) != 7)
		return cell_err(err, errno ? errno : EINVAL, "vCPU %u: KVM_SET_MSRS", w->vcpu->id);
	if ((r = load_fpu(w, t, err)) < 0)
		return r;
	struct kvm_run *run = w->vcpu->run;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	run->s.regs.regs = t->start_regs;
	run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
	return 0;
}

/* execve() and arch_prctl() change state KVM holds outside the sync area. */
int lg_worker_reload(struct lg_worker *w, struct lg_task *t, bool cr3, struct cell_err **err)
{
	int r;
	if (cr3) {
		struct kvm_sregs s;
		if ((r = vcpu_get_sregs(w->vcpu, &s, err)) < 0)
			return r;
		s.cr3 = t->mm->pml4;
		if ((r = vcpu_set_sregs(w->vcpu, &s, err)) < 0)
			return r;
		if ((r = load_fpu(w, t, err)) < 0)
			return r;
	}
	if (t->fs_base_dirty) {
		t->fs_base_dirty = false;
		return vcpu_set_msr(w->vcpu, MSR_FS_BASE, t->fs_base, err);
	}
	return 0;
}

/* ---- exits --------------------------------------------------------------------- */

static uint64_t sane_rflags(uint64_t f)
{
	return (f & X86_RFLAGS_USER) | X86_RFLAGS_FIXED | X86_RFLAGS_IF;
}

/* Back to ring 3 after a syscall or a kick: every register from the
 * context, through the sync area. */
static void commit_direct(struct lg_worker *w, struct lg_task *t, struct lg_uctx *u)
{
	struct kvm_run *run = w->vcpu->run;
	run->s.regs.regs = u->r;
	run->s.regs.regs.rflags = sane_rflags(u->r.rflags);
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	if (t->lg->syscall_cpl0 && !u->user_mode) {
		/* Hardware virtualisation: SYSCALL entered ring 0; come back
		 * to ring 3 by loading the user segments. */
		struct kvm_sregs s;
		_cleanup_err_ struct cell_err *err = NULL;
		if (vcpu_get_sregs(w->vcpu, &s, &err) == 0) {
			lg_user_sregs(&s, w->slot, t->mm->pml4, t->lg->osxsave);
			vcpu_set_sregs(w->vcpu, &s, &err);
		}
	}
}

static uint64_t *exc_frame(struct lg_worker *w)
{
	return (uint64_t *)(w->lg->kvm->ram + lg_cpu_stack_top_gpa(w->slot) - 7 * 8);
}

/* Back to ring 3 through the stub's iretq: rip/rflags/rsp go into the
 * frame, the other registers through the sync area. */
static void commit_frame(struct lg_worker *w, struct lg_uctx *u)
{
	struct kvm_run *run = w->vcpu->run;
	uint64_t *f = exc_frame(w);
	f[2] = u->r.rip;
	f[3] = LG_SEL_USER_CS;
	f[4] = sane_rflags(u->r.rflags);
	f[5] = u->r.rsp;
	f[6] = LG_SEL_USER_DS;
	struct kvm_regs k = u->r;
	k.rsp = run->s.regs.regs.rsp;
	k.rip = run->s.regs.regs.rip;
	k.rflags = run->s.regs.regs.rflags;
	run->s.regs.regs = k;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

static void finish(struct lg_worker *w, struct lg_task *t, struct lg_uctx *u, bool frame)
{
	lg_signal_deliver(t);
	t->uctx = NULL;
	if (u->reload_cr3 || t->fs_base_dirty) {
		_cleanup_err_ struct cell_err *err = NULL;
		if (lg_worker_reload(w, t, u->reload_cr3, &err) < 0) {
			lg_fatal(t->lg, -EIO, "%s", err->msg);
			return;
		}
	}
	if (frame && !u->reload_cr3)
		commit_frame(w, u);
	else
		commit_direct(w, t, u);
	if (frame && u->reload_cr3) {
		/* execve from a signal handler path cannot happen, but a new
		 * address space never returns through the old frame. */
		lg_fatal(t->lg, -EIO, "internal error: new address space on an exception return");
	}
}

static void check_cpl(struct lg_worker *w)
{
	w->first_syscall_seen = true;
	struct kvm_sregs s;
	_cleanup_err_ struct cell_err *err = NULL;
	if (vcpu_get_sregs(w->vcpu, &s, &err) == 0 && s.cs.dpl == 0)
		w->lg->syscall_cpl0 = true;
}

static void serve_syscall(struct lg_worker *w, struct lg_task *t, struct lg_uctx *u)
{
	t->uctx = u;
	t->syscalls++;
	__atomic_fetch_add(&t->lg->stats.syscalls, 1, __ATOMIC_RELAXED);
	lg_syscall(t);
	finish(w, t, u, false);
}

/* The slow path: `syscall` went to LSTAR, the trampoline rang the doorbell.
 * The site gets patched so that its next call takes the fast path. */
static void on_syscall(struct lg_worker *w, struct lg_task *t)
{
	if (!w->first_syscall_seen)
		check_cpl(w);
	struct kvm_regs *k = &w->vcpu->run->s.regs.regs;
	struct lg_uctx u = { .r = *k, .in_syscall = true, .orig_rax = k->rax };
	u.r.rip = k->rcx;
	u.r.rflags = k->r11;
	lg_sites_patch(t, k->rcx);
	serve_syscall(w, t, &u);
}

/* Bytes of the instruction that ended just before rip, for an `in`/`out`
 * on the syscall port that KVM emulated (and moved RIP past).  Best effort:
 * only port LG_PORT_SYSCALL can get here, which no real program uses. */
static uint64_t pio_insn_len(struct lg_task *t, uint64_t rip)
{
	uint8_t b[2] = { 0, 0 };
	if (rip < 2 || lg_copy_from(t->mm, b, rip - 2, 2) < 0)
		(void)lg_copy_from(t->mm, b + 1, rip - 1, 1);
	if ((b[0] == 0xe6 || b[0] == 0xe4 || b[0] == 0xe5 || b[0] == 0xe7) && b[1] == LG_PORT_SYSCALL)
		return 2; /* in/out with an immediate port */
	return b[0] == 0x66 ? 2 : 1; /* in/out through %dx, maybe 16-bit */
}

/* An `in`/`out` on the syscall port that is not a patched site: Linux
 * raises #GP for port I/O, so SIGSEGV.  KVM may still be in the middle of
 * emulating an `in`; finish that (it would overwrite the registers at the
 * next KVM_RUN) and put the program's registers back. */
static void on_stray_pio(struct lg_worker *w, struct lg_task *t, bool emulated)
{
	struct kvm_run *run = w->vcpu->run;
	struct kvm_regs saved = run->s.regs.regs;
	uint64_t rip = saved.rip;
	if (emulated && run->io.direction == KVM_EXIT_IO_OUT)
		rip -= pio_insn_len(t, rip);
	if (run->io.direction == KVM_EXIT_IO_IN)
		memset((uint8_t *)run + run->io.data_offset, 0xff, (size_t)run->io.size * run->io.count);
	run->immediate_exit = 1;
	(void)vcpu_run(w->vcpu); /* -EINTR at once, after KVM's pending completion */
	run->immediate_exit = 0;
	struct lg_uctx u = { .r = saved, .user_mode = true };
	u.r.rip = rip;
	t->uctx = &u;
	lg_signal_from_exception(t, X86_EXC_GP, 0, 0);
	finish(w, t, &u, false);
}

/* The fast path: an `out` on LG_PORT_SYSCALL.  KVM's fast PIO path (VT-x,
 * AMD-V) exits with RIP on the instruction, PVM's emulation past it. */
static void on_site(struct lg_worker *w, struct lg_task *t)
{
	struct kvm_run *run = w->vcpu->run;
	struct kvm_regs *k = &run->s.regs.regs;
	bool emulated = !w->lg->syscall_cpl0;
	uint64_t site = emulated ? k->rip - 2 : k->rip;
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 || run->io.count != 1 ||
	    !lg_sites_lookup(t, site)) {
		on_stray_pio(w, t, emulated);
		return;
	}
	/* What `syscall` leaves: RCX = the next instruction, R11 = RFLAGS. */
	struct lg_uctx u = { .r = *k, .in_syscall = true, .orig_rax = k->rax, .user_mode = true };
	u.r.rip = u.r.rcx = site + 2;
	u.r.r11 = k->rflags;
	serve_syscall(w, t, &u);
}

static void on_page_fault(struct lg_task *t, uint64_t err, uint64_t cr2)
{
	struct lg_mm *mm = t->mm;
	__atomic_fetch_add(&t->lg->stats.page_faults, 1, __ATOMIC_RELAXED);
	pthread_rwlock_wrlock(&mm->lock);
	int r = lg_mm_fault(mm, cr2, err & 2, err & 16);
	pthread_rwlock_unlock(&mm->lock);
	if (r == -ENOMEM) {
		lg_oom_task(t); /* retry after a victim died, or die of the SIGKILL */
		return;
	}
	if (r == 0) {
		if (cr2 == t->last_fault && ++t->fault_repeat > 64)
			r = -EFAULT; /* resolved again and again: give up */
		else if (cr2 != t->last_fault)
			t->fault_repeat = 0;
		t->last_fault = cr2;
	}
	if (r < 0)
		lg_signal_from_exception(t, X86_EXC_PF, err, cr2);
}

static void on_exception(struct lg_worker *w, struct lg_task *t)
{
	struct kvm_regs *k = &w->vcpu->run->s.regs.regs;
	uint64_t *f = exc_frame(w);
	if (k->rsp != lg_cpu_stack_top_va(w->slot) - 7 * 8 || (f[3] & 3) != 3) {
		lg_fatal(t->lg, -EIO,
			 "exception %s in the guest kernel (vector %llu, rip 0x%llx): guest state corrupt",
			 x86_exception_name((unsigned)f[0]), (unsigned long long)f[0],
			 (unsigned long long)f[2]);
		return;
	}
	__atomic_fetch_add(&t->lg->stats.exceptions, 1, __ATOMIC_RELAXED);
	struct lg_uctx u = { .r = *k };
	u.r.rip = f[2];
	u.r.rflags = f[4];
	u.r.rsp = f[5];
	t->uctx = &u;
	unsigned vec = (unsigned)f[0];
	if (vec == X86_EXC_PF) {
		struct kvm_sregs s;
		_cleanup_err_ struct cell_err *err = NULL;
		if (vcpu_get_sregs(w->vcpu, &s, &err) < 0) {
			lg_fatal(t->lg, -EIO, "%s", err->msg);
			return;
		}
		on_page_fault(t, f[1], s.cr2);
	} else {
		lg_signal_from_exception(t, vec, f[1], 0);
	}
	finish(w, t, &u, true);
}

static bool in_sys_area(uint64_t rip)
{
	return rip >= LG_VA_SYS && rip < LG_VA_SYS + LG_SYS_SIZE;
}

/* Kicked out of KVM_RUN: a signal, a pause, a time slice or the end. */
static void on_kick(struct lg_worker *w, struct lg_task *t)
{
	struct kvm_regs *k = &w->vcpu->run->s.regs.regs;
	/* Inside a stub or the trampoline: let it reach its exit first. */
	if (in_sys_area(k->rip) || !lg_signal_pending(t))
		return;
	struct lg_uctx u = { .r = *k };
	t->uctx = &u;
	finish(w, t, &u, false);
}

static void on_unknown_io(struct lg_worker *w)
{
	struct kvm_run *run = w->vcpu->run;
	vcpu_count(&w->vcpu->stats.io_bytes, (uint64_t)run->io.size * run->io.count);
	cell_debug("light guest: ignored %s of port 0x%x", run->io.direction ? "write" : "read",
		   run->io.port);
	if (run->io.direction == KVM_EXIT_IO_IN)
		memset((uint8_t *)run + run->io.data_offset, 0xff, (size_t)run->io.size * run->io.count);
}

static void on_internal_error(struct lg_worker *w)
{
	struct kvm_run *run = w->vcpu->run;
	char extra[160] = "";
	size_t off = 0;
	for (uint32_t i = 0; i < run->internal.ndata && i < 4 && off < sizeof(extra); i++)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off, " 0x%llx",
					(unsigned long long)run->internal.data[i]);
	lg_fatal(w->lg, -EIO, "KVM internal error (suberror %u%s%s) at rip 0x%llx",
		 run->internal.suberror, off ? ", data" : "", extra,
		 (unsigned long long)run->s.regs.regs.rip);
}

/* One exit; false when the VM cannot go on. */
static bool handle_exit(struct lg_worker *w, struct lg_task *t)
{
	struct kvm_run *run = w->vcpu->run;
	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		vcpu_count(&w->vcpu->stats.mmio_bytes, run->mmio.len);
		if (run->mmio.phys_addr == LG_GPA_DOORBELL && run->mmio.is_write) {
			on_syscall(w, t);
		} else {
			cell_debug("light guest: ignored MMIO %s at 0x%llx",
				   run->mmio.is_write ? "write" : "read",
				   (unsigned long long)run->mmio.phys_addr);
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		}
		return true;
	case KVM_EXIT_IO:
		if (run->io.port == LG_PORT_SYSCALL)
			on_site(w, t);
		else if (run->io.port == LG_PORT_EXCEPTION && run->io.direction == KVM_EXIT_IO_OUT)
			on_exception(w, t);
		else
			on_unknown_io(w);
		return true;
	case KVM_EXIT_SHUTDOWN:
		lg_fatal(w->lg, -EIO, "triple fault (shutdown) at rip 0x%llx",
			 (unsigned long long)run->s.regs.regs.rip);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		on_internal_error(w);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		lg_fatal(w->lg, -EIO, "KVM could not enter the guest (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_HLT:
		lg_fatal(w->lg, -EIO, "the guest halted at rip 0x%llx",
			 (unsigned long long)run->s.regs.regs.rip);
		return false;
	default:
		lg_fatal(w->lg, -EIO, "unexpected VM exit %s (%u)", kvm_exit_name(run->exit_reason),
			 run->exit_reason);
		return false;
	}
}

static bool must_stop(struct lg_task *t)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	while (lg->paused && !lg->done)
		pthread_cond_wait(&lg->cond, &lg->lock);
	bool stop = t->exit_requested || t->proc->exiting || lg->fatal;
	pthread_mutex_unlock(&lg->lock);
	return stop;
}

void lg_worker_run_task(struct lg_worker *w, struct lg_task *t)
{
	struct lg *lg = w->lg;
	_cleanup_err_ struct cell_err *err = NULL;
	if (lg_worker_load(w, t, &err) < 0) {
		lg_fatal(lg, -EIO, "%s", err->msg);
		return;
	}
	while (!must_stop(t)) {
		if (lg_signal_pending(t)) {
			/* e.g. a new task with a signal already queued */
			struct kvm_regs *k = &w->vcpu->run->s.regs.regs;
			if (!in_sys_area(k->rip)) {
				struct lg_uctx u = { .r = *k };
				t->uctx = &u;
				finish(w, t, &u, false);
				continue;
			}
		}
		lg_cpus_acquire(lg, &lg->cpus);
		__atomic_store_n(&w->in_guest, true, __ATOMIC_RELAXED);
		int r = vcpu_run(w->vcpu);
		__atomic_store_n(&w->in_guest, false, __ATOMIC_RELAXED);
		lg_cpus_release(&lg->cpus);
		if (r == -EINTR) {
			on_kick(w, t);
			continue;
		}
		if (r < 0) {
			lg_fatal(lg, r, "KVM_RUN: %s", strerror(-r));
			break;
		}
		if (!handle_exit(w, t))
			break;
	}
}
