/* os/seccomp-filter.h, the compile side: what seccomp_compile() accepts
 * and refuses (errors name the JSON path), the compile child and its
 * deadline, and the feature probes.  Nothing here installs a filter. */
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/wait.h>

#include "base/util.h"
#include "oci/spec.h"
#include "os/security.h"
#include "t.h"

static char *n_mkdir[] = { "mkdir", "mkdirat", NULL };
static char *n_getppid[] = { "getppid", NULL };

static int compile(const struct oci_seccomp *s, struct seccomp_prog **ret, char *why, size_t n)
{
	struct cell_err *e = NULL;
	int r = seccomp_compile(s, ret, &e);
	if (r < 0) {
		snprintf(why, n, "seccomp_compile: %s", e->msg);
		cell_err_free(e);
	}
	return r;
}

static void unknown_syscall_names_the_json_path(void)
{
	static char *ok1[] = { "read", NULL }, *ok2[] = { "write", "openat", NULL };
	static char *bad[] = { "close", "foo", NULL };
	struct oci_seccomp_syscall sc[] = {
		{ .names = ok1, .action = OCI_SECCOMP_ERRNO },
		{ .names = ok2, .action = OCI_SECCOMP_LOG },
		{ .names = ok1, .action = OCI_SECCOMP_TRAP },
		{ .names = bad, .action = OCI_SECCOMP_ERRNO },
	};
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = sc,
				 .n_syscalls = 4 };
	struct seccomp_prog *p = NULL;
	struct cell_err *e = NULL;
	T_ASSERT(seccomp_compile(&s, &p, &e) == -EINVAL);
	T_ASSERT(p == NULL);
	T_ASSERT_STR(e->msg, "linux.seccomp.syscalls[3].names[1]: unknown syscall \"foo\"");
	cell_err_free(e);
}

/* The same through the OCI parser, as the runtime gets it. */
static void unknown_syscall_from_config_json(void)
{
	static const char json[] =
		"{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"sh\"], \"cwd\": \"/\","
		" \"user\": {\"uid\": 0, \"gid\": 0}}, \"root\": {\"path\": \"rootfs\"},"
		" \"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\","
		" \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
		" \"syscalls\": ["
		"{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
		"{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": ["
		"{\"index\": 0, \"value\": 255, \"valueTwo\": 8, \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
		"{\"names\": [\"close\", \"foo\"], \"action\": \"SCMP_ACT_ERRNO\","
		" \"errnoRet\": 9}]}}}";
	struct oci_spec *spec = NULL;
	struct seccomp_prog *p = NULL;
	struct cell_err *e = NULL;
	if (oci_spec_parse(json, sizeof(json) - 1, "config.json", &spec, &e) < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		cell_err_free(e);
		T_FAIL("parse: %s", msg);
	}
	int r = seccomp_compile(spec->linux_.seccomp, &p, &e);
	oci_spec_free(spec);
	T_ASSERT(r == -EINVAL && p == NULL);
	T_ASSERT_STR(e->msg, "linux.seccomp.syscalls[3].names[1]: unknown syscall \"foo\"");
	cell_err_free(e);
}

/* socketcall and _llseek exist on i386, not x86_64; mseal and file_setattr
 * are newer than this libseccomp: all are valid profile entries. */
static void names_from_elsewhere_compile(void)
{
	static char *names[] = { "socketcall", "_llseek", "mseal", "file_setattr", "mkdir", NULL };
	uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };
	struct oci_seccomp_syscall sc = { .names = names, .action = OCI_SECCOMP_ERRNO };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct seccomp_prog *native = NULL, *multi = NULL;
	char why[512];
	if (compile(&s, &native, why, sizeof(why)) < 0)
		T_FAIL("%s", why);
	s.architectures = arches;
	s.n_architectures = 3;
	int r = compile(&s, &multi, why, sizeof(why));
	size_t a = seccomp_prog_len(native), b = r == 0 ? seccomp_prog_len(multi) : 0;
	seccomp_prog_free(native);
	seccomp_prog_free(multi);
	if (r < 0)
		T_FAIL("%s", why);
	T_ASSERT(b > a); /* one section per architecture */
}

struct bad_case {
	const char *want;
	void (*edit)(struct oci_seccomp *s);
};

static char *n_write[] = { "write", NULL };
static struct oci_seccomp_arg bad_arg;
static char *bad_flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_NOPE", NULL };
static uint32_t bad_arch[] = { SCMP_ARCH_X86, 0x1234 };

static void e_errno_range(struct oci_seccomp *s)
{
	s->syscalls[1].has_errno_ret = true;
	s->syscalls[1].errno_ret = 70000;
}

static void e_default_errno(struct oci_seccomp *s)
{
	s->default_action = OCI_SECCOMP_ERRNO;
	s->has_default_errno_ret = true;
	s->default_errno_ret = 65536;
}

static void e_op(struct oci_seccomp *s)
{
	bad_arg = (struct oci_seccomp_arg){ .op = 99 };
	s->syscalls[1].args = &bad_arg;
	s->syscalls[1].n_args = 1;
}

static void e_index(struct oci_seccomp *s)
{
	bad_arg = (struct oci_seccomp_arg){ .index = 6, .op = SCMP_CMP_EQ };
	s->syscalls[1].args = &bad_arg;
	s->syscalls[1].n_args = 1;
}

static void e_notify_write(struct oci_seccomp *s)
{
	s->syscalls[1].names = n_write;
	s->syscalls[1].action = OCI_SECCOMP_NOTIFY;
}

static void e_notify_default(struct oci_seccomp *s)
{
	s->default_action = OCI_SECCOMP_NOTIFY;
}

static void e_flag(struct oci_seccomp *s)
{
	s->flags = bad_flags;
}

static void e_arch(struct oci_seccomp *s)
{
	s->architectures = bad_arch;
	s->n_architectures = 2;
}

static void e_action(struct oci_seccomp *s)
{
	s->syscalls[0].action = (enum oci_seccomp_action_kind)77;
}

static void bad_input_names_the_field(void)
{
	static const struct bad_case cases[] = {
		{ "linux.seccomp.syscalls[1].errnoRet: 70000 is out of range (at most 65535)",
		  e_errno_range },
		{ "linux.seccomp.defaultErrnoRet: 65536 is out of range (at most 65535)",
		  e_default_errno },
		{ "linux.seccomp.syscalls[1].args[0].op: unknown operator 99", e_op },
		{ "linux.seccomp.syscalls[1].args[0].index: 6 is out of range (0-5)", e_index },
		{ "linux.seccomp.syscalls[1].names[0]: SCMP_ACT_NOTIFY on \"write\" is not "
		  "supported: the runtime itself needs it after the filter is installed",
		  e_notify_write },
		{ "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
		  e_notify_default },
		{ "linux.seccomp.flags[1]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"", e_flag },
		{ "linux.seccomp.architectures[1]: add architecture 0x1234: ", e_arch },
		{ "linux.seccomp.syscalls[0].action: unknown action 77", e_action },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct oci_seccomp_syscall sc[] = {
			{ .names = n_mkdir, .action = OCI_SECCOMP_ERRNO },
			{ .names = n_getppid, .action = OCI_SECCOMP_ERRNO },
		};
		struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = sc,
					 .n_syscalls = 2 };
		struct seccomp_prog *p = NULL;
		struct cell_err *e = NULL;
		cases[i].edit(&s);
		int r = seccomp_compile(&s, &p, &e);
		seccomp_prog_free(p);
		if (r >= 0)
			T_FAIL("case %zu compiled", i);
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", e->msg);
		cell_err_free(e);
		T_ASSERT_CONTAINS(msg, cases[i].want);
	}
}

/* libseccomp 2.5.4 never returns from adding the second of these rules.
 * seccomp_compile() runs it in a child under a deadline, so the runtime
 * gets an error naming the entry, and no process is left behind. */
static void stuck_libseccomp_is_cut_off(void)
{
	static char *names[] = { "personality", NULL };
	struct oci_seccomp_arg a1[] = {
		{ .index = 0, .value = 0x50505052bfbfafaULL, .op = SCMP_CMP_GE },
		{ .index = 1, .value = 0x505050000000000ULL, .op = SCMP_CMP_GE },
	};
	struct oci_seccomp_arg a2[] = {
		{ .index = 0, .value = 0x50505052bfbfafaULL, .op = SCMP_CMP_GE },
		{ .index = 1, .value = 0x505050505050505ULL, .op = SCMP_CMP_GE },
	};
	struct oci_seccomp_syscall sc[] = {
		{ .names = n_mkdir, .action = OCI_SECCOMP_ERRNO },
		{ .names = names, .action = OCI_SECCOMP_ERRNO, .args = a1, .n_args = 2 },
		{ .names = names, .action = OCI_SECCOMP_ERRNO, .args = a2, .n_args = 2 },
	};
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = sc,
				 .n_syscalls = 3 };
	struct seccomp_prog *p = NULL;
	struct cell_err *e = NULL;
	uint64_t t0 = cell_now_ns();
	int r = seccomp_compile_deadline(&s, 1000, &p, &e);
	uint64_t ms = (cell_now_ns() - t0) / 1000000;
	T_ASSERT(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	if (r == 0) {
		seccomp_prog_free(p);
		T_SKIP("this libseccomp compiles the reproducer");
	}
	char msg[512];
	snprintf(msg, sizeof(msg), "%s", e->msg);
	cell_err_free(e);
	T_ASSERT_INT(r, -ETIMEDOUT);
	T_ASSERT(ms >= 1000 && ms < 5000);
	T_ASSERT_STR(msg, "linux.seccomp.syscalls[2]: libseccomp did not finish within 1000 ms "
			  "(a libseccomp bug, seen with some argument comparisons)");
}

/* Errors come back from the compile child with their code, and a good
 * compile leaves no process behind either. */
static void compile_child_reports_and_is_reaped(void)
{
	static char *bad[] = { "nosuchcall", NULL };
	struct oci_seccomp_syscall sc = { .names = bad, .action = OCI_SECCOMP_ERRNO };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct seccomp_prog *p = NULL, *q = NULL;
	struct cell_err *e = NULL;
	T_ASSERT_INT(seccomp_compile(&s, &p, &e), -EINVAL);
	T_ASSERT(e->errnum == 0 && p == NULL);
	T_ASSERT(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	sc.names = n_mkdir;
	int r = seccomp_compile(&s, &p, &e);
	int r2 = seccomp_compile_in_process(&s, &q, &e);
	bool same = r == 0 && r2 == 0 && seccomp_prog_len(p) == seccomp_prog_len(q) &&
		    memcmp(seccomp_prog_insns(p), seccomp_prog_insns(q),
			   seccomp_prog_len(p) * sizeof(struct sock_filter)) == 0;
	seccomp_prog_free(p);
	seccomp_prog_free(q);
	cell_err_free(e);
	T_ASSERT(same);
	T_ASSERT(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

static void features_probe_the_kernel(void)
{
	struct seccomp_features f;
	seccomp_features(&f);
	T_ASSERT(f.enabled);
	/* Kernel 6.18 has every action and flag. */
	T_ASSERT_INT(f.actions, (1u << (OCI_SECCOMP_NOTIFY + 1)) - 1);
	T_ASSERT_STR(f.flags[0], "SECCOMP_FILTER_FLAG_TSYNC");
	T_ASSERT_STR(f.flags[1], "SECCOMP_FILTER_FLAG_LOG");
	T_ASSERT_STR(f.flags[2], "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
	T_ASSERT_STR(f.flags[3], "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
	T_ASSERT(f.flags[4] == NULL);
	T_ASSERT(f.lib_major == 2 && f.api_level >= 5);
}

static void runtime_syscalls_are_resolvable(void)
{
	for (const char *const *n = seccomp_runtime_syscalls(); *n; n++)
		if (seccomp_syscall_resolve_name(*n) < 0)
			T_FAIL("\"%s\" does not resolve", *n);
}

T_MAIN("os/security-seccomp-compile",
       T_CASE(unknown_syscall_names_the_json_path),
       T_CASE(unknown_syscall_from_config_json),
       T_CASE(names_from_elsewhere_compile),
       T_CASE(bad_input_names_the_field),
       T_CASE(stuck_libseccomp_is_cut_off),
       T_CASE(compile_child_reports_and_is_reaped),
       T_CASE(features_probe_the_kernel),
       T_CASE(runtime_syscalls_are_resolvable))
