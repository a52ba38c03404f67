/* src/container/ckpt-meta.c: container.json of a checkpoint image.  It is
 * written by checkpoint and read back by restore from an image that may
 * come from anywhere: round trip, and every kind of bad member refused with
 * the member named. */
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "container/internal.h"
#include "t.h"

static void round_trip(void)
{
	struct ckpt_meta m = { .id = "c1", .bundle = "/srv/b", .net_name = "default",
			       .ip = "10.88.0.7", .stdio = { true, false, true } };
	char *text = ckpt_meta_json(&m);
	struct ckpt_meta back;
	struct cell_err *err = NULL;
	T_ASSERT_INT(ckpt_meta_parse(text, strlen(text), "t", &back, &err), 0);
	T_ASSERT_STR(back.id, "c1");
	T_ASSERT_STR(back.bundle, "/srv/b");
	T_ASSERT_STR(back.net_name, "default");
	T_ASSERT_STR(back.ip, "10.88.0.7");
	T_ASSERT(back.stdio[0] && !back.stdio[1] && back.stdio[2]);
	ckpt_meta_clear(&back);
	free(text);
}

static void optional_members_and_unknown_ones(void)
{
	static const char text[] = "{\"id\":\"x\",\"later\":{\"a\":[1]}}\n";
	struct ckpt_meta m;
	struct cell_err *err = NULL;
	T_ASSERT_INT(ckpt_meta_parse(text, strlen(text), "t", &m, &err), 0);
	T_ASSERT_STR(m.id, "x");
	T_ASSERT(!m.bundle && !m.ip && !m.net_name && !m.stdio[0] && !m.stdio[1] && !m.stdio[2]);
	ckpt_meta_clear(&m);
}

static void bad_members_are_named(void)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "", "not a JSON object" },
		{ "[1]", "not a JSON object" },
		{ "{\"id\":\"x\"} {}", "not a JSON object" },
		{ "{\"bundle\":\"/b\"}", "id: missing" },
		{ "{\"id\":7}", "id: not a string" },
		{ "{\"id\":\"a\\u0000b\"}", "id: longer than" },
		{ "{\"id\":\"x\",\"bundle\":\"b\"}", "bundle: \"b\" is not an absolute path" },
		{ "{\"id\":\"x\",\"stdio\":[0,1,2,0]}", "stdio: not an array of at most 3" },
		{ "{\"id\":\"x\",\"stdio\":[3]}", "stdio[0]: not an fd" },
		{ "{\"id\":\"x\",\"stdio\":[\"1\"]}", "stdio[0]: not an fd" },
		{ "{\"id\":\"x\",\"network\":[]}", "network: not an object" },
		{ "{\"id\":\"x\",\"network\":{\"name\":\"n\"}}", "network: needs a name and an ip" },
		{ "{\"id\":\"x\",\"network\":{\"name\":\"n\",\"ip\":\"::1\"}}", "network.ip" },
		{ "{\"id\":\"x\",\"network\":{\"name\":\"n\",\"ip\":\"1111.2222.3333.4444\"}}",
		  "ip: longer than 15 bytes" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ckpt_meta m;
		struct cell_err *err = NULL;
		T_ASSERT(ckpt_meta_parse(bad[i].text, strlen(bad[i].text), "img/container.json", &m,
					 &err) < 0);
		T_ASSERT_CONTAINS(err->msg, "img/container.json");
		T_ASSERT_CONTAINS(err->msg, bad[i].want);
		cell_err_free(err);
	}
}

static void size_is_capped_before_parsing(void)
{
	size_t n = 70 * 1024;
	char *big = xmalloc(n);
	memset(big, ' ', n);
	struct ckpt_meta m;
	struct cell_err *err = NULL;
	T_ASSERT(ckpt_meta_parse(big, n, "t", &m, &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "more than");
	cell_err_free(err);
	free(big);
}

T_MAIN("container-ckpt-meta", T_CASE(round_trip), T_CASE(optional_members_and_unknown_ones),
       T_CASE(bad_members_are_named), T_CASE(size_is_capped_before_parsing))
