/* A minimal unit-test harness: one line per case on stdout,
 * "ok SUITE/NAME", "FAIL SUITE/NAME: why" or "skip SUITE/NAME: why",
 * which tests/run counts.  A case stops at its first failed check. */
#ifndef CELL_TESTS_T_H
#define CELL_TESTS_T_H

#include <stdio.h>
#include <string.h>

struct t_case {
	const char *name;
	void (*fn)(void);
};

static char t_why[1024];
static int t_state; /* 0 ok, 1 failed, 2 skipped */

#define T_FAIL(...)                                                               \
	do {                                                                      \
		int t_len_ = snprintf(t_why, sizeof(t_why), "%s:%d: ", __FILE__, __LINE__); \
		snprintf(t_why + t_len_, sizeof(t_why) - (size_t)t_len_, __VA_ARGS__);    \
		t_state = 1;                                                      \
		return;                                                           \
	} while (0)

#define T_SKIP(...)                                              \
	do {                                                     \
		snprintf(t_why, sizeof(t_why), __VA_ARGS__);     \
		t_state = 2;                                     \
		return;                                          \
	} while (0)

#define T_ASSERT(cond)                                 \
	do {                                           \
		if (!(cond))                           \
			T_FAIL("check failed: %s", #cond); \
	} while (0)

#define T_ASSERT_INT(a, b)                                                             \
	do {                                                                           \
		long long t_a_ = (long long)(a), t_b_ = (long long)(b);                \
		if (t_a_ != t_b_)                                                      \
			T_FAIL("%s == %lld, expected %s == %lld", #a, t_a_, #b, t_b_); \
	} while (0)

#define T_ASSERT_STR(a, b)                                                               \
	do {                                                                             \
		const char *t_a_ = (a), *t_b_ = (b);                                     \
		if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0)                          \
			T_FAIL("%s is \"%s\", expected \"%s\"", #a, t_a_ ? t_a_ : "(null)", \
			       t_b_ ? t_b_ : "(null)");                                   \
	} while (0)

/* Checks that s contains needle: for error messages, which must name what
 * the user gave without tests pinning every word. */
#define T_ASSERT_CONTAINS(s, needle)                                                  \
	do {                                                                          \
		const char *t_s_ = (s), *t_n_ = (needle);                             \
		if (!t_s_ || !strstr(t_s_, t_n_))                                     \
			T_FAIL("\"%s\" does not contain \"%s\"", t_s_ ? t_s_ : "(null)", t_n_); \
	} while (0)

static inline int t_main(const char *suite, const struct t_case *cases, size_t n)
{
	int failed = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < n; i++) {
		t_state = 0;
		t_why[0] = '\0';
		cases[i].fn();
		if (t_state == 0)
			printf("ok %s/%s\n", suite, cases[i].name);
		else if (t_state == 2)
			printf("skip %s/%s: %s\n", suite, cases[i].name, t_why);
		else {
			printf("FAIL %s/%s: %s\n", suite, cases[i].name, t_why);
			failed++;
		}
	}
	return failed ? 1 : 0;
}

#define T_CASE(fn) { #fn, fn }
#define T_MAIN(suite, ...)                                                   \
	int main(void)                                                       \
	{                                                                    \
		static const struct t_case t_cases_[] = { __VA_ARGS__ };     \
		return t_main(suite, t_cases_, sizeof(t_cases_) / sizeof(t_cases_[0])); \
	}

#endif
