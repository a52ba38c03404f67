/* Signal delivery in the light guest, as Linux does it on x86-64
 * (arch/x86/kernel/signal.c, signal_64.c): pick a pending unblocked
 * signal, apply its default action or build an rt_sigframe on the user
 * stack and enter the handler; rt_sigreturn undoes the frame. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"

/* The x86-64 user ABI structures (uapi asm/sigcontext.h, asm/ucontext.h),
 * spelled out: glibc's own versions differ in layout. */
struct lg_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct lg_ucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
	struct lg_sigcontext mc;
	uint64_t sigmask;
};

struct lg_rt_sigframe {
	uint64_t pretcode;
	struct lg_ucontext uc;
	uint8_t info[128];
};

_Static_assert(sizeof(struct lg_sigcontext) == 256, "sigcontext layout");
_Static_assert(offsetof(struct lg_ucontext, mc) == 40, "ucontext layout");
_Static_assert(sizeof(struct lg_rt_sigframe) == 440, "rt_sigframe layout");

#define SA_RESTORER_ 0x04000000
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FXSAVE_SIZE 512
#define SS_ONSTACK_ 1
#define SS_DISABLE_ 2
/* What sigreturn may change in RFLAGS (FIX_EFLAGS in signal.c) */
#define FIX_EFLAGS 0x50dd5ULL

static lg_sigset_t bit(int sig)
{
	return 1ULL << (sig - 1);
}

bool lg_sig_is_fatal_default(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return false;
	default:
		return true;
	}
}

static bool dumps_core(int sig)
{
	switch (sig) {
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
		return true;
	default:
		return false;
	}
}

static void siginfo_write(uint8_t out[128], const struct lg_siginfo *si)
{
	memset(out, 0, 128);
	int32_t hdr[3] = { si->signo, si->errnum, si->code };
	memcpy(out, hdr, sizeof(hdr));
	switch (si->signo) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
		memcpy(out + 16, &si->addr, 8);
		break;
	case SIGCHLD: {
		int32_t v[3] = { si->pid, (int32_t)si->uid, si->status };
		memcpy(out + 16, v, sizeof(v));
		break;
	}
	default: {
		int32_t v[2] = { si->pid, (int32_t)si->uid };
		memcpy(out + 16, v, sizeof(v));
		break;
	}
	}
}

/* Synchronous signals first (as Linux's next_signal), then the lowest. */
static int next_signal(lg_sigset_t pend)
{
	const lg_sigset_t sync = bit(SIGSEGV) | bit(SIGBUS) | bit(SIGILL) | bit(SIGTRAP) |
				 bit(SIGFPE) | bit(SIGSYS);
	lg_sigset_t s = (pend & sync) ? (pend & sync) : pend;
	return s ? __builtin_ctzll(s) + 1 : 0;
}

/* lg->lock held: take the next deliverable signal. */
static int dequeue(struct lg_task *t, struct lg_siginfo *info)
{
	lg_sigset_t mine = t->pending.set & ~t->blocked;
	lg_sigset_t shared = t->proc->shared_pending.set & ~t->blocked;
	int sig = next_signal(mine | shared);
	if (!sig)
		return 0;
	if (mine & bit(sig)) {
		t->pending.set &= ~bit(sig);
		*info = t->pending.info[sig - 1];
	} else {
		t->proc->shared_pending.set &= ~bit(sig);
		*info = t->proc->shared_pending.info[sig - 1];
	}
	return sig;
}

static void restart_syscall(struct lg_uctx *u, bool handler, uint64_t sa_flags)
{
	if (!u->in_syscall)
		return;
	long r = (long)u->r.rax;
	bool restart = false;
	if (r == -LG_ERESTARTNOINTR)
		restart = true;
	else if (r == -LG_ERESTARTSYS)
		restart = !handler || (sa_flags & SA_RESTART);
	else if (r == -LG_ERESTARTNOHAND)
		restart = !handler;
	else
		return;
	if (restart) {
		u->r.rax = u->orig_rax;
		u->r.rip -= 2; /* back onto the 2-byte syscall instruction */
	} else {
		u->r.rax = (uint64_t)-EINTR;
	}
	u->in_syscall = false;
}

static void die(struct lg_task *t, int sig)
{
	struct lg_proc *p = t->proc;
	if (p->exiting)
		return;
	p->exiting = true;
	p->exit_code = sig | (dumps_core(sig) ? 0x80 : 0);
	for (struct lg_task *o = p->threads; o; o = o->next_thread)
		if (o != t)
			lg_task_kick(o);
}

static int save_fpu(struct lg_task *t, uint8_t out[FXSAVE_SIZE])
{
	struct kvm_fpu f;
	if (ioctl(t->worker->vcpu->fd, KVM_GET_FPU, &f) < 0)
		return -EIO;
	memset(out, 0, FXSAVE_SIZE);
	memcpy(out + 0, &f.fcw, 2);
	memcpy(out + 2, &f.fsw, 2);
	out[4] = f.ftwx;
	memcpy(out + 6, &f.last_opcode, 2);
	memcpy(out + 8, &f.last_ip, 8);
	memcpy(out + 16, &f.last_dp, 8);
	memcpy(out + 24, &f.mxcsr, 4);
	uint32_t mask = 0xffff;
	memcpy(out + 28, &mask, 4);
	memcpy(out + 32, f.fpr, 128);
	memcpy(out + 160, f.xmm, 256);
	return 0;
}

static int restore_fpu(struct lg_task *t, const uint8_t in[FXSAVE_SIZE])
{
	struct kvm_fpu f = { 0 };
	memcpy(&f.fcw, in + 0, 2);
	memcpy(&f.fsw, in + 2, 2);
	f.ftwx = in[4];
	memcpy(&f.last_opcode, in + 6, 2);
	memcpy(&f.last_ip, in + 8, 8);
	memcpy(&f.last_dp, in + 16, 8);
	memcpy(&f.mxcsr, in + 24, 4);
	f.mxcsr &= 0xffff; /* reserved bits would fault on restore */
	memcpy(f.fpr, in + 32, 128);
	memcpy(f.xmm, in + 160, 256);
	return ioctl(t->worker->vcpu->fd, KVM_SET_FPU, &f) < 0 ? -EIO : 0;
}

static bool on_altstack(const struct lg_task *t, uint64_t sp)
{
	return t->altstack_size && sp > t->altstack_sp && sp - t->altstack_sp <= t->altstack_size;
}

static void fill_sigcontext(struct lg_sigcontext *mc, const struct kvm_regs *r)
{
	*mc = (struct lg_sigcontext){
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11, .r12 = r->r12,
		.r13 = r->r13, .r14 = r->r14, .r15 = r->r15, .rdi = r->rdi, .rsi = r->rsi,
		.rbp = r->rbp, .rbx = r->rbx, .rdx = r->rdx, .rax = r->rax, .rcx = r->rcx,
		.rsp = r->rsp, .rip = r->rip, .eflags = r->rflags,
		.cs = LG_SEL_USER_CS, .ss = LG_SEL_USER_DS,
	};
}

/* Build the frame and point the context at the handler; -EFAULT if the
 * stack cannot take it. */
static int setup_frame(struct lg_task *t, int sig, const struct lg_sigaction *a,
		       const struct lg_siginfo *si, lg_sigset_t oldmask)
{
	struct lg_uctx *u = t->uctx;
	uint64_t sp = u->r.rsp;
	bool onstack = on_altstack(t, sp);
	if ((a->flags & SA_ONSTACK) && t->altstack_size && !onstack)
		sp = t->altstack_sp + t->altstack_size;
	else
		sp -= 128; /* the red zone */
	sp = (sp - FXSAVE_SIZE) & ~63ULL;
	uint64_t fpstate = sp;
	sp = ((sp - sizeof(struct lg_rt_sigframe)) & ~15ULL) - 8;
	if (!(a->flags & SA_RESTORER_))
		return -EFAULT; /* x86-64 has no kernel-provided trampoline */

	uint8_t fx[FXSAVE_SIZE];
	struct lg_rt_sigframe f = { .pretcode = a->restorer };
	f.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.ss_sp = t->altstack_sp;
	f.uc.ss_size = t->altstack_size;
	f.uc.ss_flags = t->altstack_size ? (onstack ? SS_ONSTACK_ : 0) : SS_DISABLE_;
	fill_sigcontext(&f.uc.mc, &u->r);
	f.uc.mc.trapno = (uint64_t)si->trapno;
	f.uc.mc.cr2 = si->signo == SIGSEGV ? si->addr : 0;
	f.uc.mc.oldmask = oldmask;
	f.uc.mc.fpstate = fpstate;
	f.uc.sigmask = oldmask;
	siginfo_write(f.info, si);
	if (save_fpu(t, fx) < 0 || lg_copy_to(t->mm, fpstate, fx, sizeof(fx)) < 0 ||
	    lg_copy_to(t->mm, sp, &f, sizeof(f)) < 0)
		return -EFAULT;
	u->r.rsp = sp;
	u->r.rip = a->handler;
	u->r.rdi = (uint64_t)sig;
	u->r.rsi = sp + offsetof(struct lg_rt_sigframe, info);
	u->r.rdx = sp + offsetof(struct lg_rt_sigframe, uc);
	u->r.rax = 0;
	u->r.rflags &= ~(X86_RFLAGS_TF | (1ULL << 10) /* DF */);
	/* A fresh FPU state for the handler, as Linux gives it. */
	struct kvm_fpu init = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	ioctl(t->worker->vcpu->fd, KVM_SET_FPU, &init);
	return 0;
}

/* Run the handler for sig: false if the frame could not be built. */
static bool handle(struct lg_task *t, int sig, const struct lg_siginfo *si)
{
	struct lg *lg = t->lg;
	struct lg_sigaction a = t->proc->sighand->action[sig - 1];
	lg_sigset_t oldmask = t->restore_blocked ? t->saved_blocked : t->blocked;
	restart_syscall(t->uctx, true, a.flags);
	pthread_mutex_unlock(&lg->lock);
	int r = setup_frame(t, sig, &a, si, oldmask);
	pthread_mutex_lock(&lg->lock);
	if (r < 0)
		return false;
	t->restore_blocked = false;
	t->blocked = oldmask | a.mask;
	if (!(a.flags & SA_NODEFER))
		t->blocked |= bit(sig);
	t->blocked &= ~(bit(SIGKILL) | bit(SIGSTOP));
	if (a.flags & SA_RESETHAND)
		t->proc->sighand->action[sig - 1].handler = (uint64_t)(uintptr_t)SIG_DFL;
	return true;
}

void lg_signal_deliver(struct lg_task *t)
{
	struct lg *lg = t->lg;
	pthread_mutex_lock(&lg->lock);
	for (;;) {
		if (t->proc->exiting || t->exited)
			break;
		struct lg_siginfo si;
		int sig = dequeue(t, &si);
		if (!sig) {
			restart_syscall(t->uctx, false, 0);
			if (t->restore_blocked) {
				t->blocked = t->saved_blocked;
				t->restore_blocked = false;
			}
			break;
		}
		uint64_t h = t->proc->sighand->action[sig - 1].handler;
		if (h == (uint64_t)(uintptr_t)SIG_IGN)
			continue;
		if (h == (uint64_t)(uintptr_t)SIG_DFL) {
			if (!lg_sig_is_fatal_default(sig))
				continue; /* ignore; stop signals too: no job control */
			die(t, sig);
			break;
		}
		if (!handle(t, sig, &si))
			die(t, SIGSEGV);
		break;
	}
	pthread_mutex_unlock(&lg->lock);
}

long lg_signal_sigreturn(struct lg_task *t)
{
	struct lg_uctx *u = t->uctx;
	uint64_t frame = u->r.rsp - 8;
	struct lg_rt_sigframe f;
	u->noreturn = true;
	u->in_syscall = false;
	if (lg_copy_from(t->mm, &f, frame, sizeof(f)) < 0)
		goto bad;
	const struct lg_sigcontext *mc = &f.uc.mc;
	if (mc->fpstate) {
		uint8_t fx[FXSAVE_SIZE];
		if (lg_copy_from(t->mm, fx, mc->fpstate, sizeof(fx)) < 0 || restore_fpu(t, fx) < 0)
			goto bad;
	}
	struct kvm_regs *r = &u->r;
	r->r8 = mc->r8; r->r9 = mc->r9; r->r10 = mc->r10; r->r11 = mc->r11;
	r->r12 = mc->r12; r->r13 = mc->r13; r->r14 = mc->r14; r->r15 = mc->r15;
	r->rdi = mc->rdi; r->rsi = mc->rsi; r->rbp = mc->rbp; r->rbx = mc->rbx;
	r->rdx = mc->rdx; r->rax = mc->rax; r->rcx = mc->rcx; r->rsp = mc->rsp;
	r->rip = mc->rip;
	r->rflags = (r->rflags & ~FIX_EFLAGS) | (mc->eflags & FIX_EFLAGS);
	pthread_mutex_lock(&t->lg->lock);
	t->blocked = f.uc.sigmask & ~(bit(SIGKILL) | bit(SIGSTOP));
	pthread_mutex_unlock(&t->lg->lock);
	if (!(f.uc.ss_flags & SS_DISABLE_) && f.uc.ss_size && !on_altstack(t, mc->rsp)) {
		t->altstack_sp = f.uc.ss_sp;
		t->altstack_size = f.uc.ss_size;
	}
	return 0;
bad:
	pthread_mutex_lock(&t->lg->lock);
	die(t, SIGSEGV);
	pthread_mutex_unlock(&t->lg->lock);
	return 0;
}

/* Fault signals cannot be blocked or ignored: Linux's force_sig_fault. */
static void force(struct lg_task *t, const struct lg_siginfo *si)
{
	struct lg *lg = t->lg;
	int sig = si->signo;
	pthread_mutex_lock(&lg->lock);
	struct lg_sigaction *a = &t->proc->sighand->action[sig - 1];
	if ((t->blocked & bit(sig)) || a->handler == (uint64_t)(uintptr_t)SIG_IGN) {
		a->handler = (uint64_t)(uintptr_t)SIG_DFL;
		t->blocked &= ~bit(sig);
	}
	t->pending.set |= bit(sig);
	t->pending.info[sig - 1] = *si;
	pthread_mutex_unlock(&lg->lock);
}

void lg_signal_from_exception(struct lg_task *t, unsigned vector, uint64_t err, uint64_t cr2)
{
	uint64_t rip = t->uctx->r.rip;
	struct lg_siginfo si = { .trapno = (int)vector, .code = 0x80 /* SI_KERNEL */ };
	switch (vector) {
	case X86_EXC_DE: si.signo = SIGFPE; si.code = FPE_INTDIV; si.addr = rip; break;
	case X86_EXC_MF: si.signo = SIGFPE; si.code = FPE_FLTINV; si.addr = rip; break;
	case X86_EXC_XM: si.signo = SIGFPE; si.code = FPE_FLTINV; si.addr = rip; break;
	case X86_EXC_DB: si.signo = SIGTRAP; si.code = TRAP_TRACE; si.addr = rip; break;
	case X86_EXC_BP: si.signo = SIGTRAP; break;
	case X86_EXC_UD: si.signo = SIGILL; si.code = ILL_ILLOPN; si.addr = rip; break;
	case X86_EXC_AC: si.signo = SIGBUS; si.code = BUS_ADRALN; si.addr = rip; break;
	case X86_EXC_SS: si.signo = SIGBUS; break;
	case X86_EXC_PF:
		si.signo = SIGSEGV;
		si.code = (err & 1) ? SEGV_ACCERR : SEGV_MAPERR;
		si.addr = cr2;
		break;
	case X86_EXC_OF: case X86_EXC_BR: case X86_EXC_NP: case X86_EXC_GP: case X86_EXC_TS:
		si.signo = SIGSEGV;
		break;
	default:
		lg_fatal(t->lg, -EIO, "unexpected %s (vector %u) in pid %d (%s) at rip 0x%llx",
			 x86_exception_name(vector), vector, t->proc->pid, t->proc->comm,
			 (unsigned long long)rip);
		return;
	}
	char where[96];
	if (vector == X86_EXC_PF)
		snprintf(where, sizeof(where), " at address 0x%llx", (unsigned long long)cr2);
	else if (vector == X86_EXC_GP && err)
		snprintf(where, sizeof(where), " (error code 0x%llx)", (unsigned long long)err);
	else
		where[0] = '\0';
	snprintf(t->proc->fault, sizeof(t->proc->fault),
		 "pid %d (%s) killed by %s: %s%s, rip 0x%llx", t->proc->pid, t->proc->comm,
		 sigabbrev_np(si.signo) ? sigabbrev_np(si.signo) : "?", x86_exception_name(vector),
		 where, (unsigned long long)rip);
	t->proc->fault_sig = si.signo;
	force(t, &si);
}
