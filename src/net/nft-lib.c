#include "net/nft-lib.h"

#include <dlfcn.h>
#include <errno.h>

#include "base/util.h"

static struct nft_lib lib;
static bool loaded;

static int resolve(void *h, void **slot, const char *name, struct cell_err **err)
{
	*slot = dlsym(h, name);
	if (!*slot)
		return cell_err(err, ENOSYS, "libnftables.so.1 has no %s", name);
	return 0;
}

int nft_lib(const struct nft_lib **ret, struct cell_err **err)
{
	if (loaded) {
		*ret = &lib;
		return 0;
	}
	void *h = dlopen("libnftables.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return cell_err(err, ENOENT, "load libnftables.so.1 (Debian package libnftables1): %s",
				dlerror());
	static const struct {
		size_t offset;
		const char *name;
	} syms[] = {
		{ offsetof(struct nft_lib, ctx_new), "nft_ctx_new" },
		{ offsetof(struct nft_lib, ctx_free), "nft_ctx_free" },
		{ offsetof(struct nft_lib, ctx_buffer_output), "nft_ctx_buffer_output" },
		{ offsetof(struct nft_lib, ctx_buffer_error), "nft_ctx_buffer_error" },
		{ offsetof(struct nft_lib, ctx_get_output_buffer), "nft_ctx_get_output_buffer" },
		{ offsetof(struct nft_lib, ctx_get_error_buffer), "nft_ctx_get_error_buffer" },
		{ offsetof(struct nft_lib, ctx_output_get_flags), "nft_ctx_output_get_flags" },
		{ offsetof(struct nft_lib, ctx_output_set_flags), "nft_ctx_output_set_flags" },
		{ offsetof(struct nft_lib, run_cmd_from_buffer), "nft_run_cmd_from_buffer" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		int r = resolve(h, (void **)((char *)&lib + syms[i].offset), syms[i].name, err);
		if (r < 0) {
			dlclose(h);
			return r;
		}
	}
	/* Kept open for the life of the process, like a linked library. */
	loaded = true;
	*ret = &lib;
	return 0;
}
