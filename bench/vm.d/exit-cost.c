/* The bare cost of one VM exit on this host, for bench/vm: a guest in ring 3
 * (long mode, identity-mapped) loops over a store to a page with no memslot
 * (an MMIO exit, the light guest's doorbell) and the monitor re-enters at
 * once, touching nothing.  Also `syscall` to a user-mode stub that returns
 * without exiting (what PVM's SYSCALL redirection alone costs), and the
 * light guest's whole doorbell round trip with no monitor logic: `syscall`
 * to a stub that stores to the MMIO page, the monitor setting RIP, RFLAGS
 * (IF on, as it does) and RAX through the sync area.  Last, a patched
 * syscall site as the light guest uses it: `out %al,$0xe7` in ring 3 (the
 * TSS's I/O bitmap allows that port), the monitor setting RIP past it, RFLAGS
 * and RAX through the sync area: one exit, no SYSCALL redirect.
 * Usage: exit-cost [N]  -> "mmio_exit_ns", "syscall_trap_ns", "doorbell_ns",
 * "pio_site_ns" lines. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "guest64.h"

#define RAM (4u << 20)
#define CODE GUEST64_CODE
#define MMIO GUEST64_MMIO
#define die guest64_die

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}


int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	int kvm, vm;
	uint8_t *ram = guest64_vm(RAM, &kvm, &vm);
	/* loop A at CODE: 1: mov %al,(MMIO); dec %rbx; jnz 1b; mov $60,%eax; syscall
	 * stub at CODE+0x100: jmp *%rcx  (LSTAR)
	 * loop B at CODE+0x200: 1: syscall; dec %rbx; jnz 1b; mov %al,(MMIO); */
	static const uint8_t a[] = { 0x88, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40, 0x48, 0xff, 0xcb,
				     0x75, 0xf4, 0x88, 0x04, 0x25, 0x00, 0x10, 0x00, 0x40, 0xf4 };
	static const uint8_t stub[] = { 0xff, 0xe1 };
	/* at CODE+0x300 (LSTAR for the doorbell mode): mov %al,(MMIO) */
	static const uint8_t bell[] = { 0x88, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40 };
	static const uint8_t b[] = { 0x0f, 0x05, 0x48, 0xff, 0xcb, 0x75, 0xf9, 0x88, 0x04, 0x25,
				     0x00, 0x10, 0x00, 0x40, 0xf4 };
	memcpy(ram + CODE, a, sizeof(a));
	memcpy(ram + CODE + 0x100, stub, sizeof(stub));
	memcpy(ram + CODE + 0x200, b, sizeof(b));
	memcpy(ram + CODE + 0x300, bell, sizeof(bell));
	/* at CODE+0x400: 1: out %al,$0xe7; dec %rbx; jnz 1b; mov %al,(MMIO+0x1000); hlt */
	static const uint8_t site[] = { 0xe6, 0xe7, 0x48, 0xff, 0xcb, 0x75, 0xf9, 0x88, 0x04, 0x25,
					0x00, 0x10, 0x00, 0x40, 0xf4 };
	memcpy(ram + CODE + 0x400, site, sizeof(site));
	int cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_run *run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
				   PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
	if (cpu < 0 || run == MAP_FAILED)
		die("vcpu");
	guest64_setup(kvm, cpu, ram);
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} __attribute__((packed)) *m = calloc(1, sizeof(*m));
	m->h.nmsrs = 2;
	m->e[0] = (struct kvm_msr_entry){ .index = 0xc0000081, .data = (0x23ULL << 48) | (0x10ULL << 32) };
	m->e[1] = (struct kvm_msr_entry){ .index = 0xc0000082, .data = CODE + 0x100 };
	ioctl(cpu, KVM_SET_MSRS, m);
	const char *names[4] = { "mmio_exit_ns", "syscall_trap_ns", "doorbell_ns", "pio_site_ns" };
	for (int mode = 0; mode < 4; mode++) {
		if (mode == 2) { /* LSTAR to the doorbell stub */
			m->e[1].data = CODE + 0x300;
			ioctl(cpu, KVM_SET_MSRS, m);
			run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		}
		static const uint64_t start[4] = { 0, 0x200, 0x200, 0x400 };
		struct kvm_regs r = { .rip = CODE + start[mode], .rbx = (uint64_t)n, .rflags = 2 };
		if (mode >= 2)
			r.rbx = (uint64_t)n + 1; /* the loop's own final store ends it */
		ioctl(cpu, KVM_SET_REGS, &r);
		long exits = 0;
		double t0 = now_ns();
		for (;;) {
			if (ioctl(cpu, KVM_RUN, 0) < 0)
				die("KVM_RUN");
			if (mode == 3 && run->exit_reason == KVM_EXIT_IO && run->io.port == 0xe7) {
				/* RIP is at the `out` (KVM's fast PIO path) or past it
				 * (emulated): either way the monitor moves it past. */
				struct kvm_regs *k = &run->s.regs.regs;
				if (exits == 0 && getenv("EXIT_COST_DEBUG"))
					fprintf(stderr, "pio exit rip = site%+lld\n",
						(long long)(k->rip - (CODE + 0x400)));
				k->rip = CODE + 0x402;
				k->rflags = (k->rflags & 0x254dd5) | 0x202;
				k->rax = 1;
				run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
				exits++;
				continue;
			}
			if (run->exit_reason != KVM_EXIT_MMIO) {
				fprintf(stderr, "exit %u\n", run->exit_reason);
				return 1;
			}
			if (run->mmio.phys_addr != MMIO)
				break; /* the end marker */
			exits++;
			if (mode == 2) { /* what the light guest's monitor does */
				struct kvm_regs *k = &run->s.regs.regs;
				k->rip = k->rcx;
				k->rflags = (k->r11 & 0x254dd5) | 0x202;
				k->rax = 1;
				run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			}
		}
		double dt = now_ns() - t0;
		printf("%s %.0f\n", names[mode], dt / (double)n);
		(void)exits;
	}
	return 0;
}
