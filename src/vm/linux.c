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

static int read_whole(const char *path, uint8_t **ret, size_t *ret_len, struct cell_err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return cell_err_sys(err, "%s", path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > (1LL << 31))
		return cell_err(err, EINVAL, "%s: not a regular file of a usable size", path);
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return cell_err_sys(err, "%s", path);
	*ret = p;
	*ret_len = (size_t)st.st_size;
	return 0;
}

static int load_images(struct lx_vm *vm, const struct vm_linux_config *cfg, struct cell_err **err)
{
	uint8_t *kbuf, *ibuf = NULL;
	size_t klen, ilen = 0;
	int r = read_whole(cfg->kernel, &kbuf, &klen, err);
	if (r < 0)
		return r;
	struct lx_kernel k;
	r = lx_load_kernel(&vm->mem, kbuf, klen, cfg->kernel, &k, err);
	munmap(kbuf, klen);
	if (r < 0)
		return r;
	uint64_t iaddr = 0;
	if (cfg->initrd) {
		if ((r = read_whole(cfg->initrd, &ibuf, &ilen, err)) < 0)
			return r;
		r = lx_load_initrd(&vm->mem, &k, ibuf, ilen, cfg->initrd, &iaddr, err);
		munmap(ibuf, ilen);
		if (r < 0)
			return r;
	}
	vm->entry = k.entry;
	return lx_setup_boot_params(&vm->mem, &k, cfg->cmdline ? cfg->cmdline : DEFAULT_CMDLINE,
				    iaddr, ilen, err);
}

static int create_machine(struct lx_vm *vm, const struct vm_linux_config *cfg, struct cell_err **err)
{
	uint64_t mem = cfg->mem_size ? cfg->mem_size : VM_DEFAULT_MEM;
	if (mem < LX_RAM_MIN || mem > LX_RAM_MAX)
		return cell_err(err, 0, "memory size %llu bytes: a Linux guest needs %llu MiB to %llu GiB",
				(unsigned long long)mem, LX_RAM_MIN >> 20, LX_RAM_MAX >> 30);
	mem = (mem + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	int r = kvm_vm_create(&vm->kvm, err);
	if (r < 0)
		return r;
	if (ioctl(vm->kvm->fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
		return cell_err_sys(err, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->kvm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return cell_err_sys(err, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = { .flags = 0 };
	if (ioctl(vm->kvm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return cell_err_sys(err, "KVM_CREATE_PIT2");
	if ((r = kvm_vm_alloc_ram(vm->kvm, mem, cfg->hugepages, err)) < 0)
		return r;
	uint64_t low = mem < LX_GPA_MMIO_GAP ? mem : LX_GPA_MMIO_GAP;
	if ((r = kvm_vm_set_slot(vm->kvm, LX_SLOT_LOW, 0, vm->kvm->ram, low, err)) < 0)
		return r;
	if (mem > low &&
	    (r = kvm_vm_set_slot(vm->kvm, LX_SLOT_HIGH, LX_GPA_4G, vm->kvm->ram + low, mem - low, err)) < 0)
		return r;
	vm->mem = (struct lx_guest_mem){ .host = vm->kvm->ram, .size = mem };
	lx_boot_tables_build(vm->kvm->ram);
	return 0;
}

/* LINT0 as ExtINT (the PIC), LINT1 as NMI: what firmware leaves behind. */
static int setup_lapic(struct vcpu *v, struct cell_err **err)
{
	struct kvm_lapic_state l;
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_GET_LAPIC", v->id);
	uint32_t lint0, lint1;
	memcpy(&lint0, l.regs + 0x350, 4);
	memcpy(&lint1, l.regs + 0x360, 4);
	lint0 = (lint0 & ~0x700u) | 0x700; /* delivery mode ExtINT */
	lint1 = (lint1 & ~0x700u) | 0x400; /* NMI */
	memcpy(l.regs + 0x350, &lint0, 4);
	memcpy(l.regs + 0x360, &lint1, 4);
	if (ioctl(v->fd, KVM_SET_LAPIC, &l) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_SET_LAPIC", v->id);
	return 0;
}

static int setup_bsp(struct lx_vm *vm, struct vcpu *v, struct cell_err **err)
{
	struct kvm_sregs s;
	int r = vcpu_get_sregs(v, &s, err);
	if (r < 0)
		return r;
	lx_boot_sregs(&s);
	if ((r = vcpu_set_sregs(v, &s, err)) < 0)
		return r;
	struct kvm_regs regs = {
		.rip = vm->entry, .rsi = LX_GPA_BOOT_PARAMS, .rsp = BOOT_STACK, .rbp = BOOT_STACK,
		.rflags = X86_RFLAGS_FIXED,
	};
	if ((r = vcpu_set_regs(v, &regs, err)) < 0)
		return r;
	struct kvm_fpu f = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	if (ioctl(v->fd, KVM_SET_FPU, &f) < 0)
		return cell_err_sys(err, "vCPU 0: KVM_SET_FPU");
	return vcpu_set_msr(v, MSR_IA32_MISC_ENABLE, 1 /* fast strings */, err);
}

static int create_vcpus(struct lx_vm *vm, unsigned n, struct cell_err **err)
{
	vm->vcpus = xcalloc(n, sizeof(*vm->vcpus));
	for (unsigned i = 0; i < n; i++) {
		int r = vcpu_create(vm->kvm, i, &vm->vcpus[i], err);
		if (r < 0)
			return r;
		vm->nvcpus++;
		if ((r = setup_lapic(vm->vcpus[i], err)) < 0)
			return r;
	}
	/* The others wait for the BSP's INIT/SIPI in the in-kernel LAPIC. */
	return setup_bsp(vm, vm->vcpus[0], err);
}

void lx_vm_free(struct lx_vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_free(vm->vcpus[i]);
	free(vm->vcpus);
	free(vm->threads);
	serial_fini(&vm->serial);
	kvm_vm_free(vm->kvm);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

int lx_vm_create(const struct vm_linux_config *cfg, const struct lx_hooks *hooks,
		 struct lx_vm **ret, struct cell_err **err)
{
	if (!cfg->kernel)
		return cell_err(err, EINVAL, "a Linux guest needs a kernel");
	unsigned n = cfg->vcpus ? cfg->vcpus : 1;
	if (n > 64)
		return cell_err(err, EINVAL, "%u vCPUs: at most 64", n);
	struct lx_vm *vm = xcalloc(1, sizeof(*vm));
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	serial_init(&vm->serial, cfg->console_fd, serial_irq, vm);
	if (hooks)
		vm->hooks = *hooks;
	int r = create_machine(vm, cfg, err);
	if (r == 0)
		r = load_images(vm, cfg, err);
	if (r == 0)
		r = create_vcpus(vm, n, err);
	if (r < 0) {
		lx_vm_free(vm);
		return r;
	}
	vcpu_kick_setup();
	*ret = vm;
	return 0;
}

int lx_vm_start(struct lx_vm *vm, struct cell_err **err)
{
	vm->threads = xcalloc(vm->nvcpus, sizeof(*vm->threads));
	vm->args = xcalloc(vm->nvcpus, sizeof(*vm->args));
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		vm->args[i] = (struct vcpu_arg){ vm, vm->vcpus[i] };
		int r = pthread_create(&vm->threads[i], NULL, vcpu_main, &vm->args[i]);
		if (r) {
			lx_stop(vm, true, "cannot start vCPU threads");
			for (unsigned j = 0; j < i; j++)
				pthread_join(vm->threads[j], NULL);
			vm->nthreads = 0;
			return cell_err(err, r, "starting vCPU %u", i);
		}
		vm->nthreads++;
	}
	return 0;
}

void lx_vm_wait(struct lx_vm *vm, struct vm_result *ret)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nthreads; i++)
		pthread_join(vm->threads[i], NULL);
	vm->nthreads = 0;
	free(vm->args);
	vm->args = NULL;
	memset(ret, 0, sizeof(*ret));
	ret->vm_failed = vm->failed;
	ret->exited = !vm->failed;
	snprintf(ret->report, sizeof(ret->report), "%s", vm->report);
}

void lx_vm_request_stop(struct lx_vm *vm, const char *why)
{
	lx_stop(vm, false, "%s", why);
}

int vm_linux_run(const struct vm_linux_config *cfg, struct vm_result *ret, struct cell_err **err)
{
	struct lx_vm *vm;
	int r = lx_vm_create(cfg, NULL, &vm, err);
	if (r < 0)
		return r;
	if ((r = lx_vm_start(vm, err)) == 0)
		lx_vm_wait(vm, ret);
	lx_vm_free(vm);
	return r;
}
