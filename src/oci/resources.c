/* A linux.resources object alone, as `update -r FILE` passes it (runc's
 * format: the spec's LinuxResources).  The same checks as inside a
 * config.json; errors name the file and the path inside the object
 * ("resources.json: memory.limit: ..."). */
#include <json-c/json.h>

#include "base/util.h"
#include "oci/internal.h"

int oci_resources_parse(const char *json, size_t len, const char *name,
			struct oci_resources **ret, struct cell_err **err)
{
	struct json_object *root = NULL;
	if (!name)
		name = "resources.json";
	int r = oj_parse(json, len, name, &root, err);
	if (r < 0)
		return r;
	struct oj_doc doc = { .name = name, .err = err };
	struct oj top = oj_root(&doc, root);
	struct oci_resources *res = xcalloc(1, sizeof(*res));
	r = oj_object(&top, true);
	if (r >= 0)
		r = oci_parse_resources(&top, res);
	json_object_put(root);
	if (r < 0) {
		oci_resources_free(res);
		return r;
	}
	*ret = res;
	return 0;
}
