/* mounts[]: destinations, mappings, and the option strings resolved the way
 * mount(8) and the runtime-spec's option table read them. */
#include <string.h>
#include <sys/mount.h>

#include "base/util.h"
#include "oci/internal.h"

enum mo_kind {
	MO_NOOP,      /* "defaults": mount(8) accepts it and does nothing */
	MO_SET,	      /* MS_* to set */
	MO_CLEAR,     /* MS_* to clear */
	MO_PROP,      /* propagation type */
	MO_BIND,      /* bind / rbind */
	MO_ATTR_SET,  /* recursive MOUNT_ATTR_* to set */
	MO_ATTR_CLR,  /* recursive MOUNT_ATTR_* to clear */
	MO_ATIME,     /* recursive atime mode (an enum in MOUNT_ATTR__ATIME) */
	MO_ATIME_CLR, /* undo that atime mode if an earlier option chose it */
	MO_IDMAP,
	MO_RIDMAP,
	MO_TMPCOPYUP,
};

#define MOUNT_OPTIONS(X)                                          \
	X("defaults", MO_NOOP, 0)                                 \
	X("ro", MO_SET, MS_RDONLY)                                \
	X("rw", MO_CLEAR, MS_RDONLY)                              \
	X("nosuid", MO_SET, MS_NOSUID)                            \
	X("suid", MO_CLEAR, MS_NOSUID)                            \
	X("nodev", MO_SET, MS_NODEV)                              \
	X("dev", MO_CLEAR, MS_NODEV)                              \
	X("noexec", MO_SET, MS_NOEXEC)                            \
	X("exec", MO_CLEAR, MS_NOEXEC)                            \
	X("sync", MO_SET, MS_SYNCHRONOUS)                         \
	X("async", MO_CLEAR, MS_SYNCHRONOUS)                      \
	X("dirsync", MO_SET, MS_DIRSYNC)                          \
	X("remount", MO_SET, MS_REMOUNT)                          \
	X("mand", MO_SET, MS_MANDLOCK)                            \
	X("nomand", MO_CLEAR, MS_MANDLOCK)                        \
	X("noatime", MO_SET, MS_NOATIME)                          \
	X("atime", MO_CLEAR, MS_NOATIME)                          \
	X("nodiratime", MO_SET, MS_NODIRATIME)                    \
	X("diratime", MO_CLEAR, MS_NODIRATIME)                    \
	X("relatime", MO_SET, MS_RELATIME)                        \
	X("norelatime", MO_CLEAR, MS_RELATIME)                    \
	X("strictatime", MO_SET, MS_STRICTATIME)                  \
	X("nostrictatime", MO_CLEAR, MS_STRICTATIME)              \
	X("lazytime", MO_SET, MS_LAZYTIME)                        \
	X("nolazytime", MO_CLEAR, MS_LAZYTIME)                    \
	X("iversion", MO_SET, MS_I_VERSION)                       \
	X("noiversion", MO_CLEAR, MS_I_VERSION)                   \
	X("silent", MO_SET, MS_SILENT)                            \
	X("loud", MO_CLEAR, MS_SILENT)                            \
	X("nosymfollow", MO_SET, MS_NOSYMFOLLOW)                  \
	X("symfollow", MO_CLEAR, MS_NOSYMFOLLOW)                  \
	X("bind", MO_BIND, MS_BIND)                               \
	X("rbind", MO_BIND, MS_BIND | MS_REC)                     \
	X("private", MO_PROP, MS_PRIVATE)                         \
	X("rprivate", MO_PROP, MS_PRIVATE | MS_REC)               \
	X("shared", MO_PROP, MS_SHARED)                           \
	X("rshared", MO_PROP, MS_SHARED | MS_REC)                 \
	X("slave", MO_PROP, MS_SLAVE)                             \
	X("rslave", MO_PROP, MS_SLAVE | MS_REC)                   \
	X("unbindable", MO_PROP, MS_UNBINDABLE)                   \
	X("runbindable", MO_PROP, MS_UNBINDABLE | MS_REC)         \
	X("rro", MO_ATTR_SET, MOUNT_ATTR_RDONLY)                  \
	X("rrw", MO_ATTR_CLR, MOUNT_ATTR_RDONLY)                  \
	X("rnosuid", MO_ATTR_SET, MOUNT_ATTR_NOSUID)              \
	X("rsuid", MO_ATTR_CLR, MOUNT_ATTR_NOSUID)                \
	X("rnodev", MO_ATTR_SET, MOUNT_ATTR_NODEV)                \
	X("rdev", MO_ATTR_CLR, MOUNT_ATTR_NODEV)                  \
	X("rnoexec", MO_ATTR_SET, MOUNT_ATTR_NOEXEC)              \
	X("rexec", MO_ATTR_CLR, MOUNT_ATTR_NOEXEC)                \
	X("rnodiratime", MO_ATTR_SET, MOUNT_ATTR_NODIRATIME)      \
	X("rdiratime", MO_ATTR_CLR, MOUNT_ATTR_NODIRATIME)        \
	X("rnosymfollow", MO_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW)    \
	X("rsymfollow", MO_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW)      \
	X("rrelatime", MO_ATIME, MOUNT_ATTR_RELATIME)             \
	X("rnorelatime", MO_ATIME_CLR, MOUNT_ATTR_RELATIME)       \
	X("rnoatime", MO_ATIME, MOUNT_ATTR_NOATIME)               \
	X("ratime", MO_ATIME_CLR, MOUNT_ATTR_NOATIME)             \
	X("rstrictatime", MO_ATIME, MOUNT_ATTR_STRICTATIME)       \
	X("rnostrictatime", MO_ATIME_CLR, MOUNT_ATTR_STRICTATIME) \
	X("idmap", MO_IDMAP, 0)                                   \
	X("ridmap", MO_RIDMAP, 0)                                 \
	X("tmpcopyup", MO_TMPCOPYUP, 0)

#define MO_ENTRY(n, k, v) { n, k, v },
#define MO_NAME(n, k, v) n,

static const struct mount_opt {
	const char *name;
	enum mo_kind kind;
	uint64_t value;
} mount_opts[] = { MOUNT_OPTIONS(MO_ENTRY) };

static const char *const mount_opt_names[] = { MOUNT_OPTIONS(MO_NAME) NULL };

const char *const *oci_mount_option_names(void)
{
	return mount_opt_names;
}

static const struct mount_opt *find_opt(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++)
		if (strcmp(mount_opts[i].name, name) == 0)
			return &mount_opts[i];
	return NULL;
}

/* mount_setattr(2): an atime mode is chosen by clearing all of
 * MOUNT_ATTR__ATIME and setting one value; clearing part of it is EINVAL,
 * so the "r...atime" undo forms can only cancel an earlier choice. */
static void apply_atime(struct oci_mount *m, const struct mount_opt *o)
{
	bool chosen = (m->attr_clr & MOUNT_ATTR__ATIME) == MOUNT_ATTR__ATIME;
	if (o->kind == MO_ATIME) {
		m->attr_clr |= MOUNT_ATTR__ATIME;
		m->attr_set = (m->attr_set & ~(uint64_t)MOUNT_ATTR__ATIME) | o->value;
	} else if (chosen && (m->attr_set & MOUNT_ATTR__ATIME) == o->value) {
		m->attr_clr &= ~(uint64_t)MOUNT_ATTR__ATIME;
		m->attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
	}
	m->recursive_attrs = true;
}

static void apply_opt(struct oci_mount *m, const struct mount_opt *o)
{
	switch (o->kind) {
	case MO_NOOP:
		break;
	case MO_SET:
		m->flags |= o->value;
		m->clear_flags &= ~o->value;
		break;
	case MO_CLEAR:
		m->flags &= ~o->value;
		m->clear_flags |= o->value;
		break;
	case MO_PROP:
		m->propagation = o->value;
		break;
	case MO_BIND:
		m->bind = true;
		m->flags |= o->value;
		break;
	case MO_ATTR_SET:
		m->attr_set |= o->value;
		m->attr_clr &= ~o->value;
		m->recursive_attrs = true;
		break;
	case MO_ATTR_CLR:
		m->attr_clr |= o->value;
		m->attr_set &= ~o->value;
		m->recursive_attrs = true;
		break;
	case MO_ATIME:
	case MO_ATIME_CLR:
		apply_atime(m, o);
		break;
	case MO_IDMAP:
		m->idmap = true;
		break;
	case MO_RIDMAP:
		m->idmap = m->idmap_recursive = true;
		break;
	case MO_TMPCOPYUP:
		m->tmpcopyup = true;
		break;
	}
}

/* Resolve m->options; what is not ours goes to the filesystem as data,
 * comma-joined as mount(8) passes it (a quoted SELinux context may itself
 * hold commas, which the kernel's option parser honours). */
static void resolve_options(struct oci_mount *m)
{
	size_t len = 0;
	for (size_t i = 0; m->options && m->options[i]; i++) {
		const char *s = m->options[i];
		const struct mount_opt *o = *s ? find_opt(s) : NULL;
		if (o) {
			apply_opt(m, o);
			continue;
		}
		if (!*s)
			continue;
		size_t n = strlen(s);
		m->data = xrealloc(m->data, len + n + 2);
		if (len)
			m->data[len++] = ',';
		memcpy(m->data + len, s, n + 1);
		len += n;
	}
}

static int parse_mount(const struct oj *e, struct oci_mount *m)
{
	int r = oj_object(e, true);
	if (r < 0)
		return r;
	struct oj dst = oj_get(e, "destination"), opts = oj_get(e, "options");
	struct oj um = oj_get(e, "uidMappings"), gm = oj_get(e, "gidMappings");
	if ((r = oj_string(&dst, true, &m->destination)) < 0 ||
	    (r = oci_check_abs_path(&dst, m->destination)) < 0 ||
	    (r = oj_get_string(e, "type", false, &m->type)) < 0 ||
	    (r = oj_get_string(e, "source", false, &m->source)) < 0 ||
	    (r = oj_strv(&opts, false, &m->options)) < 0 ||
	    (r = oci_parse_id_mappings(&um, &m->uid_mappings, &m->n_uid_mappings)) < 0 ||
	    (r = oci_parse_id_mappings(&gm, &m->gid_mappings, &m->n_gid_mappings)) < 0)
		return r;
	resolve_options(m);
	/* runtime-spec 1.2: mappings on a mount make it an idmapped mount. */
	if (m->n_uid_mappings || m->n_gid_mappings)
		m->idmap = true;
	return 0;
}

int oci_parse_mounts(const struct oj *o, struct oci_spec *spec)
{
	struct oj a = oj_get(o, "mounts");
	size_t n = 0;
	int r = oj_array(&a, false, &n);
	if (r <= 0)
		return r;
	spec->mounts = xcalloc(n, sizeof(*spec->mounts));
	spec->n_mounts = n;
	for (size_t i = 0; i < n; i++) {
		struct oj e = oj_at(&a, i);
		if ((r = parse_mount(&e, &spec->mounts[i])) < 0)
			return r;
	}
	return 0;
}
