/* KVM plumbing shared by both kinds of guest: the VM, its memory slots and
 * the host mapping of guest RAM.  Internal to src/vm. */
#ifndef CELL_VM_KVM_H
#define CELL_VM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "base/err.h"

struct kvm_vm {
	int kvm_fd;
	int fd;
	size_t run_size;          /* KVM_GET_VCPU_MMAP_SIZE */
	bool pvm;                 /* kvm_pvm: guest ring 0 is emulated, SYSCALL stays in ring 3 */
	bool has_xsave;
	struct kvm_cpuid2 *cpuid; /* what vCPUs are given */
	uint8_t *ram;             /* host mapping of guest RAM (one mapping, 1-2 slots) */
	uint64_t ram_size;
	bool ram_huge;            /* backed by hugetlbfs pages */
};

/* Open /dev/kvm (-ENOENT with a clear message where it is absent), check the
 * API version and the capabilities cell relies on, and create a VM. */
int kvm_vm_create(struct kvm_vm **ret, struct cell_err **err);
void kvm_vm_free(struct kvm_vm *vm);

/* Map size bytes of anonymous memory as guest RAM (MAP_NORESERVE: the host
 * commits pages on first touch).  huge asks for 2 MiB pages and fails
 * clearly when the host has none reserved. */
int kvm_vm_alloc_ram(struct kvm_vm *vm, uint64_t size, bool huge, struct cell_err **err);
/* Install [gpa, gpa+size) -> host as memslot slot; size 0 deletes it. */
int kvm_vm_set_slot(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, void *host, uint64_t size,
		    struct cell_err **err);

/* Does the host look like a probe for KVM? (for tests: skip with a message) */
bool kvm_available(const char **why);

/* A short name for a KVM_EXIT_* reason ("io", "mmio", "shutdown"...). */
const char *kvm_exit_name(uint32_t reason);
#define KVM_EXIT_NAMES_MAX 64

#endif
