/* os/caps.h and os/user.h, and the whole order of os/security.h: each case
 * forks a child that applies the settings and reports what the kernel shows
 * (/proc/self/status, getres[ug]id, getgroups), before or after execve. */
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/stat.h>

#include "base/util.h"
#include "os/security.h"
#include "security-child.h"
#include "t.h"

#define BIT(c) (1ull << (c))

struct plan {
	struct oci_caps caps;
	bool has_caps;
	struct oci_user user;
	bool exec_status; /* end with execve /bin/cat /proc/self/status */
	bool nnp;
	struct seccomp_prog *prog; /* installed before the caps without nnp, last with */
};

static void exec_cat_status(const struct child_ctx *c)
{
	char *argv[] = { "cat", "/proc/self/status", NULL };
	if (dup2(c->fd, 1) < 0)
		child_exit(3);
	execv("/bin/cat", argv);
	child_say(c->fd, "error: execv /bin/cat: %s\n", strerror(errno));
	child_exit(1);
}

static void install(const struct child_ctx *c, const struct seccomp_prog *p)
{
	struct cell_err *e = NULL;
	int listener;
	if (seccomp_install(p, &listener, &e) < 0)
		child_fail(c->fd, "seccomp_install", e);
}

/* Steps 7-14 of os/security.h. */
static void apply_plan(const struct child_ctx *c, void *arg)
{
	struct plan *p = arg;
	struct cell_err *e = NULL;

	if (p->nnp && procattr_set_no_new_privs(&e) < 0)
		child_fail(c->fd, "nnp", e);
	if (p->prog && !p->nnp)
		install(c, p->prog);
	if (p->has_caps && caps_drop_bounding(&p->caps, &e) < 0)
		child_fail(c->fd, "caps_drop_bounding", e);
	if (p->has_caps && caps_keep_on_uid_switch(true, &e) < 0)
		child_fail(c->fd, "keepcaps", e);
	if (user_switch(&p->user, &e) < 0)
		child_fail(c->fd, "user_switch", e);
	if (p->has_caps && caps_apply(&p->caps, &e) < 0)
		child_fail(c->fd, "caps_apply", e);
	if (p->prog && p->nnp)
		install(c, p->prog);
	if (p->exec_status)
		exec_cat_status(c);
	child_status(c->fd, "Cap");
	child_status(c->fd, "Uid:");
	child_status(c->fd, "Gid:");
	child_status(c->fd, "Groups");
	child_status(c->fd, "NoNewPrivs");
	child_status(c->fd, "Seccomp:");
	child_say(c->fd, "Umask: %04o\n", (unsigned)umask(0));
}

#define EXPECT_FIELD(res, key, want)                                    \
	do {                                                            \
		char buf_[128];                                         \
		T_ASSERT_STR(field((res), (key), buf_, sizeof(buf_)), (want)); \
	} while (0)

static void expect_caps(const struct child_result *r, uint64_t inh, uint64_t prm, uint64_t eff,
			uint64_t bnd, uint64_t amb, char *why, size_t size)
{
	const struct {
		const char *key;
		uint64_t want;
	} f[] = { { "CapInh:", inh }, { "CapPrm:", prm }, { "CapEff:", eff },
		  { "CapBnd:", bnd }, { "CapAmb:", amb } };
	why[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		char buf[64], want[32];
		snprintf(want, sizeof(want), "%016llx", (unsigned long long)f[i].want);
		const char *got = field(r, f[i].key, buf, sizeof(buf));
		if (!got || strcmp(got, want) != 0) {
			snprintf(why, size, "%s is %s, expected %s; output:\n%s", f[i].key,
				 got ? got : "(missing)", want, r->out);
			return;
		}
	}
}

#define EXPECT_CAPS(r, inh, prm, eff, bnd, amb)                                       \
	do {                                                                          \
		char why_[sizeof(t_why)];                                             \
		expect_caps((r), (inh), (prm), (eff), (bnd), (amb), why_, sizeof(why_)); \
		if (why_[0])                                                          \
			T_FAIL("%s", why_);                                           \
	} while (0)

/* A non-root user keeping a few capabilities, one of them ambient. */
static struct plan user_plan(void)
{
	return (struct plan){
		.has_caps = true,
		.caps = {
			.bounding = BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_KILL) |
				    BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW),
			.permitted = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) |
				     BIT(CAP_NET_RAW),
			.effective = BIT(CAP_CHOWN) | BIT(CAP_KILL),
			.inheritable = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW),
			.ambient = BIT(CAP_NET_BIND_SERVICE),
		},
		.user = { .uid = 1000, .gid = 1000 },
	};
}

static void caps_exact_sets_after_uid_switch(void)
{
	struct plan p = user_plan();
	struct child_result r;
	run_child(apply_plan, &p, NULL, &r);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_CAPS(&r, 0x2400, 0x2421, 0x21, 0x2423, 0x400);
}

static void caps_ambient_survives_execve(void)
{
	struct plan p = user_plan();
	struct child_result r;
	p.exec_status = true;
	run_child(apply_plan, &p, NULL, &r);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	/* A non-root execve of a file without capabilities: permitted and
	 * effective become the ambient set; inheritable and bounding stay. */
	EXPECT_CAPS(&r, 0x2400, 0x400, 0x400, 0x2423, 0x400);
	EXPECT_FIELD(&r, "Uid:", "1000\t1000\t1000\t1000");
}

static void caps_root_exact_sets(void)
{
	struct plan p = {
		.has_caps = true,
		.caps = {
			.bounding = BIT(CAP_CHOWN) | BIT(CAP_SETPCAP) | BIT(CAP_SYS_ADMIN),
			.permitted = BIT(CAP_CHOWN) | BIT(CAP_SYS_ADMIN),
			.effective = BIT(CAP_CHOWN),
		},
	};
	struct child_result r;
	run_child(apply_plan, &p, NULL, &r);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_CAPS(&r, 0, BIT(CAP_CHOWN) | BIT(CAP_SYS_ADMIN), BIT(CAP_CHOWN),
		    BIT(CAP_CHOWN) | BIT(CAP_SETPCAP) | BIT(CAP_SYS_ADMIN), 0);
}

static void caps_above_last_cap_are_skipped(void)
{
	T_ASSERT(caps_last_cap() >= 40 && caps_last_cap() < 62);
	struct plan p = {
		.has_caps = true,
		.caps = {
			.bounding = BIT(CAP_CHOWN) | BIT(62) | BIT(63),
			.permitted = BIT(CAP_CHOWN) | BIT(63),
			.effective = BIT(CAP_CHOWN) | BIT(63),
			.inheritable = BIT(62),
			.ambient = BIT(62),
		},
	};
	struct child_result r;
	run_child(apply_plan, &p, NULL, &r);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_CAPS(&r, 0, 1, 1, 1, 0);
}

static void expect_error(struct plan *p, const char *a, const char *b)
{
	struct child_result r;
	run_child(apply_plan, p, NULL, &r);
	T_ASSERT(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
	T_ASSERT_CONTAINS(r.out, a);
	T_ASSERT_CONTAINS(r.out, b);
}

static void caps_effective_outside_permitted_fails(void)
{
	struct plan p = user_plan();
	p.caps.effective |= BIT(CAP_SYS_ADMIN);
	expect_error(&p, "caps_apply: process.capabilities.effective: CAP_SYS_ADMIN",
		     "not in process.capabilities.permitted");
}

static void caps_ambient_not_inheritable_fails(void)
{
	struct plan p = user_plan();
	p.caps.ambient |= BIT(CAP_KILL);
	expect_error(&p, "process.capabilities.ambient: CAP_KILL",
		     "must also be in permitted and inheritable");
}

static void caps_inheritable_outside_bounding_fails(void)
{
	struct plan p = user_plan();
	p.caps.bounding &= ~BIT(CAP_NET_RAW);
	expect_error(&p, "process.capabilities.inheritable: CAP_NET_RAW",
		     "is not in process.capabilities.bounding");
}

/* The same checks, in the runtime before anything exists: no process state
 * is read or changed, so this runs in the test process itself. */
static void caps_check_before_anything(void)
{
	struct plan p = user_plan();
	struct cell_err *e = NULL;
	T_ASSERT_INT(caps_check(&p.caps, &e), 0);
	p.caps.effective |= BIT(CAP_SYS_ADMIN) | BIT(63);
	T_ASSERT_INT(caps_check(&p.caps, &e), -EINVAL);
	T_ASSERT_STR(e->msg, "process.capabilities.effective: CAP_SYS_ADMIN is not in "
			     "process.capabilities.permitted");
	p = user_plan();
	p.caps.ambient = BIT(CAP_CHOWN);
	T_ASSERT_INT(caps_check(&p.caps, &e), -EINVAL);
	T_ASSERT_STR(e->msg, "process.capabilities.ambient: CAP_CHOWN must also be in permitted "
			     "and inheritable");
	cell_err_free(e);
}

/* This host's runtime lacks CAP_SYS_RESOURCE (not in its bounding set). */
static void caps_missing_from_runtime_fails(void)
{
	if (cap_get_bound(CAP_SYS_RESOURCE) != 0)
		T_SKIP("CAP_SYS_RESOURCE is in this process's bounding set");
	struct plan p = user_plan();
	p.caps.bounding |= BIT(CAP_SYS_RESOURCE);
	p.caps.permitted |= BIT(CAP_SYS_RESOURCE);
	expect_error(&p, "process.capabilities.permitted: CAP_SYS_RESOURCE",
		     "not held by the runtime");
}

/* Why the order is what it is: the steps fail when swapped. */
static void swap_bounding_after_uid_switch(const struct child_ctx *c, void *arg)
{
	struct plan *p = arg;
	struct cell_err *e = NULL;
	if (user_switch(&p->user, &e) < 0)
		child_fail(c->fd, "user_switch", e);
	if (caps_drop_bounding(&p->caps, &e) < 0)
		child_fail(c->fd, "caps_drop_bounding", e);
}

static void swap_no_keepcaps(const struct child_ctx *c, void *arg)
{
	struct plan *p = arg;
	struct cell_err *e = NULL;
	if (caps_drop_bounding(&p->caps, &e) < 0 || user_switch(&p->user, &e) < 0)
		child_fail(c->fd, "setup", e);
	if (caps_apply(&p->caps, &e) < 0)
		child_fail(c->fd, "caps_apply", e);
}

static void order_matters(void)
{
	struct plan p = user_plan();
	struct child_result r;
	run_child(swap_bounding_after_uid_switch, &p, NULL, &r);
	T_ASSERT(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
	T_ASSERT_CONTAINS(r.out, "caps_drop_bounding: process.capabilities.bounding: drop ");
	T_ASSERT_CONTAINS(r.out, "Operation not permitted");
	run_child(swap_no_keepcaps, &p, NULL, &r);
	T_ASSERT(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1);
	T_ASSERT_CONTAINS(r.out, "caps_apply: process.capabilities.permitted: CAP_CHOWN is not "
				 "held by the runtime");
}

/* The bounding set of this (the test) process, which children inherit. */
static uint64_t own_bounding(void)
{
	uint64_t m = 0;
	for (int c = 0; c <= caps_last_cap(); c++)
		m |= cap_get_bound((cap_value_t)c) > 0 ? BIT(c) : 0;
	return m;
}

static void user_groups_and_umask(void)
{
	uint32_t gids[] = { 10, 20, 1001 };
	struct plan p = {
		.user = { .uid = 1000, .gid = 1001, .has_umask = true, .umask = 027,
			  .additional_gids = gids, .n_additional_gids = 3 },
	};
	struct child_result r;
	run_child(apply_plan, &p, NULL, &r);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_FIELD(&r, "Uid:", "1000\t1000\t1000\t1000");
	EXPECT_FIELD(&r, "Gid:", "1001\t1001\t1001\t1001");
	EXPECT_FIELD(&r, "Groups:", "10 20 1001 ");
	EXPECT_FIELD(&r, "Umask:", "0027");
	/* No process.capabilities: leaving uid 0 drops every capability. */
	EXPECT_CAPS(&r, 0, 0, 0, own_bounding(), 0);
}

static void user_no_groups_clears_inherited(void)
{
	struct plan p = { .user = { .uid = 0, .gid = 0 } };
	gid_t mine[] = { 4242 };
	struct child_result r;
	/* Give the test process a supplementary group the child must not keep. */
	gid_t saved[64];
	int n = getgroups(64, saved);
	T_ASSERT(n >= 0 && setgroups(1, mine) == 0);
	run_child(apply_plan, &p, NULL, &r);
	T_ASSERT(setgroups((size_t)n, saved) == 0);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_FIELD(&r, "Groups:", "");
}

/* A user namespace as a rootless runtime makes it: only the caller mapped,
 * setgroups denied (required to write gid_map without CAP_SETGID). */
static void enter_rootless_userns(const struct child_ctx *c)
{
	struct cell_err *e = NULL;
	if (unshare(CLONE_NEWUSER) < 0) {
		child_say(c->fd, "error: unshare(CLONE_NEWUSER): %s\n", strerror(errno));
		child_exit(1);
	}
	if (cell_write_file("/proc/self/setgroups", "deny", 4, &e) < 0 ||
	    cell_write_file("/proc/self/uid_map", "0 0 1", 5, &e) < 0 ||
	    cell_write_file("/proc/self/gid_map", "0 0 1", 5, &e) < 0)
		child_fail(c->fd, "userns", e);
}

static void userns_cases(const struct child_ctx *c, void *arg)
{
	uint32_t gids[] = { 0 };
	struct oci_user with = { .additional_gids = gids, .n_additional_gids = 1 };
	struct oci_user without = { 0 };
	struct oci_user unmapped = { .uid = 1000 };
	struct cell_err *e = NULL;

	enter_rootless_userns(c);
	if (user_switch(&with, &e) == 0)
		child_say(c->fd, "with: ok\n");
	else
		child_say(c->fd, "with: %s\n", e->msg);
	if (user_switch(&unmapped, &e) == 0)
		child_say(c->fd, "unmapped: ok\n");
	else
		child_say(c->fd, "unmapped: %s\n", e->msg);
	if (user_switch(&without, &e) < 0)
		child_fail(c->fd, "without", e);
	cell_err_free(e);
	child_say(c->fd, "without: ok uid %d\n", (int)getuid());
}

static void user_setgroups_denied_in_userns(void)
{
	struct child_result r;
	char buf[512];
	run_child(userns_cases, NULL, NULL, &r);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	T_ASSERT_STR(field(&r, "with:", buf, sizeof(buf)),
		     "process.user.additionalGids: setgroups(2) is denied in this user namespace "
		     "(/proc/self/setgroups is \"deny\"), so supplementary groups cannot be set");
	T_ASSERT_STR(field(&r, "unmapped:", buf, sizeof(buf)),
		     "process.user.uid: 1000 is not mapped in this user namespace");
	T_ASSERT_STR(field(&r, "without:", buf, sizeof(buf)), "ok uid 0");
}

/* The whole order of os/security.h, ending in execve: with no_new_privs the
 * filter goes in last; without, before the capabilities are dropped. */
static struct seccomp_prog *mkdir_erofs_prog(void)
{
	static char *names[] = { "mkdir", "mkdirat", NULL };
	struct oci_seccomp_syscall sc = { .names = names, .action = OCI_SECCOMP_ERRNO,
					  .has_errno_ret = true, .errno_ret = EROFS };
	struct oci_seccomp s = { .default_action = OCI_SECCOMP_ALLOW, .syscalls = &sc,
				 .n_syscalls = 1 };
	struct seccomp_prog *p = NULL;
	struct cell_err *e = NULL;
	if (seccomp_compile(&s, &p, &e) < 0) {
		fprintf(stderr, "seccomp_compile: %s\n", e->msg);
		cell_err_free(e);
	}
	return p;
}

static void order_full(bool nnp)
{
	struct plan p = user_plan();
	uint32_t gids[] = { 27 };
	struct child_result r;
	p.user.additional_gids = gids;
	p.user.n_additional_gids = 1;
	p.exec_status = true;
	p.nnp = nnp;
	p.prog = mkdir_erofs_prog();
	T_ASSERT(p.prog);
	run_child(apply_plan, &p, NULL, &r);
	seccomp_prog_free(p.prog);
	if (!child_ok(&r))
		T_FAIL("child: status 0x%x: %s", r.status, r.out);
	EXPECT_CAPS(&r, 0x2400, 0x400, 0x400, 0x2423, 0x400);
	EXPECT_FIELD(&r, "Seccomp:", "2");
	EXPECT_FIELD(&r, "Seccomp_filters:", "1");
	EXPECT_FIELD(&r, "NoNewPrivs:", nnp ? "1" : "0");
	EXPECT_FIELD(&r, "Groups:", "27 ");
}

static void order_with_no_new_privs(void)
{
	order_full(true);
}

static void order_without_no_new_privs(void)
{
	order_full(false);
}

T_MAIN("os/security-caps",
       T_CASE(caps_exact_sets_after_uid_switch),
       T_CASE(caps_ambient_survives_execve),
       T_CASE(caps_root_exact_sets),
       T_CASE(caps_above_last_cap_are_skipped),
       T_CASE(caps_effective_outside_permitted_fails),
       T_CASE(caps_ambient_not_inheritable_fails),
       T_CASE(caps_inheritable_outside_bounding_fails),
       T_CASE(caps_missing_from_runtime_fails),
       T_CASE(caps_check_before_anything),
       T_CASE(order_matters),
       T_CASE(user_groups_and_umask),
       T_CASE(user_no_groups_clears_inherited),
       T_CASE(user_setgroups_denied_in_userns),
       T_CASE(order_with_no_new_privs),
       T_CASE(order_without_no_new_privs))
