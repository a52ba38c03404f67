/* A Linux guest: the kernel booted by the x86 boot protocol, an in-kernel
 * irqchip and PIT, a 16550 console, one host thread per vCPU.  Virtio
 * devices come later; port and MMIO accesses nothing claims are logged
 * once per address and ignored. */
#include "vm/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/layout.h"
#include "vm/arch/x86/linux-boot.h"

#define TSS_ADDR 0xfffbd000UL
#define BOOT_STACK 0x8ff0ULL
#define I8042_CMD 0x64
#define I8042_RESET 0xfe
#define MAX_LOGGED_PORTS 64
#define DEFAULT_CMDLINE "console=ttyS0 earlyprintk=serial,ttyS0,115200 reboot=k panic=1 pci=off nomodule"

static void lx_stop(struct lx_vm *vm, bool failed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void lx_stop(struct lx_vm *vm, bool failed, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->failed = failed;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(vm->report, sizeof(vm->report), fmt, ap);
		va_end(ap);
		for (unsigned i = 0; i < vm->nvcpus; i++)
			vcpu_kick(vm->vcpus[i]);
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static void serial_irq(void *ctx, bool level)
{
	struct lx_vm *vm = ctx;
	struct kvm_irq_level l = { .irq = LX_SERIAL_IRQ, .level = level };
	ioctl(vm->kvm->fd, KVM_IRQ_LINE, &l);
}

static void log_unknown_port(struct lx_vm *vm, uint16_t port, bool write)
{
	pthread_mutex_lock(&vm->lock);
	bool seen = false;
	for (unsigned i = 0; i < vm->nlogged; i++)
		if (vm->logged_ports[i] == port)
			seen = true;
	if (!seen && vm->nlogged < MAX_LOGGED_PORTS)
		vm->logged_ports[vm->nlogged++] = port;
	pthread_mutex_unlock(&vm->lock);
	if (!seen)
		cell_log(CELL_LOG_INFO, "vm: ignored %s of unknown port 0x%x", write ? "write" : "read",
			 port);
}

static void on_io(struct lx_vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	size_t total = (size_t)run->io.size * run->io.count;
	if (run->io.data_offset + total > vm->kvm->run_size)
		return; /* never trust the layout blindly */
	vcpu_count(&v->stats.io_bytes, total);
	uint16_t port = run->io.port;
	if (port >= LX_SERIAL_PORT && port < LX_SERIAL_PORT + SERIAL_NREGS && run->io.size == 1) {
		for (uint32_t i = 0; i < run->io.count; i++) {
			if (write)
				serial_write(&vm->serial, port - LX_SERIAL_PORT, data[i]);
			else
				data[i] = serial_read(&vm->serial, port - LX_SERIAL_PORT);
		}
		return;
	}
	if (port == I8042_CMD && write && data[0] == I8042_RESET) {
		lx_stop(vm, false, "the guest rebooted");
		return;
	}
	if (!write)
		memset(data, 0xff, total);
	if (port != 0x80) /* POST codes: noise */
		log_unknown_port(vm, port, write);
}

static void on_internal_error(struct lx_vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_regs r;
	ioctl(v->fd, KVM_GET_REGS, &r);
	lx_stop(vm, true, "KVM internal error (suberror %u) on vCPU %u at rip 0x%llx",
		run->internal.suberror, v->id, (unsigned long long)r.rip);
}

static void on_system_event(struct lx_vm *vm, struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		lx_stop(vm, false, "the guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		lx_stop(vm, false, "the guest rebooted");
		break;
	default:
		lx_stop(vm, true, "the guest crashed (system event %u)", v->run->system_event.type);
		break;
	}
}

static bool handle_exit(struct lx_vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		on_io(vm, v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_count(&v->stats.mmio_bytes, run->mmio.len);
		if (!run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		cell_debug("vm: ignored MMIO %s at 0x%llx", run->mmio.is_write ? "write" : "read",
			   (unsigned long long)run->mmio.phys_addr);
		return true;
	case KVM_EXIT_HLT:
		lx_stop(vm, false, "the guest halted");
		return false;
	case KVM_EXIT_SHUTDOWN:
		lx_stop(vm, true, "triple fault on vCPU %u (shutdown)", v->id);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		on_system_event(vm, v);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		on_internal_error(vm, v);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		lx_stop(vm, true, "KVM could not enter the guest (reason 0x%llx)",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		lx_stop(vm, true, "unexpected VM exit %s (%u) on vCPU %u",
			kvm_exit_name(run->exit_reason), run->exit_reason, v->id);
		return false;
	}
}

static bool wait_unpaused(struct lx_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	while (vm->paused && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	bool stop = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return !stop;
}

struct vcpu_arg {
	struct lx_vm *vm;
	struct vcpu *v;
};

static void *vcpu_main(void *arg)
{
	struct vcpu_arg *a = arg;
	struct lx_vm *vm = a->vm;
	struct vcpu *v = a->v;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	_cleanup_err_ struct cell_err *err = NULL;
	if (vcpu_thread_init(v, &err) < 0) {
		lx_stop(vm, true, "%s", err->msg);
		return NULL;
	}
	if (vm->hooks.enter_thread)
		vm->hooks.enter_thread(vm->hooks.ctx, v->tid);
	while (wait_unpaused(vm)) {
		int r = vcpu_run(v);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			lx_stop(vm, true, "KVM_RUN on vCPU %u: %s", v->id, strerror(-r));
			break;
		}
		if (!handle_exit(vm, v))
			break;
	}
	return NULL;
}
