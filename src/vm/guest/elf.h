/* Parsing a static x86-64 ELF program for the light guest.  Pure: reads go
 * through a callback, nothing is mapped, so the fuzzer drives it directly.
 * Every size, offset and address in the file is checked before use. */
#ifndef CELL_VM_GUEST_ELF_H
#define CELL_VM_GUEST_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_ELF_MAX_PHNUM 64
#define LG_ELF_MAX_LOADS 16
/* Where a position-independent (static-pie) program is placed, as Linux
 * does without ASLR (ELF_ET_DYN_BASE). */
#define LG_ELF_DYN_BASE 0x555555554000ULL

struct lg_elf_load {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t prot; /* PROT_* */
};

struct lg_elf {
	bool pie;             /* ET_DYN: addresses below are relative to the base */
	bool interp;          /* has PT_INTERP: dynamically linked */
	bool exec_stack;      /* PT_GNU_STACK with PF_X */
	uint64_t entry;
	uint64_t phdr_vaddr;  /* where the program headers are in memory, 0 if not loaded */
	uint16_t phnum;
	struct lg_elf_load load[LG_ELF_MAX_LOADS];
	unsigned nload;
	uint64_t lo, hi;      /* page-aligned span of the loads */
};

/* Read len bytes at off; 0 or -errno (a short read is an error). */
typedef int (*lg_elf_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* 0, or -ENOEXEC with *why naming the problem ("not an ELF file",
 * "segment 2: file range past end of file"). */
int lg_elf_parse(lg_elf_read_fn read, void *ctx, uint64_t file_size, struct lg_elf *ret,
		 const char **why);

/* The base a parsed program is loaded at (0 for ET_EXEC). */
uint64_t lg_elf_base(const struct lg_elf *e);

#endif
