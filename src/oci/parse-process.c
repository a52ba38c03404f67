/* process: args, env, user, capabilities, rlimits, scheduler, I/O priority. */
#include <ctype.h>
#include <linux/ioprio.h>
#include <string.h>

#include "base/util.h"
#include "oci/internal.h"

int oci_check_abs_path(const struct oj *o, const char *path)
{
	if (path[0] != '/') {
		_cleanup_free_ char *q = cell_json_quote(path);
		return oj_fail(o, "%s is not an absolute path", q);
	}
	return 0;
}

static int parse_user(const struct oj *proc, struct oci_user *u)
{
	struct oj o = oj_get(proc, "user");
	int r = oj_object(&o, true);
	if (r < 0)
		return r;
	if ((r = oj_get_u32(&o, "uid", true, &u->uid)) < 0 ||
	    (r = oj_get_u32(&o, "gid", true, &u->gid)) < 0)
		return r;
	struct oj um = oj_get(&o, "umask");
	uint64_t mask;
	r = oj_u64(&um, false, 0777, &mask);
	if (r < 0)
		return r;
	u->has_umask = r > 0;
	u->umask = r > 0 ? (uint32_t)mask : 0;

	struct oj g = oj_get(&o, "additionalGids");
	size_t n = 0;
	if ((r = oj_array(&g, false, &n)) < 0)
		return r;
	if (r > 0) {
		u->additional_gids = xcalloc(n, sizeof(uint32_t));
		u->n_additional_gids = n;
		for (size_t i = 0; i < n; i++) {
			struct oj e = oj_at(&g, i);
			if ((r = oj_u32(&e, true, &u->additional_gids[i])) < 0)
				return r;
		}
	}
	return oj_get_string(&o, "username", false, &u->username);
}

/* execve(2) environment entries are KEY=value with a non-empty KEY. */
int oci_check_env(const struct oj *o, char *const *env)
{
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		if (!eq || eq == env[i]) {
			struct oj e = oj_at(o, i);
			_cleanup_free_ char *q = cell_json_quote(env[i]);
			return oj_fail(&e, "%s is not of the form KEY=value", q);
		}
	}
	return 0;
}

static int parse_args(const struct oj *proc, struct oci_process *p)
{
	struct oj a = oj_get(proc, "args");
	int r = oj_get_string(proc, "commandLine", false, &p->command_line);
	if (r < 0)
		return r;
	if (a.v && (r = oj_strv(&a, false, &p->args)) < 0)
		return r;
	if ((!p->args || !p->args[0]) && !p->command_line)
		return oj_fail(&a, "must be a non-empty array of strings");
	return 0;
}

static int parse_cap_set(const struct oj *caps, const char *key, uint64_t *mask)
{
	struct oj s = oj_get(caps, key);
	size_t n = 0;
	int r = oj_array(&s, false, &n);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&s, i);
		_cleanup_free_ char *name = NULL;
		if ((r = oj_string(&e, true, &name)) < 0)
			return r;
		int cap = oci_cap_from_name(name);
		if (cap < 0) {
			_cleanup_free_ char *q = cell_json_quote(name);
			return oj_fail(&e, "unknown capability %s", q);
		}
		*mask |= 1ULL << cap;
	}
	return 0;
}

static int parse_caps(const struct oj *proc, struct oci_process *p)
{
	struct oj c = oj_get(proc, "capabilities");
	int r = oj_object(&c, false);
	if (r <= 0)
		return r;
	p->has_capabilities = true;
	if ((r = parse_cap_set(&c, "bounding", &p->caps.bounding)) < 0 ||
	    (r = parse_cap_set(&c, "effective", &p->caps.effective)) < 0 ||
	    (r = parse_cap_set(&c, "inheritable", &p->caps.inheritable)) < 0 ||
	    (r = parse_cap_set(&c, "permitted", &p->caps.permitted)) < 0 ||
	    (r = parse_cap_set(&c, "ambient", &p->caps.ambient)) < 0)
		return r;
	return 0;
}

static int parse_rlimit(const struct oj *e, struct oci_rlimit *rl, const struct oci_rlimit *prev,
			size_t n_prev)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj t = oj_get(e, "type");
	_cleanup_free_ char *name = NULL;
	if ((r = oj_string(&t, true, &name)) < 0)
		return r;
	_cleanup_free_ char *q = cell_json_quote(name);
	rl->resource = oci_rlimit_from_name(name);
	if (rl->resource < 0)
		return oj_fail(&t, "unknown resource limit %s", q);
	for (size_t i = 0; i < n_prev; i++) {
		if (prev[i].resource != rl->resource)
			continue;
		struct oj first = oj_at(e->parent, i);
		_cleanup_free_ char *where = oj_path(&first);
		return oj_fail(&t, "duplicate resource limit %s (also at %s)", q, where);
	}
	if ((r = oj_get_u64(e, "soft", true, &rl->soft)) < 0 ||
	    (r = oj_get_u64(e, "hard", true, &rl->hard)) < 0)
		return r;
	/* setrlimit(2) fails with EINVAL later; say why now. */
	if (rl->soft > rl->hard)
		return oj_fail(e, "soft limit %llu is above hard limit %llu",
			       (unsigned long long)rl->soft, (unsigned long long)rl->hard);
	return 0;
}

static int parse_rlimits(const struct oj *proc, struct oci_process *p)
{
	struct oj a = oj_get(proc, "rlimits");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	p->rlimits = xcalloc(n, sizeof(*p->rlimits));
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		if ((r = parse_rlimit(&e, &p->rlimits[i], p->rlimits, i)) < 0)
			return r;
		p->n_rlimits = i + 1;
	}
	return 0;
}

/* Values of include/uapi/linux/sched.h; SCHED_ISO (4) is reserved and
 * never implemented, so the kernel refuses it when the runtime asks. */
static const struct {
	const char *name;
	int value;
} sched_policies[] = {
	{ "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 },	     { "SCHED_BATCH", 3 },
	{ "SCHED_ISO", 4 },   { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
}, sched_flags[] = {
	{ "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 },
	{ "SCHED_FLAG_DL_OVERRUN", 0x04 },    { "SCHED_FLAG_KEEP_POLICY", 0x08 },
	{ "SCHED_FLAG_KEEP_PARAMS", 0x10 },   { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
	{ "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

static int sched_flags_parse(const struct oj *s, uint64_t *flags)
{
	_cleanup_strv_ char **v = NULL;
	struct oj f = oj_get(s, "flags");
	int r = oj_strv(&f, false, &v);
	for (size_t i = 0; r > 0 && v[i]; i++) {
		size_t k = 0;
		while (k < ARRAY_SIZE(sched_flags) && strcmp(sched_flags[k].name, v[i]) != 0)
			k++;
		if (k == ARRAY_SIZE(sched_flags)) {
			struct oj e = oj_at(&f, i);
			_cleanup_free_ char *q = cell_json_quote(v[i]);
			return oj_fail(&e, "unknown scheduler flag %s", q);
		}
		*flags |= (uint64_t)sched_flags[k].value;
	}
	return r < 0 ? r : 0;
}

static int parse_scheduler(const struct oj *proc, struct oci_process *p)
{
	struct oj s = oj_get(proc, "scheduler");
	int r = oj_object(&s, false);
	if (r <= 0)
		return r;
	struct oci_scheduler *sc = p->scheduler = xcalloc(1, sizeof(*sc));
	struct oj pol = oj_get(&s, "policy");
	_cleanup_free_ char *name = NULL;
	if ((r = oj_string(&pol, true, &name)) < 0)
		return r;
	size_t k = 0;
	while (k < ARRAY_SIZE(sched_policies) && strcmp(sched_policies[k].name, name) != 0)
		k++;
	if (k == ARRAY_SIZE(sched_policies)) {
		_cleanup_free_ char *q = cell_json_quote(name);
		return oj_fail(&pol, "unknown scheduling policy %s", q);
	}
	sc->policy = sched_policies[k].value;
	struct oj nice = oj_get(&s, "nice"), prio = oj_get(&s, "priority");
	if ((r = oj_int(&nice, false, -20, 19, &sc->nice)) < 0 ||
	    (r = oj_int(&prio, false, 0, 99, &sc->priority)) < 0)
		return r;
	/* sched_setattr(2): only the real-time policies take a priority. */
	if (sc->priority != 0 && sc->policy != 1 && sc->policy != 2)
		return oj_fail(&prio, "only SCHED_FIFO and SCHED_RR take a priority");
	if ((r = sched_flags_parse(&s, &sc->flags)) < 0 ||
	    (r = oj_get_u64(&s, "runtime", false, &sc->runtime)) < 0 ||
	    (r = oj_get_u64(&s, "deadline", false, &sc->deadline)) < 0 ||
	    (r = oj_get_u64(&s, "period", false, &sc->period)) < 0)
		return r;
	return 0;
}

static int parse_io_priority(const struct oj *proc, struct oci_process *p)
{
	struct oj o = oj_get(proc, "ioPriority");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	p->io_priority = xcalloc(1, sizeof(*p->io_priority));
	struct oj c = oj_get(&o, "class"), prio = oj_get(&o, "priority");
	_cleanup_free_ char *name = NULL;
	if ((r = oj_string(&c, true, &name)) < 0)
		return r;
	if (strcmp(name, "IOPRIO_CLASS_RT") == 0)
		p->io_priority->klass = IOPRIO_CLASS_RT;
	else if (strcmp(name, "IOPRIO_CLASS_BE") == 0)
		p->io_priority->klass = IOPRIO_CLASS_BE;
	else if (strcmp(name, "IOPRIO_CLASS_IDLE") == 0)
		p->io_priority->klass = IOPRIO_CLASS_IDLE;
	else {
		_cleanup_free_ char *q = cell_json_quote(name);
		return oj_fail(&c, "unknown I/O priority class %s", q);
	}
	r = oj_int(&prio, true, 0, 7, &p->io_priority->priority);
	return r < 0 ? r : 0;
}

/* A cpu list as sched_setaffinity users write it: "0-3,7". */
static bool cpu_list_valid(const char *s)
{
	if (!*s)
		return true;
	for (;;) {
		if (!isdigit((unsigned char)*s))
			return false;
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		s = end;
		if (*s == '-') {
			if (!isdigit((unsigned char)s[1]))
				return false;
			b = strtoul(s + 1, &end, 10);
			s = end;
		}
		if (b < a || b > 65535)
			return false;
		if (!*s)
			return true;
		if (*s++ != ',')
			return false;
	}
}

static int parse_affinity(const struct oj *proc, struct oci_process *p)
{
	struct oj o = oj_get(proc, "execCPUAffinity");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	struct oj i = oj_get(&o, "initial"), f = oj_get(&o, "final");
	if ((r = oj_string(&i, false, &p->exec_cpu_affinity_initial)) < 0 ||
	    (r = oj_string(&f, false, &p->exec_cpu_affinity_final)) < 0)
		return r;
	if (p->exec_cpu_affinity_initial && !cpu_list_valid(p->exec_cpu_affinity_initial))
		return oj_fail(&i, "not a CPU list such as \"0-3,7\"");
	if (p->exec_cpu_affinity_final && !cpu_list_valid(p->exec_cpu_affinity_final))
		return oj_fail(&f, "not a CPU list such as \"0-3,7\"");
	return 0;
}

static int parse_console(const struct oj *proc, struct oci_process *p)
{
	struct oj c = oj_get(proc, "consoleSize");
	int r = oj_object(&c, false);
	if (r <= 0)
		return r;
	/* struct winsize holds unsigned shorts. */
	struct oj h = oj_get(&c, "height"), w = oj_get(&c, "width");
	uint64_t hv, wv;
	if ((r = oj_u64(&h, true, 65535, &hv)) < 0 || (r = oj_u64(&w, true, 65535, &wv)) < 0)
		return r;
	p->has_console_size = true;
	p->console_height = (uint32_t)hv;
	p->console_width = (uint32_t)wv;
	return 0;
}

static int parse_lsm_oom(const struct oj *o, struct oci_process *p)
{
	struct oj oom = oj_get(o, "oomScoreAdj");
	int r = oj_int(&oom, false, -1000, 1000, &p->oom_score_adj);
	if (r < 0)
		return r;
	p->has_oom_score_adj = r > 0;
	if ((r = oj_get_bool(o, "noNewPrivileges", &p->no_new_privileges)) < 0 ||
	    (r = oj_get_string(o, "apparmorProfile", false, &p->apparmor_profile)) < 0 ||
	    (r = oj_get_string(o, "selinuxLabel", false, &p->selinux_label)) < 0)
		return r;
	return 0;
}

int oci_parse_process(const struct oj *o, struct oci_process *p)
{
	int r = oj_object(o, true);
	if (r < 0)
		return r;
	struct oj env = oj_get(o, "env"), cwd = oj_get(o, "cwd");
	if ((r = oj_get_bool(o, "terminal", &p->terminal)) < 0 || (r = parse_console(o, p)) < 0 ||
	    (r = parse_user(o, &p->user)) < 0 || (r = parse_args(o, p)) < 0 ||
	    (r = oj_strv(&env, false, &p->env)) < 0 || (r = oci_check_env(&env, p->env)) < 0 ||
	    (r = oj_string(&cwd, true, &p->cwd)) < 0 || (r = oci_check_abs_path(&cwd, p->cwd)) < 0)
		return r;
	if ((r = parse_caps(o, p)) < 0 || (r = parse_rlimits(o, p)) < 0 ||
	    (r = parse_lsm_oom(o, p)) < 0 || (r = parse_scheduler(o, p)) < 0 ||
	    (r = parse_io_priority(o, p)) < 0 || (r = parse_affinity(o, p)) < 0)
		return r;
	return 0;
}
