/* linux: namespaces, id mappings, time offsets, devices, sysctl, paths,
 * propagation, personality; resources and seccomp have their own files. */
#include <ctype.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>

#include "base/util.h"
#include "oci/internal.h"

static int parse_namespace(const struct oj *e, struct oci_namespace *ns, const bool *seen)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj t = oj_get(e, "type"), p = oj_get(e, "path");
	_cleanup_free_ char *name = NULL;
	if ((r = oj_string(&t, true, &name)) < 0)
		return r;
	_cleanup_free_ char *q = cell_json_quote(name);
	int type = oci_ns_type_from_name(name);
	if (type < 0)
		return oj_fail(&t, "unknown namespace %s", q);
	if (seen[type])
		return oj_fail(&t, "duplicate namespace %s", q);
	ns->type = (enum oci_ns_type)type;
	if ((r = oj_string(&p, false, &ns->path)) < 0)
		return r;
	if (ns->path && (r = oci_check_abs_path(&p, ns->path)) < 0)
		return r;
	return 0;
}

static int parse_namespaces(const struct oj *lo, struct oci_linux *l)
{
	struct oj a = oj_get(lo, "namespaces");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	bool seen[OCI_NS_TYPES] = { false };
	l->namespaces = xcalloc(n, sizeof(*l->namespaces));
	l->n_namespaces = n;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		if ((r = parse_namespace(&e, &l->namespaces[i], seen)) < 0)
			return r;
		seen[l->namespaces[i].type] = true;
	}
	return 0;
}

int oci_parse_id_mappings(const struct oj *o, struct oci_id_mapping **ret, size_t *ret_n)
{
	size_t n = 0;
	int r = oj_array(o, false, &n);
	if (r <= 0)
		return r;
	_cleanup_free_ struct oci_id_mapping *m = xcalloc(n, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(o, i);
		if ((r = oj_object(&e, true)) < 0 ||
		    (r = oj_get_u32(&e, "containerID", true, &m[i].container_id)) < 0 ||
		    (r = oj_get_u32(&e, "hostID", true, &m[i].host_id)) < 0 ||
		    (r = oj_get_u32(&e, "size", true, &m[i].size)) < 0)
			return r;
		/* user_namespaces(7): ranges are non-empty and stay within 32 bits. */
		struct oj sz = oj_get(&e, "size");
		if (m[i].size == 0)
			return oj_fail(&sz, "must be at least 1");
		if ((uint64_t)m[i].container_id + m[i].size > (1ULL << 32) ||
		    (uint64_t)m[i].host_id + m[i].size > (1ULL << 32))
			return oj_fail(&sz, "range goes past ID 4294967295");
	}
	*ret = TAKE_PTR(m);
	*ret_n = n;
	return 1;
}

static int parse_time_offsets(const struct oj *lo, struct oci_linux *l)
{
	struct oj o = oj_get(lo, "timeOffsets");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	l->has_time_offsets = true;
	json_object_object_foreach(o.v, key, val) {
		struct oj c = oj_member(&o, key, val);
		int64_t *secs;
		uint32_t *nsecs;
		if (strcmp(key, "monotonic") == 0) {
			secs = &l->monotonic_secs;
			nsecs = &l->monotonic_nanosecs;
		} else if (strcmp(key, "boottime") == 0) {
			secs = &l->boottime_secs;
			nsecs = &l->boottime_nanosecs;
		} else {
			return oj_fail(&c, "unknown clock (time namespaces offset monotonic and "
					   "boottime)");
		}
		struct oj ns = oj_get(&c, "nanosecs");
		uint64_t v = 0;
		if ((r = oj_object(&c, true)) < 0 ||
		    (r = oj_get_i64(&c, "secs", false, secs)) < 0 ||
		    (r = oj_u64(&ns, false, 999999999, &v)) < 0)
			return r;
		*nsecs = (uint32_t)v;
	}
	return 0;
}

static int parse_device(const struct oj *e, struct oci_device *d)
{
	d->major = d->minor = -1;
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj t = oj_get(e, "type"), p = oj_get(e, "path"), mj = oj_get(e, "major"),
		  mn = oj_get(e, "minor"), fm = oj_get(e, "fileMode");
	_cleanup_free_ char *type = NULL;
	if ((r = oj_string(&t, true, &type)) < 0)
		return r;
	if (strlen(type) != 1 || !strchr("cbup", type[0])) {
		_cleanup_free_ char *q = cell_json_quote(type);
		return oj_fail(&t, "unknown device type %s (c, b, u or p)", q);
	}
	d->type = type[0];
	if ((r = oj_string(&p, true, &d->path)) < 0 || (r = oci_check_abs_path(&p, d->path)) < 0)
		return r;
	/* Device numbers as makedev(3) takes them: 12-bit major, 20-bit minor. */
	bool fifo = d->type == 'p';
	if ((r = oj_i64(&mj, !fifo, 0, 4095, &d->major)) < 0 ||
	    (r = oj_i64(&mn, !fifo, 0, 1048575, &d->minor)) < 0)
		return r;
	uint64_t mode = 0;
	if ((r = oj_u64(&fm, false, 07777, &mode)) < 0)
		return r;
	d->has_file_mode = r > 0;
	d->file_mode = (uint32_t)mode;
	struct oj uid = oj_get(e, "uid"), gid = oj_get(e, "gid");
	if ((r = oj_u32(&uid, false, &d->uid)) < 0)
		return r;
	d->has_uid = r > 0;
	if ((r = oj_u32(&gid, false, &d->gid)) < 0)
		return r;
	d->has_gid = r > 0;
	return 0;
}

static int parse_devices(const struct oj *lo, struct oci_linux *l)
{
	struct oj a = oj_get(lo, "devices");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	l->devices = xcalloc(n, sizeof(*l->devices));
	l->n_devices = n;
	for (size_t i = 0; i < n; i++)
		l->devices[i].major = l->devices[i].minor = -1;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		if ((r = parse_device(&e, &l->devices[i])) < 0)
			return r;
	}
	return 0;
}

/* A sysctl name as /proc/sys spells it, with dots or slashes: no empty
 * component, no "..", nothing that could leave /proc/sys. */
static bool sysctl_key_valid(const char *k)
{
	size_t comp = 0;
	if (!*k)
		return false;
	for (const char *p = k;; p++) {
		if (*p == '.' || *p == '/' || !*p) {
			if (comp == 0)
				return false;
			if (!*p)
				return true;
			comp = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '+' && *p != ':')
			return false;
		comp++;
	}
}

static int parse_sysctl(const struct oj *lo, struct oci_linux *l)
{
	struct oj o = oj_get(lo, "sysctl");
	int r = oj_kv(&o, &l->sysctl, &l->n_sysctl);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < l->n_sysctl; i++) {
		struct oj k = oj_get(&o, l->sysctl[i].key);
		if (!sysctl_key_valid(l->sysctl[i].key))
			return oj_fail(&k, "not a sysctl name");
		if (strchr(l->sysctl[i].value, '\n'))
			return oj_fail(&k, "value contains a newline");
	}
	return 0;
}

static int parse_paths(const struct oj *lo, const char *key, char ***ret)
{
	struct oj a = oj_get(lo, key);
	int r = oj_strv(&a, false, ret);
	if (r <= 0)
		return r;
	for (size_t i = 0; (*ret)[i]; i++) {
		struct oj e = oj_at(&a, i);
		if ((r = oci_check_abs_path(&e, (*ret)[i])) < 0)
			return r;
	}
	return 0;
}

static int parse_propagation(const struct oj *lo, struct oci_linux *l)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} props[] = {
		{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
		{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	struct oj o = oj_get(lo, "rootfsPropagation");
	_cleanup_free_ char *s = NULL;
	int r = oj_string(&o, false, &s);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
		if (strcmp(props[i].name, s) == 0) {
			l->has_rootfs_propagation = true;
			l->rootfs_propagation = props[i].flags;
			return 0;
		}
	}
	_cleanup_free_ char *q = cell_json_quote(s);
	return oj_fail(&o, "unknown propagation %s", q);
}

static int parse_personality(const struct oj *lo, struct oci_linux *l)
{
	struct oj o = oj_get(lo, "personality");
	int r = oj_object(&o, false);
	if (r <= 0)
		return r;
	struct oj d = oj_get(&o, "domain");
	_cleanup_free_ char *dom = NULL;
	if ((r = oj_string(&d, true, &dom)) < 0)
		return r;
	if (strcmp(dom, "LINUX") == 0)
		l->personality_domain = PER_LINUX;
	else if (strcmp(dom, "LINUX32") == 0)
		l->personality_domain = PER_LINUX32;
	else {
		_cleanup_free_ char *q = cell_json_quote(dom);
		return oj_fail(&d, "unknown execution domain %s (LINUX or LINUX32)", q);
	}
	l->has_personality = true;
	r = oj_get_strv(&o, "flags", &l->personality_flags);
	return r < 0 ? r : 0;
}

/* cgroupsPath is joined under the cgroup mount: ".." must not climb out. */
static int parse_cgroups_path(const struct oj *lo, struct oci_linux *l)
{
	struct oj o = oj_get(lo, "cgroupsPath");
	int r = oj_string(&o, false, &l->cgroups_path);
	if (r <= 0)
		return r;
	for (const char *p = l->cgroups_path; (p = strstr(p, "..")); p += 2) {
		bool start = p == l->cgroups_path || p[-1] == '/' || p[-1] == ':';
		bool end = p[2] == '\0' || p[2] == '/' || p[2] == ':';
		if (start && end)
			return oj_fail(&o, "must not contain \"..\"");
	}
	return 0;
}

static int parse_sub_objects(const struct oj *lo, struct oci_linux *l)
{
	struct oj res = oj_get(lo, "resources"), sec = oj_get(lo, "seccomp"),
		  rdt = oj_get(lo, "intelRdt");
	int r;
	if ((r = oj_object(&res, false)) < 0)
		return r;
	if (r > 0) {
		l->resources = xcalloc(1, sizeof(*l->resources));
		if ((r = oci_parse_resources(&res, l->resources)) < 0)
			return r;
	}
	if ((r = oj_object(&sec, false)) < 0)
		return r;
	if (r > 0) {
		l->seccomp = xcalloc(1, sizeof(*l->seccomp));
		if ((r = oci_parse_seccomp(&sec, l->seccomp)) < 0)
			return r;
	}
	if ((r = oj_object(&rdt, false)) < 0)
		return r;
	l->has_intel_rdt = r > 0;
	return 0;
}

int oci_parse_linux(const struct oj *lo, struct oci_linux *l)
{
	int r = oj_object(lo, false);
	if (r <= 0)
		return r;
	struct oj um = oj_get(lo, "uidMappings"), gm = oj_get(lo, "gidMappings");
	if ((r = parse_namespaces(lo, l)) < 0 ||
	    (r = oci_parse_id_mappings(&um, &l->uid_mappings, &l->n_uid_mappings)) < 0 ||
	    (r = oci_parse_id_mappings(&gm, &l->gid_mappings, &l->n_gid_mappings)) < 0 ||
	    (r = parse_time_offsets(lo, l)) < 0 || (r = parse_devices(lo, l)) < 0 ||
	    (r = parse_cgroups_path(lo, l)) < 0 || (r = parse_propagation(lo, l)) < 0)
		return r;
	if ((r = parse_paths(lo, "maskedPaths", &l->masked_paths)) < 0 ||
	    (r = parse_paths(lo, "readonlyPaths", &l->readonly_paths)) < 0 ||
	    (r = oj_get_string(lo, "mountLabel", false, &l->mount_label)) < 0 ||
	    (r = parse_sysctl(lo, l)) < 0 || (r = parse_personality(lo, l)) < 0 ||
	    (r = parse_sub_objects(lo, l)) < 0)
		return r;
	return 0;
}
