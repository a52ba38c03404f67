/* Program loading for execve() and the first program. */
#ifndef CELL_VM_GUEST_EXEC_H
#define CELL_VM_GUEST_EXEC_H

#include "vm/guest/lg.h"

struct lg_image {
	struct lg_mm *mm;   /* the new address space */
	uint64_t entry, sp;
	char comm[16];
	char *exe;          /* the program's path (the interpreter's for scripts) */
};

/* Load path (resolved like execve: relative to t's cwd, in t's root) into a
 * new address space.  Nothing about t changes; on error *err says why and
 * its code is what execve returns. */
int lg_exec_prepare(struct lg_task *t, const char *path, char *const *argv, char *const *envp,
		    struct lg_image *img, struct cell_err **err);

#endif
