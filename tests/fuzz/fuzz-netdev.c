/* libFuzzer target for src/container/netdev.c: /proc/PID/net/dev text of a
 * container's network namespace (the container names its interfaces).
 * Every input parses without a crash; every entry has a NUL-terminated
 * name of at most 15 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct container_net_stats *n = NULL;
	size_t k = 0;
	if (container_parse_net_dev((const char *)data, size, &n, &k) != 0)
		abort();
	for (size_t i = 0; i < k; i++)
		if (!n[i].name[0] || memchr(n[i].name, '\0', sizeof(n[i].name)) == NULL)
			abort();
	if (k && !n)
		abort();
	free(n);
	return 0;
}
