#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/util.h"
#include "img/img.h"
#include "img/le.h"
#include "t.h"

struct rec {
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t d;
	int32_t e;
	int64_t f;
	bool g;
	char *name;
	void *blob;
	size_t blob_len;
	uint64_t *v;
	size_t nv;
	uint32_t *w;
	size_t nw;
};

static const struct img_field rec_fields[] = {
	IMG_U8(1, struct rec, a, IMG_F_REQUIRED),
	IMG_U16(2, struct rec, b, 0),
	IMG_U32(3, struct rec, c, 0),
	IMG_U64(4, struct rec, d, IMG_F_REQUIRED),
	IMG_I32(5, struct rec, e, 0),
	IMG_I64(6, struct rec, f, 0),
	IMG_BOOL(7, struct rec, g, 0),
	IMG_STR(8, struct rec, name, 16, 0),
	IMG_BYTES(9, struct rec, blob, blob_len, 32, 0),
	IMG_U64V(10, struct rec, v, nv, 4, 0),
	IMG_U32V(11, struct rec, w, nw, 4, 0),
};
static const struct img_schema rec_schema = IMG_SCHEMA(100, "test", rec_fields, struct rec);

struct page_rec {
	uint64_t addr;
	const void *data;
	size_t len;
};
static const struct img_field page_fields[] = {
	IMG_U64(1, struct page_rec, addr, IMG_F_REQUIRED),
	IMG_REF(2, struct page_rec, data, len, IMG_PAGES_REC_MAX, 0),
};
static const struct img_schema page_schema =
	IMG_SCHEMA(101, "page", page_fields, struct page_rec);

static int memfd(void)
{
	return memfd_create("img-test", MFD_CLOEXEC);
}

/* Write one test record and END into a memfd; return it rewound. */
static int sample(void)
{
	int fd = memfd();
	struct img_writer *w = NULL;
	uint64_t v[] = { 1, 2, 0xffffffffffffffffULL };
	uint32_t wv[] = { 7 };
	struct rec r = { .a = 0xab, .b = 0xbeef, .c = 0xdeadbeef, .d = 1ULL << 63, .e = -5,
			 .f = -(1LL << 40), .g = true, .name = "hello", .blob = "xyz",
			 .blob_len = 3, .v = v, .nv = 3, .w = wv, .nw = 1 };
	if (img_writer_from_fd(fd, "t.img", IMG_KIND_CORE, &w, NULL) < 0 ||
	    img_write(w, &rec_schema, &r, NULL) < 0 || img_writer_finish(w, NULL) < 0)
		abort();
	img_writer_free(w);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static size_t file_len(int fd)
{
	return (size_t)lseek(fd, 0, SEEK_END);
}

/* Read fd as a core image: 0 and the number of records, or the error. */
static int read_all(int fd, int *nrec, struct cell_err **err)
{
	lseek(fd, 0, SEEK_SET);
	struct img_reader *r = NULL;
	int k = img_reader_from_fd(fd, "t.img", IMG_KIND_CORE, &r, err);
	if (k < 0)
		return k;
	struct img_rec rec;
	*nrec = 0;
	while ((k = img_read(r, &rec, err)) > 0) {
		struct rec o;
		(*nrec)++;
		k = img_decode(&rec, &rec_schema, &o, err);
		if (k < 0)
			break;
		img_obj_free(&rec_schema, &o);
	}
	img_reader_free(r);
	return k;
}

static void roundtrip(void)
{
	_cleanup_close_ int fd = sample();
	struct img_reader *r = NULL;
	T_ASSERT_INT(img_reader_from_fd(fd, "t.img", IMG_KIND_CORE, &r, NULL), 0);
	struct img_rec rec;
	T_ASSERT_INT(img_read(r, &rec, NULL), 1);
	T_ASSERT_INT(rec.type, 100);
	struct rec o;
	T_ASSERT_INT(img_decode(&rec, &rec_schema, &o, NULL), 0);
	T_ASSERT_INT(o.a, 0xab);
	T_ASSERT_INT(o.b, 0xbeef);
	T_ASSERT(o.c == 0xdeadbeef);
	T_ASSERT(o.d == 1ULL << 63);
	T_ASSERT_INT(o.e, -5);
	T_ASSERT(o.f == -(1LL << 40));
	T_ASSERT(o.g);
	T_ASSERT_STR(o.name, "hello");
	T_ASSERT_INT(o.blob_len, 3);
	T_ASSERT(memcmp(o.blob, "xyz", 3) == 0);
	T_ASSERT_INT(o.nv, 3);
	T_ASSERT(o.v[2] == 0xffffffffffffffffULL);
	T_ASSERT_INT(o.nw, 1);
	T_ASSERT_INT(o.w[0], 7);
	img_obj_free(&rec_schema, &o);
	T_ASSERT_INT(img_read(r, &rec, NULL), 0);
	T_ASSERT_INT(img_read(r, &rec, NULL), 0);
	img_reader_free(r);
}

static void bytes_are_little_endian(void)
{
	_cleanup_close_ int fd = sample();
	uint8_t b[64];
	T_ASSERT(pread(fd, b, sizeof(b), 0) == sizeof(b));
	T_ASSERT(memcmp(b, "CELL-IMG", 8) == 0);
	T_ASSERT_INT(le_get16(b + 8), IMG_VERSION_MAJOR);
	T_ASSERT_INT(le_get32(b + 12), IMG_KIND_CORE);
	T_ASSERT_INT(le_get16(b + 16), 100); /* record type */
	T_ASSERT_INT(le_get16(b + 24), 1);   /* first field tag */
	T_ASSERT_INT(le_get32(b + 26), 1);   /* its length */
	T_ASSERT_INT(b[30], 0xab);
	T_ASSERT_INT(le_get16(b + 31), 2);
	T_ASSERT_INT(b[37], 0xef);
	T_ASSERT_INT(b[38], 0xbe);
}

static void every_truncation_fails(void)
{
	_cleanup_close_ int fd = sample();
	size_t n = file_len(fd);
	_cleanup_free_ uint8_t *all = xmalloc(n);
	T_ASSERT(pread(fd, all, n, 0) == (ssize_t)n);
	for (size_t cut = 0; cut < n; cut++) {
		_cleanup_close_ int t = memfd();
		T_ASSERT(write(t, all, cut) == (ssize_t)cut);
		struct cell_err *err = NULL;
		int nrec;
		int r = read_all(t, &nrec, &err);
		if (r >= 0)
			T_FAIL("truncation at %zu bytes of %zu accepted", cut, n);
		T_ASSERT(err && err->msg);
		cell_err_free(err);
	}
}

static void bad_magic_and_version(void)
{
	_cleanup_close_ int fd = sample();
	struct cell_err *err = NULL;
	int nrec;
	T_ASSERT(pwrite(fd, "X", 1, 0) == 1);
	T_ASSERT(read_all(fd, &nrec, &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "t.img: bad magic");
	cell_err_freep(&err);
	T_ASSERT(pwrite(fd, "C", 1, 0) == 1);
	T_ASSERT(pwrite(fd, "\x09", 1, 8) == 1);
	T_ASSERT(read_all(fd, &nrec, &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "format version 9");
	cell_err_freep(&err);
	uint8_t v = IMG_VERSION_MAJOR;
	T_ASSERT(pwrite(fd, &v, 1, 8) == 1);
	T_ASSERT(pwrite(fd, "\x03", 1, 12) == 1);
	T_ASSERT(read_all(fd, &nrec, &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "a pages file where a core file was expected");
	cell_err_free(err);
}

static void huge_length_refused_before_allocating(void)
{
	_cleanup_close_ int fd = sample();
	uint8_t l[4];
	le_put32(l, 0xfffffff0u);
	T_ASSERT(pwrite(fd, l, 4, 20) == 4);
	struct cell_err *err = NULL;
	int nrec;
	T_ASSERT_INT(read_all(fd, &nrec, &err), -EFBIG);
	T_ASSERT_CONTAINS(err->msg, "over the cap");
	cell_err_free(err);
}

/* Hand-built records, to reach what the writer never produces. */
static int one_record(const uint8_t *payload, uint32_t len, struct cell_err **err)
{
	_cleanup_close_ int fd = memfd();
	uint8_t h[16 + 8];
	memcpy(h, "CELL-IMG", 8);
	le_put16(h + 8, IMG_VERSION_MAJOR);
	le_put16(h + 10, 0);
	le_put32(h + 12, IMG_KIND_CORE);
	le_put16(h + 16, 100);
	le_put16(h + 18, 0);
	le_put32(h + 20, len);
	uint8_t end[8 + 6 + 8];
	le_put16(end, IMG_REC_END);
	le_put16(end + 2, 0);
	le_put32(end + 4, 14);
	le_put16(end + 8, 1);
	le_put32(end + 10, 8);
	le_put64(end + 14, 1);
	if (write(fd, h, sizeof(h)) < 0 || write(fd, payload, len) < 0 ||
	    write(fd, end, sizeof(end)) < 0)
		abort();
	int nrec;
	return read_all(fd, &nrec, err);
}

static void field_errors_name_the_field(void)
{
	static const struct {
		uint8_t p[32];
		uint32_t len;
		const char *msg;
	} cases[] = {
		/* a: u8 given 2 bytes */
		{ { 1, 0, 2, 0, 0, 0, 1, 1 }, 8, "field 'a' (tag 1) has the wrong width" },
		/* field length past the record */
		{ { 1, 0, 9, 0, 0, 0, 1 }, 7, "runs past the end of the record" },
		/* d missing */
		{ { 1, 0, 1, 0, 0, 0, 5 }, 7, "field 'd' (tag 4) is missing" },
		/* unknown tag 50 */
		{ { 50, 0, 0, 0, 0, 0 }, 6, "(tag 50) is unknown" },
		/* a twice */
		{ { 1, 0, 1, 0, 0, 0, 5, 1, 0, 1, 0, 0, 0, 5 }, 14, "field 'a' (tag 1) appears twice" },
		/* bool 2 */
		{ { 7, 0, 1, 0, 0, 0, 2 }, 7, "field 'g' (tag 7) is not 0 or 1" },
		/* string with NUL */
		{ { 8, 0, 2, 0, 0, 0, 'a', 0 }, 8, "field 'name' (tag 8) contains a NUL byte" },
		/* string over its bound of 16 */
		{ { 8, 0, 17, 0, 0, 0 }, 23, "field 'name' (tag 8) longer than its bound" },
		/* u64 array of 3 bytes */
		{ { 10, 0, 3, 0, 0, 0, 1, 2, 3 }, 9, "not a whole number of elements" },
		/* truncated field header */
		{ { 1, 0, 1 }, 3, "truncated field header" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cell_err *err = NULL;
		if (one_record(cases[i].p, cases[i].len, &err) >= 0)
			T_FAIL("case %zu accepted", i);
		if (!strstr(err->msg, cases[i].msg))
			T_FAIL("case %zu: \"%s\" lacks \"%s\"", i, err->msg, cases[i].msg);
		cell_err_free(err);
	}
	/* An unknown optional tag (bit 15) is skipped. */
	uint8_t ok[] = { 1, 0, 1, 0, 0, 0, 5, 4, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			 0x01, 0x80, 1, 0, 0, 0, 9 };
	struct cell_err *err = NULL;
	T_ASSERT_INT(one_record(ok, sizeof(ok), &err), 0);
}

static void end_count_and_trailing_data(void)
{
	_cleanup_close_ int fd = sample();
	size_t n = file_len(fd);
	struct cell_err *err = NULL;
	int nrec;
	T_ASSERT(pwrite(fd, "\x07", 1, n - 8) == 1);
	T_ASSERT(read_all(fd, &nrec, &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "end record counts 7 records, found 1");
	cell_err_freep(&err);
	T_ASSERT(pwrite(fd, "\x01", 1, n - 8) == 1);
	T_ASSERT(pwrite(fd, "junk", 4, n) == 4);
	T_ASSERT(read_all(fd, &nrec, &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "data after the end record");
	cell_err_free(err);
}

static void writer_refuses_over_bound(void)
{
	_cleanup_close_ int fd = memfd();
	struct img_writer *w = NULL;
	T_ASSERT_INT(img_writer_from_fd(fd, "t.img", IMG_KIND_CORE, &w, NULL), 0);
	struct rec r = { .name = "a string longer than sixteen" };
	struct cell_err *err = NULL;
	T_ASSERT_INT(img_write(w, &rec_schema, &r, &err), -E2BIG);
	T_ASSERT_CONTAINS(err->msg, "field 'name' over its bound of 16");
	cell_err_free(err);
	img_writer_free(w);
}

static void bulk_pages_roundtrip(void)
{
	_cleanup_close_ int fd = memfd();
	struct img_writer *w = NULL;
	T_ASSERT_INT(img_writer_from_fd(fd, "p.img", IMG_KIND_PAGES, &w, NULL), 0);
	_cleanup_free_ char *a = xmalloc(8192), *b = xmalloc(4096);
	memset(a, 'a', 8192);
	memset(b, 'b', 4096);
	struct iovec iov[2] = { { a, 8192 }, { b, 4096 } };
	struct page_rec pr = { .addr = 0x7000 };
	T_ASSERT_INT(img_write_bulk(w, &page_schema, &pr, 2, iov, 2, NULL), 0);
	T_ASSERT_INT(img_write_bulk(w, &page_schema, &pr, 2, iov + 1, 1, NULL), 0);
	T_ASSERT_INT(img_writer_finish(w, NULL), 0);
	img_writer_free(w);
	lseek(fd, 0, SEEK_SET);
	struct img_reader *r = NULL;
	T_ASSERT_INT(img_reader_from_fd(fd, "p.img", IMG_KIND_PAGES, &r, NULL), 0);
	struct img_rec rec;
	T_ASSERT_INT(img_read(r, &rec, NULL), 1);
	struct page_rec o;
	T_ASSERT_INT(img_decode(&rec, &page_schema, &o, NULL), 0);
	T_ASSERT(o.addr == 0x7000);
	T_ASSERT_INT(o.len, 12288);
	T_ASSERT(((const char *)o.data)[8191] == 'a' && ((const char *)o.data)[8192] == 'b');
	T_ASSERT_INT(img_read(r, &rec, NULL), 1);
	T_ASSERT_INT(img_decode(&rec, &page_schema, &o, NULL), 0);
	T_ASSERT_INT(o.len, 4096);
	T_ASSERT_INT(img_read(r, &rec, NULL), 0);
	img_reader_free(r);
}

T_MAIN("img", T_CASE(roundtrip), T_CASE(bytes_are_little_endian), T_CASE(every_truncation_fails),
       T_CASE(bad_magic_and_version), T_CASE(huge_length_refused_before_allocating),
       T_CASE(field_errors_name_the_field), T_CASE(end_count_and_trailing_data),
       T_CASE(writer_refuses_over_bound), T_CASE(bulk_pages_roundtrip))
