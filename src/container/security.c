#include "container/security.h"

#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "os/security.h"

struct security_plan {
	struct seccomp_prog *seccomp;
};

int security_prepare(const struct oci_spec *spec, struct security_plan **ret,
		     struct cell_err **err)
{
	struct security_plan *plan = xcalloc(1, sizeof(*plan));
	if (spec->linux_.seccomp) {
		int r = seccomp_compile(spec->linux_.seccomp, &plan->seccomp, err);
		if (r < 0) {
			free(plan);
			return r;
		}
	}
	*ret = plan;
	return 0;
}

void security_plan_free(struct security_plan *plan)
{
	if (!plan)
		return;
	seccomp_prog_free(plan->seccomp);
	free(plan);
}

bool security_uses_notify(const struct security_plan *plan)
{
	return plan && plan->seccomp && seccomp_prog_uses_notify(plan->seccomp);
}

int security_parent(const struct oci_process *p, pid_t pid, struct cell_err **err)
{
	int r;
	if (p->n_rlimits && (r = procattr_set_rlimits(pid, p->rlimits, p->n_rlimits, err)) < 0)
		return r;
	if (p->has_oom_score_adj && (r = procattr_set_oom_score_adj(pid, p->oom_score_adj, err)) < 0)
		return r;
	if (p->io_priority && (r = procattr_set_io_priority(pid, p->io_priority, err)) < 0)
		return r;
	if (p->scheduler && (r = procattr_set_scheduler(pid, p->scheduler, err)) < 0)
		return r;
	return 0;
}

static int install(const struct security_plan *plan, int *listener, struct cell_err **err)
{
	return plan->seccomp ? seccomp_install(plan->seccomp, listener, err) : 0;
}

int security_apply(const struct security_plan *plan, const struct oci_spec *spec,
		   const struct oci_process *p, int *ret_listener, struct cell_err **err)
{
	const struct oci_linux *l = &spec->linux_;
	int listener = -1, r;
	*ret_listener = -1;
	if (p->exec_cpu_affinity_final &&
	    (r = procattr_set_cpu_affinity(0, p->exec_cpu_affinity_final,
					   "process.execCPUAffinity.final", err)) < 0)
		return r;
	if (l->has_personality &&
	    (r = procattr_set_personality(l->personality_domain, l->personality_flags, err)) < 0)
		return r;
	if (p->no_new_privileges && (r = procattr_set_no_new_privs(err)) < 0)
		return r;
	/* Without no_new_privs the filter needs CAP_SYS_ADMIN: install it
	 * while the capabilities are still ours. */
	if (!p->no_new_privileges && (r = install(plan, &listener, err)) < 0)
		return r;
	if (p->has_capabilities && ((r = caps_drop_bounding(&p->caps, err)) < 0 ||
				    (r = caps_keep_on_uid_switch(true, err)) < 0))
		goto fail;
	if ((r = user_switch(&p->user, err)) < 0)
		goto fail;
	if (p->has_capabilities && (r = caps_apply(&p->caps, err)) < 0)
		goto fail;
	if (p->no_new_privileges && (r = install(plan, &listener, err)) < 0)
		goto fail;
	*ret_listener = listener;
	return 0;
fail:
	if (listener >= 0)
		close(listener);
	return r;
}
