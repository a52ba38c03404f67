/* linux.seccomp: actions, architectures and operators resolved to numbers;
 * syscall names stay strings for libseccomp to resolve at run time. */
#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "oci/internal.h"

static int parse_action(const struct oj *o, enum oci_seccomp_action_kind *ret)
{
	_cleanup_free_ char *name = NULL;
	int r = oj_string(o, true, &name);
	if (r < 0)
		return r;
	int a = oci_seccomp_action_from_name(name);
	if (a < 0) {
		_cleanup_free_ char *q = cell_json_quote(name);
		return oj_fail(o, "unknown seccomp action %s", q);
	}
	*ret = (enum oci_seccomp_action_kind)a;
	return 0;
}

/* errnoRet goes with the actions that return a value to the caller. */
static int parse_errno_ret(const struct oj *obj, const char *key,
			   enum oci_seccomp_action_kind action, bool *has, uint32_t *ret)
{
	struct oj o = oj_get(obj, key);
	uint64_t v;
	int r = oj_u64(&o, false, 0xffff, &v);
	if (r <= 0)
		return r;
	if (action != OCI_SECCOMP_ERRNO && action != OCI_SECCOMP_TRACE)
		return oj_fail(&o, "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno");
	*has = true;
	*ret = (uint32_t)v;
	return 0;
}

static int parse_arg(const struct oj *e, struct oci_seccomp_arg *a)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj idx = oj_get(e, "index"), op = oj_get(e, "op");
	uint64_t index;
	/* seccomp_data.args has six entries. */
	if ((r = oj_u64(&idx, true, 5, &index)) < 0 ||
	    (r = oj_get_u64(e, "value", true, &a->value)) < 0 ||
	    (r = oj_get_u64(e, "valueTwo", false, &a->value_two)) < 0)
		return r;
	a->index = (uint32_t)index;
	_cleanup_free_ char *name = NULL;
	if ((r = oj_string(&op, true, &name)) < 0)
		return r;
	a->op = oci_seccomp_operator_from_name(name);
	if (a->op < 0) {
		_cleanup_free_ char *q = cell_json_quote(name);
		return oj_fail(&op, "unknown seccomp operator %s", q);
	}
	return 0;
}

static int parse_syscall(const struct oj *e, struct oci_seccomp_syscall *s)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj names = oj_get(e, "names"), action = oj_get(e, "action"),
		  args = oj_get(e, "args");
	if ((r = oj_strv(&names, true, &s->names)) < 0)
		return r;
	if (!s->names[0])
		return oj_fail(&names, "must name at least one system call");
	for (size_t i = 0; s->names[i]; i++) {
		if (!s->names[i][0]) {
			struct oj n = oj_at(&names, i);
			return oj_fail(&n, "empty system call name");
		}
	}
	if ((r = parse_action(&action, &s->action)) < 0 ||
	    (r = parse_errno_ret(e, "errnoRet", s->action, &s->has_errno_ret, &s->errno_ret)) < 0)
		return r;
	size_t n = 0;
	if ((r = oj_array(&args, false, &n)) <= 0)
		return r;
	s->args = xcalloc(n, sizeof(*s->args));
	s->n_args = n;
	for (size_t i = 0; i < n; i++) {
		struct oj a = oj_at(&args, i);
		if ((r = parse_arg(&a, &s->args[i])) < 0)
			return r;
	}
	return 0;
}

static int parse_arches(const struct oj *sec, struct oci_seccomp *s)
{
	struct oj a = oj_get(sec, "architectures");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	s->architectures = xcalloc(n, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		_cleanup_free_ char *name = NULL;
		if ((r = oj_string(&e, true, &name)) < 0)
			return r;
		_cleanup_free_ char *q = cell_json_quote(name);
		r = oci_seccomp_arch_from_name(name, &s->architectures[i]);
		if (r == -ENOTSUP)
			return oj_fail(&e, "architecture %s is not supported by this libseccomp",
				       q);
		if (r < 0)
			return oj_fail(&e, "unknown seccomp architecture %s", q);
		s->n_architectures = i + 1;
	}
	return 0;
}

static int parse_flags(const struct oj *sec, struct oci_seccomp *s)
{
	struct oj a = oj_get(sec, "flags");
	int r = oj_strv(&a, false, &s->flags);
	for (size_t i = 0; r > 0 && s->flags[i]; i++) {
		if (!oci_seccomp_flag_known(s->flags[i])) {
			struct oj e = oj_at(&a, i);
			_cleanup_free_ char *q = cell_json_quote(s->flags[i]);
			return oj_fail(&e, "unknown seccomp flag %s", q);
		}
	}
	return r < 0 ? r : 0;
}

/* SCMP_ACT_NOTIFY hands syscalls to an agent over listenerPath; without
 * one every matching call would block forever. */
static int check_notify(const struct oj *sec, struct oci_seccomp *s)
{
	struct oj lp = oj_get(sec, "listenerPath"), md = oj_get(sec, "listenerMetadata");
	struct oj da = oj_get(sec, "defaultAction");
	if (s->default_action == OCI_SECCOMP_NOTIFY)
		return oj_fail(&da, "SCMP_ACT_NOTIFY cannot be the default action");
	if (s->listener_path && s->listener_path[0] != '/')
		return oci_check_abs_path(&lp, s->listener_path);
	if (s->listener_metadata && !s->listener_path)
		return oj_fail(&md, "needs seccomp.listenerPath");
	for (size_t i = 0; i < s->n_syscalls; i++) {
		if (s->syscalls[i].action == OCI_SECCOMP_NOTIFY && !s->listener_path) {
			struct oj a = oj_get(sec, "syscalls"), e = oj_at(&a, i),
				  act = oj_get(&e, "action");
			return oj_fail(&act, "SCMP_ACT_NOTIFY needs seccomp.listenerPath");
		}
	}
	return 0;
}

int oci_parse_seccomp(const struct oj *sec, struct oci_seccomp *s)
{
	struct oj da = oj_get(sec, "defaultAction"), sc = oj_get(sec, "syscalls");
	int r;
	if ((r = parse_action(&da, &s->default_action)) < 0 ||
	    (r = parse_errno_ret(sec, "defaultErrnoRet", s->default_action,
				 &s->has_default_errno_ret, &s->default_errno_ret)) < 0 ||
	    (r = parse_arches(sec, s)) < 0 || (r = parse_flags(sec, s)) < 0 ||
	    (r = oj_get_string(sec, "listenerPath", false, &s->listener_path)) < 0 ||
	    (r = oj_get_string(sec, "listenerMetadata", false, &s->listener_metadata)) < 0)
		return r;
	size_t n = 0;
	if ((r = oj_array(&sc, false, &n)) < 0)
		return r;
	if (r > 0) {
		s->syscalls = xcalloc(n, sizeof(*s->syscalls));
		s->n_syscalls = n;
		for (size_t i = 0; i < n; i++) {
			struct oj e = oj_at(&sc, i);
			if ((r = parse_syscall(&e, &s->syscalls[i])) < 0)
				return r;
		}
	}
	return check_notify(sec, s);
}
