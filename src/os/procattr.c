/* rlimits, oom_score_adj, personality, ioprio, scheduler, affinity, nnp.
 * See procattr.h for the contract and the order. */
#include "os/procattr.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

static const char *const rlimit_names[] = {
	[RLIMIT_CPU] = "RLIMIT_CPU",	       [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
	[RLIMIT_DATA] = "RLIMIT_DATA",	       [RLIMIT_STACK] = "RLIMIT_STACK",
	[RLIMIT_CORE] = "RLIMIT_CORE",	       [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC",       [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
	[RLIMIT_LOCKS] = "RLIMIT_LOCKS",       [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
	[RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
	[RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",     [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

const char *procattr_rlimit_name(int res)
{
	if (res >= 0 && (size_t)res < ARRAY_SIZE(rlimit_names) && rlimit_names[res])
		return rlimit_names[res];
	return "RLIMIT_?";
}

static const char *limit_str(uint64_t v, char *buf, size_t size)
{
	if (v == (uint64_t)RLIM_INFINITY)
		return "unlimited";
	snprintf(buf, size, "%" PRIu64, v);
	return buf;
}

static bool read_nr_open(int64_t *ret)
{
	_cleanup_free_ char *s = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cell_read_file("/proc/sys/fs/nr_open", 64, &s, NULL, &e) < 0)
		return false;
	s[strcspn(s, "\n")] = '\0';
	return cell_parse_int64(s, 0, INT64_MAX, ret) == 0;
}

/* Explain an EPERM from prlimit: the only cause is raising the hard limit
 * without CAP_SYS_RESOURCE, or RLIMIT_NOFILE above fs.nr_open. */
static int rlimit_eperm(pid_t pid, size_t i, const struct oci_rlimit *rl, struct cell_err **err)
{
	struct rlimit old;
	char a[32], b[32];
	const char *name = procattr_rlimit_name(rl->resource);
	int64_t nr_open;

	if (rl->resource == RLIMIT_NOFILE && read_nr_open(&nr_open) &&
	    rl->hard > (uint64_t)nr_open)
		return cell_err(err, EPERM, "process.rlimits[%zu] (%s): hard limit %s is above "
				"fs.nr_open (%" PRId64 ")", i, name,
				limit_str(rl->hard, a, sizeof(a)), nr_open);
	if (prlimit(pid, (__rlimit_resource_t)rl->resource, NULL, &old) == 0 &&
	    rl->hard > (uint64_t)old.rlim_max)
		return cell_err(err, EPERM, "process.rlimits[%zu] (%s): raising the hard limit "
				"from %s to %s needs CAP_SYS_RESOURCE", i, name,
				limit_str(old.rlim_max, a, sizeof(a)),
				limit_str(rl->hard, b, sizeof(b)));
	return cell_err(err, EPERM, "process.rlimits[%zu] (%s): prlimit", i, name);
}

static int check_rlimit(size_t i, const struct oci_rlimit *rl, struct cell_err **err)
{
	char a[32], b[32];
	if (rl->resource < 0 || (size_t)rl->resource >= ARRAY_SIZE(rlimit_names) ||
	    !rlimit_names[rl->resource])
		return cell_err(err, 0, "process.rlimits[%zu].type: unknown resource %d", i,
				rl->resource);
	if (rl->soft > rl->hard)
		return cell_err(err, 0, "process.rlimits[%zu] (%s): soft limit %s is above the "
				"hard limit %s", i, procattr_rlimit_name(rl->resource),
				limit_str(rl->soft, a, sizeof(a)),
				limit_str(rl->hard, b, sizeof(b)));
	return 0;
}

int procattr_set_rlimits(pid_t pid, const struct oci_rlimit *rlimits, size_t n,
			 struct cell_err **err)
{
	for (size_t i = 0; i < n; i++) {
		const struct oci_rlimit *rl = &rlimits[i];
		const char *name = procattr_rlimit_name(rl->resource);
		int r = check_rlimit(i, rl, err);
		if (r < 0)
			return r;
		struct rlimit lim = { .rlim_cur = rl->soft, .rlim_max = rl->hard };
		if (prlimit(pid, (__rlimit_resource_t)rl->resource, &lim, NULL) == 0)
			continue;
		if (errno == EPERM)
			return rlimit_eperm(pid, i, rl, err);
		return cell_err_sys(err, "process.rlimits[%zu] (%s): prlimit", i, name);
	}
	return 0;
}

static int check_oom(int value, struct cell_err **err)
{
	if (value < -1000 || value > 1000)
		return cell_err(err, 0, "process.oomScoreAdj: %d is out of range (-1000..1000)",
				value);
	return 0;
}

int procattr_set_oom_score_adj(pid_t pid, int value, struct cell_err **err)
{
	char path[64], buf[16];
	if (check_oom(value, err) < 0)
		return -EINVAL;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/oom_score_adj");
	int n = snprintf(buf, sizeof(buf), "%d", value);
	int r = cell_write_file(path, buf, (size_t)n, err);
	if (r == -EACCES)
		return cell_err(err, EACCES, "process.oomScoreAdj: lowering it to %d needs "
				"CAP_SYS_RESOURCE", value);
	if (r < 0)
		return cell_err_wrap(err, "process.oomScoreAdj");
	return 0;
}

static const struct {
	const char *name;
	unsigned long flag;
} personality_flags[] = {
	{ "UNAME26", UNAME26 },
	{ "ADDR_NO_RANDOMIZE", ADDR_NO_RANDOMIZE },
	{ "FDPIC_FUNCPTRS", FDPIC_FUNCPTRS },
	{ "MMAP_PAGE_ZERO", MMAP_PAGE_ZERO },
	{ "ADDR_COMPAT_LAYOUT", ADDR_COMPAT_LAYOUT },
	{ "READ_IMPLIES_EXEC", READ_IMPLIES_EXEC },
	{ "ADDR_LIMIT_32BIT", ADDR_LIMIT_32BIT },
	{ "SHORT_INODE", SHORT_INODE },
	{ "WHOLE_SECONDS", WHOLE_SECONDS },
	{ "STICKY_TIMEOUTS", STICKY_TIMEOUTS },
	{ "ADDR_LIMIT_3GB", ADDR_LIMIT_3GB },
};

static int persona_of(unsigned long domain, char *const *flags, unsigned long *ret,
		      struct cell_err **err)
{
	unsigned long persona = domain;
	if (domain != PER_LINUX && domain != PER_LINUX32)
		return cell_err(err, 0, "linux.personality.domain: unsupported domain 0x%lx",
				domain);
	for (size_t i = 0; flags && flags[i]; i++) {
		size_t k = 0;
		while (k < ARRAY_SIZE(personality_flags) &&
		       strcmp(personality_flags[k].name, flags[i]) != 0)
			k++;
		if (k == ARRAY_SIZE(personality_flags))
			return cell_err(err, 0, "linux.personality.flags[%zu]: unknown flag \"%s\"",
					i, flags[i]);
		persona |= personality_flags[k].flag;
	}
	*ret = persona;
	return 0;
}

int procattr_set_personality(unsigned long domain, char *const *flags, struct cell_err **err)
{
	unsigned long persona;
	int r = persona_of(domain, flags, &persona, err);
	if (r < 0)
		return r;
	if (personality(persona) < 0)
		return cell_err_sys(err, "linux.personality: personality(0x%lx)", persona);
	/* personality(2) can fail silently for a domain the kernel refuses. */
	int now = personality(0xffffffff);
	if (now < 0 || (unsigned long)now != persona)
		return cell_err(err, 0, "linux.personality: the kernel kept 0x%x instead of 0x%lx",
				now, persona);
	return 0;
}

static const char *const ioprio_classes[] = { "IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT",
					      "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE" };

static int check_ioprio(const struct oci_io_priority *prio, struct cell_err **err)
{
	if (prio->klass < IOPRIO_CLASS_RT || prio->klass > IOPRIO_CLASS_IDLE)
		return cell_err(err, 0, "process.ioPriority.class: unknown class %d", prio->klass);
	if (prio->priority < 0 || prio->priority >= IOPRIO_NR_LEVELS)
		return cell_err(err, 0, "process.ioPriority.priority: %d is out of range (0-%d)",
				prio->priority, IOPRIO_NR_LEVELS - 1);
	return 0;
}

int procattr_set_io_priority(pid_t pid, const struct oci_io_priority *prio,
			     struct cell_err **err)
{
	int r = check_ioprio(prio, err);
	if (r < 0)
		return r;
	int value = IOPRIO_PRIO_VALUE(prio->klass, prio->priority);
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, (int)pid, value) == 0)
		return 0;
	if (errno == EPERM)
		return cell_err(err, EPERM, "process.ioPriority: %s needs CAP_SYS_ADMIN or "
				"CAP_SYS_NICE", ioprio_classes[prio->klass]);
	return cell_err_sys(err, "process.ioPriority: ioprio_set(%s, %d)",
			    ioprio_classes[prio->klass], prio->priority);
}

/* The kernel ABI of sched_setattr(2) (include/uapi/linux/sched/types.h,
 * SCHED_ATTR_SIZE_VER0); that header clashes with glibc's <sched.h>. */
struct sched_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

static const char *policy_name(int policy)
{
	switch (policy) {
	case SCHED_OTHER: return "SCHED_OTHER";
	case SCHED_FIFO: return "SCHED_FIFO";
	case SCHED_RR: return "SCHED_RR";
	case SCHED_BATCH: return "SCHED_BATCH";
	case SCHED_IDLE: return "SCHED_IDLE";
	case SCHED_DEADLINE: return "SCHED_DEADLINE";
	default: return NULL;
	}
}

static int check_sched(const struct oci_scheduler *s, struct cell_err **err)
{
	if (!policy_name(s->policy))
		return cell_err(err, 0, "process.scheduler.policy: unknown policy %d", s->policy);
	return 0;
}

int procattr_set_scheduler(pid_t pid, const struct oci_scheduler *s, struct cell_err **err)
{
	const char *name = policy_name(s->policy);
	if (check_sched(s, err) < 0)
		return -EINVAL;
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = (uint32_t)s->policy,
		.sched_flags = s->flags,
		.sched_nice = s->nice,
		.sched_priority = (uint32_t)s->priority,
		.sched_runtime = s->runtime,
		.sched_deadline = s->deadline,
		.sched_period = s->period,
	};
	if (syscall(SYS_sched_setattr, (int)pid, &attr, 0) == 0)
		return 0;
	switch (errno) {
	case EPERM:
		return cell_err(err, EPERM, "process.scheduler: %s (priority %d, nice %d) needs "
				"CAP_SYS_NICE", name, s->priority, s->nice);
	case EINVAL:
		return cell_err(err, EINVAL, "process.scheduler: invalid parameters for %s "
				"(priority %d, nice %d, flags 0x%" PRIx64 ")", name, s->priority,
				s->nice, s->flags);
	case EBUSY:
		return cell_err(err, EBUSY, "process.scheduler: SCHED_DEADLINE admission control "
				"refused runtime %" PRIu64 " / period %" PRIu64, s->runtime,
				s->period);
	default:
		return cell_err_sys(err, "process.scheduler: sched_setattr(%s)", name);
	}
}

/* Largest CPU number accepted in a list; the kernel's NR_CPUS limit is 8192. */
#define MAX_CPU 8191

/* Parse "0-3,7" into set (CPU_ALLOC'ed for MAX_CPU + 1 CPUs), or only
 * check it when set is NULL. */
static int parse_cpus(const char *cpus, const char *field, cpu_set_t *set, size_t size,
		      struct cell_err **err)
{
	const char *p = cpus;
	if (!*p)
		return cell_err(err, 0, "%s: empty CPU list", field);
	for (;;) {
		char *end;
		unsigned long lo, hi;
		if (*p < '0' || *p > '9')
			goto bad;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtoul(p, &end, 10);
		}
		if (lo > hi || hi > MAX_CPU)
			return cell_err(err, 0, "%s: bad CPU range in \"%s\" (CPUs are 0-%d, low "
					"to high)", field, cpus, MAX_CPU);
		for (unsigned long c = lo; set && c <= hi; c++)
			CPU_SET_S(c, size, set);
		if (*end == '\0')
			return 0;
		if (*end != ',')
			goto bad;
		p = end + 1;
	}
bad:
	return cell_err(err, 0, "%s: invalid CPU list \"%s\"", field, cpus);
}

int procattr_set_cpu_affinity(pid_t pid, const char *cpus, const char *field,
			      struct cell_err **err)
{
	size_t size = CPU_ALLOC_SIZE(MAX_CPU + 1);
	cpu_set_t *set = CPU_ALLOC(MAX_CPU + 1);
	if (!set)
		abort(); /* like xmalloc: no recovery from OOM here */
	CPU_ZERO_S(size, set);
	int r = parse_cpus(cpus, field, set, size, err);
	if (r == 0 && sched_setaffinity(pid, size, set) < 0)
		r = errno == EINVAL
			    ? cell_err(err, EINVAL, "%s: no CPU of \"%s\" is online and allowed",
				       field, cpus)
			    : cell_err_sys(err, "%s: sched_setaffinity(\"%s\")", field, cpus);
	CPU_FREE(set);
	return r;
}

int procattr_check_cpu_list(const char *cpus, const char *field, struct cell_err **err)
{
	return parse_cpus(cpus, field, NULL, 0, err);
}

int procattr_check(const struct oci_process *proc, const struct oci_linux *lx,
		   struct cell_err **err)
{
	int r = 0;
	unsigned long persona;

	for (size_t i = 0; proc && i < proc->n_rlimits && r == 0; i++)
		r = check_rlimit(i, &proc->rlimits[i], err);
	if (r == 0 && proc && proc->has_oom_score_adj)
		r = check_oom(proc->oom_score_adj, err);
	if (r == 0 && proc && proc->io_priority)
		r = check_ioprio(proc->io_priority, err);
	if (r == 0 && proc && proc->scheduler)
		r = check_sched(proc->scheduler, err);
	if (r == 0 && proc && proc->exec_cpu_affinity_initial)
		r = procattr_check_cpu_list(proc->exec_cpu_affinity_initial,
					    "process.execCPUAffinity.initial", err);
	if (r == 0 && proc && proc->exec_cpu_affinity_final)
		r = procattr_check_cpu_list(proc->exec_cpu_affinity_final,
					    "process.execCPUAffinity.final", err);
	if (r == 0 && lx && lx->has_personality)
		r = persona_of(lx->personality_domain, lx->personality_flags, &persona, err);
	return r;
}

int procattr_set_no_new_privs(struct cell_err **err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cell_err_sys(err, "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)");
	return 0;
}
