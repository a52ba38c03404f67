/* The Linux boot loader on arbitrary kernel and initrd images: vmlinux and
 * bzImage headers, segment tables, sizes and offsets. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "vm/arch/x86/layout.h"
#include "vm/arch/x86/linux-boot.h"

#define GMEM (64ULL << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lx_guest_mem m;
	if (!m.host) {
		m.size = GMEM;
		m.host = mmap(NULL, GMEM, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m.host == MAP_FAILED)
			abort();
	}
	struct lx_kernel k;
	struct cell_err *err = NULL;
	if (lx_load_kernel(&m, data, size, "fuzz", &k, &err) == 0) {
		if (k.load_end > GMEM || k.load_end < LX_GPA_HIMEM)
			__builtin_trap();
		uint64_t ia = 0;
		size_t il = size > 64 ? 64 : size;
		if (il && lx_load_initrd(&m, &k, data, il, "fuzz", &ia, &err) == 0 &&
		    (ia < k.load_end || ia + il > GMEM))
			__builtin_trap();
		cell_err_free(err);
		err = NULL;
		lx_setup_boot_params(&m, &k, "console=ttyS0", ia, il, &err);
	}
	cell_err_free(err);
	return 0;
}
