/* os/procattr.h: each case forks a child that applies the attribute (or has
 * it applied from outside, by pid) and reports what the kernel shows. */
#include <linux/ioprio.h>
#include <sched.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "os/security.h"
#include "security-child.h"
#include "t.h"

#define EXPECT_FIELD(res, key, want)                                    \
	do {                                                            \
		char buf_[256];                                         \
		T_ASSERT_STR(field((res), (key), buf_, sizeof(buf_)), (want)); \
	} while (0)

#define EXPECT_OK(r)                                                           \
	do {                                                                   \
		if (!child_ok(r))                                              \
			T_FAIL("child: status 0x%x: %s", (r)->status, (r)->out); \
	} while (0)

static bool have_cap_sys_resource(void)
{
	cap_t c = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	cap_get_flag(c, CAP_SYS_RESOURCE, CAP_EFFECTIVE, &v);
	cap_free(c);
	return v == CAP_SET;
}

static void say_rlimits(const struct child_ctx *c)
{
	struct rlimit a, b;
	getrlimit(RLIMIT_NOFILE, &a);
	getrlimit(RLIMIT_NPROC, &b);
	child_say(c->fd, "nofile: %llu %llu\nnproc: %llu %llu\n", (unsigned long long)a.rlim_cur,
		  (unsigned long long)a.rlim_max, (unsigned long long)b.rlim_cur,
		  (unsigned long long)b.rlim_max);
}

static const struct oci_rlimit lowered[] = {
	{ .resource = RLIMIT_NOFILE, .soft = 512, .hard = 1024 },
	{ .resource = RLIMIT_NPROC, .soft = 100, .hard = 200 },
};

static void rlimits_self(const struct child_ctx *c, void *arg)
{
	struct cell_err *e = NULL;
	if (procattr_set_rlimits(0, lowered, 2, &e) < 0)
		child_fail(c->fd, "rlimits", e);
	say_rlimits(c);
}

static void rlimits_applied_to_self(void)
{
	struct child_result r;
	run_child(rlimits_self, NULL, NULL, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "nofile:", "512 1024");
	EXPECT_FIELD(&r, "nproc:", "100 200");
}

static void wait_then_report(const struct child_ctx *c, void *arg)
{
	child_wait_go(c);
	say_rlimits(c);
	child_status(c->fd, "Pid:");
	FILE *f = fopen("/proc/self/oom_score_adj", "re");
	int v = -9999;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -9998;
		fclose(f);
	}
	child_say(c->fd, "oom: %d\n", v);
}

static char hook_err[512];

static void set_from_outside(pid_t pid, void *arg)
{
	struct cell_err *e = NULL;
	if (procattr_set_rlimits(pid, lowered, 2, &e) < 0 ||
	    procattr_set_oom_score_adj(pid, 300, &e) < 0) {
		snprintf(hook_err, sizeof(hook_err), "%s", e->msg);
		cell_err_free(e);
	}
}

/* What the runtime does for a child that entered a new user namespace. */
static void rlimits_and_oom_applied_by_pid(void)
{
	struct child_result r;
	hook_err[0] = '\0';
	run_child(wait_then_report, NULL, set_from_outside, &r);
	if (hook_err[0])
		T_FAIL("parent: %s", hook_err);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "nofile:", "512 1024");
	EXPECT_FIELD(&r, "nproc:", "100 200");
	EXPECT_FIELD(&r, "oom:", "300");
}

static void rlimit_error(const struct child_ctx *c, void *arg)
{
	struct oci_rlimit *rl = arg;
	struct cell_err *e = NULL;
	if (procattr_set_rlimits(0, rl, 2, &e) < 0)
		child_fail(c->fd, "rlimits", e);
	child_say(c->fd, "no error\n");
}

static void rlimit_raise_hard_needs_cap(void)
{
	if (have_cap_sys_resource())
		T_SKIP("this process has CAP_SYS_RESOURCE");
	struct rlimit cur;
	T_ASSERT(getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_max < 4096000);
	struct oci_rlimit rl[2] = {
		{ .resource = RLIMIT_NPROC, .soft = 100, .hard = 200 },
		{ .resource = RLIMIT_NOFILE, .soft = 64, .hard = cur.rlim_max + 1 },
	};
	char want[256];
	snprintf(want, sizeof(want), "error: rlimits: process.rlimits[1] (RLIMIT_NOFILE): raising "
		 "the hard limit from %llu to %llu needs CAP_SYS_RESOURCE: Operation not "
		 "permitted\n", (unsigned long long)cur.rlim_max,
		 (unsigned long long)cur.rlim_max + 1);
	struct child_result r;
	run_child(rlimit_error, rl, NULL, &r);
	T_ASSERT_STR(r.out, want);
}

static void rlimit_above_nr_open(void)
{
	char *s = NULL;
	struct cell_err *e = NULL;
	int64_t nr;
	T_ASSERT(cell_read_file("/proc/sys/fs/nr_open", 64, &s, NULL, &e) == 0);
	s[strcspn(s, "\n")] = '\0';
	int ok = cell_parse_int64(s, 0, INT64_MAX, &nr);
	free(s);
	T_ASSERT(ok == 0);
	struct oci_rlimit rl[2] = {
		{ .resource = RLIMIT_NOFILE, .soft = 64, .hard = (uint64_t)nr + 1 },
		{ .resource = RLIMIT_NPROC, .soft = 100, .hard = 200 },
	};
	struct child_result r;
	run_child(rlimit_error, rl, NULL, &r);
	T_ASSERT_CONTAINS(r.out, "process.rlimits[0] (RLIMIT_NOFILE): hard limit ");
	T_ASSERT_CONTAINS(r.out, "is above fs.nr_open");
}

static void rlimit_soft_above_hard(void)
{
	struct oci_rlimit rl[2] = {
		{ .resource = RLIMIT_CORE, .soft = 0, .hard = 0 },
		{ .resource = RLIMIT_STACK, .soft = 2048, .hard = 1024 },
	};
	struct child_result r;
	run_child(rlimit_error, rl, NULL, &r);
	T_ASSERT_STR(r.out, "error: rlimits: process.rlimits[1] (RLIMIT_STACK): soft limit 2048 "
			    "is above the hard limit 1024\n");
}

static void oom_cases(const struct child_ctx *c, void *arg)
{
	struct cell_err *e = NULL;
	if (procattr_set_oom_score_adj(0, 500, &e) < 0)
		child_fail(c->fd, "oom 500", e);
	child_status(c->fd, "Pid:");
	FILE *f = fopen("/proc/self/oom_score_adj", "re");
	int v = 0;
	if (!f || fscanf(f, "%d", &v) != 1)
		child_exit(2);
	fclose(f);
	child_say(c->fd, "after 500: %d\n", v);
	if (procattr_set_oom_score_adj(0, -500, &e) < 0)
		child_say(c->fd, "lower: %s\n", e->msg);
	else
		child_say(c->fd, "lower: ok\n");
	if (procattr_set_oom_score_adj(0, 1001, &e) < 0)
		child_say(c->fd, "range: %s\n", e->msg);
	cell_err_free(e);
}

static void oom_score_adj(void)
{
	struct child_result r;
	run_child(oom_cases, NULL, NULL, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "after 500:", "500");
	if (have_cap_sys_resource())
		EXPECT_FIELD(&r, "lower:", "ok");
	else
		EXPECT_FIELD(&r, "lower:", "process.oomScoreAdj: lowering it to -500 needs "
					   "CAP_SYS_RESOURCE: Permission denied");
	EXPECT_FIELD(&r, "range:", "process.oomScoreAdj: 1001 is out of range (-1000..1000)");
}

static void personality_exec(const struct child_ctx *c, void *arg)
{
	char *flags[] = { "ADDR_NO_RANDOMIZE", NULL };
	char *argv[] = { "uname", "-m", NULL };
	struct cell_err *e = NULL;
	if (procattr_set_personality(PER_LINUX32, flags, &e) < 0)
		child_fail(c->fd, "personality", e);
	child_say(c->fd, "persona: 0x%x\n", (unsigned)personality(0xffffffff));
	child_say(c->fd, "machine: ");
	if (dup2(c->fd, 1) < 0)
		child_exit(3);
	execv("/bin/uname", argv);
	child_exit(4);
}

static void personality_linux32(void)
{
	struct child_result r;
	char want[32];
	run_child(personality_exec, NULL, NULL, &r);
	EXPECT_OK(&r);
	snprintf(want, sizeof(want), "0x%x", PER_LINUX32 | ADDR_NO_RANDOMIZE);
	EXPECT_FIELD(&r, "persona:", want);
	/* It lasts across execve: uname(2) answers as a 32-bit kernel. */
	EXPECT_FIELD(&r, "machine:", "i686");
}

static void personality_bad_input(void)
{
	char *flags[] = { "ADDR_NO_RANDOMIZE", "NO_SUCH_FLAG", NULL };
	struct cell_err *e = NULL;
	/* Fails before personality(2) is called, so safe in this process. */
	T_ASSERT(procattr_set_personality(PER_LINUX32, flags, &e) == -EINVAL);
	T_ASSERT_STR(e->msg, "linux.personality.flags[1]: unknown flag \"NO_SUCH_FLAG\"");
	T_ASSERT(procattr_set_personality(PER_BSD, NULL, &e) == -EINVAL);
	T_ASSERT_STR(e->msg, "linux.personality.domain: unsupported domain 0x6");
	cell_err_free(e);
}

static void ioprio_cases(const struct child_ctx *c, void *arg)
{
	const struct oci_io_priority p[] = {
		{ IOPRIO_CLASS_BE, 6 }, { IOPRIO_CLASS_IDLE, 0 }, { IOPRIO_CLASS_RT, 2 },
	};
	struct cell_err *e = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(p); i++) {
		if (procattr_set_io_priority(0, &p[i], &e) < 0)
			child_fail(c->fd, "ioprio", e);
		long v = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
		child_say(c->fd, "prio%zu: %ld %ld\n", i, (long)IOPRIO_PRIO_CLASS(v),
			  (long)IOPRIO_PRIO_DATA(v));
	}
	struct oci_io_priority bad = { IOPRIO_CLASS_BE, 8 };
	if (procattr_set_io_priority(0, &bad, &e) < 0)
		child_say(c->fd, "bad: %s\n", e->msg);
	cell_err_free(e);
}

static void io_priority(void)
{
	struct child_result r;
	run_child(ioprio_cases, NULL, NULL, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "prio0:", "2 6");
	EXPECT_FIELD(&r, "prio1:", "3 0");
	EXPECT_FIELD(&r, "prio2:", "1 2");
	EXPECT_FIELD(&r, "bad:", "process.ioPriority.priority: 8 is out of range (0-7)");
}

/* The kernel ABI of sched_getattr(2), SCHED_ATTR_SIZE_VER0. */
struct t_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static void sched_cases(const struct child_ctx *c, void *arg)
{
	const struct oci_scheduler s[] = {
		{ .policy = SCHED_IDLE },
		{ .policy = SCHED_BATCH, .nice = 7 },
		{ .policy = SCHED_RR, .priority = 10 },
		{ .policy = SCHED_OTHER, .nice = 3, .flags = 0x01 /* SCHED_FLAG_RESET_ON_FORK */ },
	};
	struct cell_err *e = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		struct t_sched_attr a = { 0 };
		if (procattr_set_scheduler(0, &s[i], &e) < 0) {
			child_say(c->fd, "sched%zu: %s\n", i, e->msg);
			continue;
		}
		if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) < 0)
			child_exit(2);
		child_say(c->fd, "sched%zu: %u %d %u %llu\n", i, a.policy, a.nice, a.priority,
			  (unsigned long long)a.flags);
	}
	struct oci_scheduler bad = { .policy = SCHED_FIFO, .priority = 0 };
	if (procattr_set_scheduler(0, &bad, &e) < 0)
		child_say(c->fd, "bad: %s\n", e->msg);
	struct oci_scheduler unknown = { .policy = 42 };
	if (procattr_set_scheduler(0, &unknown, &e) < 0)
		child_say(c->fd, "unknown: %s\n", e->msg);
	cell_err_free(e);
}

static void scheduler(void)
{
	struct child_result r;
	run_child(sched_cases, NULL, NULL, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "sched0:", "5 0 0 0");
	EXPECT_FIELD(&r, "sched1:", "3 7 0 0");
	EXPECT_FIELD(&r, "sched2:", "2 0 10 0");
	EXPECT_FIELD(&r, "sched3:", "0 3 0 1");
	EXPECT_FIELD(&r, "bad:", "process.scheduler: invalid parameters for SCHED_FIFO "
				 "(priority 0, nice 0, flags 0x0): Invalid argument");
	EXPECT_FIELD(&r, "unknown:", "process.scheduler.policy: unknown policy 42");
}

static void affinity_cases(const struct child_ctx *c, void *arg)
{
	static const char *const lists[] = { "0", "0-1", "1,0" };
	struct cell_err *e = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		cpu_set_t set;
		if (procattr_set_cpu_affinity(0, lists[i], "process.execCPUAffinity.final", &e) < 0)
			child_fail(c->fd, "affinity", e);
		if (sched_getaffinity(0, sizeof(set), &set) < 0)
			child_exit(2);
		child_say(c->fd, "aff%zu: %d %d %d\n", i, CPU_COUNT(&set),
			  CPU_ISSET(0, &set) ? 1 : 0, CPU_ISSET(1, &set) ? 1 : 0);
	}
}

static void cpu_affinity(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		T_SKIP("needs 2 online CPUs");
	struct child_result r;
	run_child(affinity_cases, NULL, NULL, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "aff0:", "1 1 0");
	EXPECT_FIELD(&r, "aff1:", "2 1 1");
	EXPECT_FIELD(&r, "aff2:", "2 1 1");
}

static void cpu_affinity_bad_lists(void)
{
	static const struct {
		const char *list, *msg;
	} cases[] = {
		{ "", "F: empty CPU list" },
		{ "a", "F: invalid CPU list \"a\"" },
		{ "0,", "F: invalid CPU list \"0,\"" },
		{ "0-", "F: invalid CPU list \"0-\"" },
		{ "-1", "F: invalid CPU list \"-1\"" },
		{ "0 1", "F: invalid CPU list \"0 1\"" },
		{ "3-1", "F: bad CPU range in \"3-1\" (CPUs are 0-8191, low to high)" },
		{ "99999999999999999999999",
		  "F: bad CPU range in \"99999999999999999999999\" (CPUs are 0-8191, low to "
		  "high)" },
		{ "8000", "F: no CPU of \"8000\" is online and allowed: Invalid argument" },
	};
	/* All fail before (or in) sched_setaffinity, so this process is safe. */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cell_err *e = NULL;
		T_ASSERT(procattr_set_cpu_affinity(0, cases[i].list, "F", &e) < 0);
		T_ASSERT_STR(e->msg, cases[i].msg);
		cell_err_free(e);
	}
}

static void edit_rlimit(struct oci_process *p, struct oci_linux *l)
{
	static struct oci_rlimit rl[] = { { RLIMIT_NOFILE, 10, 10 }, { 99, 1, 1 } };
	p->rlimits = rl;
	p->n_rlimits = 2;
}

static void edit_oom(struct oci_process *p, struct oci_linux *l)
{
	p->has_oom_score_adj = true;
	p->oom_score_adj = -1001;
}

static void edit_ioprio(struct oci_process *p, struct oci_linux *l)
{
	static struct oci_io_priority io = { 0, 1 };
	p->io_priority = &io;
}

static void edit_sched(struct oci_process *p, struct oci_linux *l)
{
	static struct oci_scheduler s = { .policy = 4 };
	p->scheduler = &s;
}

static void edit_cpus(struct oci_process *p, struct oci_linux *l)
{
	p->exec_cpu_affinity_initial = "0-1";
	p->exec_cpu_affinity_final = "0-1,";
}

static void edit_persona(struct oci_process *p, struct oci_linux *l)
{
	static char *flags[] = { "UNAME26", "UNAME27", NULL };
	l->has_personality = true;
	l->personality_domain = PER_LINUX;
	l->personality_flags = flags;
}

/* procattr_check: every field, in the runtime before anything exists. */
static void check_before_anything(void)
{
	static const struct {
		void (*edit)(struct oci_process *p, struct oci_linux *l);
		const char *msg;
	} cases[] = {
		{ edit_rlimit, "process.rlimits[1].type: unknown resource 99" },
		{ edit_oom, "process.oomScoreAdj: -1001 is out of range (-1000..1000)" },
		{ edit_ioprio, "process.ioPriority.class: unknown class 0" },
		{ edit_sched, "process.scheduler.policy: unknown policy 4" },
		{ edit_cpus, "process.execCPUAffinity.final: invalid CPU list \"0-1,\"" },
		{ edit_persona, "linux.personality.flags[1]: unknown flag \"UNAME27\"" },
	};
	struct oci_process good_p = { .has_oom_score_adj = true, .oom_score_adj = 1000 };
	struct oci_linux good_l = { .has_personality = true, .personality_domain = PER_LINUX32 };
	struct cell_err *e = NULL;
	T_ASSERT_INT(procattr_check(&good_p, &good_l, &e), 0);
	T_ASSERT_INT(procattr_check(NULL, NULL, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct oci_process p = { 0 };
		struct oci_linux l = { 0 };
		cases[i].edit(&p, &l);
		T_ASSERT_INT(procattr_check(&p, &l, &e), -EINVAL);
		T_ASSERT_STR(e->msg, cases[i].msg);
	}
	cell_err_free(e);
}

static void nnp_child(const struct child_ctx *c, void *arg)
{
	struct cell_err *e = NULL;
	child_status(c->fd, "NoNewPrivs:");
	if (procattr_set_no_new_privs(&e) < 0)
		child_fail(c->fd, "nnp", e);
	child_say(c->fd, "after ");
	child_status(c->fd, "NoNewPrivs:");
}

static void no_new_privs(void)
{
	struct child_result r;
	run_child(nnp_child, NULL, NULL, &r);
	EXPECT_OK(&r);
	EXPECT_FIELD(&r, "NoNewPrivs:", "0");
	EXPECT_FIELD(&r, "after NoNewPrivs:", "1");
}

T_MAIN("os/security-procattr",
       T_CASE(rlimits_applied_to_self),
       T_CASE(rlimits_and_oom_applied_by_pid),
       T_CASE(rlimit_raise_hard_needs_cap),
       T_CASE(rlimit_above_nr_open),
       T_CASE(rlimit_soft_above_hard),
       T_CASE(oom_score_adj),
       T_CASE(personality_linux32),
       T_CASE(personality_bad_input),
       T_CASE(io_priority),
       T_CASE(scheduler),
       T_CASE(cpu_affinity),
       T_CASE(cpu_affinity_bad_lists),
       T_CASE(check_before_anything),
       T_CASE(no_new_privs))
