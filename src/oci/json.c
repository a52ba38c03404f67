/* The path-tracking JSON walker behind every parser in src/oci. */
#include "oci/json.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "oci/spec.h"

/* ---- parsing text ----------------------------------------------------- */

static void line_col(const char *s, size_t off, size_t *line, size_t *col)
{
	size_t l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int syntax_error(const char *s, size_t off, const char *name, const char *why,
			struct cell_err **err)
{
	size_t line, col;
	line_col(s, off, &line, &col);
	return cell_err(err, 0, "%s: line %zu, column %zu: invalid JSON: %s", name, line, col, why);
}

/* Would the integer literal of nd digits at d (no sign, no leading zeros)
 * overflow a 64-bit value?  Positive literals may go up to UINT64_MAX,
 * negative ones down to INT64_MIN. */
static bool int_overflows(const char *d, size_t nd, bool neg)
{
	const char *lim = neg ? "9223372036854775808" : "18446744073709551615";
	size_t nl = strlen(lim);
	if (nd != nl)
		return nd > nl;
	return memcmp(d, lim, nl) > 0;
}

/* json-c clamps out-of-range integers to the 64-bit limits without a word
 * and accepts single-quoted strings even in strict mode; catch both on the
 * raw text so a limit of 1e30 bytes never turns into UINT64_MAX. */
static int prescan(const char *s, size_t len, size_t *bad, const char **why)
{
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '\'') {
			*bad = i;
			*why = "single-quoted strings are not JSON";
			return -EINVAL;
		} else if (c == '-' || isdigit((unsigned char)c)) {
			size_t start = i;
			bool neg = c == '-';
			if (neg)
				i++;
			while (i < len && s[i] == '0' && i + 1 < len &&
			       isdigit((unsigned char)s[i + 1]))
				i++;
			size_t d0 = i;
			while (i < len && isdigit((unsigned char)s[i]))
				i++;
			bool integral = !(i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E'));
			if (integral && int_overflows(s + d0, i - d0, neg)) {
				*bad = start;
				*why = neg ? "integer below -9223372036854775808"
					   : "integer above 18446744073709551615";
				return -ERANGE;
			}
			/* The rest of a fraction or exponent is not an integer. */
			while (i < len &&
			       (isdigit((unsigned char)s[i]) || s[i] == '.' || s[i] == 'e' ||
				s[i] == 'E' || s[i] == '+' || s[i] == '-'))
				i++;
			i--;
		}
	}
	return 0;
}

static bool only_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

int oj_parse(const char *json, size_t len, const char *name, struct json_object **ret,
	     struct cell_err **err)
{
	if (!json) {
		json = "";
		len = 0;
	}
	if (len > OCI_SPEC_MAX_BYTES)
		return cell_err(err, EFBIG, "%s: larger than %u bytes", name, OCI_SPEC_MAX_BYTES);
	const char *nul = memchr(json, '\0', len);
	if (nul)
		return syntax_error(json, (size_t)(nul - json), name, "NUL byte", err);
	size_t bad = 0;
	const char *why = NULL;
	if (prescan(json, len, &bad, &why) < 0)
		return syntax_error(json, bad, name, why, err);

	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return cell_err(err, ENOMEM, "%s: parse", name);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *obj = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (!obj && jerr == json_tokener_continue) {
		/* A bare scalar needs a terminator to end; an object or array
		 * that needs one was cut short. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok) == json_tokener_success ? json_tokener_success
									   : json_tokener_continue;
		end = len;
	}
	json_tokener_free(tok);
	/* A document of just "null" parses to NULL: the caller's type check
	 * reports it. */
	if (!obj && jerr != json_tokener_success) {
		if (jerr == json_tokener_continue || end >= len)
			return syntax_error(json, len, name, "unexpected end of input", err);
		return syntax_error(json, end, name, json_tokener_error_desc(jerr), err);
	}
	if (end < len && !only_space(json + end, len - end)) {
		if (obj)
			json_object_put(obj);
		return syntax_error(json, end, name, "unexpected data after the top-level value",
				    err);
	}
	*ret = obj;
	return 0;
}

/* ---- cursors ------------------------------------------------------------ */

struct oj oj_root(const struct oj_doc *doc, struct json_object *v)
{
	return (struct oj){ .v = json_object_is_type(v, json_type_null) ? NULL : v, .doc = doc };
}

struct oj oj_get(const struct oj *obj, const char *key)
{
	struct json_object *v = NULL;
	if (obj->v && json_object_is_type(obj->v, json_type_object))
		json_object_object_get_ex(obj->v, key, &v);
	return oj_member(obj, key, v);
}

struct oj oj_member(const struct oj *obj, const char *key, struct json_object *v)
{
	/* Members set to null are absent, as Go's encoding/json reads them. */
	if (json_object_is_type(v, json_type_null))
		v = NULL;
	return (struct oj){ .v = v, .parent = obj, .key = key, .doc = obj->doc };
}

struct oj oj_at(const struct oj *arr, size_t i)
{
	struct json_object *v = json_object_array_get_idx(arr->v, i);
	bool null = v == NULL || json_object_is_type(v, json_type_null);
	return (struct oj){
		.v = null ? NULL : v, .null_elem = null, .parent = arr, .index = i, .doc = arr->doc
	};
}

/* ---- messages ----------------------------------------------------------- */

static bool plain_key(const char *k)
{
	if (!*k || !(isalpha((unsigned char)*k) || *k == '_'))
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char)*k) && *k != '_')
			return false;
	return true;
}

static void path_append(const struct oj *o, FILE *f)
{
	if (!o->parent)
		return;
	path_append(o->parent, f);
	if (!o->key) {
		fprintf(f, "[%zu]", o->index);
	} else if (plain_key(o->key)) {
		fprintf(f, "%s%s", o->parent->parent ? "." : "", o->key);
	} else {
		_cleanup_free_ char *q = cell_json_quote(o->key);
		fprintf(f, "[%s]", q);
	}
}

char *oj_path(const struct oj *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return xstrdup("?");
	path_append(o, f);
	fclose(f);
	return buf ? buf : xstrdup("?");
}

int oj_fail(const struct oj *o, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *path = oj_path(o);
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return cell_err(o->doc->err, 0, "%s: %s%s%s", o->doc->name, path, *path ? ": " : "",
			msg ? msg : "invalid");
}

/* What the input holds, for "expected X, got Y". */
static char *describe(const struct oj *o)
{
	if (!o->v)
		return xstrdup("null");
	switch (json_object_get_type(o->v)) {
	case json_type_object:
		return xstrdup("an object");
	case json_type_array:
		return xstrdup("an array");
	case json_type_string: {
		const char *s = json_object_get_string(o->v);
		size_t n = strnlen(s, 64);
		_cleanup_free_ char *cut = xasprintf("%.*s", (int)n, s);
		_cleanup_free_ char *q = cell_json_quote(cut);
		return xasprintf("%s%s", q, s[n] ? "..." : "");
	}
	case json_type_null:
		return xstrdup("null");
	default:
		return xasprintf("%.64s",
				 json_object_to_json_string_ext(o->v, JSON_C_TO_STRING_PLAIN));
	}
}

int oj_type_error(const struct oj *o, const char *expected)
{
	_cleanup_free_ char *got = describe(o);
	return oj_fail(o, "expected %s, got %s", expected, got);
}

/* ---- typed getters ------------------------------------------------------ */

/* The common start of every getter: -errno, 0 absent, 1 present with type t. */
static int check(const struct oj *o, bool required, enum json_type t, const char *expected)
{
	if (!o->v) {
		/* An array element or the whole document cannot be "missing". */
		if (o->null_elem || !o->parent)
			return oj_type_error(o, expected);
		if (required)
			return oj_fail(o, "required field is missing");
		return 0;
	}
	if (!json_object_is_type(o->v, t))
		return oj_type_error(o, expected);
	return 1;
}

int oj_object(const struct oj *o, bool required)
{
	return check(o, required, json_type_object, "an object");
}

int oj_array(const struct oj *o, bool required, size_t *ret_len)
{
	int r = check(o, required, json_type_array, "an array");
	if (r > 0)
		*ret_len = json_object_array_length(o->v);
	return r;
}

int oj_string(const struct oj *o, bool required, char **ret)
{
	int r = check(o, required, json_type_string, "a string");
	if (r <= 0)
		return r;
	const char *s = json_object_get_string(o->v);
	size_t n = (size_t)json_object_get_string_len(o->v);
	/* "\u0000" would cut the string short in C: refuse it rather than
	 * act on a different path than the one written. */
	if (strlen(s) != n)
		return oj_fail(o, "string contains a NUL character");
	free(*ret);
	*ret = xstrdup(s);
	return 1;
}

int oj_bool(const struct oj *o, bool required, bool *ret)
{
	int r = check(o, required, json_type_boolean, "true or false");
	if (r > 0)
		*ret = json_object_get_boolean(o->v);
	return r;
}

static int int_range_error(const struct oj *o, const char *min, const char *max)
{
	_cleanup_free_ char *what = xasprintf("an integer between %s and %s", min, max);
	return oj_type_error(o, what);
}

int oj_u64(const struct oj *o, bool required, uint64_t max, uint64_t *ret)
{
	char smax[32];
	snprintf(smax, sizeof(smax), "%" PRIu64, max);
	if (!o->v || !json_object_is_type(o->v, json_type_int)) {
		if (!o->v && !o->null_elem)
			return check(o, required, json_type_int, "an integer");
		return int_range_error(o, "0", smax);
	}
	/* json-c keeps big positives as uint64 and negatives as int64. */
	if (json_object_get_int64(o->v) < 0)
		return int_range_error(o, "0", smax);
	uint64_t v = json_object_get_uint64(o->v);
	if (v > max)
		return int_range_error(o, "0", smax);
	*ret = v;
	return 1;
}

int oj_i64(const struct oj *o, bool required, int64_t min, int64_t max, int64_t *ret)
{
	char smin[32], smax[32];
	snprintf(smin, sizeof(smin), "%" PRId64, min);
	snprintf(smax, sizeof(smax), "%" PRId64, max);
	if (!o->v || !json_object_is_type(o->v, json_type_int)) {
		if (!o->v && !o->null_elem)
			return check(o, required, json_type_int, "an integer");
		return int_range_error(o, smin, smax);
	}
	int64_t v = json_object_get_int64(o->v);
	/* A uint64 above INT64_MAX reads back as INT64_MAX: out of range too. */
	if (v >= 0 && json_object_get_uint64(o->v) > (uint64_t)INT64_MAX)
		return int_range_error(o, smin, smax);
	if (v < min || v > max)
		return int_range_error(o, smin, smax);
	*ret = v;
	return 1;
}

int oj_u32(const struct oj *o, bool required, uint32_t *ret)
{
	uint64_t v = 0;
	int r = oj_u64(o, required, UINT32_MAX, &v);
	if (r > 0)
		*ret = (uint32_t)v;
	return r;
}

int oj_int(const struct oj *o, bool required, int min, int max, int *ret)
{
	int64_t v = 0;
	int r = oj_i64(o, required, min, max, &v);
	if (r > 0)
		*ret = (int)v;
	return r;
}

int oj_strv(const struct oj *o, bool required, char ***ret)
{
	size_t n;
	int r = check(o, required, json_type_array, "an array of strings");
	if (r <= 0)
		return r;
	n = json_object_array_length(o->v);
	_cleanup_strv_ char **v = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(o, i);
		r = oj_string(&e, true, &v[i]);
		if (r < 0)
			return r;
	}
	cell_strv_free(*ret);
	*ret = TAKE_PTR(v);
	return 1;
}

int oj_kv(const struct oj *o, struct oci_kv **ret, size_t *ret_n)
{
	int r = oj_object(o, false);
	if (r <= 0)
		return r;
	size_t n = (size_t)json_object_object_length(o->v), i = 0;
	struct oci_kv *kv = xcalloc(n, sizeof(*kv));
	json_object_object_foreach(o->v, key, val) {
		struct oj e = oj_member(o, key, val);
		if (i >= n)
			break;
		kv[i].key = xstrdup(key);
		r = e.v ? oj_string(&e, true, &kv[i].value) : oj_type_error(&e, "a string");
		i++;
		if (r < 0) {
			for (size_t j = 0; j < i; j++) {
				free(kv[j].key);
				free(kv[j].value);
			}
			free(kv);
			return r;
		}
	}
	*ret = kv;
	*ret_n = i;
	return 1;
}

/* ---- member shorthands -------------------------------------------------- */

int oj_get_string(const struct oj *obj, const char *key, bool required, char **ret)
{
	struct oj o = oj_get(obj, key);
	return oj_string(&o, required, ret);
}

int oj_get_bool(const struct oj *obj, const char *key, bool *ret)
{
	struct oj o = oj_get(obj, key);
	return oj_bool(&o, false, ret);
}

int oj_get_u32(const struct oj *obj, const char *key, bool required, uint32_t *ret)
{
	struct oj o = oj_get(obj, key);
	return oj_u32(&o, required, ret);
}

int oj_get_u64(const struct oj *obj, const char *key, bool required, uint64_t *ret)
{
	struct oj o = oj_get(obj, key);
	return oj_u64(&o, required, UINT64_MAX, ret);
}

int oj_get_i64(const struct oj *obj, const char *key, bool required, int64_t *ret)
{
	struct oj o = oj_get(obj, key);
	return oj_i64(&o, required, INT64_MIN, INT64_MAX, ret);
}

int oj_get_strv(const struct oj *obj, const char *key, char ***ret)
{
	struct oj o = oj_get(obj, key);
	return oj_strv(&o, false, ret);
}
