/* libFuzzer target for src/container/ckpt-meta.c: container.json of a
 * checkpoint image, which may come from anywhere.  Every input parses or
 * fails without a crash; what parses holds an id and only bounded strings,
 * and writes back to text that parses to the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_meta m, back;
	struct cell_err *err = NULL;
	if (ckpt_meta_parse((const char *)data, size, "fuzz", &m, &err) < 0) {
		if (!err || !err->msg)
			abort();
		cell_err_free(err);
		return 0;
	}
	if (!m.id || strlen(m.id) > STATE_ID_MAX || (m.bundle && m.bundle[0] != '/'))
		abort();
	char *text = ckpt_meta_json(&m);
	if (ckpt_meta_parse(text, strlen(text), "fuzz again", &back, &err) < 0)
		abort();
	same(m.id, back.id);
	same(m.bundle, back.bundle);
	same(m.ip, back.ip);
	same(m.net_name, back.net_name);
	if (memcmp(m.stdio, back.stdio, sizeof(m.stdio)) != 0)
		abort();
	free(text);
	ckpt_meta_clear(&m);
	ckpt_meta_clear(&back);
	return 0;
}
