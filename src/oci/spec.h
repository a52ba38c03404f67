/* config.json -> a validated struct oci_spec (OCI runtime spec 1.0-1.2).
 *
 * The contract: parsing makes no syscalls and touches no kernel state.  A
 * spec that parses is well-formed: every string the runtime will use has been
 * checked for type and shape, names (namespaces, capabilities, rlimits, mount
 * options, seccomp actions and architectures) are resolved to numbers, and
 * destinations are absolute.  Errors name the file and the JSON path:
 *
 *   config.json: linux.namespaces[2].type: unknown namespace "foo"
 *
 * Optional scalars carry a has_ flag; optional objects are NULL when absent.
 * Arrays are (pointer, count) pairs; string vectors are NULL-terminated.
 * Everything is owned by the spec and freed by oci_spec_free(). */
#ifndef CELL_OCI_SPEC_H
#define CELL_OCI_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Largest config.json we read; a bigger one is an error, not an OOM. */
#define OCI_SPEC_MAX_BYTES (16u << 20)

struct oci_kv {
	char *key;
	char *value;
};

/* ---- process ---------------------------------------------------------- */

struct oci_user {
	uint32_t uid;
	uint32_t gid;
	bool has_umask;
	uint32_t umask;
	uint32_t *additional_gids;
	size_t n_additional_gids;
	char *username; /* Windows only in the spec; kept for round-trips */
};

/* Capability sets as bit masks over capability numbers (CAP_CHOWN = bit 0).
 * Names the parser does not know are an error; names it knows but that the
 * running kernel lacks are the runtime's business (cap_last_cap). */
struct oci_caps {
	uint64_t bounding;
	uint64_t effective;
	uint64_t inheritable;
	uint64_t permitted;
	uint64_t ambient;
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft;
	uint64_t hard;
};

struct oci_io_priority {
	int klass; /* IOPRIO_CLASS_RT/BE/IDLE */
	int priority;
};

struct oci_scheduler {
	int policy; /* SCHED_* */
	int nice;
	int priority;
	uint64_t flags; /* SCHED_FLAG_* */
	uint64_t runtime, deadline, period;
};

struct oci_process {
	bool terminal;
	bool has_console_size;
	uint32_t console_height, console_width;
	struct oci_user user;
	char **args;          /* non-empty unless command_line is set */
	char *command_line;   /* Windows; accepted and ignored */
	char **env;           /* "KEY=value" */
	char *cwd;            /* absolute */
	bool has_capabilities;
	struct oci_caps caps;
	struct oci_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	char *apparmor_profile;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *selinux_label;
	struct oci_io_priority *io_priority;
	struct oci_scheduler *scheduler;
	char *exec_cpu_affinity_initial; /* cpu list strings, kept as given */
	char *exec_cpu_affinity_final;
};

/* ---- root, mounts, hooks ---------------------------------------------- */

struct oci_root {
	char *path;
	bool readonly;
};

struct oci_id_mapping {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

/* Mount options resolved the way mount(8) and runc read them. */
struct oci_mount {
	char *destination; /* absolute */
	char *type;        /* may be NULL for bind mounts */
	char *source;      /* may be NULL */
	char **options;    /* as given */

	unsigned long flags;       /* MS_* to set */
	unsigned long clear_flags; /* MS_* named by "no..." options that clear a default */
	unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, | MS_REC */
	bool bind;                 /* "bind" or "rbind" (flags has MS_BIND, and MS_REC for rbind) */
	uint64_t attr_set;         /* MOUNT_ATTR_* from recursive options ("rro", "rnosuid"...) */
	uint64_t attr_clr;
	bool recursive_attrs;      /* attr_set/attr_clr came from r* options */
	char *data;                /* options the kernel parses itself ("size=64m,mode=755") */
	bool tmpcopyup;
	/* "idmap"/"ridmap", or uid/gid mappings given: an idmapped mount
	 * (MOUNT_ATTR_IDMAP); recursive for "ridmap". */
	bool idmap;
	bool idmap_recursive;
	struct oci_id_mapping *uid_mappings; /* idmapped mounts */
	size_t n_uid_mappings;
	struct oci_id_mapping *gid_mappings;
	size_t n_gid_mappings;
};

struct oci_hook {
	char *path; /* absolute */
	char **args;
	char **env;
	int timeout; /* seconds; 0 means none */
};

enum oci_hook_kind {
	OCI_HOOK_PRESTART,
	OCI_HOOK_CREATE_RUNTIME,
	OCI_HOOK_CREATE_CONTAINER,
	OCI_HOOK_START_CONTAINER,
	OCI_HOOK_POSTSTART,
	OCI_HOOK_POSTSTOP,
	OCI_HOOK_KINDS
};

struct oci_hook_list {
	struct oci_hook *hooks;
	size_t n;
};

/* ---- linux --------------------------------------------------------------- */

enum oci_ns_type {
	OCI_NS_PID,
	OCI_NS_NETWORK,
	OCI_NS_MOUNT,
	OCI_NS_IPC,
	OCI_NS_UTS,
	OCI_NS_USER,
	OCI_NS_CGROUP,
	OCI_NS_TIME,
	OCI_NS_TYPES
};

struct oci_namespace {
	enum oci_ns_type type;
	char *path; /* NULL: create a new one; else join this one */
};

struct oci_device {
	char type; /* 'c', 'b', 'u' or 'p' */
	char *path; /* absolute */
	int64_t major, minor; /* -1 when absent (only allowed for 'p') */
	bool has_file_mode;
	uint32_t file_mode;
	bool has_uid;
	uint32_t uid;
	bool has_gid;
	uint32_t gid;
};

/* A device cgroup rule.  type 'a' means all; major/minor -1 means any. */
struct oci_device_rule {
	bool allow;
	char type;
	int64_t major, minor;
	char access[4]; /* subset of "rwm", NUL-terminated */
};

struct oci_throttle_device {
	int64_t major, minor;
	uint64_t rate;
};

struct oci_weight_device {
	int64_t major, minor;
	bool has_weight;
	uint16_t weight;
	bool has_leaf_weight;
	uint16_t leaf_weight;
};

struct oci_hugepage_limit {
	char *page_size; /* "2MB", "1GB" as the spec writes them */
	uint64_t limit;
};

struct oci_net_priority {
	char *name;
	uint32_t priority;
};

/* Every field of linux.resources; has_ flags tell what was given. */
struct oci_resources {
	struct oci_device_rule *devices;
	size_t n_devices;

	struct {
		bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp;
		bool has_swappiness, has_disable_oom_killer, has_use_hierarchy,
			has_check_before_update;
		int64_t limit, reservation, swap, kernel, kernel_tcp; /* -1 = unlimited */
		uint64_t swappiness;
		bool disable_oom_killer, use_hierarchy, check_before_update;
	} memory;

	struct {
		bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime,
			has_realtime_period, has_idle;
		uint64_t shares;
		int64_t quota; /* -1 = unlimited */
		uint64_t burst;
		uint64_t period;
		int64_t realtime_runtime;
		uint64_t realtime_period;
		char *cpus; /* cpuset lists, kept as strings */
		char *mems;
		int64_t idle;
	} cpu;

	struct {
		bool has_limit;
		int64_t limit; /* <= 0 means unlimited */
	} pids;

	struct {
		bool has_weight, has_leaf_weight;
		uint16_t weight, leaf_weight;
		struct oci_weight_device *weight_devices;
		size_t n_weight_devices;
		struct oci_throttle_device *throttle_read_bps, *throttle_write_bps,
			*throttle_read_iops, *throttle_write_iops;
		size_t n_throttle_read_bps, n_throttle_write_bps, n_throttle_read_iops,
			n_throttle_write_iops;
	} block_io;

	struct oci_hugepage_limit *hugepage_limits;
	size_t n_hugepage_limits;

	struct {
		bool has_class_id;
		uint32_t class_id;
		struct oci_net_priority *priorities;
		size_t n_priorities;
	} network;

	struct oci_kv *rdma_unused; /* rdma is accepted and ignored */
	struct oci_kv *unified;
	size_t n_unified;
};

enum oci_seccomp_action_kind {
	OCI_SECCOMP_KILL,         /* SCMP_ACT_KILL (thread) */
	OCI_SECCOMP_KILL_PROCESS, /* SCMP_ACT_KILL_PROCESS */
	OCI_SECCOMP_KILL_THREAD,
	OCI_SECCOMP_TRAP,
	OCI_SECCOMP_ERRNO,
	OCI_SECCOMP_TRACE,
	OCI_SECCOMP_ALLOW,
	OCI_SECCOMP_LOG,
	OCI_SECCOMP_NOTIFY,
};

struct oci_seccomp_arg {
	uint32_t index; /* 0..5 */
	uint64_t value;
	uint64_t value_two;
	int op; /* enum scmp_compare (SCMP_CMP_NE...) */
};

struct oci_seccomp_syscall {
	char **names; /* resolved by the runtime through libseccomp */
	enum oci_seccomp_action_kind action;
	bool has_errno_ret;
	uint32_t errno_ret;
	struct oci_seccomp_arg *args;
	size_t n_args;
};

struct oci_seccomp {
	enum oci_seccomp_action_kind default_action;
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	uint32_t *architectures; /* SCMP_ARCH_* tokens */
	size_t n_architectures;
	char **flags;            /* "SECCOMP_FILTER_FLAG_LOG"... validated names */
	char *listener_path;
	char *listener_metadata;
	struct oci_seccomp_syscall *syscalls;
	size_t n_syscalls;
};

struct oci_linux {
	struct oci_namespace *namespaces;
	size_t n_namespaces;
	struct oci_id_mapping *uid_mappings;
	size_t n_uid_mappings;
	struct oci_id_mapping *gid_mappings;
	size_t n_gid_mappings;
	bool has_time_offsets;
	int64_t monotonic_secs, boottime_secs;
	uint32_t monotonic_nanosecs, boottime_nanosecs;
	struct oci_device *devices;
	size_t n_devices;
	char *cgroups_path;
	struct oci_resources *resources; /* NULL when absent */
	bool has_rootfs_propagation;
	unsigned long rootfs_propagation; /* MS_SHARED|MS_REC ... */
	char **masked_paths;
	char **readonly_paths;
	char *mount_label;
	struct oci_kv *sysctl;
	size_t n_sysctl;
	struct oci_seccomp *seccomp; /* NULL when absent */
	bool has_personality;
	unsigned long personality_domain; /* PER_LINUX or PER_LINUX32 */
	char **personality_flags;
	bool has_intel_rdt; /* linux.intelRdt given; its contents are not parsed */
};

struct oci_spec {
	char *oci_version;
	struct oci_process *process; /* NULL when absent (allowed for create, not for start) */
	struct oci_root *root;       /* NULL when absent */
	char *hostname;
	char *domainname;
	struct oci_mount *mounts;
	size_t n_mounts;
	struct oci_hook_list hooks[OCI_HOOK_KINDS];
	struct oci_kv *annotations;
	size_t n_annotations;
	struct oci_linux linux_; /* "linux" is a predefined macro in GNU C */
};

/* Parse json (len bytes; need not be NUL-terminated).  name is how errors
 * refer to the input ("config.json", "/path/to/process.json"). */
int oci_spec_parse(const char *json, size_t len, const char *name, struct oci_spec **ret,
		   struct cell_err **err);
/* Read and parse a file; errors name the path. */
int oci_spec_load(const char *path, struct oci_spec **ret, struct cell_err **err);
void oci_spec_free(struct oci_spec *spec);
void oci_spec_freep(struct oci_spec **spec);

/* A process object alone, as `exec --process FILE` passes it. */
int oci_process_parse(const char *json, size_t len, const char *name, struct oci_process **ret,
		      struct cell_err **err);
void oci_process_free(struct oci_process *p);

/* A linux.resources object alone, as `update -r FILE` passes it; errors
 * name the input and the path inside the object ("memory.limit"). */
int oci_resources_parse(const char *json, size_t len, const char *name,
			struct oci_resources **ret, struct cell_err **err);
void oci_resources_free(struct oci_resources *r);

/* Lookups shared with the CLI (`exec --cap`, `features`) and the runtime. */
const char *oci_ns_type_name(enum oci_ns_type t); /* "pid", "network", ... */
int oci_ns_type_from_name(const char *name);      /* "pid" -> OCI_NS_PID; -1 unknown */
int oci_cap_from_name(const char *name);          /* "CAP_CHOWN" -> 0; -1 unknown */
const char *oci_cap_name(int cap);                /* NULL when unknown */
int oci_cap_last(void);                           /* highest capability the parser knows */
const char *oci_hook_kind_name(enum oci_hook_kind k); /* "createRuntime"... */
int oci_rlimit_from_name(const char *name);       /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 */
const char *oci_rlimit_name(int resource);        /* NULL when unknown */

/* Names the parser accepts, for `cell features`; NULL-terminated. */
const char *const *oci_mount_option_names(void);
const char *const *oci_seccomp_action_names(void);
const char *const *oci_seccomp_arch_names(void);
const char *const *oci_seccomp_operator_names(void);
const char *const *oci_seccomp_flag_names(void);

/* A default config.json as `cell spec` writes it, with args as the process
 * (NULL: "sh").  rootless adds a user namespace mapping the caller. */
char *oci_spec_default_json(char *const *args, bool rootless);

#endif
