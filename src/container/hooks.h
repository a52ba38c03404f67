/* OCI hooks: run each with the container's state JSON on stdin, its args
 * and env, and its timeout; the first failure stops the list.  Which
 * namespace a hook runs in is the caller's choice (spec: createRuntime,
 * prestart, poststart, poststop in the runtime's; createContainer and
 * startContainer in the container's). */
#ifndef CELL_CONTAINER_HOOKS_H
#define CELL_CONTAINER_HOOKS_H

#include "base/err.h"
#include "oci/spec.h"

int hooks_run(const struct oci_spec *spec, enum oci_hook_kind kind, const char *state_json,
	      struct cell_err **err);

#endif
