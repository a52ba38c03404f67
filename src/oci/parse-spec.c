/* config.json top level: version, root, process, hostname, mounts, hooks,
 * annotations, linux; then the checks that span several fields. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "oci/internal.h"

/* Accept every 1.x: minor versions only add fields, which we either know
 * or, as the spec allows, ignore.  Another major is another format. */
static int check_version(const struct oj *top, char **ret)
{
	struct oj o = oj_get(top, "ociVersion");
	int r = oj_string(&o, true, ret);
	if (r < 0)
		return r;
	const char *v = *ret;
	char *end;
	_cleanup_free_ char *q = cell_json_quote(v);
	if (v[0] < '0' || v[0] > '9')
		return oj_fail(&o, "%s is not a version such as \"1.2.0\"", q);
	unsigned long major = strtoul(v, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return oj_fail(&o, "%s is not a version such as \"1.2.0\"", q);
	if (major != 1)
		return oj_fail(&o,
			       "unsupported version %s: cell reads runtime-spec 1.x (1.0 to 1.2 "
			       "and later minor versions)",
			       q);
	return 0;
}

static int parse_root(const struct oj *top, struct oci_spec *spec)
{
	struct oj o = oj_get(top, "root");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	spec->root = xcalloc(1, sizeof(*spec->root));
	struct oj p = oj_get(&o, "path");
	if ((r = oj_string(&p, true, &spec->root->path)) < 0 ||
	    (r = oj_get_bool(&o, "readonly", &spec->root->readonly)) < 0)
		return r;
	if (!spec->root->path[0])
		return oj_fail(&p, "must not be empty");
	return 0;
}

/* sethostname(2)/setdomainname(2) take at most 64 bytes. */
static int parse_names(const struct oj *top, struct oci_spec *spec)
{
	static const char *const keys[] = { "hostname", "domainname" };
	char **fields[] = { &spec->hostname, &spec->domainname };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct oj o = oj_get(top, keys[i]);
		int r = oj_string(&o, false, fields[i]);
		if (r < 0)
			return r;
		if (r > 0 && strlen(*fields[i]) > 64)
			return oj_fail(&o, "longer than 64 bytes");
	}
	return 0;
}

/* linux.namespaces entry of type t: NULL when absent. */
static const struct oci_namespace *find_ns(const struct oci_spec *spec, enum oci_ns_type t)
{
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type == t)
			return &spec->linux_.namespaces[i];
	return NULL;
}

static bool new_ns(const struct oci_spec *spec, enum oci_ns_type t)
{
	const struct oci_namespace *ns = find_ns(spec, t);
	return ns && !ns->path;
}

static int check_user_ns(const struct oj *top, const struct oci_spec *spec)
{
	struct oj lo = oj_get(top, "linux");
	const struct oci_linux *l = &spec->linux_;
	const struct oci_namespace *user = find_ns(spec, OCI_NS_USER);
	if (!user && (l->n_uid_mappings || l->n_gid_mappings)) {
		struct oj m = oj_get(&lo, l->n_uid_mappings ? "uidMappings" : "gidMappings");
		return oj_fail(&m, "mappings need a user namespace in linux.namespaces");
	}
	/* A new user namespace without maps runs everything as the overflow
	 * IDs and can set up nothing: refuse it the way runc does. */
	if (user && !user->path && (!l->n_uid_mappings || !l->n_gid_mappings)) {
		struct oj m = oj_get(&lo, !l->n_uid_mappings ? "uidMappings" : "gidMappings");
		return oj_fail(&m, "a new user namespace needs uid and gid mappings");
	}
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct oci_mount *m = &spec->mounts[i];
		if (m->idmap && !m->n_uid_mappings && !m->n_gid_mappings && !user) {
			struct oj ma = oj_get(top, "mounts"), e = oj_at(&ma, i),
				  o = oj_get(&e, "options");
			return oj_fail(&o, "an idmapped mount needs uidMappings and gidMappings or "
					   "a user namespace");
		}
	}
	return 0;
}

static int check_uts_time(const struct oj *top, const struct oci_spec *spec)
{
	if (spec->hostname && spec->hostname[0] && !new_ns(spec, OCI_NS_UTS)) {
		struct oj o = oj_get(top, "hostname");
		return oj_fail(&o, "setting a hostname needs a new uts namespace");
	}
	if (spec->domainname && spec->domainname[0] && !new_ns(spec, OCI_NS_UTS)) {
		struct oj o = oj_get(top, "domainname");
		return oj_fail(&o, "setting a domainname needs a new uts namespace");
	}
	/* Offsets can be written only before any process enters the namespace. */
	if (spec->linux_.has_time_offsets && !new_ns(spec, OCI_NS_TIME)) {
		struct oj lo = oj_get(top, "linux"), o = oj_get(&lo, "timeOffsets");
		return oj_fail(&o, "time offsets need a new time namespace");
	}
	return 0;
}

/* Which namespace makes a sysctl the container's own (runc's list). */
static int sysctl_ns(const char *key)
{
	static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb",
					   "kernel.msgmni", "kernel.sem",
					   "kernel.shmall", "kernel.shmmax",
					   "kernel.shmmni", "kernel.shm_rmid_forced" };
	if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
		return OCI_NS_UTS;
	for (size_t i = 0; i < ARRAY_SIZE(ipc); i++)
		if (strcmp(key, ipc[i]) == 0)
			return OCI_NS_IPC;
	if (cell_str_has_prefix(key, "fs.mqueue."))
		return OCI_NS_IPC;
	if (cell_str_has_prefix(key, "net."))
		return OCI_NS_NETWORK;
	return -1;
}

static int check_sysctl(const struct oj *top, const struct oci_spec *spec)
{
	struct oj lo = oj_get(top, "linux"), so = oj_get(&lo, "sysctl");
	for (size_t i = 0; i < spec->linux_.n_sysctl; i++) {
		const char *key = spec->linux_.sysctl[i].key;
		_cleanup_free_ char *dotted = xstrdup(key);
		for (char *p = dotted; *p; p++)
			if (*p == '/')
				*p = '.';
		struct oj k = oj_get(&so, key);
		int ns = sysctl_ns(dotted);
		if (ns < 0)
			return oj_fail(&k,
				       "not a namespaced sysctl: setting it would change the host");
		if (!find_ns(spec, (enum oci_ns_type)ns))
			return oj_fail(&k,
				       "needs a %s namespace in linux.namespaces, or it would "
				       "change the host's",
				       oci_ns_type_name(ns));
	}
	return 0;
}

static int parse_top(const struct oj *top, struct oci_spec *spec)
{
	int r = oj_object(top, true);
	if (r < 0)
		return r;
	struct oj proc = oj_get(top, "process"), lo = oj_get(top, "linux"),
		  ann = oj_get(top, "annotations");
	if ((r = check_version(top, &spec->oci_version)) < 0 || (r = parse_root(top, spec)) < 0 ||
	    (r = oj_object(&proc, false)) < 0)
		return r;
	if (r > 0) {
		spec->process = xcalloc(1, sizeof(*spec->process));
		if ((r = oci_parse_process(&proc, spec->process)) < 0)
			return r;
	}
	if ((r = parse_names(top, spec)) < 0 || (r = oci_parse_mounts(top, spec)) < 0 ||
	    (r = oci_parse_hooks(top, spec)) < 0 ||
	    (r = oj_kv(&ann, &spec->annotations, &spec->n_annotations)) < 0 ||
	    (r = oci_parse_linux(&lo, &spec->linux_)) < 0)
		return r;
	if ((r = check_user_ns(top, spec)) < 0 || (r = check_uts_time(top, spec)) < 0 ||
	    (r = check_sysctl(top, spec)) < 0)
		return r;
	return 0;
}

int oci_spec_parse(const char *json, size_t len, const char *name, struct oci_spec **ret,
		   struct cell_err **err)
{
	struct json_object *root = NULL;
	if (!name)
		name = "config.json";
	int r = oj_parse(json, len, name, &root, err);
	if (r < 0)
		return r;
	struct oj_doc doc = { .name = name, .err = err };
	struct oj top = oj_root(&doc, root);
	struct oci_spec *spec = xcalloc(1, sizeof(*spec));
	r = parse_top(&top, spec);
	json_object_put(root);
	if (r < 0) {
		oci_spec_free(spec);
		return r;
	}
	*ret = spec;
	return 0;
}

int oci_spec_load(const char *path, struct oci_spec **ret, struct cell_err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r = cell_read_file(path, OCI_SPEC_MAX_BYTES, &buf, &len, err);
	if (r < 0)
		return r;
	return oci_spec_parse(buf, len, path, ret, err);
}

int oci_process_parse(const char *json, size_t len, const char *name, struct oci_process **ret,
		      struct cell_err **err)
{
	struct json_object *root = NULL;
	if (!name)
		name = "process.json";
	int r = oj_parse(json, len, name, &root, err);
	if (r < 0)
		return r;
	struct oj_doc doc = { .name = name, .err = err };
	struct oj top = oj_root(&doc, root);
	struct oci_process *p = xcalloc(1, sizeof(*p));
	r = oci_parse_process(&top, p);
	json_object_put(root);
	if (r < 0) {
		oci_process_free(p);
		return r;
	}
	*ret = p;
	return 0;
}
