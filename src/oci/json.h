/* Internal to src/oci: a typed walk over a json-c tree that knows where it is.
 *
 * A struct oj is a cursor: the value (NULL when the member is absent or JSON
 * null) plus its parent and its key or index, so an error can name the exact
 * place in the input ("config.json: linux.namespaces[2].type: ...") without
 * building path strings on the happy path.  Cursors live on the stack and
 * borrow everything; the json-c tree must outlive them.
 *
 * Getters share one convention: return 1 when the value was present and
 * stored in *ret, 0 when it was absent and not required (*ret untouched), or
 * a negative errno with the error set in the document's cell_err. */
#ifndef CELL_OCI_JSON_H
#define CELL_OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct json_object;
struct oci_kv;

struct oj_doc {
	const char *name; /* how errors name the input */
	struct cell_err **err;
};

struct oj {
	struct json_object *v; /* NULL: absent, or JSON null */
	bool null_elem;	       /* an array element that is JSON null (an error for getters) */
	const struct oj *parent;
	const char *key; /* member name; NULL for an array element or the root */
	size_t index;
	const struct oj_doc *doc;
};

/* Parse text into a json-c tree: size cap, NUL bytes, integers json-c would
 * silently clamp, and syntax errors with line and column. */
int oj_parse(const char *json, size_t len, const char *name, struct json_object **ret,
	     struct cell_err **err);

struct oj oj_root(const struct oj_doc *doc, struct json_object *v);
/* Member key of obj (absent when obj is not an object). */
struct oj oj_get(const struct oj *obj, const char *key);
/* Element i of arr, which must be an array of at least i + 1 elements. */
struct oj oj_at(const struct oj *arr, size_t i);
/* A member found while iterating obj (json_object_object_foreach). */
struct oj oj_member(const struct oj *obj, const char *key, struct json_object *v);

static inline bool oj_present(const struct oj *o)
{
	return o->v != NULL;
}

/* "NAME: PATH: message"; returns -EINVAL. */
int oj_fail(const struct oj *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "NAME: PATH: expected <expected>, got <what the input has>". */
int oj_type_error(const struct oj *o, const char *expected);
/* The JSON path of o ("process.user.uid"), for messages that name two places. */
char *oj_path(const struct oj *o);

int oj_object(const struct oj *o, bool required);
int oj_array(const struct oj *o, bool required, size_t *ret_len);

int oj_string(const struct oj *o, bool required, char **ret);
int oj_bool(const struct oj *o, bool required, bool *ret);
int oj_u64(const struct oj *o, bool required, uint64_t max, uint64_t *ret);
int oj_i64(const struct oj *o, bool required, int64_t min, int64_t max, int64_t *ret);
int oj_u32(const struct oj *o, bool required, uint32_t *ret);
int oj_int(const struct oj *o, bool required, int min, int max, int *ret);

/* An array of strings as a NULL-terminated vector. */
int oj_strv(const struct oj *o, bool required, char ***ret);
/* An object whose values are all strings, in input order. */
int oj_kv(const struct oj *o, struct oci_kv **ret, size_t *ret_n);

/* Shorthands for member key of obj. */
int oj_get_string(const struct oj *obj, const char *key, bool required, char **ret);
int oj_get_bool(const struct oj *obj, const char *key, bool *ret);
int oj_get_u32(const struct oj *obj, const char *key, bool required, uint32_t *ret);
int oj_get_u64(const struct oj *obj, const char *key, bool required, uint64_t *ret);
int oj_get_i64(const struct oj *obj, const char *key, bool required, int64_t *ret);
int oj_get_strv(const struct oj *obj, const char *key, char ***ret);

#endif
