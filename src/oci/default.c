/* The config.json `cell spec` writes: the shape `runc spec` established
 * (a read-only rootfs, a shell on a terminal, three capabilities, the usual
 * pseudo-filesystems, masked /proc entries), so bundles move between the
 * two runtimes unchanged. */
#include <json-c/json.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/util.h"
#include "cell-config.h"
#include "oci/spec.h"

static struct json_object *str_array(const char *const *v)
{
	struct json_object *a = json_object_new_array();
	for (; *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static void add_str(struct json_object *o, const char *key, const char *val)
{
	json_object_object_add(o, key, json_object_new_string(val));
}

static struct json_object *default_process(char *const *args)
{
	static const char *const env[] = {
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
		NULL
	};
	static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
					    NULL };
	static const char *const sh[] = { "sh", NULL };
	struct json_object *p = json_object_new_object(), *user = json_object_new_object();
	json_object_object_add(p, "terminal", json_object_new_boolean(1));
	json_object_object_add(user, "uid", json_object_new_int(0));
	json_object_object_add(user, "gid", json_object_new_int(0));
	json_object_object_add(p, "user", user);
	json_object_object_add(p, "args",
			       str_array(args && args[0] ? (const char *const *)args : sh));
	json_object_object_add(p, "env", str_array(env));
	add_str(p, "cwd", "/");
	struct json_object *c = json_object_new_object();
	json_object_object_add(c, "bounding", str_array(caps));
	json_object_object_add(c, "effective", str_array(caps));
	json_object_object_add(c, "permitted", str_array(caps));
	json_object_object_add(p, "capabilities", c);
	struct json_object *rl = json_object_new_array(), *nofile = json_object_new_object();
	add_str(nofile, "type", "RLIMIT_NOFILE");
	json_object_object_add(nofile, "hard", json_object_new_int(1024));
	json_object_object_add(nofile, "soft", json_object_new_int(1024));
	json_object_array_add(rl, nofile);
	json_object_object_add(p, "rlimits", rl);
	json_object_object_add(p, "noNewPrivileges", json_object_new_boolean(1));
	return p;
}

static const struct {
	const char *dest, *type, *source;
	const char *opts[8];
	bool rootless_skip; /* the cgroup mount: /sys comes in whole by rbind instead */
} default_mounts[] = {
	{ "/proc", "proc", "proc", { NULL }, false },
	{ "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" }, false },
	{ "/dev/pts",
	  "devpts",
	  "devpts",
	  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" },
	  false },
	{ "/dev/shm",
	  "tmpfs",
	  "shm",
	  { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" },
	  false },
	{ "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" }, false },
	{ "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" }, false },
	{ "/sys/fs/cgroup",
	  "cgroup",
	  "cgroup",
	  { "nosuid", "noexec", "nodev", "relatime", "ro" },
	  true },
};

static struct json_object *default_mount_list(bool rootless)
{
	static const char *const sys_rbind[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
		if (rootless && default_mounts[i].rootless_skip)
			continue;
		struct json_object *m = json_object_new_object();
		add_str(m, "destination", default_mounts[i].dest);
		/* Without a mapping for root's group a user namespace cannot
		 * mount sysfs or pass gid=5 to devpts: bind the host's. */
		bool sys = rootless && strcmp(default_mounts[i].dest, "/sys") == 0;
		add_str(m, "type", sys ? "none" : default_mounts[i].type);
		add_str(m, "source", sys ? "/sys" : default_mounts[i].source);
		struct json_object *opts = json_object_new_array();
		const char *const *o = sys ? sys_rbind : default_mounts[i].opts;
		for (size_t k = 0; o[k] && k < 8; k++)
			if (!rootless || (!cell_str_has_prefix(o[k], "uid=") &&
					  !cell_str_has_prefix(o[k], "gid=")))
				json_object_array_add(opts, json_object_new_string(o[k]));
		json_object_object_add(m, "options", opts);
		json_object_array_add(a, m);
	}
	return a;
}

static struct json_object *id_map(unsigned id)
{
	struct json_object *a = json_object_new_array(), *m = json_object_new_object();
	json_object_object_add(m, "containerID", json_object_new_int(0));
	json_object_object_add(m, "hostID", json_object_new_int64(id));
	json_object_object_add(m, "size", json_object_new_int(1));
	json_object_array_add(a, m);
	return a;
}

static bool cgroup2_unified(void)
{
	struct statfs fs;
	return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

static struct json_object *default_linux(bool rootless)
{
	static const char *const masked[] = { "/proc/acpi",
					      "/proc/asound",
					      "/proc/kcore",
					      "/proc/keys",
					      "/proc/latency_stats",
					      "/proc/timer_list",
					      "/proc/timer_stats",
					      "/proc/sched_debug",
					      "/sys/firmware",
					      "/proc/scsi",
					      "/sys/devices/virtual/tpm",
					      NULL };
	static const char *const readonly[] = { "/proc/bus",	       "/proc/fs",
						"/proc/irq",	       "/proc/sys",
						"/proc/sysrq-trigger", NULL };
	struct json_object *l = json_object_new_object(), *ns = json_object_new_array();
	if (rootless) {
		json_object_object_add(l, "uidMappings", id_map((unsigned)geteuid()));
		json_object_object_add(l, "gidMappings", id_map((unsigned)getegid()));
	} else {
		struct json_object *res = json_object_new_object(), *devs = json_object_new_array(),
				   *deny = json_object_new_object();
		json_object_object_add(deny, "allow", json_object_new_boolean(0));
		add_str(deny, "access", "rwm");
		json_object_array_add(devs, deny);
		json_object_object_add(res, "devices", devs);
		json_object_object_add(l, "resources", res);
	}
	/* runc adds a cgroup namespace only on a pure cgroup v2 host. */
	const char *types[] = { "pid",
				rootless ? NULL : "network",
				"ipc",
				"uts",
				"mount",
				cgroup2_unified() ? "cgroup" : NULL,
				rootless ? "user" : NULL };
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		if (!types[i])
			continue;
		struct json_object *n = json_object_new_object();
		add_str(n, "type", types[i]);
		json_object_array_add(ns, n);
	}
	json_object_object_add(l, "namespaces", ns);
	json_object_object_add(l, "maskedPaths", str_array(masked));
	json_object_object_add(l, "readonlyPaths", str_array(readonly));
	return l;
}

char *oci_spec_default_json(char *const *args, bool rootless)
{
	struct json_object *s = json_object_new_object(), *root = json_object_new_object();
	add_str(s, "ociVersion", CELL_OCI_VERSION);
	json_object_object_add(s, "process", default_process(args));
	add_str(root, "path", "rootfs");
	json_object_object_add(root, "readonly", json_object_new_boolean(1));
	json_object_object_add(s, "root", root);
	add_str(s, "hostname", "cell");
	json_object_object_add(s, "mounts", default_mount_list(rootless));
	json_object_object_add(s, "linux", default_linux(rootless));
	const char *text = json_object_to_json_string_ext(
		s, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB | JSON_C_TO_STRING_SPACED |
			   JSON_C_TO_STRING_NOSLASHESCAPE);
	char *out = xasprintf("%s\n", text);
	json_object_put(s);
	return out;
}
