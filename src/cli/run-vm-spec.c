/* A config.json's process as a light guest: what maps, and what is refused
 * (naming the field) because the light guest cannot do it.  docs/vm.md,
 * "OCI bundles", is the table. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/run-vm.h"
#include "os/procattr.h"

#define VCPUS_MAX 64

int run_isolation_parse(const char *s, enum run_isolation *ret)
{
	if (strcmp(s, "container") == 0)
		*ret = RUN_ISOLATION_CONTAINER;
	else if (strcmp(s, "vm") == 0)
		*ret = RUN_ISOLATION_VM;
	else
		return -EINVAL;
	return 0;
}

int run_isolation_of_config(json_object *cfg, const char *name, enum run_isolation *ret,
			    struct cell_err **err)
{
	json_object *ann, *v;
	*ret = RUN_ISOLATION_DEFAULT;
	if (!json_object_object_get_ex(cfg, "annotations", &ann) ||
	    !json_object_object_get_ex(ann, RUN_ISOLATION_ANNOTATION, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    run_isolation_parse(json_object_get_string(v), ret) < 0)
		return cell_err(err, 0,
				"%s: annotations.\"%s\": unknown value %s (container or vm)", name,
				RUN_ISOLATION_ANNOTATION, json_object_to_json_string(v));
	return 0;
}

int run_isolation_of_file(const char *path, enum run_isolation *ret, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	size_t len;
	*ret = RUN_ISOLATION_DEFAULT;
	if (cell_read_file(path, OCI_SPEC_MAX_BYTES, &text, &len, &e) < 0)
		return 0;
	/* Most configs do not name it: no JSON parse for them. */
	if (!memmem(text, len, RUN_ISOLATION_ANNOTATION, strlen(RUN_ISOLATION_ANNOTATION)))
		return 0;
	json_tokener *tok = json_tokener_new();
	json_object *cfg = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!cfg)
		return 0;
	int r = run_isolation_of_config(cfg, path, ret, err);
	json_object_put(cfg);
	return r;
}

/* process.rlimits become the first guest process's limits (the rest are
 * the monitor's, inherited from cell as a container's are).  The guest
 * enforces them itself (src/vm/guest/rlimit.c); a hard limit above cell's
 * is fine there, as for a runtime with CAP_SYS_RESOURCE, since it never
 * loosens what the host enforces on the monitor. */
static int map_rlimits(const struct oci_process *p, const char *name, struct vm_guest_config *g,
		       struct cell_err **err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct oci_rlimit *rl = &p->rlimits[i];
		const char *what = procattr_rlimit_name(rl->resource);
		if (rl->resource < 0 || rl->resource >= VM_RLIMITS || rl->resource >= RLIM_NLIMITS)
			return cell_err(err, 0, "%s: process.rlimits[%zu].type: unknown resource %d",
					name, i, rl->resource);
		if (rl->soft > rl->hard)
			return cell_err(err, 0,
					"%s: process.rlimits[%zu] (%s): soft limit %llu is above the "
					"hard limit %llu", name, i, what,
					(unsigned long long)rl->soft, (unsigned long long)rl->hard);
		if (rl->resource == RLIMIT_NOFILE && rl->hard > VM_NOFILE_MAX)
			return cell_err(err, 0,
					"%s: process.rlimits[%zu] (%s): hard limit %llu is above the "
					"light guest's ceiling (%d)", name, i, what,
					(unsigned long long)rl->hard, VM_NOFILE_MAX);
		g->rlimits_set |= 1u << rl->resource;
		g->rlimits[rl->resource][0] = rl->soft;
		g->rlimits[rl->resource][1] = rl->hard;
	}
	return 0;
}

static int check_process(const struct oci_process *p, const char *name, struct cell_err **err)
{
	if (p->terminal)
		return cell_err(err, 0,
				"%s: process.terminal: the light guest has no terminal; set it to "
				"false (or use --isolation container)", name);
	if (p->user.n_additional_gids)
		return cell_err(err, 0,
				"%s: process.user.additionalGids: the light guest has no "
				"supplementary groups", name);
	if (p->user.has_umask && p->user.umask != 022)
		return cell_err(err, 0, "%s: process.user.umask: the light guest starts with 022",
				name);
	return 0;
}

static int check_rest(const struct oci_spec *spec, const char *name, struct cell_err **err)
{
	for (int k = 0; k < OCI_HOOK_KINDS; k++)
		if (spec->hooks[k].n)
			return cell_err(err, 0, "%s: hooks.%s: hooks are not run for a light guest",
					name, oci_hook_kind_name((enum oci_hook_kind)k));
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (spec->mounts[i].bind)
			return cell_err(err, 0,
					"%s: mounts[%zu] (%s): bind mounts are not available in the "
					"light guest (it sees root.path only)",
					name, i, spec->mounts[i].destination);
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].path)
			return cell_err(err, 0,
					"%s: linux.namespaces[%zu].path: a light guest cannot join "
					"a namespace", name, i);
	static const char *const net[] = { "cell.ip", "cell.ports", "cell.net-rate",
					   "cell.network" };
	for (size_t i = 0; i < spec->n_annotations; i++)
		for (size_t j = 0; j < ARRAY_SIZE(net); j++)
			if (strcmp(spec->annotations[i].key, net[j]) == 0 &&
			    !(j == 3 && strcmp(spec->annotations[i].value, "none") == 0))
				return cell_err(err, 0,
						"%s: annotations.\"%s\" (or the flag that sets it): "
						"the light guest has no network", name, net[j]);
	return 0;
}

/* CPUs in a list "0-3,7"; -1 when it is not one (cgroup_apply names it). */
static long count_cpus(const char *list)
{
	long n = 0;
	const char *p = list;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p || a < 0)
			return -1;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a)
				return -1;
		}
		n += b - a + 1;
		if (*end != ',' && *end)
			return -1;
		p = *end ? end + 1 : end;
	}
	return n;
}

/* vCPUs: as many as the CPU quota allows, else as the cpuset holds, else
 * the host's CPUs (a container without limits may use them all). */
static unsigned vcpus_for(const struct oci_resources *res)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (res && res->cpu.has_quota && res->cpu.quota > 0) {
		uint64_t period = res->cpu.has_period && res->cpu.period ? res->cpu.period : 100000;
		n = (long)(((uint64_t)res->cpu.quota + period - 1) / period);
	} else if (res && res->cpu.cpus && count_cpus(res->cpu.cpus) > 0) {
		n = count_cpus(res->cpu.cpus);
	}
	return n < 1 ? 1 : n > VCPUS_MAX ? VCPUS_MAX : (unsigned)n;
}

static int map_resources(const struct oci_resources *res, const char *name, struct vm_launch *l,
			 struct cell_err **err)
{
	l->resources = res;
	l->guest.vcpus = vcpus_for(res);
	if (!res || !res->memory.has_limit || res->memory.limit <= 0)
		return 0;
	uint64_t mem = (uint64_t)res->memory.limit;
	if (mem < VM_GUEST_MEM_MIN || mem > VM_GUEST_MEM_MAX)
		return cell_err(err, 0,
				"%s: linux.resources.memory.limit: %llu bytes: the light guest's RAM "
				"must be between %llu MiB and %llu GiB",
				name, (unsigned long long)mem, VM_GUEST_MEM_MIN >> 20,
				VM_GUEST_MEM_MAX >> 30);
	l->guest.mem_size = mem;
	return 0;
}

static int root_path(const struct oci_spec *spec, const char *bundle, const char *name,
		     char **ret, struct cell_err **err)
{
	if (!spec->root || !spec->root->path)
		return cell_err(err, 0, "%s: root.path: required", name);
	const char *p = spec->root->path;
	_cleanup_free_ char *abs = p[0] == '/' || !bundle ? xstrdup(p)
							   : xasprintf("%s/%s", bundle, p);
	struct stat st;
	if (stat(abs, &st) < 0)
		return cell_err_sys(err, "%s: root.path: %s", name, abs);
	if (!S_ISDIR(st.st_mode))
		return cell_err(err, 0, "%s: root.path: %s is not a directory", name, abs);
	*ret = TAKE_PTR(abs);
	return 0;
}

int run_vm_from_spec(const struct oci_spec *spec, const char *bundle, const char *name,
		     struct vm_launch *l, char **ret_rootfs, struct cell_err **err)
{
	const struct oci_process *p = spec->process;
	if (!p)
		return cell_err(err, 0, "%s: process: required to run", name);
	_cleanup_free_ char *rootfs = NULL;
	int r;
	if ((r = check_process(p, name, err)) < 0 || (r = check_rest(spec, name, err)) < 0 ||
	    (r = map_rlimits(p, name, &l->guest, err)) < 0 ||
	    (r = root_path(spec, bundle, name, &rootfs, err)) < 0 ||
	    (r = map_resources(spec->linux_.resources, name, l, err)) < 0)
		return r;
	static char *const no_env[] = { NULL };
	l->kind = VM_KIND_GUEST;
	l->guest.rootfs = rootfs;
	l->guest.argv = p->args;
	l->guest.env = p->env ? p->env : no_env;
	l->guest.cwd = p->cwd;
	l->guest.uid = p->user.uid;
	l->guest.gid = p->user.gid;
	l->guest.hostname = spec->hostname;
	l->readonly_root = spec->root->readonly;
	*ret_rootfs = TAKE_PTR(rootfs);
	return 0;
}
