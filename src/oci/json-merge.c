/* Merging JSON fragments into a config: what `run` flags and `update` do. */
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "base/util.h"
#include "oci/json-merge.h"

/* Arrays whose entries name a device, a page size or an interface: an
 * update replaces the entry with the same key and keeps the others, as the
 * kernel does with blkio.throttle.* lines or hugetlb files. */
static const struct {
	const char *member;
	const char *keys[2];
} keyed_arrays[] = {
	{ "weightDevice", { "major", "minor" } },
	{ "throttleReadBpsDevice", { "major", "minor" } },
	{ "throttleWriteBpsDevice", { "major", "minor" } },
	{ "throttleReadIOPSDevice", { "major", "minor" } },
	{ "throttleWriteIOPSDevice", { "major", "minor" } },
	{ "hugepageLimits", { "pageSize", NULL } },
	{ "priorities", { "name", NULL } },
};

static bool same_key(json_object *a, json_object *b, const char *const *keys)
{
	for (size_t k = 0; k < 2 && keys[k]; k++) {
		json_object *x = NULL, *y = NULL;
		json_object_object_get_ex(a, keys[k], &x);
		json_object_object_get_ex(b, keys[k], &y);
		if (!x || !y || strcmp(json_object_get_string(x), json_object_get_string(y)) != 0)
			return false;
	}
	return true;
}

static void merge_keyed(json_object *dst, json_object *src, const char *const *keys)
{
	for (size_t i = 0; i < json_object_array_length(src); i++) {
		json_object *e = json_object_array_get_idx(src, i);
		size_t j, n = json_object_array_length(dst);
		for (j = 0; j < n; j++)
			if (same_key(json_object_array_get_idx(dst, j), e, keys))
				break;
		if (j < n)
			json_object_array_put_idx(dst, j, json_object_get(e));
		else
			json_object_array_add(dst, json_object_get(e));
	}
}

void oci_json_merge_resources(json_object *dst, json_object *src)
{
	json_object_object_foreach(src, key, val)
	{
		json_object *old = NULL;
		json_object_object_get_ex(dst, key, &old);
		if (old && json_object_is_type(val, json_type_object) &&
		    json_object_is_type(old, json_type_object)) {
			oci_json_merge_resources(old, val);
			continue;
		}
		if (old && json_object_is_type(val, json_type_array) &&
		    json_object_is_type(old, json_type_array)) {
			size_t k;
			for (k = 0; k < ARRAY_SIZE(keyed_arrays); k++)
				if (strcmp(keyed_arrays[k].member, key) == 0)
					break;
			if (k < ARRAY_SIZE(keyed_arrays)) {
				merge_keyed(old, val, keyed_arrays[k].keys);
				continue;
			}
		}
		json_object_object_add(dst, key, json_object_get(val));
	}
}

json_object *oci_json_child_object(json_object *parent, const char *key)
{
	json_object *o;
	if (json_object_object_get_ex(parent, key, &o) && json_object_is_type(o, json_type_object))
		return o;
	o = json_object_new_object();
	json_object_object_add(parent, key, o);
	return o;
}

