/* The control socket's request parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "vm/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request q;
	struct cell_err *err = NULL;
	if (control_parse((const char *)data, size, &q, &err) == 0) {
		if (q.cmd > CONTROL_SIGNAL || (q.cmd == CONTROL_SIGNAL && (q.signal < 1 || q.signal > 64)))
			__builtin_trap();
	} else if (!err || !err->msg) {
		__builtin_trap();
	}
	cell_err_free(err);
	return 0;
}
