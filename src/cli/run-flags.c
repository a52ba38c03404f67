#include "cli/run-flags.h"
#include "oci/json-merge.h"

#include <errno.h>
#include <string.h>

#include "base/util.h"

size_t run_options_count(const struct option *o)
{
	size_t n = 0;
	while (o[n].name)
		n++;
	return n;
}

int run_flags_apply(const struct run_flags *f, json_object *cfg, struct cell_err **err)
{
	if (!json_object_is_type(cfg, json_type_object))
		return cell_err(err, 0, "config: not a JSON object");
	int r = run_resource_check(f, err);
	if (r < 0)
		return r;
	if (f->resources)
		oci_json_merge_resources(
			oci_json_child_object(oci_json_child_object(cfg, "linux"), "resources"),
			f->resources);
	if (f->annotations)
		oci_json_merge_resources(oci_json_child_object(cfg, "annotations"), f->annotations);
	if (f->network_none || f->network_host) {
		json_object *ns;
		json_object *linux_ = oci_json_child_object(cfg, "linux");
		if (json_object_object_get_ex(linux_, "namespaces", &ns) &&
		    json_object_is_type(ns, json_type_array)) {
			json_object *keep = json_object_new_array();
			for (size_t i = 0; i < json_object_array_length(ns); i++) {
				json_object *n = json_object_array_get_idx(ns, i), *type;
				bool net = json_object_object_get_ex(n, "type", &type) &&
					   strcmp(json_object_get_string(type), "network") == 0;
				if (!net || f->network_none)
					json_object_array_add(keep, json_object_get(n));
			}
			json_object_object_add(linux_, "namespaces", keep);
		}
	}
	return 0;
}

void run_flags_clear(struct run_flags *f)
{
	json_object_put(f->resources);
	json_object_put(f->annotations);
	memset(f, 0, sizeof(*f));
}
