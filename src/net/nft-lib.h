/* libnftables, loaded on first use.  Most cell commands never touch a
 * firewall, and linking libnftables would make each of them map it and the
 * four libraries it pulls in (nftnl, xtables, jansson, gmp) at exec: a
 * measurable part of a container's start.  The names shadow the library's
 * so nft.c reads as ordinary libnftables code. */
#ifndef CELL_NET_NFT_LIB_H
#define CELL_NET_NFT_LIB_H

#include <nftables/libnftables.h>

#include "base/err.h"

struct nft_lib {
	struct nft_ctx *(*ctx_new)(uint32_t flags);
	void (*ctx_free)(struct nft_ctx *ctx);
	int (*ctx_buffer_output)(struct nft_ctx *ctx);
	int (*ctx_buffer_error)(struct nft_ctx *ctx);
	const char *(*ctx_get_output_buffer)(struct nft_ctx *ctx);
	const char *(*ctx_get_error_buffer)(struct nft_ctx *ctx);
	unsigned int (*ctx_output_get_flags)(struct nft_ctx *ctx);
	void (*ctx_output_set_flags)(struct nft_ctx *ctx, unsigned int flags);
	int (*run_cmd_from_buffer)(struct nft_ctx *ctx, const char *buf);
};

/* The library's entry points; an error names the package when it is not
 * installed.  Loaded once per process. */
int nft_lib(const struct nft_lib **ret, struct cell_err **err);

#endif
