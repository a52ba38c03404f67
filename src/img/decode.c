/* Decoding a record's fields into a C struct by schema.  Every field header
 * is checked against the bytes left in the record, every value against its
 * type's width and the schema's bound, before anything is copied. */
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "img/img.h"
#include "img/le.h"

static const struct img_field *find(const struct img_schema *s, uint16_t tag, size_t *ret_i)
{
	for (size_t i = 0; i < s->nfields; i++) {
		if (s->fields[i].tag == tag) {
			*ret_i = i;
			return &s->fields[i];
		}
	}
	return NULL;
}

static unsigned int_width(uint8_t type)
{
	switch (type) {
	case IMG_T_U8:
	case IMG_T_BOOL: return 1;
	case IMG_T_U16: return 2;
	case IMG_T_U32:
	case IMG_T_I32: return 4;
	case IMG_T_U64:
	case IMG_T_I64: return 8;
	}
	return 0;
}

static uint64_t get_int(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;
	for (unsigned i = width; i > 0; i--)
		v = (v << 8) | p[i - 1];
	return v;
}

/* Store an integer of the field's type; -EINVAL for a bool that is not 0/1. */
static int set_int(const struct img_field *f, char *m, const uint8_t *p)
{
	uint64_t v = get_int(p, int_width(f->type));
	switch (f->type) {
	case IMG_T_U8: *(uint8_t *)m = (uint8_t)v; return 0;
	case IMG_T_BOOL:
		if (v > 1)
			return -EINVAL;
		*(bool *)m = v == 1;
		return 0;
	case IMG_T_U16: *(uint16_t *)m = (uint16_t)v; return 0;
	case IMG_T_U32: *(uint32_t *)m = (uint32_t)v; return 0;
	case IMG_T_I32: *(int32_t *)m = (int32_t)(uint32_t)v; return 0;
	case IMG_T_U64: *(uint64_t *)m = v; return 0;
	case IMG_T_I64: *(int64_t *)m = (int64_t)v; return 0;
	}
	return -EINVAL;
}

static int set_var(const struct img_field *f, void *obj, const uint8_t *p, uint32_t len,
		   const char **why)
{
	char *m = (char *)obj + f->off;
	size_t *lenp = (size_t *)((char *)obj + f->len_off);
	unsigned width = f->type == IMG_T_U32V ? 4 : 8;
	switch (f->type) {
	case IMG_T_STR:
		if (len > f->max)
			return *why = "longer than its bound", -EFBIG;
		if (memchr(p, 0, len))
			return *why = "contains a NUL byte", -EINVAL;
		char *s = xmalloc((size_t)len + 1);
		memcpy(s, p, len);
		s[len] = '\0';
		*(char **)m = s;
		return 0;
	case IMG_T_BYTES:
	case IMG_T_REF:
		if (len > f->max)
			return *why = "longer than its bound", -EFBIG;
		if (f->type == IMG_T_REF) {
			*(const void **)m = p;
		} else {
			void *b = xmalloc(len);
			memcpy(b, p, len);
			*(void **)m = b;
		}
		*lenp = len;
		return 0;
	case IMG_T_U32V:
	case IMG_T_U64V:
		if (len % width)
			return *why = "not a whole number of elements", -EINVAL;
		if (len / width > f->max)
			return *why = "more elements than its bound", -EFBIG;
		size_t n = len / width;
		void *a = xcalloc(n ? n : 1, width);
		for (size_t i = 0; i < n; i++) {
			if (width == 4)
				((uint32_t *)a)[i] = le_get32(p + 4 * i);
			else
				((uint64_t *)a)[i] = le_get64(p + 8 * i);
		}
		*(void **)m = a;
		*lenp = n;
		return 0;
	}
	return *why = "of an unknown type in the schema", -EINVAL;
}

static int field_err(const struct img_rec *rec, const struct img_schema *s,
		     const struct img_field *f, uint16_t tag, int code, const char *why,
		     struct cell_err **err)
{
	return cell_err(err, code < 0 ? -code : code,
			"record %llu (%s) at offset %llu: field '%s' (tag %u) %s",
			(unsigned long long)rec->index, s->name, (unsigned long long)rec->offset,
			f ? f->name : "?", tag, why);
}

static int decode_one(const struct img_rec *rec, const struct img_schema *s, void *obj,
		      bool *seen, size_t *pos, struct cell_err **err)
{
	if (rec->len - *pos < IMG_FIELD_HEADER_SIZE)
		return cell_err(err, EINVAL, "record %llu (%s) at offset %llu: truncated field header",
				(unsigned long long)rec->index, s->name,
				(unsigned long long)rec->offset);
	const uint8_t *h = rec->data + *pos;
	uint16_t tag = le_get16(h);
	uint32_t len = le_get32(h + 2);
	*pos += IMG_FIELD_HEADER_SIZE;
	if (len > rec->len - *pos)
		return field_err(rec, s, NULL, tag, EINVAL, "runs past the end of the record", err);
	const uint8_t *p = rec->data + *pos;
	*pos += len;
	size_t i;
	const struct img_field *f = find(s, tag, &i);
	if (!f) {
		if (tag & IMG_TAG_OPTIONAL)
			return 0;
		return field_err(rec, s, NULL, tag, EINVAL, "is unknown", err);
	}
	if (seen[i])
		return field_err(rec, s, f, tag, EINVAL, "appears twice", err);
	seen[i] = true;
	unsigned width = int_width(f->type);
	if (width) {
		if (len != width)
			return field_err(rec, s, f, tag, EINVAL, "has the wrong width", err);
		if (set_int(f, (char *)obj + f->off, p) < 0)
			return field_err(rec, s, f, tag, EINVAL, "is not 0 or 1", err);
		return 0;
	}
	const char *why = "";
	int r = set_var(f, obj, p, len, &why);
	return r < 0 ? field_err(rec, s, f, tag, r, why, err) : 0;
}

int img_decode(const struct img_rec *rec, const struct img_schema *s, void *obj,
	       struct cell_err **err)
{
	bool seen[IMG_SCHEMA_MAX_FIELDS] = { false };
	if (s->nfields > IMG_SCHEMA_MAX_FIELDS)
		return cell_err(err, EINVAL, "schema %s has too many fields", s->name);
	if (rec->type != s->type)
		return cell_err(err, EINVAL, "record %llu at offset %llu: type %u, expected %s",
				(unsigned long long)rec->index, (unsigned long long)rec->offset,
				rec->type, s->name);
	memset(obj, 0, s->size);
	size_t pos = 0;
	while (pos < rec->len) {
		int r = decode_one(rec, s, obj, seen, &pos, err);
		if (r < 0) {
			img_obj_free(s, obj);
			return r;
		}
	}
	for (size_t i = 0; i < s->nfields; i++) {
		if ((s->fields[i].flags & IMG_F_REQUIRED) && !seen[i]) {
			img_obj_free(s, obj);
			return field_err(rec, s, &s->fields[i], s->fields[i].tag, EINVAL,
					 "is missing", err);
		}
	}
	return 0;
}

void img_obj_free(const struct img_schema *s, void *obj)
{
	for (size_t i = 0; i < s->nfields; i++) {
		const struct img_field *f = &s->fields[i];
		void **m = (void **)((char *)obj + f->off);
		switch (f->type) {
		case IMG_T_STR:
		case IMG_T_BYTES:
		case IMG_T_U32V:
		case IMG_T_U64V:
			free(*m);
			*m = NULL;
			break;
		case IMG_T_REF:
			*m = NULL;
			break;
		}
	}
}
