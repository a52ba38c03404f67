/* Writing image streams: records are encoded field by field from a schema
 * into a buffer that is written in large pieces; bulk page data goes to the
 * fd with writev, straight from the caller's memory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "img/img.h"
#include "img/le.h"

#define WBUF_FLUSH (1u << 20)

#define IMG_BULK_SEGS 1000
#define IMG_BULK_FLUSH (8u << 20)

struct img_seg {
	const void *ext; /* NULL: the bytes are w->buf + off */
	size_t off, len;
};

struct img_writer {
	int fd;
	bool own_fd;
	char *name;
	uint8_t *buf;
	size_t len, cap;
	uint64_t records;
	uint64_t bytes;
	bool finished;
	/* Bulk records not yet written: see img_write_bulk(). */
	struct img_seg segs[IMG_BULK_SEGS];
	size_t nsegs;
	size_t buf_mark; /* w->buf up to here is covered by segs */
	size_t pending;  /* bytes of caller data in segs */
};

static void buf_reserve(struct img_writer *w, size_t n)
{
	if (w->cap - w->len >= n)
		return;
	size_t cap = w->cap ? w->cap : 65536;
	while (cap - w->len < n)
		cap *= 2;
	w->buf = xrealloc(w->buf, cap);
	w->cap = cap;
}

static uint8_t *buf_grow(struct img_writer *w, size_t n)
{
	buf_reserve(w, n);
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static int flush(struct img_writer *w, struct cell_err **err)
{
	if (!w->len)
		return 0;
	int r = cell_write_all(w->fd, w->buf, w->len);
	if (r < 0)
		return cell_err(err, -r, "write %s", w->name);
	w->bytes += w->len;
	w->len = 0;
	return 0;
}

static void write_header(struct img_writer *w, enum img_kind kind)
{
	uint8_t *p = buf_grow(w, IMG_HEADER_SIZE);
	memcpy(p, IMG_MAGIC, 8);
	le_put16(p + 8, IMG_VERSION_MAJOR);
	le_put16(p + 10, IMG_VERSION_MINOR);
	le_put32(p + 12, (uint32_t)kind);
}

static int writer_new(int fd, bool own, const char *name, enum img_kind kind,
		      struct img_writer **ret)
{
	struct img_writer *w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	w->own_fd = own;
	w->name = xstrdup(name);
	write_header(w, kind);
	*ret = w;
	return 0;
}

int img_writer_create_at(int dirfd, const char *name, enum img_kind kind,
			 struct img_writer **ret, struct cell_err **err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return cell_err_sys(err, "create %s", name);
	return writer_new(fd, true, name, kind, ret);
}

int img_writer_from_fd(int fd, const char *name, enum img_kind kind, struct img_writer **ret,
		       struct cell_err **err)
{
	if (fd < 0)
		return cell_err(err, EBADF, "%s", name);
	return writer_new(fd, false, name, kind, ret);
}

static void put_field_header(struct img_writer *w, uint16_t tag, uint32_t len)
{
	uint8_t *p = buf_grow(w, IMG_FIELD_HEADER_SIZE);
	le_put16(p, tag);
	le_put32(p + 2, len);
}

static void put_int(struct img_writer *w, uint16_t tag, uint64_t v, unsigned width)
{
	put_field_header(w, tag, width);
	uint8_t *p = buf_grow(w, width);
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static size_t member_len(const void *obj, const struct img_field *f)
{
	return *(const size_t *)((const char *)obj + f->len_off);
}

/* Encode one field; -E2BIG when a value exceeds the schema's own bound,
 * since a reader would refuse it. */
static int put_field(struct img_writer *w, const struct img_field *f, const void *obj)
{
	const char *m = (const char *)obj + f->off;
	size_t n;
	switch (f->type) {
	case IMG_T_U8: put_int(w, f->tag, *(const uint8_t *)m, 1); return 0;
	case IMG_T_BOOL: put_int(w, f->tag, *(const bool *)m ? 1 : 0, 1); return 0;
	case IMG_T_U16: put_int(w, f->tag, *(const uint16_t *)m, 2); return 0;
	case IMG_T_U32: put_int(w, f->tag, *(const uint32_t *)m, 4); return 0;
	case IMG_T_I32: put_int(w, f->tag, (uint32_t)*(const int32_t *)m, 4); return 0;
	case IMG_T_U64: put_int(w, f->tag, *(const uint64_t *)m, 8); return 0;
	case IMG_T_I64: put_int(w, f->tag, (uint64_t)*(const int64_t *)m, 8); return 0;
	case IMG_T_STR: {
		const char *s = *(char *const *)m;
		if (!s)
			return 0;
		n = strlen(s);
		if (n > f->max)
			return -E2BIG;
		put_field_header(w, f->tag, (uint32_t)n);
		memcpy(buf_grow(w, n), s, n);
		return 0;
	}
	case IMG_T_BYTES:
	case IMG_T_REF: {
		const void *p = *(const void *const *)m;
		n = member_len(obj, f);
		if (n > f->max)
			return -E2BIG;
		if (!p || !n)
			return 0;
		put_field_header(w, f->tag, (uint32_t)n);
		memcpy(buf_grow(w, n), p, n);
		return 0;
	}
	case IMG_T_U32V:
	case IMG_T_U64V: {
		unsigned width = f->type == IMG_T_U32V ? 4 : 8;
		n = member_len(obj, f);
		if (n > f->max)
			return -E2BIG;
		if (!n)
			return 0;
		put_field_header(w, f->tag, (uint32_t)(n * width));
		uint8_t *p = buf_grow(w, n * width);
		for (size_t i = 0; i < n; i++) {
			if (width == 4)
				le_put32(p + 4 * i, (*(const uint32_t *const *)m)[i]);
			else
				le_put64(p + 8 * i, (*(const uint64_t *const *)m)[i]);
		}
		return 0;
	}
	}
	return -EINVAL;
}

/* Encode the schema fields of a record whose header is written at hdr;
 * returns the payload length so far through *ret_len. */
static int encode(struct img_writer *w, const struct img_schema *s, const void *obj,
		  size_t *ret_hdr, struct cell_err **err)
{
	if (w->finished)
		return cell_err(err, EINVAL, "%s: write after the end record", w->name);
	size_t hdr = w->len;
	buf_grow(w, IMG_REC_HEADER_SIZE);
	for (size_t i = 0; i < s->nfields; i++) {
		int r = put_field(w, &s->fields[i], obj);
		if (r < 0) {
			w->len = hdr;
			return cell_err(err, -r, "%s: %s record: field '%s' over its bound of %u",
					w->name, s->name, s->fields[i].name, s->fields[i].max);
		}
	}
	*ret_hdr = hdr;
	return 0;
}

static void seal(struct img_writer *w, size_t hdr, uint16_t type, uint64_t payload)
{
	le_put16(w->buf + hdr, type);
	le_put16(w->buf + hdr + 2, 0);
	le_put32(w->buf + hdr + 4, (uint32_t)payload);
	w->records++;
}

int img_write(struct img_writer *w, const struct img_schema *s, const void *obj,
	      struct cell_err **err)
{
	size_t hdr = 0;
	int r = encode(w, s, obj, &hdr, err);
	if (r < 0)
		return r;
	size_t payload = w->len - hdr - IMG_REC_HEADER_SIZE;
	if (payload > IMG_REC_MAX) {
		w->len = hdr;
		return cell_err(err, E2BIG, "%s: %s record of %zu bytes over the cap of %u",
				w->name, s->name, payload, IMG_REC_MAX);
	}
	seal(w, hdr, s->type, payload);
	if (w->len < WBUF_FLUSH)
		return 0;
	return img_writer_flush(w, err);
}

static int flush_bulk(struct img_writer *w, struct cell_err **err);

int img_write_bulk(struct img_writer *w, const struct img_schema *s, const void *obj,
		   uint16_t data_tag, const struct iovec *iov, int iovcnt, struct cell_err **err)
{
	size_t hdr = 0, data = 0;
	for (int i = 0; i < iovcnt; i++)
		data += iov[i].iov_len;
	if (iovcnt + 2 > IMG_BULK_SEGS)
		return cell_err(err, E2BIG, "%s: %s record in %d pieces", w->name, s->name, iovcnt);
	if (w->nsegs + iovcnt + 2 > IMG_BULK_SEGS) {
		int r = flush_bulk(w, err);
		if (r < 0)
			return r;
	}
	int r = encode(w, s, obj, &hdr, err);
	if (r < 0)
		return r;
	put_field_header(w, data_tag, (uint32_t)data);
	size_t payload = w->len - hdr - IMG_REC_HEADER_SIZE + data;
	if (payload > IMG_PAGES_REC_MAX) {
		w->len = hdr;
		return cell_err(err, E2BIG, "%s: %s record of %zu bytes over the cap of %u",
				w->name, s->name, payload, IMG_PAGES_REC_MAX);
	}
	seal(w, hdr, s->type, payload);
	/* Buffered bytes since the last segment (earlier records included). */
	size_t from = w->nsegs ? w->buf_mark : 0;
	w->segs[w->nsegs++] = (struct img_seg){ NULL, from, w->len - from };
	for (int i = 0; i < iovcnt; i++)
		w->segs[w->nsegs++] = (struct img_seg){ iov[i].iov_base, 0, iov[i].iov_len };
	w->buf_mark = w->len;
	w->pending += data;
	if (w->pending >= IMG_BULK_FLUSH)
		return flush_bulk(w, err);
	return 0;
}

static int flush_bulk(struct img_writer *w, struct cell_err **err)
{
	struct iovec v[IMG_BULK_SEGS + 1];
	int n = 0;
	for (size_t i = 0; i < w->nsegs; i++) {
		const struct img_seg *g = &w->segs[i];
		if (!g->len)
			continue;
		v[n++] = (struct iovec){ g->ext ? (void *)g->ext : w->buf + g->off, g->len };
	}
	if (w->len > w->buf_mark)
		v[n++] = (struct iovec){ w->buf + w->buf_mark, w->len - w->buf_mark };
	struct iovec *cur = v;
	while (n > 0) {
		ssize_t k = writev(w->fd, cur, n > IOV_MAX ? IOV_MAX : n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return cell_err_sys(err, "write %s", w->name);
		}
		w->bytes += (uint64_t)k;
		while (n > 0 && (size_t)k >= cur->iov_len) {
			k -= (ssize_t)cur->iov_len;
			cur++;
			n--;
		}
		if (n > 0 && k > 0) {
			cur->iov_base = (char *)cur->iov_base + k;
			cur->iov_len -= (size_t)k;
		}
	}
	w->len = 0;
	w->buf_mark = 0;
	w->nsegs = 0;
	w->pending = 0;
	return 0;
}

int img_writer_flush(struct img_writer *w, struct cell_err **err)
{
	return w->nsegs ? flush_bulk(w, err) : flush(w, err);
}

struct end_rec {
	uint64_t records;
};

static const struct img_field end_fields[] = {
	IMG_U64(1, struct end_rec, records, IMG_F_REQUIRED),
};
static const struct img_schema end_schema = IMG_SCHEMA(IMG_REC_END, "end", end_fields, struct end_rec);

int img_writer_finish(struct img_writer *w, struct cell_err **err)
{
	struct end_rec e = { .records = w->records };
	int r = img_write(w, &end_schema, &e, err);
	if (r < 0)
		return r;
	w->finished = true;
	return img_writer_flush(w, err);
}

uint64_t img_writer_bytes(const struct img_writer *w)
{
	return w->bytes + w->len;
}

void img_writer_free(struct img_writer *w)
{
	if (!w)
		return;
	if (w->own_fd && w->fd >= 0)
		close(w->fd);
	free(w->name);
	free(w->buf);
	free(w);
}

void img_writer_freep(struct img_writer **w)
{
	img_writer_free(*w);
	*w = NULL;
}
