/* Inside the resource layer: the host description the drivers share, the
 * plan that cgroup_apply() builds before it writes anything, and the hooks
 * that let unit tests run the drivers against a fake tree.  Never included
 * from outside src/os (and tests/unit/os). */
#ifndef CELL_OS_CGROUP_INTERNAL_H
#define CELL_OS_CGROUP_INTERNAL_H

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "os/cgroup.h"

/* ---- the host ---------------------------------------------------------- */

/* One mounted hierarchy: a v1 hierarchy (one or more controllers, or a
 * named one such as name=systemd) or the cgroup2 hierarchy. */
struct cg_hier {
	char *mount;        /* mount point, with the context's prefix */
	char *mount_root;   /* the mount's root inside the hierarchy, "/" normally */
	char *self;         /* the calling process's cgroup here ("/x/y") */
	char **controllers; /* v1: from the super options ("cpu", "name=systemd");
			     * v2: the root's cgroup.controllers */
	bool v2;
};

struct cgroup_ctx {
	enum cgroup_mode mode;
	char *prefix; /* "" on the host; the fake tree's directory in tests */
	struct cg_hier *hier;
	size_t n_hier;
	int unified;           /* index of the cgroup2 hierarchy, -1 when none */
	char **hugepage_sizes; /* "2MB", "1GB" as hugetlb file names spell them */
	/* Test hook: with journal_on, every write is recorded as
	 * "PATH=VALUE" (PATH without the prefix), in the order made. */
	bool journal_on;
	char **journal;
};

struct cgroup {
	struct cgroup_ctx *ctx; /* borrowed: the host context lives for the process */
	char *path;
	char **dirs;     /* one per ctx->hier, same order; NULL-terminated */
	char **created;  /* per hierarchy: the topmost directory this object made, or NULL */
	bool *absent;    /* per hierarchy: not ours to touch (not there when opened, or
			  * not recorded): enter, apply and destroy skip it */
	int v2_fd;
};

/* Build a context from the text of /proc/self/mountinfo and /proc/self/cgroup;
 * every path read or written is prefix + the host path.  The host context
 * is this with the real files and prefix "". */
int cgroup_ctx_new(const char *mountinfo, const char *self_cgroup, const char *prefix,
		   struct cgroup_ctx **ret, struct cell_err **err);
void cgroup_ctx_free(struct cgroup_ctx *ctx);
/* The host's context, detected on first use and kept for the process. */
int cgroup_ctx_host(struct cgroup_ctx **ret, struct cell_err **err);

int cgroup_ctx_create(struct cgroup_ctx *ctx, const char *path, struct cgroup **ret,
		      struct cell_err **err);
int cgroup_ctx_open(struct cgroup_ctx *ctx, const char *path, struct cgroup **ret,
		    struct cell_err **err);
int cgroup_ctx_open_dirs(struct cgroup_ctx *ctx, char *const *dirs, struct cgroup **ret,
			 struct cell_err **err);
/* The cgroup that a /proc/PID/cgroup text names, one directory per hierarchy. */
int cgroup_ctx_of_text(struct cgroup_ctx *ctx, const char *proc_cgroup, struct cgroup **ret,
		       struct cell_err **err);

/* A cgroup object with room for every hierarchy's directory. */
struct cgroup *cg_alloc(struct cgroup_ctx *ctx, const char *path);
/* Path to directories, nothing created, nothing checked on disk. */
int cg_resolve(struct cgroup_ctx *ctx, const char *path, struct cgroup **ret,
	       struct cell_err **err);
/* The directory of a path from the hierarchy's root ("/x/y" or "/"). */
char *cg_hier_dir(const struct cg_hier *h, const char *full);

/* Index of the hierarchy that serves a controller: the v1 hierarchy that
 * has v1name, else the cgroup2 hierarchy when its root offers v2name (NULL:
 * v2 has no such controller).  -1 when none does. */
int cg_find_controller(const struct cgroup_ctx *ctx, const char *v1name, const char *v2name);
bool cg_strv_has(char *const *v, const char *s);
/* A /proc/PID/cgroup line "ID:CONTROLLERS:PATH" (modified in place) to the
 * hierarchy it names, -1 when none of ours; *ret_path points into line. */
int cg_hier_of_line(const struct cgroup_ctx *ctx, char *line, char **ret_path);

/* ---- files --------------------------------------------------------------- */

#define CG_FILE_MAX (1u << 20)

/* dir/file, trailing whitespace trimmed. */
int cg_read(const char *dir, const char *file, char **ret, struct cell_err **err);
/* A number, "max" as UINT64_MAX. */
int cg_read_u64(const char *dir, const char *file, uint64_t *ret, struct cell_err **err);
/* One write() of value to dir/file (O_TRUNC, as echo does); journaled. */
int cg_write(struct cgroup_ctx *ctx, const char *dir, const char *file, const char *value,
	     struct cell_err **err);
bool cg_exists(const char *dir, const char *file);
/* Whether a space-separated list ("cpu io memory") holds word. */
bool cg_words_have(const char *list, const char *word);
/* The directory above dir ("/a/b" -> "/a"). */
char *cg_dirname(const char *dir);

/* CPU and memory-node lists ("0-3,8,10-11"), as bitmaps of at most
 * CG_CPULIST_MAX bits; -EINVAL on bad syntax, -ERANGE past the cap. */
#define CG_CPULIST_MAX 8192
struct cg_bits {
	uint64_t w[CG_CPULIST_MAX / 64];
};
int cg_cpulist_parse(const char *s, struct cg_bits *ret);
bool cg_bits_subset(const struct cg_bits *a, const struct cg_bits *b);

/* ---- applying resources ---------------------------------------------------- */

/* Writes are grouped in phases, run in this order, so that everything a
 * failure can undo (single-valued knobs, whose old value was read while
 * planning) comes before what it cannot (rule lists such as devices.allow). */
enum cg_phase {
	CG_PHASE_ENABLE,  /* "+ctrl" into ancestors' cgroup.subtree_control */
	CG_PHASE_SCALAR,  /* single-valued knobs, undone on a later failure */
	CG_PHASE_LIST,    /* entries appended to list-like files */
	CG_PHASE_UNIFIED, /* linux.resources.unified, after the structured fields */
	CG_PHASE_COUNT
};

struct cg_write {
	enum cg_phase phase;
	char *dir;
	char *file;
	char *value;
	char *old;         /* the value to restore on a later failure, or NULL */
	char *field;       /* the OCI field this write serves, for errors */
	char *busy;        /* what EBUSY means here, when it means something */
	bool verify;       /* read back: the kernel accepts some knobs and ignores them */
	bool optional;     /* a file that may not exist on this kernel: skip it then */
};

struct cg_plan {
	struct cgroup *cg;
	struct cg_write *w;
	size_t n;
	/* v2 device filter: rules compiled and attached last */
	const struct oci_device_rule *bpf_rules;
	size_t n_bpf_rules;
	const char *bpf_dir;
};

/* A single-valued knob in the cgroup's directory of hierarchy h: the
 * current value is kept for undo when it can be read back as one line. */
struct cg_write *cg_plan_set(struct cg_plan *p, int h, const char *file, const char *field,
			     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* One entry of a list-like file (devices.allow, io.max...). */
struct cg_write *cg_plan_list(struct cg_plan *p, int h, const char *file, const char *field,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
struct cg_write *cg_plan_add(struct cg_plan *p, enum cg_phase phase, const char *dir,
			     const char *file, const char *field, const char *value);
/* The cgroup's directory in hierarchy h. */
const char *cg_plan_dir(const struct cg_plan *p, int h);

/* A "FIELD: message" error. */
int cg_field_err(struct cell_err **err, int errnum, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Whether /sys/dev/block/MAJ:MIN exists (below the context's prefix). */
bool cg_block_device_exists(const struct cgroup_ctx *ctx, int64_t major, int64_t minor);

/* Per-controller planners.  h is the hierarchy serving the controller. */
typedef int (*cg_planner)(struct cg_plan *p, int h, const struct oci_resources *r,
			  struct cell_err **err);
int cg_v1_memory(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_cpu(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_cpuset(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_pids(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_blkio(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_hugetlb(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_net_cls(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_net_prio(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v1_devices(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_memory(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_cpu(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_cpuset(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_pids(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_io(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_hugetlb(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_devices(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
int cg_v2_unified(struct cg_plan *p, int h, const struct oci_resources *r, struct cell_err **err);
/* Make sure the v2 controller reaches the cgroup: plan "+ctrl" writes in
 * the ancestors that lack it; an error naming field when the hierarchy
 * does not offer it. */
int cg_v2_need(struct cg_plan *p, int h, const char *ctrl, const char *field,
	       struct cell_err **err);

/* Shared checks of linux.resources values, independent of the version. */
int cg_check_cpus(struct cg_plan *p, int h, const char *field, const char *list,
		  const char *parent_file, struct cell_err **err);
int cg_check_hugepage(struct cg_plan *p, const struct oci_hugepage_limit *l, size_t i,
		      struct cell_err **err);
/* Values that are wrong on any host: negative sizes, swap below limit... */
int cg_check_memory(const struct oci_resources *r, struct cell_err **err);
/* field: no /sys/dev/block/MAJ:MIN. */
int cg_check_block_device(struct cg_plan *p, const char *field, int64_t major, int64_t minor,
			  struct cell_err **err);
/* Type, numbers and access of a device rule. */
int cg_check_device_rule(const struct oci_device_rule *d, const char *field,
			 struct cell_err **err);
/* blockIO.throttle* as v1 blkio.throttle.* or v2 io.max entries. */
int cg_plan_throttles(struct cg_plan *p, int h, const struct oci_resources *r, bool v2,
		      struct cell_err **err);
uint64_t cg_shares_to_weight(uint64_t shares);
uint64_t cg_blkio_to_io_weight(uint64_t weight);

/* ---- v2 device filter (cgroup-bpf-devices.c) -------------------------------- */

/* Compile device rules, last matching rule wins, as the v1 controller
 * reads them; no rule matching means allowed unless a type 'a' rule set a
 * default.  *ret is malloc'd. */
int cg_bpf_devices_build(const struct oci_device_rule *rules, size_t n, struct bpf_insn **ret,
			 size_t *ret_n, struct cell_err **err);
/* Load the program and make it the only device filter of the cgroup
 * directory dirfd (replacing the ones attached before). */
int cg_bpf_devices_attach(int dirfd, const struct bpf_insn *insns, size_t n,
			  struct cell_err **err);
/* Number of device programs attached directly to dirfd. */
int cg_bpf_devices_count(int dirfd, size_t *ret, struct cell_err **err);

/* ---- processes (cgroup-procs.c) ---------------------------------------------- */

/* Pids in dir and below, appended to *v (n, cap). */
int cg_tree_pids(const char *dir, pid_t **v, size_t *n, size_t *cap, struct cell_err **err);

#endif
