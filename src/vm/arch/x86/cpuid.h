/* The CPUID a vCPU is given: what KVM supports, with the per-vCPU fields
 * (APIC ID) filled in. */
#ifndef CELL_VM_ARCH_X86_CPUID_H
#define CELL_VM_ARCH_X86_CPUID_H

#include <stdbool.h>

#include "base/err.h"
#include "vm/kvm.h"

int x86_cpuid_set(struct kvm_vm *vm, int vcpu_fd, unsigned vcpu_id, struct cell_err **err);
/* Does the guest CPU offer XSAVE (so CR4.OSXSAVE may be set)? */
bool x86_cpuid_has_xsave(const struct kvm_vm *vm);

#endif
