/* The CPU list syntax of process.execCPUAffinity ("0-3,7"): untrusted text
 * from config.json, checked by procattr_check_cpu_list(). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "os/procattr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct cell_err *e = NULL;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (procattr_check_cpu_list(s, "process.execCPUAffinity.initial", &e) < 0 &&
	    (!e || !e->msg || !strstr(e->msg, "process.execCPUAffinity.initial: ")))
		abort(); /* every error names the field */
	cell_err_free(e);
	free(s);
	return 0;
}
