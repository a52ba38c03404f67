/* vCPUs: one KVM vCPU, its shared kvm_run page and its exit counters.  The
 * thread that runs a vCPU is the caller's (src/vm/guest, src/vm/linux.c);
 * this file knows nothing about what runs in the guest. */
#ifndef CELL_VM_VCPU_H
#define CELL_VM_VCPU_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "vm/kvm.h"

/* Kicking a vCPU out of KVM_RUN (or out of a blocking wait in its thread):
 * this signal is blocked in vCPU threads except inside KVM_RUN (through
 * KVM_SET_SIGNAL_MASK) and inside vcpu_wait_fds(), so a kick is never lost:
 * sent at any other time it stays pending and ends the next wait at once. */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 3)

struct vcpu_stats {
	uint64_t exits[KVM_EXIT_NAMES_MAX]; /* by KVM_EXIT_* reason; updated atomically */
	uint64_t io_bytes;                  /* port I/O payload */
	uint64_t mmio_bytes;
};

struct vcpu {
	struct kvm_vm *vm;
	int fd;
	unsigned id;
	struct kvm_run *run;
	pid_t tid;            /* the thread running it, once vcpu_thread_init() ran */
	pthread_t thread;
	struct vcpu_stats stats;
};

int vcpu_create(struct kvm_vm *vm, unsigned id, struct vcpu **ret, struct cell_err **err);
void vcpu_free(struct vcpu *v);

/* Call once in the thread that will run v: blocks the kick signal in that
 * thread and tells KVM to unblock it during KVM_RUN. */
int vcpu_thread_init(struct vcpu *v, struct cell_err **err);
/* Install the (empty) kick handler; once per process, before any vCPU thread. */
void vcpu_kick_setup(void);
void vcpu_kick(struct vcpu *v);

/* One KVM_RUN.  0: run->exit_reason says why; -EINTR: kicked; other -errno:
 * KVM refused (the VM cannot go on). */
int vcpu_run(struct vcpu *v);

/* Wait until one of fds is ready, timeout_ms passes (-1: forever) or a kick
 * arrives (-EINTR).  Returns the number of ready fds (0 on timeout). */
struct pollfd;
int vcpu_wait_fds(struct pollfd *fds, unsigned n, int64_t timeout_ns);

/* Register access with errors that say which ioctl failed. */
int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *s, struct cell_err **err);
int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *s, struct cell_err **err);
int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r, struct cell_err **err);
int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r, struct cell_err **err);
int vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t value, struct cell_err **err);
int vcpu_get_msr(struct vcpu *v, uint32_t index, uint64_t *value, struct cell_err **err);

static inline void vcpu_count(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline uint64_t vcpu_read_counter(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

#endif
