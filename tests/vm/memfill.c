/* Allocate 100 MiB (or argv[1] MiB), fill it, print a checksum: the same
 * output natively and in the light guest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
	size_t n = mib << 20;
	unsigned char *p = malloc(n);
	if (!p) {
		perror("malloc");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 2654435761u) >> 13);
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i += 64) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	printf("%zu MiB checksum %016llx\n", mib, (unsigned long long)h);
	free(p);
	return 0;
}
