/* Editing a config as JSON before it is parsed: `run` flags and `update`
 * merge linux.resources fragments into it. */
#ifndef CELL_OCI_JSON_MERGE_H
#define CELL_OCI_JSON_MERGE_H

#include <json-c/json.h>

/* Deep-merge src into dst, both linux.resources objects (or parts of one):
 * objects merge member by member; arrays of devices, page sizes or
 * interfaces replace the entry with the same key and keep the others, as
 * the kernel does with blkio.throttle.* lines or hugetlb files; anything
 * else replaces. */
void oci_json_merge_resources(json_object *dst, json_object *src);

/* parent[key] as an object, made (replacing a non-object) when absent. */
json_object *oci_json_child_object(json_object *parent, const char *key);

#endif
