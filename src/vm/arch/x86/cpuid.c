/* CPUID for vCPUs.  KVM_GET_SUPPORTED_CPUID is already filtered to what KVM
 * can virtualise (under PVM: no XSAVE/AVX, SSE2 only); per-vCPU fields are
 * set here, the rest passes through. */
#include "vm/arch/x86/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/util.h"

#define CPUID_1_ECX_XSAVE (1u << 26)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

bool x86_cpuid_has_xsave(const struct kvm_vm *vm)
{
	for (uint32_t i = 0; i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 1)
			return vm->cpuid->entries[i].ecx & CPUID_1_ECX_XSAVE;
	return false;
}

int x86_cpuid_set(struct kvm_vm *vm, int vcpu_fd, unsigned vcpu_id, struct cell_err **err)
{
	size_t sz = sizeof(struct kvm_cpuid2) + vm->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
	_cleanup_free_ struct kvm_cpuid2 *c = xmalloc(sz);
	memcpy(c, vm->cpuid, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x00ffffffu) | ((vcpu_id & 0xffu) << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 0xb:
		case 0x1f:
			e->edx = vcpu_id; /* x2APIC ID */
			break;
		default:
			break;
		}
	}
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0)
		return cell_err_sys(err, "vCPU %u: KVM_SET_CPUID2", vcpu_id);
	return 0;
}
