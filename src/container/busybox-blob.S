/* The busybox-static binary, for the built-in root filesystem (builtin.c). */
	.section .rodata
	.global cell_busybox_start
	.global cell_busybox_end
	.balign 16
cell_busybox_start:
	.incbin BUSYBOX_PATH
cell_busybox_end:
	.section .note.GNU-stack,"",@progbits
