/* Names of x86-64 system calls. */
#ifndef CELL_VM_GUEST_SYSCALL_NAMES_H
#define CELL_VM_GUEST_SYSCALL_NAMES_H

/* "read" for 0; "?" for numbers with no name. */
const char *lg_syscall_name(unsigned long nr);
#define LG_NR_SYSCALLS 468

#endif
