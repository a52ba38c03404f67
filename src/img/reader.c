/* Reading image streams.  The reader knows the framing only: the header,
 * record boundaries, the caps, and that the stream ends with a valid END
 * record.  What a record means is the business of img_decode() and of the
 * module that owns the record type. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "img/img.h"
#include "img/le.h"

struct img_reader {
	int fd;
	bool own_fd;
	char *name;
	enum img_kind kind;
	uint8_t *buf;
	size_t cap;
	uint64_t offset;
	uint64_t records;
	bool ended;
};

/* 1 when n bytes were read, 0 at a clean EOF before the first byte. */
static int read_exact(struct img_reader *r, void *p, size_t n, struct cell_err **err)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(r->fd, (char *)p + got, n - got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return cell_err_sys(err, "read %s at offset %llu", r->name,
					    (unsigned long long)(r->offset + got));
		}
		if (k == 0) {
			if (got == 0)
				return 0;
			return cell_err(err, EIO, "%s: truncated at offset %llu (%zu of %zu bytes)",
					r->name, (unsigned long long)(r->offset + got), got, n);
		}
		got += (size_t)k;
	}
	r->offset += n;
	return 1;
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case IMG_KIND_INVENTORY: return "inventory";
	case IMG_KIND_CORE: return "core";
	case IMG_KIND_PAGES: return "pages";
	case IMG_KIND_STREAM: return "stream";
	}
	return "unknown";
}

static int read_header(struct img_reader *r, struct cell_err **err)
{
	uint8_t h[IMG_HEADER_SIZE];
	int k = read_exact(r, h, sizeof(h), err);
	if (k < 0)
		return k;
	if (k == 0)
		return cell_err(err, EINVAL, "%s: empty file, not an image", r->name);
	if (memcmp(h, IMG_MAGIC, 8) != 0)
		return cell_err(err, EINVAL, "%s: bad magic, not a cell image", r->name);
	uint16_t major = le_get16(h + 8);
	uint32_t kind = le_get32(h + 12);
	if (major != IMG_VERSION_MAJOR)
		return cell_err(err, EPROTO, "%s: image format version %u, this cell reads %u",
				r->name, major, IMG_VERSION_MAJOR);
	if (kind != r->kind && r->kind != IMG_KIND_STREAM)
		return cell_err(err, EINVAL, "%s: a %s file where a %s file was expected",
				r->name, kind_name(kind), kind_name(r->kind));
	return 0;
}

static int reader_new(int fd, bool own, const char *name, enum img_kind kind,
		      struct img_reader **ret, struct cell_err **err)
{
	struct img_reader *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->own_fd = own;
	r->name = xstrdup(name);
	r->kind = kind;
	int e = read_header(r, err);
	if (e < 0) {
		img_reader_free(r);
		return e;
	}
	*ret = r;
	return 0;
}

int img_reader_open_at(int dirfd, const char *name, enum img_kind kind,
		       struct img_reader **ret, struct cell_err **err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", name);
	return reader_new(fd, true, name, kind, ret, err);
}

int img_reader_from_fd(int fd, const char *name, enum img_kind kind, struct img_reader **ret,
		       struct cell_err **err)
{
	if (fd < 0)
		return cell_err(err, EBADF, "%s", name);
	return reader_new(fd, false, name, kind, ret, err);
}

static uint32_t cap_for(const struct img_reader *r)
{
	return r->kind == IMG_KIND_PAGES || r->kind == IMG_KIND_STREAM ? IMG_PAGES_REC_MAX
									 : IMG_REC_MAX;
}

struct end_rec {
	uint64_t records;
};

static const struct img_field end_fields[] = {
	IMG_U64(1, struct end_rec, records, IMG_F_REQUIRED),
};
static const struct img_schema end_schema = IMG_SCHEMA(IMG_REC_END, "end", end_fields, struct end_rec);

static int check_end(struct img_reader *r, const struct img_rec *rec, struct cell_err **err)
{
	struct end_rec e;
	int k = img_decode(rec, &end_schema, &e, err);
	if (k < 0)
		return cell_err_wrap(err, "%s", r->name);
	if (e.records != rec->index)
		return cell_err(err, EINVAL, "%s: end record counts %llu records, found %llu",
				r->name, (unsigned long long)e.records,
				(unsigned long long)rec->index);
	uint8_t extra;
	k = read_exact(r, &extra, 1, err);
	if (k < 0)
		return k;
	if (k > 0)
		return cell_err(err, EINVAL, "%s: data after the end record at offset %llu",
				r->name, (unsigned long long)(r->offset - 1));
	r->ended = true;
	return 0;
}

int img_read(struct img_reader *r, struct img_rec *rec, struct cell_err **err)
{
	if (r->ended)
		return 0;
	uint8_t h[IMG_REC_HEADER_SIZE];
	uint64_t at = r->offset;
	int k = read_exact(r, h, sizeof(h), err);
	if (k < 0)
		return k;
	if (k == 0)
		return cell_err(err, EIO, "%s: truncated: no end record after %llu records",
				r->name, (unsigned long long)r->records);
	uint16_t type = le_get16(h), flags = le_get16(h + 2);
	uint32_t len = le_get32(h + 4);
	if (flags != 0)
		return cell_err(err, EINVAL, "%s: record %llu at offset %llu: unknown flags %#x",
				r->name, (unsigned long long)r->records, (unsigned long long)at,
				flags);
	if (len > cap_for(r))
		return cell_err(err, EFBIG,
				"%s: record %llu at offset %llu: length %u over the cap of %u",
				r->name, (unsigned long long)r->records, (unsigned long long)at, len,
				cap_for(r));
	if (len > r->cap) {
		/* Bounded by the cap above: at most 16 MiB for page streams. */
		r->buf = xrealloc(r->buf, len);
		r->cap = len;
	}
	if (len > 0) {
		k = read_exact(r, r->buf, len, err);
		if (k < 0)
			return k;
		if (k == 0)
			return cell_err(err, EIO, "%s: truncated in record %llu at offset %llu",
					r->name, (unsigned long long)r->records,
					(unsigned long long)at);
	}
	*rec = (struct img_rec){ .type = type, .len = len, .data = r->buf, .index = r->records,
				 .offset = at };
	if (type == IMG_REC_END) {
		k = check_end(r, rec, err);
		return k < 0 ? k : 0;
	}
	r->records++;
	return 1;
}

const char *img_reader_name(const struct img_reader *r)
{
	return r->name;
}

void img_reader_free(struct img_reader *r)
{
	if (!r)
		return;
	if (r->own_fd && r->fd >= 0)
		close(r->fd);
	free(r->name);
	free(r->buf);
	free(r);
}

void img_reader_freep(struct img_reader **r)
{
	img_reader_free(*r);
	*r = NULL;
}
