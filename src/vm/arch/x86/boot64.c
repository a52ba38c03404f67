/* Descriptor tables and page tables, written as data into guest memory. */
#include "vm/arch/x86/boot64.h"

#include <assert.h>
#include <string.h>

#include "vm/arch/x86/layout.h"

#define GDT_ENTRIES 10 /* up to and including the 16-byte TSS descriptor at 0x40 */
#define TSS_IOMAP 0x68        /* the I/O bitmap's offset in the TSS */
#define TSS_IOMAP_BYTES 32    /* ports 0..255 */
#define TSS_LIMIT (TSS_IOMAP + TSS_IOMAP_BYTES) /* inclusive: the terminator byte */

/* Segment descriptors (SDM vol. 3, 3.4.5): base 0, limit 4 GiB, G=1. */
#define DESC_KERNEL_CS64 0x00af9b000000ffffULL
#define DESC_KERNEL_DS 0x00cf93000000ffffULL
#define DESC_USER_CS32 0x00cffb000000ffffULL
#define DESC_USER_DS 0x00cff3000000ffffULL
#define DESC_USER_CS64 0x00affb000000ffffULL

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

const char *x86_exception_name(unsigned vector)
{
	static const char *const names[] = {
		"divide error (#DE)", "debug (#DB)", "NMI", "breakpoint (#BP)",
		"overflow (#OF)", "bound range (#BR)", "invalid opcode (#UD)",
		"device not available (#NM)", "double fault (#DF)", "coprocessor overrun",
		"invalid TSS (#TS)", "segment not present (#NP)", "stack fault (#SS)",
		"general protection fault (#GP)", "page fault (#PF)", "reserved (15)",
		"x87 floating-point error (#MF)", "alignment check (#AC)",
		"machine check (#MC)", "SIMD floating-point exception (#XM)",
		"virtualization exception (#VE)", "control protection (#CP)",
	};
	if (vector < sizeof(names) / sizeof(names[0]))
		return names[vector];
	return "interrupt";
}

/* ---- light guest --------------------------------------------------------- */

static bool has_error_code(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

#define STUB_COMMON_OFF 0x400 /* after 32 stubs of 16 bytes and the shared one */
#define STUB_SIZE 16

/* Each stub makes the frame uniform (vector, error code, then what the CPU
 * pushed) and jumps to the common tail: one `out` that exits to the monitor,
 * which reads the frame from the ring-0 stack and rewrites its iret part;
 * then `add $16,%rsp; iretq` returns to whatever the monitor chose.  Under
 * PVM each of these ring-0 instructions is emulated: three per exception. */
static void build_stubs(uint8_t *page)
{
	memset(page, 0xcc, X86_PAGE_SIZE); /* int3 filler */
	for (unsigned v = 0; v <= 32; v++) {
		uint8_t *s = page + v * STUB_SIZE;
		unsigned k = 0;
		unsigned vec = v < 32 ? v : 0xff; /* one shared stub for 32..255 */
		if (v == 32 || !has_error_code(v)) {
			s[k++] = 0x6a; /* push $0 */
			s[k++] = 0x00;
		}
		s[k++] = 0x68; /* push $imm32 */
		put32(s + k, vec);
		k += 4;
		s[k++] = 0xe9; /* jmp rel32 */
		int32_t rel = (int32_t)(STUB_COMMON_OFF - (v * STUB_SIZE + k + 4));
		put32(s + k, (uint32_t)rel);
	}
	static const uint8_t common[] = {
		0xe6, LG_PORT_EXCEPTION, /* out %al, $LG_PORT_EXCEPTION */
		0x48, 0x83, 0xc4, 0x10,  /* add $16, %rsp */
		0x48, 0xcf,              /* iretq */
		0xf4, 0xeb, 0xfd,        /* 1: hlt; jmp 1b (not reached) */
	};
	memcpy(page + STUB_COMMON_OFF, common, sizeof(common));
}

/* The doorbell: `syscall` lands here (at CPL 3 under PVM, CPL 0 on VT-x and
 * AMD-V); the store to the page with no memslot exits to the monitor with
 * every register intact.  The monitor sets RIP itself, so the ud2 after the
 * store only ever runs if something is badly wrong. */
static void build_trampoline(uint8_t *page)
{
	memset(page, 0xcc, X86_PAGE_SIZE);
	uint8_t *p = page;
	*p++ = 0x88; /* mov %al, disp32 (sign-extended absolute) */
	*p++ = 0x04;
	*p++ = 0x25;
	put32(p, (uint32_t)(LG_VA_DOORBELL & 0xffffffffu));
	p += 4;
	*p++ = 0x0f; /* ud2 */
	*p++ = 0x0b;
}

static void build_idt(uint8_t *idt)
{
	memset(idt, 0, X86_PAGE_SIZE);
	for (unsigned v = 0; v < 256; v++) {
		uint64_t h = LG_VA_SYS + LG_GPA_STUBS + (v < 32 ? v : 32) * STUB_SIZE;
		uint8_t *g = idt + v * 16;
		put16(g, (uint16_t)h);
		put16(g + 2, LG_SEL_KERNEL_CS);
		/* IST1 for the exceptions that may arrive with a broken stack. */
		g[4] = (v == X86_EXC_DF || v == X86_EXC_NMI || v == X86_EXC_MC) ? 1 : 0;
		/* Interrupt gate, present; DPL 3 for int3 so that it raises #BP
		 * (SIGTRAP) as on Linux, not #GP. */
		g[5] = v == X86_EXC_BP ? 0xee : 0x8e;
		put16(g + 6, (uint16_t)(h >> 16));
		put32(g + 8, (uint32_t)(h >> 32));
	}
}

static void build_kernel_tables(uint8_t *ram)
{
	uint8_t *pdpt = ram + LG_GPA_KPDPT, *pd = ram + LG_GPA_KPD, *pt = ram + LG_GPA_KPT;
	memset(pdpt, 0, X86_PAGE_SIZE);
	memset(pd, 0, X86_PAGE_SIZE);
	memset(pt, 0, X86_PAGE_SIZE);
	/* LG_VA_SYS = PML4[511] PDPT[510] PD[0]; upper levels allow user access
	 * so that the trampoline and doorbell leaves can. */
	put64(pdpt + 8 * ((LG_VA_SYS >> 30) & 511), LG_GPA_KPD | PTE_P | PTE_W | PTE_U);
	put64(pd + 8 * ((LG_VA_SYS >> 21) & 511), LG_GPA_KPT | PTE_P | PTE_W | PTE_U);
	for (uint64_t gpa = X86_PAGE_SIZE; gpa < LG_SYS_SIZE - X86_PAGE_SIZE; gpa += X86_PAGE_SIZE) {
		uint64_t e = gpa | PTE_P | PTE_A;
		if (gpa == LG_GPA_TRAMPOLINE)
			e |= PTE_U;
		else if (gpa != LG_GPA_STUBS)
			e |= PTE_W | PTE_D | PTE_NX;
		put64(pt + 8 * (gpa >> 12), e);
	}
	put64(pt + 8 * 511, LG_GPA_DOORBELL | PTE_P | PTE_W | PTE_U | PTE_NX);
}

void lg_sys_build(uint8_t *ram)
{
	memset(ram, 0, LG_GPA_CPU_AREAS);
	build_idt(ram + LG_GPA_IDT);
	build_stubs(ram + LG_GPA_STUBS);
	build_trampoline(ram + LG_GPA_TRAMPOLINE);
	build_kernel_tables(ram);
}

uint64_t lg_kernel_pml4e(void)
{
	return LG_GPA_KPDPT | PTE_P | PTE_W | PTE_U;
}

static uint64_t cpu_area(unsigned slot)
{
	return LG_GPA_CPU_AREAS + (uint64_t)slot * LG_CPU_AREA_SIZE;
}

uint64_t lg_cpu_stack_top_gpa(unsigned slot)
{
	return cpu_area(slot) + LG_CPU_AREA_SIZE;
}

uint64_t lg_cpu_stack_top_va(unsigned slot)
{
	return LG_VA_SYS + lg_cpu_stack_top_gpa(slot);
}

void lg_cpu_area_build(uint8_t *ram, unsigned slot)
{
	uint8_t *a = ram + cpu_area(slot);
	memset(a, 0, LG_CPU_AREA_SIZE);
	uint8_t *gdt = a + LG_CPU_GDT_OFF;
	put64(gdt + LG_SEL_KERNEL_CS, DESC_KERNEL_CS64);
	put64(gdt + LG_SEL_KERNEL_DS, DESC_KERNEL_DS);
	put64(gdt + (LG_SEL_USER32_CS & ~3), DESC_USER_CS32);
	put64(gdt + (LG_SEL_USER_DS & ~3), DESC_USER_DS);
	put64(gdt + (LG_SEL_USER_CS & ~3), DESC_USER_CS64);
	uint64_t tss = LG_VA_SYS + cpu_area(slot) + LG_CPU_TSS_OFF;
	uint64_t lim = TSS_LIMIT;
	uint64_t lo = (lim & 0xffff) | ((tss & 0xffffff) << 16) | (0x89ULL << 40) |
		      (((tss >> 24) & 0xff) << 56);
	put64(gdt + LG_SEL_TSS, lo);
	put64(gdt + LG_SEL_TSS + 8, tss >> 32);

	uint8_t *t = a + LG_CPU_TSS_OFF;
	put64(t + 4, lg_cpu_stack_top_va(slot));                        /* RSP0 */
	put64(t + 36, LG_VA_SYS + cpu_area(slot) + LG_CPU_IST_OFF);    /* IST1 */
	/* The I/O bitmap right after the TSS proper denies every port to ring 3
	 * but LG_PORT_SYSCALL, the patched syscall sites' (guest/sites.c); ports
	 * past the bitmap are denied by the limit (SDM vol. 1, 19.5.2; PVM
	 * ignores IOPL but honours this). */
	put16(t + 102, TSS_IOMAP);
	memset(t + TSS_IOMAP, 0xff, TSS_IOMAP_BYTES + 1); /* + the all-ones terminator */
	t[TSS_IOMAP + LG_PORT_SYSCALL / 8] &= (uint8_t)~(1u << (LG_PORT_SYSCALL % 8));
}

static_assert(LG_PORT_SYSCALL < TSS_IOMAP_BYTES * 8, "the syscall port is in the bitmap");
static_assert(LG_CPU_TSS_OFF + TSS_LIMIT < LG_CPU_STACK_OFF, "the TSS fits its page");

static struct kvm_segment seg(uint16_t sel, uint8_t type, uint8_t dpl, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.dpl = dpl, .db = code64 ? 0 : 1, .s = 1, .l = code64 ? 1 : 0, .g = 1,
	};
}

void lg_user_sregs(struct kvm_sregs *s, unsigned slot, uint64_t cr3, bool osxsave)
{
	memset(s->interrupt_bitmap, 0, sizeof(s->interrupt_bitmap));
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM |
		 X86_CR0_PG;
	s->cr3 = cr3;
	s->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT | (osxsave ? X86_CR4_OSXSAVE : 0);
	s->efer = X86_EFER_SCE | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
	s->cs = seg(LG_SEL_USER_CS, 11, 3, true);
	s->ss = seg(LG_SEL_USER_DS, 3, 3, false);
	s->ds = s->es = s->fs = s->gs = s->ss;
	s->gdt.base = LG_VA_SYS + cpu_area(slot) + LG_CPU_GDT_OFF;
	s->gdt.limit = GDT_ENTRIES * 8 - 1;
	s->idt.base = LG_VA_SYS + LG_GPA_IDT;
	s->idt.limit = 256 * 16 - 1;
	s->tr = (struct kvm_segment){
		.base = LG_VA_SYS + cpu_area(slot) + LG_CPU_TSS_OFF, .limit = TSS_LIMIT,
		.selector = LG_SEL_TSS, .type = 11, .present = 1,
	};
	s->ldt = (struct kvm_segment){ .unusable = 1 };
}

/* ---- Linux guest --------------------------------------------------------- */

void lx_boot_tables_build(uint8_t *ram)
{
	uint8_t *gdt = ram + LX_GPA_GDT;
	memset(gdt, 0, 4 * 8);
	put64(gdt + 0x10, DESC_KERNEL_CS64);
	put64(gdt + 0x18, DESC_KERNEL_DS);

	uint8_t *pml4 = ram + LX_GPA_PML4, *pdpt = ram + LX_GPA_PDPT;
	memset(pml4, 0, X86_PAGE_SIZE);
	memset(pdpt, 0, X86_PAGE_SIZE);
	put64(pml4, LX_GPA_PDPT | PTE_P | PTE_W);
	for (uint64_t g = 0; g < 4; g++) {
		uint8_t *pd = ram + LX_GPA_PD + g * X86_PAGE_SIZE;
		put64(pdpt + 8 * g, (LX_GPA_PD + g * X86_PAGE_SIZE) | PTE_P | PTE_W);
		for (uint64_t i = 0; i < 512; i++)
			put64(pd + 8 * i, ((g << 30) | (i << 21)) | PTE_P | PTE_W | PTE_PS);
	}
}

void lx_boot_sregs(struct kvm_sregs *s)
{
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr3 = LX_GPA_PML4;
	s->cr4 = X86_CR4_PAE;
	s->efer = X86_EFER_LME | X86_EFER_LMA;
	s->cs = seg(0x10, 11, 0, true);
	s->ss = seg(0x18, 3, 0, false);
	s->ds = s->es = s->fs = s->gs = s->ss;
	s->gdt.base = LX_GPA_GDT;
	s->gdt.limit = 4 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->tr = (struct kvm_segment){ .limit = 0xffff, .type = 11, .present = 1 };
	s->ldt = (struct kvm_segment){ .unusable = 1 };
}
