/* The tiny guest for `qemu-system-x86_64 -M microvm`: a PVH entry (Xen ELF
 * note 18, PHYS32_ENTRY) that writes 0 to isa-debug-exit and stops; QEMU
 * then exits with status 1. */
	.section .note.Xen, "a"
	.p2align 2
	.long 4, 4, 18
	.asciz "Xen"
	.long _start
	.text
	.code32
	.globl _start
_start:
	mov $0xf4, %dx
	xor %eax, %eax
	out %al, %dx
1:	hlt
	jmp 1b
