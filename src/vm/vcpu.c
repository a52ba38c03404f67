/* vCPUs.  Each is driven by exactly one host thread; other threads only kick
 * it (a signal) and read its counters. */
#include "vm/vcpu.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "vm/arch/x86/cpuid.h"

int vcpu_create(struct kvm_vm *vm, unsigned id, struct vcpu **ret, struct cell_err **err)
{
	int fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (fd < 0)
		return cell_err_sys(err, "KVM_CREATE_VCPU %u", id);
	void *run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		int r = cell_err_sys(err, "vCPU %u: mmap kvm_run", id);
		close(fd);
		return r;
	}
	int r = x86_cpuid_set(vm, fd, id, err);
	if (r < 0) {
		munmap(run, vm->run_size);
		close(fd);
		return r;
	}
	struct vcpu *v = xcalloc(1, sizeof(*v));
	v->vm = vm;
	v->fd = fd;
	v->id = id;
	v->run = run;
	*ret = v;
	return 0;
}

void vcpu_free(struct vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->vm->run_size);
	close(v->fd);
	free(v);
}

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_kick_setup(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a kick must end a blocking wait with EINTR. */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_thread_init(struct vcpu *v, struct cell_err **err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	/* The mask KVM_RUN uses: the thread's, without the kick. */
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	sigdelset(&cur, VCPU_KICK_SIGNAL);
	/* The kernel's sigset_t is 8 bytes, not glibc's 128. */
	uint64_t buf[(sizeof(struct kvm_signal_mask) + 8 + 7) / 8] = { 0 };
	struct kvm_signal_mask *m = (struct kvm_signal_mask *)buf;
	m->len = 8;
	memcpy(m->sigset, &cur, 8);
	if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, m) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_SET_SIGNAL_MASK", v->id);
	v->thread = pthread_self();
	v->tid = (pid_t)syscall(SYS_gettid);
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->tid > 0)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

/* KVM_RUN ends with EINTR when the kick is pending, but hands back with the
 * thread's own mask, where the kick is blocked: it would stay pending and
 * end every later KVM_RUN at once.  Take it off the queue (as QEMU's
 * kvm_eat_signals does). */
static void eat_kick(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

int vcpu_run(struct vcpu *v)
{
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		int e = errno;
		if (e == EINTR || e == EAGAIN) {
			eat_kick();
			vcpu_count(&v->stats.exits[KVM_EXIT_INTR], 1);
			return -EINTR;
		}
		return -e;
	}
	uint32_t reason = v->run->exit_reason;
	vcpu_count(&v->stats.exits[reason < KVM_EXIT_NAMES_MAX ? reason : 0], 1);
	return 0;
}

int vcpu_wait_fds(struct pollfd *fds, unsigned n, int64_t timeout_ns)
{
	sigset_t mask;
	pthread_sigmask(SIG_BLOCK, NULL, &mask);
	sigdelset(&mask, VCPU_KICK_SIGNAL);
	struct timespec ts, *tp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tp = &ts;
	}
	int r = ppoll(fds, n, tp, &mask);
	return r < 0 ? -errno : r;
}

int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s, struct cell_err **err)
{
	if (ioctl(v->fd, KVM_GET_SREGS, s) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_GET_SREGS", v->id);
	return 0;
}

int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *s, struct cell_err **err)
{
	if (ioctl(v->fd, KVM_SET_SREGS, s) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_SET_SREGS", v->id);
	return 0;
}

int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r, struct cell_err **err)
{
	if (ioctl(v->fd, KVM_GET_REGS, r) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_GET_REGS", v->id);
	return 0;
}

int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r, struct cell_err **err)
{
	if (ioctl(v->fd, KVM_SET_REGS, r) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_SET_REGS", v->id);
	return 0;
}

/* A struct kvm_msrs with room for n entries (it ends in a flexible array). */
#define MSRS_BUF(name, n) \
	uint64_t name##_buf[(sizeof(struct kvm_msrs) + (n) * sizeof(struct kvm_msr_entry)) / 8] = { 0 }; \
	struct kvm_msrs *name = (struct kvm_msrs *)name##_buf

int vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t value, struct cell_err **err)
{
	MSRS_BUF(m, 1);
	m->nmsrs = 1;
	m->entries[0] = (struct kvm_msr_entry){ .index = index, .data = value };
	if (ioctl(v->fd, KVM_SET_MSRS, m) != 1)
		return cell_err(err, errno ? errno : EINVAL, "vCPU %u: KVM_SET_MSRS 0x%x", v->id,
				index);
	return 0;
}

int vcpu_get_msr(struct vcpu *v, uint32_t index, uint64_t *value, struct cell_err **err)
{
	MSRS_BUF(m, 1);
	m->nmsrs = 1;
	m->entries[0].index = index;
	if (ioctl(v->fd, KVM_GET_MSRS, m) != 1)
		return cell_err(err, errno ? errno : EINVAL, "vCPU %u: KVM_GET_MSRS 0x%x", v->id,
				index);
	*value = m->entries[0].data;
	return 0;
}
