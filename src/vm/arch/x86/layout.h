/* Every guest-physical address (and every fixed guest-virtual one) the
 * monitor uses, for both kinds of guest.  Nothing else in src/vm may spell a
 * guest address as a literal: change the layout here and only here.
 *
 * Light guest (src/vm/guest): a static Linux program runs in guest ring 3 on
 * page tables the monitor writes.  The "kernel" is data:
 *
 *   guest-physical                          what
 *   0x0000_0000 .. 0x0000_1000              never mapped (catches 0 as a GPA)
 *   LG_GPA_IDT          (4 KiB)             IDT, 256 gates, shared by all vCPUs
 *   LG_GPA_STUBS        (4 KiB)             ring-0 exception stubs (push, out, iretq)
 *   LG_GPA_TRAMPOLINE   (4 KiB)             the syscall doorbell page at LSTAR (user RX)
 *   LG_GPA_KPDPT/KPD/KPT                    the kernel half (PML4[511]) every mm shares
 *   LG_GPA_CPU_AREAS    (8 KiB per vCPU)    GDT + TSS page, ring-0 stack page
 *   LG_GPA_DATA .. ram_size                 data frames: program memory, 4 KiB each
 *   LG_GPA_DOORBELL     (no memslot)        a store here is the syscall exit (MMIO)
 *   LG_GPA_PT_BASE + i * LG_PT_CHUNK_SIZE   page-table frames, one memslot per chunk
 *
 * Page tables live in chunks with their own memslots because the shadow MMU
 * caches its view of a page-table frame by guest frame number: a frame freed by
 * one process and reused by another would bring the old process's mappings
 * back (measured: docs/vm.md "shadow MMU").  A chunk is reused only after its
 * memslot has been deleted and re-added, which drops every cached view of it.
 *
 * The sys area is mapped at LG_VA_SYS in every address space, supervisor-only
 * except the trampoline (user RX) and the doorbell (user W, no memslot). */
#ifndef CELL_VM_ARCH_X86_LAYOUT_H
#define CELL_VM_ARCH_X86_LAYOUT_H

#define X86_PAGE_SIZE 0x1000ULL
#define X86_PAGE_MASK (~(X86_PAGE_SIZE - 1))

/* ---- light guest: guest-physical ---------------------------------------- */
#define LG_GPA_IDT 0x1000ULL
#define LG_GPA_STUBS 0x2000ULL
#define LG_GPA_TRAMPOLINE 0x3000ULL
#define LG_GPA_KPDPT 0x4000ULL
#define LG_GPA_KPD 0x5000ULL
#define LG_GPA_KPT 0x6000ULL
#define LG_GPA_CPU_AREAS 0x10000ULL
#define LG_CPU_AREA_SIZE 0x2000ULL
#define LG_CPU_GDT_OFF 0x0ULL      /* within a CPU area */
#define LG_CPU_TSS_OFF 0x100ULL
#define LG_CPU_STACK_OFF 0x1000ULL /* the ring-0 stack page; RSP0 is its end */
#define LG_CPU_IST_OFF 0x1800ULL   /* IST1 (#DF, NMI, #MC) top: the stack page's middle */
#define LG_SYS_SIZE 0x200000ULL    /* the sys area: [0, 2 MiB) */
#define LG_MAX_VCPUS ((LG_SYS_SIZE - LG_GPA_CPU_AREAS) / LG_CPU_AREA_SIZE) /* 248 */
#define LG_GPA_DATA LG_SYS_SIZE
#define LG_RAM_MIN (16ULL << 20)
#define LG_RAM_MAX (32ULL << 30)
#define LG_GPA_DOORBELL 0x1000000000ULL /* 64 GiB, above any RAM */
#define LG_GPA_PT_BASE 0x2000000000ULL  /* 128 GiB */
#define LG_PT_CHUNK_SIZE 0x100000ULL    /* 256 page-table frames per memslot */
#define LG_PT_MAX_CHUNKS 4096u

/* memslots */
#define LG_SLOT_RAM 0u
#define LG_SLOT_PT_FIRST 1u

/* ---- light guest: guest-virtual ----------------------------------------- */
#define LG_VA_SYS 0xffffffff80000000ULL /* PML4[511], PDPT[510], PD[0] */
#define LG_VA_DOORBELL (LG_VA_SYS + LG_SYS_SIZE - X86_PAGE_SIZE)
#define LG_VA_TRAMPOLINE (LG_VA_SYS + LG_GPA_TRAMPOLINE)
#define LG_VA_USER_END 0x00007ffffffff000ULL /* as Linux's TASK_SIZE_MAX */
#define LG_VA_USER_MIN 0x10000ULL            /* vm.mmap_min_addr's default */

/* ---- light guest: ports ------------------------------------------------- */
/* Ring-0 exception stubs report here; ring 3 cannot reach it (IOPL is 0 and
 * the TSS's I/O bitmap denies it), so a program cannot fake an exception. */
#define LG_PORT_EXCEPTION 0xe5
/* The one port the I/O bitmap gives ring 3: patched syscall sites are
 * `out %al,$LG_PORT_SYSCALL` (guest/sites.c).  Below 0x100, as `out imm8`
 * needs; an `out` to it from anywhere else becomes SIGSEGV. */
#define LG_PORT_SYSCALL 0xe7

/* GDT selectors, Linux's values so that signal frames and ptrace-like
 * views of CS/SS look as they do natively. */
#define LG_SEL_KERNEL_CS 0x10
#define LG_SEL_KERNEL_DS 0x18
#define LG_SEL_USER32_CS 0x23
#define LG_SEL_USER_DS 0x2b
#define LG_SEL_USER_CS 0x33
#define LG_SEL_TSS 0x40

/* ---- Linux guest (boot protocol, Documentation/arch/x86/boot.rst) -------- */
#define LX_GPA_GDT 0x500ULL
#define LX_GPA_BOOT_PARAMS 0x7000ULL  /* the zero page */
#define LX_GPA_PML4 0x9000ULL
#define LX_GPA_PDPT 0xa000ULL
#define LX_GPA_PD 0xb000ULL           /* 4 PDs: identity map of the first 4 GiB */
#define LX_GPA_CMDLINE 0x20000ULL
#define LX_CMDLINE_MAX 0x10000ULL
#define LX_GPA_EBDA 0x9fc00ULL        /* e820: low RAM ends here */
#define LX_GPA_HIMEM 0x100000ULL      /* 1 MiB: where a bzImage's kernel goes */
#define LX_GPA_MMIO_GAP 0xc0000000ULL /* RAM above this moves to 4 GiB */
#define LX_GPA_4G 0x100000000ULL
#define LX_RAM_MIN (64ULL << 20)
#define LX_RAM_MAX (64ULL << 30)
#define LX_INITRD_ADDR_MAX 0x37ffffffULL /* boot.rst: initrd_addr_max default */

#define LX_SLOT_LOW 0u
#define LX_SLOT_HIGH 1u

/* 16550 UART (COM1) */
#define LX_SERIAL_PORT 0x3f8
#define LX_SERIAL_IRQ 4

#endif
