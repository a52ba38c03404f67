#include "cli/run-flags.h"

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

/* Deep-merge src's members into dst (objects merge; anything else replaces). */
static void merge(json_object *dst, json_object *src)
{
	json_object_object_foreach(src, key, val)
	{
		json_object *old;
		if (json_object_is_type(val, json_type_object) &&
		    json_object_object_get_ex(dst, key, &old) &&
		    json_object_is_type(old, json_type_object)) {
			merge(old, val);
			continue;
		}
		json_object_object_add(dst, key, json_object_get(val));
	}
}

static json_object *child_object(json_object *parent, const char *key)
{
	json_object *o;
	if (json_object_object_get_ex(parent, key, &o) && json_object_is_type(o, json_type_object))
		return o;
	o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

int run_flags_apply(const struct run_flags *f, json_object *cfg, struct cell_err **err)
{
	if (!json_object_is_type(cfg, json_type_object))
		return cell_err(err, 0, "config: not a JSON object");
	int r = run_resource_check(f, err);
	if (r < 0)
		return r;
	if (f->resources)
		merge(child_object(child_object(cfg, "linux"), "resources"), f->resources);
	if (f->annotations)
		merge(child_object(cfg, "annotations"), f->annotations);
	if (f->network_none || f->network_host) {
		json_object *ns;
		json_object *linux_ = child_object(cfg, "linux");
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
