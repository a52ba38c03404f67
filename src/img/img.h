/* The image record format: one typed, length-checked, little-endian record
 * stream for checkpoints (and later VM snapshots and the migration stream).
 * docs/image-format.md is the specification; this header is the API.
 *
 * A stream is a 16-byte header (magic, version, kind) followed by records:
 *
 *	u16 type | u16 flags (0) | u32 length | payload[length]
 *
 * and a payload is a sequence of fields:
 *
 *	u16 tag | u32 length | value[length]
 *
 * The last record is always END, which counts the records before it, so a
 * truncated stream is told apart from a complete one.  Values are encoded
 * one field at a time from a schema (a table naming each field's tag, type,
 * bounds and C member), never by copying host structs.
 *
 * Nothing read from a stream is trusted: every length is checked against the
 * bytes present and against a cap before anything is allocated. */
#ifndef CELL_IMG_IMG_H
#define CELL_IMG_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/err.h"

#define IMG_MAGIC "CELL-IMG"
#define IMG_VERSION_MAJOR 2
#define IMG_VERSION_MINOR 0
#define IMG_HEADER_SIZE 16
#define IMG_REC_HEADER_SIZE 8
#define IMG_FIELD_HEADER_SIZE 6

/* Caps on what a reader accepts.  A state record is small; a page record
 * carries at most IMG_PAGES_MAX pages of data. */
#define IMG_REC_MAX (2u << 20)
#define IMG_PAGE_SIZE 4096u
#define IMG_PAGES_MAX 4096u
#define IMG_PAGES_REC_MAX (IMG_PAGES_MAX * IMG_PAGE_SIZE + 4096u)

/* What a stream holds; the reader checks it against what the caller wants. */
enum img_kind {
	IMG_KIND_INVENTORY = 1, /* inventory.img: what the image is */
	IMG_KIND_CORE = 2,	/* core.img: tasks, threads, memory layout, files */
	IMG_KIND_PAGES = 3,	/* pages.img: memory contents */
	IMG_KIND_STREAM = 4,	/* a migration stream: any record */
};

/* Record types 1..15 are the format's own. */
enum {
	IMG_REC_END = 1,
};

enum img_ftype {
	IMG_T_U8 = 1,
	IMG_T_U16,
	IMG_T_U32,
	IMG_T_U64,
	IMG_T_I32,
	IMG_T_I64,
	IMG_T_BOOL, /* u8 0 or 1 */
	IMG_T_STR,  /* bytes without NUL; decoded to a malloc'd C string */
	IMG_T_BYTES, /* decoded to a malloc'd copy; length in the size_t at len_off */
	IMG_T_REF,   /* like BYTES, but points into the record: no copy */
	IMG_T_U32V,  /* array of u32; malloc'd uint32_t *, count at len_off */
	IMG_T_U64V,  /* array of u64; malloc'd uint64_t *, count at len_off */
};

enum {
	IMG_F_REQUIRED = 1 << 0,
};

/* One field of a record: its tag on the wire, its type and bound, and where
 * it lives in the C struct it decodes into. */
struct img_field {
	uint16_t tag;
	uint8_t type;
	uint8_t flags;
	uint32_t max; /* STR/BYTES/REF: bytes; U32V/U64V: elements */
	size_t off;
	size_t len_off;
	const char *name;
};

#define IMG_SCHEMA_MAX_FIELDS 128

struct img_schema {
	uint16_t type;
	const char *name;
	const struct img_field *fields;
	size_t nfields;
	size_t size; /* of the C struct */
};

#define IMG_FIELD_(tag_, type_, st, member, max_, lenoff, flags_) \
	{ .tag = (tag_), .type = (type_), .flags = (flags_), .max = (max_), \
	  .off = offsetof(st, member), .len_off = (lenoff), .name = #member }
#define IMG_U8(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_U8, st, m, 0, 0, fl)
#define IMG_U16(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_U16, st, m, 0, 0, fl)
#define IMG_U32(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_U32, st, m, 0, 0, fl)
#define IMG_U64(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_U64, st, m, 0, 0, fl)
#define IMG_I32(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_I32, st, m, 0, 0, fl)
#define IMG_I64(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_I64, st, m, 0, 0, fl)
#define IMG_BOOL(tag, st, m, fl) IMG_FIELD_(tag, IMG_T_BOOL, st, m, 0, 0, fl)
#define IMG_STR(tag, st, m, max, fl) IMG_FIELD_(tag, IMG_T_STR, st, m, max, 0, fl)
#define IMG_BYTES(tag, st, m, lenm, max, fl) \
	IMG_FIELD_(tag, IMG_T_BYTES, st, m, max, offsetof(st, lenm), fl)
#define IMG_REF(tag, st, m, lenm, max, fl) \
	IMG_FIELD_(tag, IMG_T_REF, st, m, max, offsetof(st, lenm), fl)
#define IMG_U32V(tag, st, m, lenm, max, fl) \
	IMG_FIELD_(tag, IMG_T_U32V, st, m, max, offsetof(st, lenm), fl)
#define IMG_U64V(tag, st, m, lenm, max, fl) \
	IMG_FIELD_(tag, IMG_T_U64V, st, m, max, offsetof(st, lenm), fl)

#define IMG_SCHEMA(type_, name_, fields_, st) \
	{ .type = (type_), .name = (name_), .fields = (fields_), \
	  .nfields = sizeof(fields_) / sizeof((fields_)[0]), .size = sizeof(st) }

/* --- writing ------------------------------------------------------------ */

struct img_writer;

/* Create name in dirfd (O_EXCL: an image is never overwritten in place). */
int img_writer_create_at(int dirfd, const char *name, enum img_kind kind,
			 struct img_writer **ret, struct cell_err **err);
/* Write to an fd the caller owns (a socket for migration). */
int img_writer_from_fd(int fd, const char *name, enum img_kind kind, struct img_writer **ret,
		       struct cell_err **err);
/* Encode obj, described by schema, as one record. */
int img_write(struct img_writer *w, const struct img_schema *s, const void *obj,
	      struct cell_err **err);
/* A record whose schema fields are followed by one bulk field (tag data_tag)
 * taken from iov without a copy: memory pages.  Records are gathered and
 * written with one writev per 8 MiB, so the data must stay valid and
 * unchanged until the next img_writer_flush() (or finish). */
int img_write_bulk(struct img_writer *w, const struct img_schema *s, const void *obj,
		   uint16_t data_tag, const struct iovec *iov, int iovcnt, struct cell_err **err);
int img_writer_flush(struct img_writer *w, struct cell_err **err);
/* Write the END record and flush.  The writer stays allocated. */
int img_writer_finish(struct img_writer *w, struct cell_err **err);
uint64_t img_writer_bytes(const struct img_writer *w);
void img_writer_free(struct img_writer *w);
void img_writer_freep(struct img_writer **w);

/* --- reading ------------------------------------------------------------ */

struct img_reader;

struct img_rec {
	uint16_t type;
	uint32_t len;
	const uint8_t *data; /* valid until the next img_read() */
	uint64_t index;      /* 0-based record number, for messages */
	uint64_t offset;     /* of the record header in the stream */
};

int img_reader_open_at(int dirfd, const char *name, enum img_kind kind,
		       struct img_reader **ret, struct cell_err **err);
/* Read from an fd the caller owns; name is used in messages. */
int img_reader_from_fd(int fd, const char *name, enum img_kind kind, struct img_reader **ret,
		       struct cell_err **err);
/* 1 and a record, 0 after a valid END record, or -errno. */
int img_read(struct img_reader *r, struct img_rec *rec, struct cell_err **err);
const char *img_reader_name(const struct img_reader *r);
void img_reader_free(struct img_reader *r);
void img_reader_freep(struct img_reader **r);

/* Decode rec into obj (zeroed first) by schema.  Fields of other tags are
 * rejected unless the tag has bit 15 set (reserved for optional additions
 * that older readers may skip).  Duplicates, wrong widths, over-long values
 * and missing required fields are errors naming the record and field. */
int img_decode(const struct img_rec *rec, const struct img_schema *s, void *obj,
	       struct cell_err **err);
/* Free what img_decode allocated in obj (strings, bytes, arrays). */
void img_obj_free(const struct img_schema *s, void *obj);

#define IMG_TAG_OPTIONAL 0x8000

#define _cleanup_img_writer_ _cleanup_(img_writer_freep)
#define _cleanup_img_reader_ _cleanup_(img_reader_freep)

#endif
