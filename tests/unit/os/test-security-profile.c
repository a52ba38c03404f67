/* A real profile: podman's default seccomp profile from containers-common
 * (/usr/share/containers/seccomp.json, Docker's format), turned into
 * linux.seccomp the way podman does for a container with podman's default
 * capabilities minus CAP_SYS_CHROOT, then compiled and installed in a child
 * that checks what it allows and denies and execs a program under it. */
#include <json-c/json.h>
#include <linux/netlink.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "os/security.h"
#include "security-child.h"
#include "t.h"

#define PROFILE "/usr/share/containers/seccomp.json"

static const char *const caps[] = { "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER",
				    "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
				    "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
				    NULL };

static bool in_strs(const char *const *v, const char *s)
{
	for (; *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* Docker's rule: every cap in includes.caps present, none of excludes.caps;
 * the arch ("amd64") in includes.arches when given, not in excludes.arches. */
static bool list_match(json_object *cond, const char *key, const char *const *have, bool all)
{
	json_object *l;
	if (!cond || !json_object_object_get_ex(cond, key, &l))
		return all;
	size_t n = json_object_array_length(l), hits = 0;
	for (size_t i = 0; i < n; i++)
		hits += in_strs(have, json_object_get_string(json_object_array_get_idx(l, i)));
	return all ? hits == n : hits > 0;
}

static bool applies(json_object *e)
{
	static const char *const arch[] = { "amd64", NULL };
	json_object *inc = NULL, *exc = NULL;
	json_object_object_get_ex(e, "includes", &inc);
	json_object_object_get_ex(e, "excludes", &exc);
	json_object *a;
	if (inc && json_object_object_get_ex(inc, "arches", &a) &&
	    !list_match(inc, "arches", arch, false))
		return false;
	return list_match(inc, "caps", caps, true) && !list_match(exc, "caps", caps, false) &&
	       !list_match(exc, "arches", arch, false);
}

static int action_of(const char *s)
{
	static const char *const names[] = {
		[OCI_SECCOMP_KILL] = "SCMP_ACT_KILL",
		[OCI_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
		[OCI_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
		[OCI_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
		[OCI_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
		[OCI_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
		[OCI_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
		[OCI_SECCOMP_LOG] = "SCMP_ACT_LOG",
		[OCI_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int op_of(const char *s)
{
	static const char *const ops[] = { NULL, "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
					   "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					   "SCMP_CMP_MASKED_EQ" };
	for (size_t i = 1; i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i], s) == 0)
			return (int)i;
	return -1;
}

static void convert_entry(json_object *e, struct oci_seccomp_syscall *sc)
{
	json_object *v, *names = NULL, *args = NULL;
	json_object_object_get_ex(e, "names", &names);
	size_t n = json_object_array_length(names);
	sc->names = xcalloc(n + 1, sizeof(char *));
	for (size_t j = 0; j < n; j++)
		sc->names[j] = xstrdup(json_object_get_string(json_object_array_get_idx(names, j)));
	json_object_object_get_ex(e, "action", &v);
	sc->action = (enum oci_seccomp_action_kind)action_of(json_object_get_string(v));
	if (json_object_object_get_ex(e, "errnoRet", &v) && v) {
		sc->has_errno_ret = true;
		sc->errno_ret = (uint32_t)json_object_get_int(v);
	}
	if (json_object_object_get_ex(e, "args", &args) && args)
		sc->n_args = json_object_array_length(args);
	sc->args = xcalloc(sc->n_args + 1, sizeof(*sc->args));
	for (size_t k = 0; k < sc->n_args; k++) {
		json_object *a = json_object_array_get_idx(args, k);
		json_object_object_get_ex(a, "index", &v);
		sc->args[k].index = (uint32_t)json_object_get_int(v);
		json_object_object_get_ex(a, "value", &v);
		sc->args[k].value = (uint64_t)json_object_get_uint64(v);
		json_object_object_get_ex(a, "valueTwo", &v);
		sc->args[k].value_two = (uint64_t)json_object_get_uint64(v);
		json_object_object_get_ex(a, "op", &v);
		sc->args[k].op = op_of(json_object_get_string(v));
	}
}

static uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };

static bool convert(json_object *p, struct oci_seccomp *s)
{
	json_object *v, *calls;
	if (!json_object_object_get_ex(p, "defaultAction", &v) ||
	    !json_object_object_get_ex(p, "syscalls", &calls))
		return false;
	s->default_action = (enum oci_seccomp_action_kind)action_of(json_object_get_string(v));
	if (json_object_object_get_ex(p, "defaultErrnoRet", &v)) {
		s->has_default_errno_ret = true;
		s->default_errno_ret = (uint32_t)json_object_get_int(v);
	}
	s->architectures = arches;
	s->n_architectures = ARRAY_SIZE(arches);
	size_t n = json_object_array_length(calls);
	s->syscalls = xcalloc(n + 1, sizeof(*s->syscalls));
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(calls, i);
		if (applies(e))
			convert_entry(e, &s->syscalls[s->n_syscalls++]);
	}
	return true;
}

static void free_converted(struct oci_seccomp *s)
{
	for (size_t i = 0; i < s->n_syscalls; i++) {
		cell_strv_free(s->syscalls[i].names);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
}

#define SAY(c, name, call)                                                 \
	do {                                                               \
		errno = 0;                                                 \
		long rv_ = (long)(call);                                   \
		int e_ = errno;                                            \
		if (rv_ < 0)                                               \
			child_say((c)->fd, "%s: errno %d\n", (name), e_); \
		else                                                       \
			child_say((c)->fd, "%s: ok\n", (name));            \
	} while (0)

static long sock(int domain, int type, int proto)
{
	long fd = syscall(SYS_socket, domain, type, proto);
	if (fd >= 0)
		close((int)fd);
	return fd;
}

static void under_profile(const struct child_ctx *c, void *arg)
{
	struct cell_err *e = NULL;
	int listener;
	char *argv[] = { "cat", "/proc/self/status", NULL };
	if (procattr_set_no_new_privs(&e) < 0 || seccomp_install(arg, &listener, &e) < 0)
		child_fail(c->fd, "install", e);
	SAY(c, "getpid", syscall(SYS_getpid));
	SAY(c, "kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0));
	SAY(c, "chroot", syscall(SYS_chroot, "/"));
	SAY(c, "personality-query", syscall(SYS_personality, 0xffffffffUL));
	SAY(c, "personality-linux32", syscall(SYS_personality, 0x0008UL));
	SAY(c, "personality-exec", syscall(SYS_personality, 0x0400000UL));
	SAY(c, "netlink-audit", sock(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT));
	SAY(c, "netlink-route", sock(AF_NETLINK, SOCK_RAW, 0));
	SAY(c, "unix", sock(AF_UNIX, SOCK_STREAM, 0));
	if (dup2(c->fd, 1) < 0)
		child_exit(3);
	execv("/bin/cat", argv);
	child_say(c->fd, "error: execv: %s\n", strerror(errno));
	child_exit(1);
}

#define EXPECT_FIELD(res, key, want)                                    \
	do {                                                            \
		char buf_[128];                                         \
		T_ASSERT_STR(field((res), (key), buf_, sizeof(buf_)), (want)); \
	} while (0)

static void podman_default_profile(void)
{
	json_object *p = json_object_from_file(PROFILE);
	struct oci_seccomp s = { 0 };
	struct seccomp_prog *prog = NULL;
	struct cell_err *e = NULL;
	struct child_result r;
	char why[512] = "";

	if (!p)
		T_SKIP("no %s (containers-common)", PROFILE);
	bool ok = convert(p, &s);
	json_object_put(p);
	if (ok && seccomp_compile(&s, &prog, &e) < 0) {
		snprintf(why, sizeof(why), "%s", e->msg);
		cell_err_free(e);
	}
	free_converted(&s);
	T_ASSERT(ok);
	if (why[0])
		T_FAIL("compile: %s", why);
	run_child(under_profile, prog, NULL, &r);
	seccomp_prog_free(prog);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_FIELD(&r, "getpid:", "ok");
	EXPECT_FIELD(&r, "kexec_load:", "errno 1");	/* explicit ERRNO(1) rule */
	EXPECT_FIELD(&r, "chroot:", "errno 1");		/* excluded without CAP_SYS_CHROOT */
	EXPECT_FIELD(&r, "personality-query:", "ok");
	EXPECT_FIELD(&r, "personality-linux32:", "ok");
	EXPECT_FIELD(&r, "personality-exec:", "errno 38"); /* defaultErrnoRet */
	EXPECT_FIELD(&r, "netlink-audit:", "errno 22");
	EXPECT_FIELD(&r, "netlink-route:", "ok");
	EXPECT_FIELD(&r, "unix:", "ok");
	EXPECT_FIELD(&r, "Seccomp:", "2");
	EXPECT_FIELD(&r, "NoNewPrivs:", "1");
}

T_MAIN("os/security-profile",
       T_CASE(podman_default_profile))
