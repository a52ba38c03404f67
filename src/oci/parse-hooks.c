/* hooks: prestart .. poststop, each a list of {path, args, env, timeout}. */
#include <limits.h>

#include "base/util.h"
#include "oci/internal.h"

static int parse_hook(const struct oj *e, struct oci_hook *h)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj path = oj_get(e, "path"), env = oj_get(e, "env"), t = oj_get(e, "timeout");
	if ((r = oj_string(&path, true, &h->path)) < 0 ||
	    (r = oci_check_abs_path(&path, h->path)) < 0 ||
	    (r = oj_get_strv(e, "args", &h->args)) < 0 || (r = oj_strv(&env, false, &h->env)) < 0 ||
	    (r = oci_check_env(&env, h->env)) < 0)
		return r;
	/* The spec wants a timeout above zero when one is set; 0 is read as
	 * "none", which is what a zero-valued Go field means to its writer. */
	int64_t timeout = 0;
	r = oj_i64(&t, false, INT64_MIN, INT_MAX, &timeout);
	if (r < 0)
		return r;
	if (timeout < 0)
		return oj_fail(&t, "must be a positive number of seconds, got %lld",
			       (long long)timeout);
	h->timeout = (int)timeout;
	return 0;
}

int oci_parse_hooks(const struct oj *o, struct oci_spec *spec)
{
	struct oj hooks = oj_get(o, "hooks");
	int r = oj_object(&hooks, false);
	if (r <= 0)
		return r;
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		struct oj a = oj_get(&hooks, oci_hook_kind_name(k));
		size_t n = 0;
		if ((r = oj_array(&a, false, &n)) < 0)
			return r;
		if (r == 0)
			continue;
		struct oci_hook_list *l = &spec->hooks[k];
		l->hooks = xcalloc(n, sizeof(*l->hooks));
		l->n = n;
		for (size_t i = 0; i < n; i++) {
			struct oj e = oj_at(&a, i);
			if ((r = parse_hook(&e, &l->hooks[i])) < 0)
				return r;
		}
	}
	return 0;
}
