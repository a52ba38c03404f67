/* Booting a Linux kernel by the x86 boot protocol
 * (Documentation/arch/x86/boot.rst), 64-bit entry, no firmware:
 * vmlinux (ELF) or bzImage, the zero page (boot_params) with an e820 map,
 * the command line and an initrd.  Every offset and size read from the
 * kernel image is checked against the file and guest RAM. */
#ifndef CELL_VM_ARCH_X86_LINUX_BOOT_H
#define CELL_VM_ARCH_X86_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct lx_guest_mem {
	uint8_t *host;     /* one host mapping */
	uint64_t size;     /* RAM bytes: [0, min(size, gap)) then from 4 GiB */
};

struct lx_kernel {
	bool bzimage;
	uint64_t entry;            /* guest-physical 64-bit entry point */
	uint64_t load_end;         /* end of what was loaded (for placing the initrd) */
	uint8_t setup_header[0x290 - 0x1f1]; /* bzImage: its setup header, for boot_params */
	size_t setup_header_len;
	uint64_t initrd_addr_max;
};

/* The host address of [gpa, gpa+len) or NULL if not all of it is RAM. */
uint8_t *lx_gpa(const struct lx_guest_mem *m, uint64_t gpa, uint64_t len);

/* Load a kernel image (name is for messages) from buf/len. */
int lx_load_kernel(const struct lx_guest_mem *m, const uint8_t *buf, size_t len, const char *name,
		   struct lx_kernel *ret, struct cell_err **err);
/* Place an initrd as high as the kernel allows; returns its GPA. */
int lx_load_initrd(const struct lx_guest_mem *m, const struct lx_kernel *k, const uint8_t *buf,
		   size_t len, const char *name, uint64_t *ret_addr, struct cell_err **err);
/* Write boot_params, the e820 map and the command line. */
int lx_setup_boot_params(const struct lx_guest_mem *m, const struct lx_kernel *k,
			 const char *cmdline, uint64_t initrd_addr, uint64_t initrd_len,
			 struct cell_err **err);

#endif
