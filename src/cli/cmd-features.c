/* cell features: what this build and this kernel support, as runc's
 * `features` JSON (runtime-spec features.md), for containerd and podman. */
#include <json-c/json.h>
#include <seccomp.h>
#include <stdio.h>

#include "base/util.h"
#include "cell-config.h"
#include "cli/cli.h"
#include "oci/spec.h"
#include "os/caps.h"
#include "os/seccomp-filter.h"

static json_object *names(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static json_object *seccomp_json(void)
{
	struct seccomp_features f;
	seccomp_features(&f);
	json_object *s = json_object_new_object();
	json_object_object_add(s, "enabled", json_object_new_boolean(f.enabled));
	json_object_object_add(s, "actions", names(oci_seccomp_action_names()));
	json_object_object_add(s, "operators", names(oci_seccomp_operator_names()));
	json_object_object_add(s, "archs", names(oci_seccomp_arch_names()));
	json_object_object_add(s, "knownFlags", names(oci_seccomp_flag_names()));
	json_object_object_add(s, "supportedFlags", names(f.flags));
	return s;
}

static json_object *linux_json(void)
{
	json_object *l = json_object_new_object();
	json_object *ns = json_object_new_array();
	for (int t = 0; t < OCI_NS_TYPES; t++)
		json_object_array_add(ns, json_object_new_string(oci_ns_type_name((enum oci_ns_type)t)));
	json_object_object_add(l, "namespaces", ns);
	json_object *caps = json_object_new_array();
	int last = caps_last_cap();
	for (int c = 0; c <= oci_cap_last() && c <= last; c++)
		if (oci_cap_name(c))
			json_object_array_add(caps, json_object_new_string(oci_cap_name(c)));
	json_object_object_add(l, "capabilities", caps);
	json_object *cg = json_object_new_object();
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(l, "cgroup", cg);
	json_object_object_add(l, "seccomp", seccomp_json());
	static const char *const off[] = { "apparmor", "selinux", "intelRdt" };
	for (size_t i = 0; i < ARRAY_SIZE(off); i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "enabled", json_object_new_boolean(0));
		json_object_object_add(l, off[i], o);
	}
	json_object *idmap = json_object_new_object(), *ext = json_object_new_object();
	json_object_object_add(idmap, "enabled", json_object_new_boolean(0));
	json_object_object_add(ext, "idmap", idmap);
	json_object_object_add(l, "mountExtensions", ext);
	return l;
}

CLI_COMMAND(features)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string(CELL_OCI_VERSION));
	json_object *hooks = json_object_new_array();
	for (int k = 0; k < OCI_HOOK_KINDS; k++)
		json_object_array_add(hooks, json_object_new_string(oci_hook_kind_name((enum oci_hook_kind)k)));
	json_object_object_add(o, "hooks", hooks);
	json_object_object_add(o, "mountOptions", names(oci_mount_option_names()));
	json_object_object_add(o, "linux", linux_json());
	json_object *ann = json_object_new_object();
	char v[32];
	const struct scmp_version *sv = seccomp_version();
	snprintf(v, sizeof(v), "%u.%u.%u", sv->major, sv->minor, sv->micro);
	json_object_object_add(ann, "io.github.seccomp.libseccomp.version", json_object_new_string(v));
	json_object_object_add(ann, "org.opencontainers.runtime-spec.version",
			       json_object_new_string(CELL_OCI_VERSION));
	json_object_object_add(o, "annotations", ann);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	(void)ctx;
	(void)argc;
	(void)argv;
	return 0;
}
