/* libFuzzer target for src/oci: config.json, process.json and (update -r)
 * resources.json parsing of arbitrary bytes.  Every input either parses into a spec that frees cleanly
 * or fails with a message naming the input; nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int r, struct cell_err *err, const char *name)
{
	/* A failure always says why, and names the input first. */
	if (r < 0 && (!err || !err->msg || strncmp(err->msg, name, strlen(name)) != 0))
		abort();
	if (r == 0 && err)
		abort();
	cell_err_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_spec *spec = NULL;
	struct cell_err *err = NULL;
	int r = oci_spec_parse((const char *)data, size, "config.json", &spec, &err);
	check_err(r, err, "config.json");
	if (r == 0 && (!spec || !spec->oci_version))
		abort();
	oci_spec_free(spec);

	struct oci_process *p = NULL;
	err = NULL;
	r = oci_process_parse((const char *)data, size, "process.json", &p, &err);
	check_err(r, err, "process.json");
	if (r == 0 && (!p || !p->cwd || !(p->args || p->command_line)))
		abort();
	oci_process_free(p);

	struct oci_resources *res = NULL;
	err = NULL;
	r = oci_resources_parse((const char *)data, size, "resources.json", &res, &err);
	check_err(r, err, "resources.json");
	if (r == 0 && !res)
		abort();
	oci_resources_free(res);
	return 0;
}
