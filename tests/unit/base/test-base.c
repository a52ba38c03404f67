#include <errno.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/util.h"
#include "t.h"

static void err_wraps_context(void)
{
	struct cell_err *err = NULL;
	int r = cell_err(&err, ENOENT, "open %s", "pages.img");
	T_ASSERT_INT(r, -ENOENT);
	r = cell_err_wrap(&err, "restore '%s'", "web1");
	T_ASSERT_INT(r, -ENOENT);
	T_ASSERT_STR(err->msg, "restore 'web1': open pages.img: No such file or directory");
	cell_err_free(err);
}

static void err_without_errno(void)
{
	struct cell_err *err = NULL;
	T_ASSERT_INT(cell_err(&err, 0, "bad id %s", "x/y"), -EINVAL);
	T_ASSERT_STR(err->msg, "bad id x/y");
	cell_err_free(err);
}

static void parse_size_units(void)
{
	uint64_t v;
	T_ASSERT_INT(cell_parse_size("256M", &v), 0);
	T_ASSERT(v == 256ULL << 20);
	T_ASSERT_INT(cell_parse_size("1.5g", &v), 0);
	T_ASSERT(v == 3ULL << 29);
	T_ASSERT_INT(cell_parse_size("4096", &v), 0);
	T_ASSERT(v == 4096);
	T_ASSERT_INT(cell_parse_size("12QB", &v), -EINVAL);
	T_ASSERT_INT(cell_parse_size("-1", &v), -EINVAL);
	T_ASSERT_INT(cell_parse_size("", &v), -EINVAL);
	T_ASSERT_INT(cell_parse_size("99999999999T", &v), -ERANGE);
}

static void parse_int_bounds(void)
{
	int64_t v;
	T_ASSERT_INT(cell_parse_int64("42", 0, 100, &v), 0);
	T_ASSERT_INT(v, 42);
	T_ASSERT_INT(cell_parse_int64("101", 0, 100, &v), -ERANGE);
	T_ASSERT_INT(cell_parse_int64("4x", 0, 100, &v), -EINVAL);
	T_ASSERT_INT(cell_parse_int64(" 4", 0, 100, &v), -EINVAL);
}

static void json_quote_escapes(void)
{
	_cleanup_free_ char *q = cell_json_quote("a\"b\\c\nd\x01");
	T_ASSERT_STR(q, "\"a\\\"b\\\\c\\nd\\u0001\"");
}

T_MAIN("base", T_CASE(err_wraps_context), T_CASE(err_without_errno), T_CASE(parse_size_units),
       T_CASE(parse_int_bounds), T_CASE(json_quote_escapes))
