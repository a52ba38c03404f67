/* x86-64 without firmware: descriptor tables, page-table bits and the
 * long-mode register state the monitor loads before the first KVM_RUN
 * (as Firecracker does: no BIOS, no real mode, no bootloader). */
#ifndef CELL_VM_ARCH_X86_BOOT64_H
#define CELL_VM_ARCH_X86_BOOT64_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL
/* Software bits (ignored by the CPU): a frame shared with another address
 * space that must be copied before it may become writable. */
#define PTE_SW_SHARED (1ULL << 9)

#define X86_CR0_PE (1ULL << 0)
#define X86_CR0_MP (1ULL << 1)
#define X86_CR0_ET (1ULL << 4)
#define X86_CR0_NE (1ULL << 5)
#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_AM (1ULL << 18)
#define X86_CR0_PG (1ULL << 31)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_OSFXSR (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_CR4_OSXSAVE (1ULL << 18)
#define X86_EFER_SCE (1ULL << 0)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)
#define X86_EFER_NXE (1ULL << 11)

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_CR_PAT 0x277

#define X86_RFLAGS_FIXED 0x2ULL
#define X86_RFLAGS_TF (1ULL << 8)
#define X86_RFLAGS_IF (1ULL << 9)
#define X86_RFLAGS_IOPL (3ULL << 12)
#define X86_RFLAGS_NT (1ULL << 14)
#define X86_RFLAGS_RF (1ULL << 16)
#define X86_RFLAGS_VM (1ULL << 17)
/* What a ring-3 program may set in RFLAGS (CF PF AF ZF SF TF DF OF AC ID);
 * never IOPL, NT, VM or IF=0. */
#define X86_RFLAGS_USER 0x254dd5ULL

/* Exception vectors (SDM vol. 3, 6.3.1) */
enum {
	X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3, X86_EXC_OF = 4,
	X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7, X86_EXC_DF = 8, X86_EXC_TS = 10,
	X86_EXC_NP = 11, X86_EXC_SS = 12, X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16,
	X86_EXC_AC = 17, X86_EXC_MC = 18, X86_EXC_XM = 19, X86_EXC_VE = 20, X86_EXC_CP = 21,
};
const char *x86_exception_name(unsigned vector);

/* ---- light guest --------------------------------------------------------- */

/* Write the shared sys area (IDT, exception stubs, trampoline, kernel-half
 * page tables) into guest RAM, which must hold at least LG_SYS_SIZE bytes. */
void lg_sys_build(uint8_t *ram);
/* Write vCPU slot's GDT and TSS into its CPU area. */
void lg_cpu_area_build(uint8_t *ram, unsigned slot);
/* The PML4 entry (index 511) every light-guest address space carries. */
uint64_t lg_kernel_pml4e(void);
/* Long mode, paging on cr3, ring-3 segments, the slot's GDT/TSS. */
void lg_user_sregs(struct kvm_sregs *s, unsigned slot, uint64_t cr3, bool osxsave);
/* The ring-0 stack of a slot: where an exception frame lands. */
uint64_t lg_cpu_stack_top_gpa(unsigned slot);
uint64_t lg_cpu_stack_top_va(unsigned slot);

/* ---- Linux guest --------------------------------------------------------- */

/* GDT with __BOOT_CS 0x10 / __BOOT_DS 0x18, and page tables identity-mapping
 * the first 4 GiB with 2 MiB pages (boot.rst, "64-bit boot protocol"). */
void lx_boot_tables_build(uint8_t *ram);
void lx_boot_sregs(struct kvm_sregs *s);

#endif
