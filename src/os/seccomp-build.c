/* linux.seccomp -> BPF through libseccomp: names, actions, argument
 * comparisons, architectures and flags.  See seccomp-filter.h for the
 * contract; this is the part that runs in the compile child. */
#include "os/seccomp-internal.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static const struct {
	const char *name;
	unsigned int flag;
} flag_table[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

/* Indexed by enum oci_seccomp_action_kind. */
static const struct {
	const char *name;
	uint32_t action; /* with SECCOMP_RET_DATA zero */
} action_table[] = {
	[OCI_SECCOMP_KILL] = { "SCMP_ACT_KILL", SCMP_ACT_KILL },
	[OCI_SECCOMP_KILL_PROCESS] = { "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
	[OCI_SECCOMP_KILL_THREAD] = { "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
	[OCI_SECCOMP_TRAP] = { "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
	[OCI_SECCOMP_ERRNO] = { "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0) },
	[OCI_SECCOMP_TRACE] = { "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0) },
	[OCI_SECCOMP_ALLOW] = { "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
	[OCI_SECCOMP_LOG] = { "SCMP_ACT_LOG", SCMP_ACT_LOG },
	[OCI_SECCOMP_NOTIFY] = { "SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY },
};

/* Linux syscalls (up to 6.18) that a libseccomp release may not know yet.
 * A profile naming one is valid; it is skipped rather than rejected, so
 * Docker's and podman's current profiles load with an older libseccomp, and
 * the syscall gets the default action.  Only consulted when libseccomp does
 * not resolve the name, so a newer libseccomp makes entries here moot. */
static const char *const newer_syscalls[] = {
	"pidfd_send_signal", "io_uring_setup", "io_uring_enter", "io_uring_register",
	"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "pidfd_open",
	"clone3", "close_range", "openat2", "pidfd_getfd", "faccessat2", "process_madvise",
	"epoll_pwait2", "mount_setattr", "quotactl_fd", "landlock_create_ruleset",
	"landlock_add_rule", "landlock_restrict_self", "memfd_secret", "process_mrelease",
	"futex_waitv", "set_mempolicy_home_node", "cachestat", "fchmodat2", "map_shadow_stack",
	"futex_wake", "futex_wait", "futex_requeue", "statmount", "listmount",
	"lsm_get_self_attr", "lsm_set_self_attr", "lsm_list_modules", "mseal", "setxattrat",
	"getxattrat", "listxattrat", "removexattrat", "open_tree_attr", "file_getattr",
	"file_setattr", "uretprobe", "riscv_hwprobe", NULL,
};

/* What the runtime may call between seccomp_install() and handing over the
 * listener fd (both orders of os/security.h): the uid switch and capset,
 * libcap's allocations, passing the fd, reporting an error, exec and exit. */
static const char *const runtime_syscalls[] = {
	"brk", "capget", "capset", "close", "execve", "execveat", "exit", "exit_group", "mmap",
	"munmap", "prctl", "read", "sendmsg", "setgroups", "setresgid", "setresuid", "umask",
	"write", NULL,
};

const char *const *seccomp_runtime_syscalls(void)
{
	return runtime_syscalls;
}

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

long seccomp_syscall(unsigned int op, unsigned int flags, void *args)
{
	return syscall(SYS_seccomp, op, flags, args);
}

static bool kernel_has_action(uint32_t action)
{
	uint32_t a = action & SECCOMP_RET_ACTION_FULL;
	if (seccomp_syscall(SECCOMP_GET_ACTION_AVAIL, 0, &a) == 0)
		return true;
	/* Before 4.14 there is no GET_ACTION_AVAIL, and only the original actions. */
	return errno == EINVAL && (a == SECCOMP_RET_KILL_THREAD || a == SECCOMP_RET_TRAP ||
				   a == SECCOMP_RET_ERRNO || a == SECCOMP_RET_TRACE ||
				   a == SECCOMP_RET_ALLOW);
}

/* The kernel checks the flags before it reads the program, so a NULL
 * program answers EFAULT exactly when the flags are acceptable. */
static bool kernel_has_flags(unsigned int flags)
{
	if (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	return seccomp_syscall(SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT;
}

/* The libseccomp action for an OCI action; field names it in errors. */
static int to_action(enum oci_seccomp_action_kind kind, bool has_ret, uint32_t ret_val,
		     const char *field, const char *ret_field, uint32_t *ret, struct cell_err **err)
{
	if ((unsigned)kind >= ARRAY_SIZE(action_table) || !action_table[kind].name)
		return cell_err(err, 0, "%s: unknown action %d", field, (int)kind);
	uint32_t a = action_table[kind].action;
	if (kind == OCI_SECCOMP_ERRNO || kind == OCI_SECCOMP_TRACE) {
		uint32_t data = has_ret ? ret_val : EPERM;
		if (data > SECCOMP_RET_DATA)
			return cell_err(err, 0, "%s: %u is out of range (at most %u)", ret_field,
					data, SECCOMP_RET_DATA);
		a |= data;
	} else if (has_ret) {
		cell_debug("%s: ignored, %s takes no errno", ret_field, action_table[kind].name);
	}
	if (!kernel_has_action(a))
		return cell_err(err, 0, "%s: %s is not supported by this kernel", field,
				action_table[kind].name);
	*ret = a;
	return 0;
}

/* Resolve a name for the native architecture.  *skip: a Linux syscall this
 * libseccomp does not know (see newer_syscalls). */
static int resolve(const char *name, size_t i, size_t j, int *ret_nr, bool *skip,
		   struct cell_err **err)
{
	int nr = seccomp_syscall_resolve_name(name);
	*skip = false;
	if (nr == __NR_SCMP_ERROR) {
		if (!in_list(newer_syscalls, name))
			return cell_err(err, 0, "linux.seccomp.syscalls[%zu].names[%zu]: "
					"unknown syscall \"%s\"", i, j, name);
		cell_debug("linux.seccomp.syscalls[%zu].names[%zu]: \"%s\" is unknown to "
			   "libseccomp %u.%u; skipped", i, j, name, seccomp_version()->major,
			   seccomp_version()->minor);
		*skip = true;
		return 0;
	}
	if (nr < 0)
		/* A pseudo number: the syscall exists on other architectures only;
		 * libseccomp adds it to those of the filter that have it. */
		cell_debug("linux.seccomp.syscalls[%zu].names[%zu]: \"%s\" does not exist on this "
			   "architecture", i, j, name);
	*ret_nr = nr;
	return 0;
}

static struct scmp_arg_cmp to_cmp(const struct oci_seccomp_arg *a)
{
	/* For SCMP_CMP_MASKED_EQ value is the mask and valueTwo the datum. */
	return (struct scmp_arg_cmp){ .arg = a->index, .op = (enum scmp_compare)a->op,
				      .datum_a = a->value, .datum_b = a->value_two };
}

static int check_args(const struct oci_seccomp_syscall *sc, size_t i, bool *ret_repeated,
		      struct cell_err **err)
{
	unsigned int seen = 0;
	*ret_repeated = false;
	for (size_t k = 0; k < sc->n_args; k++) {
		const struct oci_seccomp_arg *a = &sc->args[k];
		if (a->index > 5)
			return cell_err(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].index: "
					"%u is out of range (0-5)", i, k, a->index);
		if (a->op < SCMP_CMP_NE || a->op > SCMP_CMP_MASKED_EQ)
			return cell_err(err, 0, "linux.seccomp.syscalls[%zu].args[%zu].op: unknown "
					"operator %d", i, k, a->op);
		if (seen & (1u << a->index))
			*ret_repeated = true;
		seen |= 1u << a->index;
	}
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, size_t i,
		     size_t j, int nr, uint32_t action, bool repeated, struct cell_err **err)
{
	struct scmp_arg_cmp cmp[6];
	int r = 0;

	if (!repeated) {
		for (size_t k = 0; k < sc->n_args; k++)
			cmp[k] = to_cmp(&sc->args[k]);
		r = seccomp_rule_add_array(ctx, action, nr, (unsigned)sc->n_args, cmp);
	} else {
		/* libseccomp cannot AND two comparisons of one argument: one rule
		 * per comparison, as runc does (see seccomp-filter.h). */
		for (size_t k = 0; k < sc->n_args && r == 0; k++) {
			cmp[0] = to_cmp(&sc->args[k]);
			r = seccomp_rule_add_array(ctx, action, nr, 1, cmp);
		}
	}
	if (r < 0)
		return cell_err(err, -r, "linux.seccomp.syscalls[%zu].names[%zu]: add a rule for "
				"\"%s\"", i, j, sc->names[j]);
	return 0;
}

static int add_entry(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, size_t i,
		     uint32_t default_action, bool *notify, struct cell_err **err)
{
	char field[64], ret_field[64];
	uint32_t action;
	bool repeated;
	int r;

	snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu].action", i);
	snprintf(ret_field, sizeof(ret_field), "linux.seccomp.syscalls[%zu].errnoRet", i);
	if ((r = to_action(sc->action, sc->has_errno_ret, sc->errno_ret, field, ret_field,
			   &action, err)) < 0)
		return r;
	if ((r = check_args(sc, i, &repeated, err)) < 0)
		return r;
	for (size_t j = 0; sc->names && sc->names[j]; j++) {
		int nr = 0;
		bool skip;
		if ((r = resolve(sc->names[j], i, j, &nr, &skip, err)) < 0)
			return r;
		if (sc->action == OCI_SECCOMP_NOTIFY && in_list(runtime_syscalls, sc->names[j]))
			return cell_err(err, 0, "linux.seccomp.syscalls[%zu].names[%zu]: "
					"SCMP_ACT_NOTIFY on \"%s\" is not supported: the runtime "
					"itself needs it after the filter is installed", i, j,
					sc->names[j]);
		/* Same action as the default: a no-op libseccomp refuses (EACCES). */
		if (skip || action == default_action)
			continue;
		if ((r = add_rules(ctx, sc, i, j, nr, action, repeated, err)) < 0)
			return r;
		*notify |= sc->action == OCI_SECCOMP_NOTIFY;
	}
	return 0;
}

static int flags_of(const struct oci_seccomp *s, unsigned int *ret, struct cell_err **err)
{
	unsigned int flags = 0;
	for (size_t i = 0; s->flags && s->flags[i]; i++) {
		size_t k = 0;
		while (k < ARRAY_SIZE(flag_table) && strcmp(flag_table[k].name, s->flags[i]) != 0)
			k++;
		if (k == ARRAY_SIZE(flag_table))
			return cell_err(err, 0, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
					s->flags[i]);
		if (!kernel_has_flags(flag_table[k].flag))
			return cell_err(err, 0, "linux.seccomp.flags[%zu]: %s is not supported by "
					"this kernel", i, s->flags[i]);
		flags |= flag_table[k].flag;
	}
	*ret = flags;
	return 0;
}

static int add_arches(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct cell_err **err)
{
	for (size_t i = 0; i < s->n_architectures; i++) {
		int r = seccomp_arch_add(ctx, s->architectures[i]);
		if (r < 0 && r != -EEXIST) /* EEXIST: the native one, already there */
			return cell_err(err, -r, "linux.seccomp.architectures[%zu]: add "
					"architecture 0x%x", i, s->architectures[i]);
	}
	return 0;
}

static int build(scmp_filter_ctx ctx, const struct oci_seccomp *s, uint32_t default_action,
		 struct seccomp_build *out, struct cell_err **err)
{
	int r;
	if ((r = flags_of(s, &out->flags, err)) < 0 || (r = add_arches(ctx, s, err)) < 0)
		return r;
	for (size_t i = 0; i < s->n_syscalls; i++) {
		out->entry = (long)i;
		if ((r = add_entry(ctx, &s->syscalls[i], i, default_action, &out->notify, err)) < 0)
			return r;
	}
	out->entry = -1;
	if (out->notify) {
		out->flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
		/* TSYNC with a listener needs TSYNC_ESRCH (seccomp(2)). */
		if (out->flags & SECCOMP_FILTER_FLAG_TSYNC)
			out->flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	} else if (out->flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
		cell_debug("linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV "
			   "dropped: no SCMP_ACT_NOTIFY rule");
		out->flags &= ~(unsigned int)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	}
	return 0;
}

int seccomp_build(const struct oci_seccomp *s, int bpf_fd, struct seccomp_build *out,
		  struct cell_err **err)
{
	uint32_t def;
	int r;

	out->flags = 0;
	out->notify = false;
	out->entry = -1;
	if (s->default_action == OCI_SECCOMP_NOTIFY)
		return cell_err(err, 0, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be "
				"the default action");
	if ((r = to_action(s->default_action, s->has_default_errno_ret, s->default_errno_ret,
			   "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet", &def,
			   err)) < 0)
		return r;
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		return cell_err(err, ENOMEM, "linux.seccomp: seccomp_init");
	/* Syscall numbers as a binary tree (libseccomp >= 2.5; an older one
	 * keeps the linear list): the same rules, but the kernel's load of a
	 * 350-rule profile here drops from ~590 to ~240 us (its action cache
	 * runs the filter once per syscall number), and a call matches in
	 * log(n) tests. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	r = build(ctx, s, def, out, err);
	if (r == 0 && (r = seccomp_export_bpf(ctx, bpf_fd)) < 0)
		r = cell_err(err, -r, "linux.seccomp: export the BPF program");
	seccomp_release(ctx);
	return r;
}

void seccomp_features(struct seccomp_features *ret)
{
	const struct scmp_version *v = seccomp_version();
	size_t n = 0;

	*ret = (struct seccomp_features){
		.enabled = kernel_has_flags(0),
		.lib_major = v->major,
		.lib_minor = v->minor,
		.lib_micro = v->micro,
		.api_level = seccomp_api_get(),
	};
	for (size_t k = 0; k < ARRAY_SIZE(action_table); k++)
		if (ret->enabled && kernel_has_action(action_table[k].action))
			ret->actions |= 1u << k;
	for (size_t k = 0; k < ARRAY_SIZE(flag_table) && n + 1 < ARRAY_SIZE(ret->flags); k++)
		if (ret->enabled && kernel_has_flags(flag_table[k].flag))
			ret->flags[n++] = flag_table[k].name;
}
