/* The VM and its memory.  One anonymous mapping holds all guest RAM; slots
 * map guest-physical ranges onto parts of it (Firecracker's GuestMemoryMmap,
 * in miniature). */
#include "vm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"

#define KVM_DEV "/dev/kvm"

bool kvm_available(const char **why)
{
	int fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (why)
			*why = errno == ENOENT ? "no /dev/kvm on this host"
					       : "cannot open /dev/kvm (permission?)";
		return false;
	}
	close(fd);
	return true;
}

static int check_caps(struct kvm_vm *vm, struct cell_err **err)
{
	static const struct {
		int cap;
		const char *name;
	} need[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, need[i].cap) <= 0)
			return cell_err(err, ENOTSUP, "%s: missing %s", KVM_DEV, need[i].name);
	int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	if (sync < 0 || !(sync & KVM_SYNC_X86_REGS))
		return cell_err(err, ENOTSUP, "%s: missing KVM_CAP_SYNC_REGS", KVM_DEV);
	vm->has_xsave = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	return 0;
}

static int load_cpuid(struct kvm_vm *vm, struct cell_err **err)
{
	for (uint32_t n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = xcalloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		c->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			vm->cpuid = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG)
			return cell_err(err, e, "%s: KVM_GET_SUPPORTED_CPUID", KVM_DEV);
	}
	return cell_err(err, E2BIG, "%s: KVM_GET_SUPPORTED_CPUID", KVM_DEV);
}

int kvm_vm_create(struct kvm_vm **ret, struct cell_err **err)
{
	struct kvm_vm *vm = xcalloc(1, sizeof(*vm));
	vm->fd = -1;
	vm->kvm_fd = open(KVM_DEV, O_RDWR | O_CLOEXEC);
	int r;
	if (vm->kvm_fd < 0) {
		r = errno == ENOENT ? cell_err(err, ENOENT, "%s: this host has no KVM", KVM_DEV)
				    : cell_err_sys(err, "open %s", KVM_DEV);
		goto fail;
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		r = cell_err(err, ENOTSUP, "%s: KVM API version %d, expected %d", KVM_DEV, api,
			     KVM_API_VERSION);
		goto fail;
	}
	if ((r = check_caps(vm, err)) < 0)
		goto fail;
	int sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		r = cell_err(err, errno ? errno : EINVAL, "%s: KVM_GET_VCPU_MMAP_SIZE", KVM_DEV);
		goto fail;
	}
	vm->run_size = (size_t)sz;
	vm->pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	if ((r = load_cpuid(vm, err)) < 0)
		goto fail;
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		r = cell_err_sys(err, "%s: KVM_CREATE_VM", KVM_DEV);
		goto fail;
	}
	*ret = vm;
	return 0;
fail:
	kvm_vm_free(vm);
	return r;
}

void kvm_vm_free(struct kvm_vm *vm)
{
	if (!vm)
		return;
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	free(vm->cpuid);
	free(vm);
}

int kvm_vm_alloc_ram(struct kvm_vm *vm, uint64_t size, bool huge, struct cell_err **err)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	if (huge) {
		if (size % (2ULL << 20))
			return cell_err(err, EINVAL, "hugepage-backed memory must be a multiple of 2 MiB");
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
		flags &= ~MAP_NORESERVE;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		if (huge)
			return cell_err(err, errno,
					"guest memory: %llu MiB of 2 MiB hugepages (see "
					"/proc/sys/vm/nr_hugepages)", (unsigned long long)(size >> 20));
		return cell_err(err, errno, "guest memory: mmap %llu MiB",
				(unsigned long long)(size >> 20));
	}
	/* Guest RAM never belongs in a core dump of the monitor, nor in a child
	 * the monitor might fork. */
	madvise(p, size, MADV_DONTDUMP);
	madvise(p, size, MADV_DONTFORK);
	vm->ram = p;
	vm->ram_size = size;
	vm->ram_huge = huge;
	return 0;
}

int kvm_vm_set_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, void *host, uint64_t size,
		    struct cell_err **err)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return cell_err_sys(err, "KVM_SET_USER_MEMORY_REGION slot %u at 0x%llx", slot,
				    (unsigned long long)gpa);
	return 0;
}

const char *kvm_exit_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "unknown",
		[KVM_EXIT_EXCEPTION] = "exception",
		[KVM_EXIT_IO] = "io",
		[KVM_EXIT_HYPERCALL] = "hypercall",
		[KVM_EXIT_DEBUG] = "debug",
		[KVM_EXIT_HLT] = "hlt",
		[KVM_EXIT_MMIO] = "mmio",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
		[KVM_EXIT_SHUTDOWN] = "shutdown",
		[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
		[KVM_EXIT_INTR] = "intr",
		[KVM_EXIT_SET_TPR] = "set_tpr",
		[KVM_EXIT_TPR_ACCESS] = "tpr_access",
		[KVM_EXIT_NMI] = "nmi",
		[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
		[KVM_EXIT_OSI] = "osi",
		[KVM_EXIT_SYSTEM_EVENT] = "system_event",
		[KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
		[KVM_EXIT_HYPERV] = "hyperv",
		[KVM_EXIT_X86_RDMSR] = "rdmsr",
		[KVM_EXIT_X86_WRMSR] = "wrmsr",
		[KVM_EXIT_DIRTY_RING_FULL] = "dirty_ring_full",
		[KVM_EXIT_X86_BUS_LOCK] = "bus_lock",
		[KVM_EXIT_NOTIFY] = "notify",
	};
	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "other";
}
