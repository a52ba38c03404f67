/* Statistics of a running VM as JSON (stats.c): vCPU time, exits by reason,
 * guest memory touched, the monitor's own memory, I/O. */
#ifndef CELL_VM_STATS_H
#define CELL_VM_STATS_H

#include <pthread.h>

#include "vm/kvm.h"
#include "vm/vcpu.h"

struct lg;
struct lx_vm;

char *vm_stats_guest(struct lg *lg);
char *vm_stats_linux(struct lx_vm *vm);

/* Resident bytes of guest RAM (what the guest has touched). */
uint64_t vm_stats_touched(const struct kvm_vm *kvm);

#endif
