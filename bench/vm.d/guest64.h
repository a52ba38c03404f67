/* A bare ring-3 long-mode guest for bench/vm's own KVM programs
 * (exit-cost.c, floor.c), with no monitor logic: identity-mapped 2 MiB pages
 * for the first GiB and GUEST64_MMIO (1 GiB, no memslot: a store there is
 * an MMIO exit) mapped at itself, user accessible; a GDT with 64-bit
 * kernel code and user code and data; a TSS whose I/O bitmap lets ring 3
 * use port GUEST64_PORT (the light guest's patched syscall site).  The
 * tables take guest-physical 0x1000-0x8069; code goes at GUEST64_CODE. */
#ifndef BENCH_GUEST64_H
#define BENCH_GUEST64_H

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define GUEST64_CODE 0x100000ULL
#define GUEST64_MMIO 0x40000000ULL
#define GUEST64_PORT 0xe7

static void guest64_die(const char *m)
{
	perror(m);
	exit(1);
}

/* /dev/kvm (*kvm), a VM (*vm) and its RAM: size bytes, slot 0 at
 * guest-physical 0, returned. */
static uint8_t *guest64_vm(size_t size, int *kvm, int *vm)
{
	*kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (*kvm < 0)
		guest64_die("/dev/kvm");
	*vm = ioctl(*kvm, KVM_CREATE_VM, 0);
	uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct kvm_userspace_memory_region mr = { .slot = 0, .memory_size = size,
						  .userspace_addr = (uint64_t)(uintptr_t)ram };
	if (*vm < 0 || ram == MAP_FAILED || ioctl(*vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0)
		guest64_die("vm");
	return ram;
}

/* Write the tables into ram, give vCPU cpu the host's supported CPUID
 * (kvm: the /dev/kvm fd) and enter long mode in ring 3. */
static void guest64_setup(int kvm, int cpu, uint8_t *ram)
{
	uint64_t *pml4 = (uint64_t *)(ram + 0x1000), *pdpt = (uint64_t *)(ram + 0x2000);
	uint64_t *pd0 = (uint64_t *)(ram + 0x3000), *pd1 = (uint64_t *)(ram + 0x4000);
	pml4[0] = 0x2000 | 7;
	pdpt[0] = 0x3000 | 7;
	pdpt[1] = 0x4000 | 7;
	for (int i = 0; i < 512; i++) {
		pd0[i] = ((uint64_t)i << 21) | 0x87;
		pd1[i] = (GUEST64_MMIO + ((uint64_t)i << 21)) | 0x87;
	}
	uint64_t *gdt = (uint64_t *)(ram + 0x5000);
	gdt[2] = 0x00af9b000000ffffULL;
	gdt[5] = 0x00cff3000000ffffULL;
	gdt[6] = 0x00affb000000ffffULL;
	uint8_t *tss = ram + 0x6000;
	*(uint16_t *)(tss + 0x66) = 0x68;
	memset(tss + 0x68, 0xff, 8193);
	tss[0x68 + GUEST64_PORT / 8] &= (uint8_t) ~(1u << (GUEST64_PORT % 8));

	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 128 * sizeof(struct kvm_cpuid_entry2));
	if (!c)
		guest64_die("calloc");
	c->nent = 128;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0 || ioctl(cpu, KVM_SET_CPUID2, c) < 0)
		guest64_die("cpuid");
	free(c);
	struct kvm_sregs s;
	if (ioctl(cpu, KVM_GET_SREGS, &s) < 0)
		guest64_die("sregs");
	s.cr0 = 0x80050033;
	s.cr3 = 0x1000;
	s.cr4 = 0x620;
	s.efer = 0xd01;
	s.gdt.base = 0x5000;
	s.gdt.limit = 0x3f;
	s.cs = (struct kvm_segment){ .limit = 0xffffffff, .selector = 0x33, .type = 11,
				     .present = 1, .dpl = 3, .s = 1, .l = 1, .g = 1 };
	s.ss = s.ds = s.es = s.fs = s.gs =
		(struct kvm_segment){ .limit = 0xffffffff, .selector = 0x2b, .type = 3,
				      .present = 1, .dpl = 3, .db = 1, .s = 1, .g = 1 };
	s.tr = (struct kvm_segment){ .base = 0x6000, .limit = 0x68 + 8192, .type = 11,
				     .present = 1 };
	if (ioctl(cpu, KVM_SET_SREGS, &s) < 0)
		guest64_die("sregs");
}

#endif
