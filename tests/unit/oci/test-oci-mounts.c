/* src/oci mount options: each option of mount(8) and the runtime-spec
 * table lands in the flag set the runtime passes to mount(2) or
 * mount_setattr(2); everything else goes to the filesystem as data. */
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "oci-test.h"
#include "t.h"

static char msg[4096];

/* Every name in the table resolves to flags: nothing of ours reaches data. */
static void mount_option_table(void)
{
	const char *const *names = oci_mount_option_names();
	_cleanup_free_ char *list = xstrdup("");
	size_t n = 0;
	for (; names[n]; n++) {
		char *l = xasprintf("%s%s'%s'", list, n ? "," : "", names[n]);
		free(list);
		list = l;
	}
	T_ASSERT(n >= 60);
	_cleanup_free_ char *j = xasprintf("{'ociVersion':'1.2.0','mounts':[{'destination':'/m',"
					   "'options':[%s,'x=1','ro'],'uidMappings':[{'containerID'"
					   ":0,'hostID':1,'size':1}]}]}",
					   list);
	struct oci_spec *s = oci_t_parse(j, msg, sizeof(msg));
	if (!s)
		T_FAIL("%s", msg);
	T_ASSERT_STR(s->mounts[0].data, "x=1");
	T_ASSERT(s->mounts[0].flags & MS_RDONLY);
	T_ASSERT(s->mounts[0].tmpcopyup && s->mounts[0].idmap);
	oci_spec_free(s);
}

struct opt_case {
	const char *opt;
	unsigned long flags, clear, prop;
	uint64_t set, clr;
};

static void mount_option_each(void)
{
	static const struct opt_case cases[] = {
		{ "ro", MS_RDONLY, 0, 0, 0, 0 },
		{ "rw", 0, MS_RDONLY, 0, 0, 0 },
		{ "suid", 0, MS_NOSUID, 0, 0, 0 },
		{ "nosuid", MS_NOSUID, 0, 0, 0, 0 },
		{ "dev", 0, MS_NODEV, 0, 0, 0 },
		{ "nodev", MS_NODEV, 0, 0, 0, 0 },
		{ "exec", 0, MS_NOEXEC, 0, 0, 0 },
		{ "noexec", MS_NOEXEC, 0, 0, 0, 0 },
		{ "sync", MS_SYNCHRONOUS, 0, 0, 0, 0 },
		{ "async", 0, MS_SYNCHRONOUS, 0, 0, 0 },
		{ "dirsync", MS_DIRSYNC, 0, 0, 0, 0 },
		{ "remount", MS_REMOUNT, 0, 0, 0, 0 },
		{ "mand", MS_MANDLOCK, 0, 0, 0, 0 },
		{ "nomand", 0, MS_MANDLOCK, 0, 0, 0 },
		{ "atime", 0, MS_NOATIME, 0, 0, 0 },
		{ "noatime", MS_NOATIME, 0, 0, 0, 0 },
		{ "diratime", 0, MS_NODIRATIME, 0, 0, 0 },
		{ "nodiratime", MS_NODIRATIME, 0, 0, 0, 0 },
		{ "relatime", MS_RELATIME, 0, 0, 0, 0 },
		{ "norelatime", 0, MS_RELATIME, 0, 0, 0 },
		{ "strictatime", MS_STRICTATIME, 0, 0, 0, 0 },
		{ "nostrictatime", 0, MS_STRICTATIME, 0, 0, 0 },
		{ "lazytime", MS_LAZYTIME, 0, 0, 0, 0 },
		{ "nolazytime", 0, MS_LAZYTIME, 0, 0, 0 },
		{ "nosymfollow", MS_NOSYMFOLLOW, 0, 0, 0, 0 },
		{ "symfollow", 0, MS_NOSYMFOLLOW, 0, 0, 0 },
		{ "bind", MS_BIND, 0, 0, 0, 0 },
		{ "rbind", MS_BIND | MS_REC, 0, 0, 0, 0 },
		{ "private", 0, 0, MS_PRIVATE, 0, 0 },
		{ "rprivate", 0, 0, MS_PRIVATE | MS_REC, 0, 0 },
		{ "shared", 0, 0, MS_SHARED, 0, 0 },
		{ "rshared", 0, 0, MS_SHARED | MS_REC, 0, 0 },
		{ "slave", 0, 0, MS_SLAVE, 0, 0 },
		{ "rslave", 0, 0, MS_SLAVE | MS_REC, 0, 0 },
		{ "unbindable", 0, 0, MS_UNBINDABLE, 0, 0 },
		{ "runbindable", 0, 0, MS_UNBINDABLE | MS_REC, 0, 0 },
		{ "rro", 0, 0, 0, MOUNT_ATTR_RDONLY, 0 },
		{ "rrw", 0, 0, 0, 0, MOUNT_ATTR_RDONLY },
		{ "rnosuid", 0, 0, 0, MOUNT_ATTR_NOSUID, 0 },
		{ "rsuid", 0, 0, 0, 0, MOUNT_ATTR_NOSUID },
		{ "rnodev", 0, 0, 0, MOUNT_ATTR_NODEV, 0 },
		{ "rdev", 0, 0, 0, 0, MOUNT_ATTR_NODEV },
		{ "rnoexec", 0, 0, 0, MOUNT_ATTR_NOEXEC, 0 },
		{ "rexec", 0, 0, 0, 0, MOUNT_ATTR_NOEXEC },
		{ "rnodiratime", 0, 0, 0, MOUNT_ATTR_NODIRATIME, 0 },
		{ "rdiratime", 0, 0, 0, 0, MOUNT_ATTR_NODIRATIME },
		{ "rnosymfollow", 0, 0, 0, MOUNT_ATTR_NOSYMFOLLOW, 0 },
		{ "rsymfollow", 0, 0, 0, 0, MOUNT_ATTR_NOSYMFOLLOW },
		{ "rnoatime", 0, 0, 0, MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
		{ "rstrictatime", 0, 0, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
		{ "rrelatime", 0, 0, 0, MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
		/* Undo forms cancel an earlier choice, else leave atime alone. */
		{ "rnoatime','ratime", 0, 0, 0, 0, 0 },
		{ "ratime", 0, 0, 0, 0, 0 },
		{ "rstrictatime','rnostrictatime", 0, 0, 0, 0, 0 },
		{ "rstrictatime','ratime", 0, 0, 0, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
		{ "rnoatime','rrelatime','rnorelatime", 0, 0, 0, 0, 0 },
		{ "ro','rw", 0, MS_RDONLY, 0, 0, 0 },
		{ "rro','rrw", 0, 0, 0, 0, MOUNT_ATTR_RDONLY },
		{ "defaults", 0, 0, 0, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_free_ char *j = xasprintf("{'ociVersion':'1.2.0','mounts':[{'destination':"
						   "'/m','options':['%s']}]}",
						   cases[i].opt);
		struct oci_spec *s = oci_t_parse(j, msg, sizeof(msg));
		if (!s)
			T_FAIL("%s: %s", cases[i].opt, msg);
		const struct oci_mount *m = &s->mounts[0];
		bool ok = m->flags == cases[i].flags && m->clear_flags == cases[i].clear &&
			  m->propagation == cases[i].prop && m->attr_set == cases[i].set &&
			  m->attr_clr == cases[i].clr && m->data == NULL;
		unsigned long f = m->flags, c = m->clear_flags, p = m->propagation;
		uint64_t as = m->attr_set, ac = m->attr_clr;
		oci_spec_free(s);
		if (!ok)
			T_FAIL("%s: flags %#lx clear %#lx prop %#lx set %#llx clr %#llx",
			       cases[i].opt, f, c, p, (unsigned long long)as,
			       (unsigned long long)ac);
	}
}

/* Options the kernel parses itself keep their order, commas and quotes. */
static void mount_data(void)
{
	struct oci_spec *s = oci_t_parse(
		"{'ociVersion':'1.2.0','mounts':[{'destination':'/t','type':'tmpfs','options':"
		"['size=1m','nosuid','mode=700','uid=5','context=\\'a:b:c:s0:c1,c2\\'']},"
		"{'destination':'/e','options':[]},{'destination':'/n','options':null}]}",
		msg, sizeof(msg));
	if (!s)
		T_FAIL("%s", msg);
	T_ASSERT_STR(s->mounts[0].data, "size=1m,mode=700,uid=5,context=\"a:b:c:s0:c1,c2\"");
	T_ASSERT_INT(s->mounts[0].flags, MS_NOSUID);
	T_ASSERT(s->mounts[1].data == NULL && s->mounts[1].options && !s->mounts[1].options[0]);
	T_ASSERT(s->mounts[2].data == NULL && s->mounts[2].options == NULL);
	oci_spec_free(s);
}

T_MAIN("oci-mounts", T_CASE(mount_option_table), T_CASE(mount_option_each), T_CASE(mount_data))
