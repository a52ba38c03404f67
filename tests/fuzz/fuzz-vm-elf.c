/* The light guest's ELF parser on arbitrary files. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vm/arch/x86/layout.h"
#include "vm/guest/elf.h"

struct buf {
	const uint8_t *p;
	size_t n;
};

static int rd(void *ctx, void *out, size_t len, uint64_t off)
{
	const struct buf *b = ctx;
	if (off > b->n || len > b->n - off)
		return -5;
	memcpy(out, b->p + off, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = { data, size };
	struct lg_elf e;
	const char *why = NULL;
	if (lg_elf_parse(rd, &b, size, &e, &why) == 0) {
		/* What the loader relies on. */
		for (unsigned i = 0; i < e.nload; i++) {
			const struct lg_elf_load *l = &e.load[i];
			if (l->filesz > l->memsz || l->offset + l->filesz > size ||
			    (l->vaddr - l->offset) % X86_PAGE_SIZE ||
			    lg_elf_base(&e) + l->vaddr + l->memsz > LG_VA_USER_END)
				__builtin_trap();
			if (i && l->vaddr < e.load[i - 1].vaddr + e.load[i - 1].memsz)
				__builtin_trap();
		}
		if (e.hi < e.lo || e.nload == 0)
			__builtin_trap();
	} else if (!why) {
		__builtin_trap();
	}
	return 0;
}
