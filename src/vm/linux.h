/* A Linux guest's machine (linux.c).  Internal to src/vm. */
#ifndef CELL_VM_LINUX_H
#define CELL_VM_LINUX_H

#include <pthread.h>
#include <stdbool.h>

#include "vm/arch/x86/linux-boot.h"
#include "vm/devices/serial.h"
#include "vm/kvm.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

struct lx_hooks {
	void (*enter_thread)(void *ctx, pid_t tid);
	void *ctx;
};

struct vcpu_arg;

struct lx_vm {
	struct kvm_vm *kvm;
	struct lx_guest_mem mem;
	struct serial serial;
	struct lx_hooks hooks;
	uint64_t entry;
	struct vcpu **vcpus;
	unsigned nvcpus;
	pthread_t *threads;
	struct vcpu_arg *args;
	unsigned nthreads;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping, failed, paused;
	char report[512];
	uint16_t logged_ports[64];
	unsigned nlogged;
};

int lx_vm_create(const struct vm_linux_config *cfg, const struct lx_hooks *hooks,
		 struct lx_vm **ret, struct cell_err **err);
int lx_vm_start(struct lx_vm *vm, struct cell_err **err);
void lx_vm_wait(struct lx_vm *vm, struct vm_result *ret);
void lx_vm_request_stop(struct lx_vm *vm, const char *why);
void lx_vm_free(struct lx_vm *vm);

#endif
