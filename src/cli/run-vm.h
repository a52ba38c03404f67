/* `cell run --isolation vm`: an OCI bundle's process in a light-guest
 * microVM (src/vm) instead of a container; and how such a VM answers the
 * runtime's verbs (state, list, kill, delete) under its id.
 *
 * The choice: --isolation container|vm, else the config's annotation
 * "run.cell.isolation" ("container" or "vm"), else a container.
 * The VM's state stays the VM's (ROOT/vm/ID, src/vm/record.h); the
 * container verbs fall back to it when no container has the id. */
#ifndef CELL_CLI_RUN_VM_H
#define CELL_CLI_RUN_VM_H

#include <json-c/json.h>
#include <stdbool.h>

#include "base/err.h"
#include "cli/cli.h"
#include "oci/spec.h"
#include "vm/vm.h"

#define RUN_ISOLATION_ANNOTATION "run.cell.isolation"
/* In `cell state`: how many guest processes the light guest's OOM killer
 * killed (a decimal string; absent when unknown, e.g. a Linux guest). */
#define RUN_VM_OOM_KILLS_ANNOTATION "run.cell.vm.oom_kills"

enum run_isolation { RUN_ISOLATION_DEFAULT, RUN_ISOLATION_CONTAINER, RUN_ISOLATION_VM };

/* "container" or "vm"; -EINVAL for anything else. */
int run_isolation_parse(const char *s, enum run_isolation *ret);
/* The annotation in cfg (DEFAULT when absent); an error names name and the
 * annotation when its value is neither. */
int run_isolation_of_config(json_object *cfg, const char *name, enum run_isolation *ret,
			    struct cell_err **err);

/* The same for a config file; cheap when the file does not name it.  A
 * file that cannot be read or parsed is DEFAULT: create reports it in its
 * own words. */
int run_isolation_of_file(const char *path, enum run_isolation *ret, struct cell_err **err);

/* run-vm-spec.c: a parsed config -> the light guest's launch.  Refuses,
 * naming the field, what the light guest cannot do (docs/vm.md, "OCI
 * bundles").  bundle: where a relative root.path starts.  l's pointers
 * borrow from spec, except *ret_rootfs (the absolute root, owned by the
 * caller). */
int run_vm_from_spec(const struct oci_spec *spec, const char *bundle, const char *name,
		     struct vm_launch *l, char **ret_rootfs, struct cell_err **err);

struct run_vm_opts {
	const char *id;
	const char *bundle;      /* absolute; recorded for `state` */
	const char *config;      /* the config text */
	const char *config_name; /* how errors name it */
	bool detach;
	const char *pid_file;    /* the monitor's pid, as create writes the init's */
};

/* Run it; returns cell run's exit status (the program's code, 128+signal,
 * or 1 after printing an error). */
int run_vm(const struct cli_ctx *ctx, const struct run_vm_opts *o);

/* A finished VM's status as a container's `run` gives it: the program's
 * code, 128 + its signal, or 1 when the VM failed (the monitor's report
 * printed on stderr). */
int run_vm_exit_status(const struct vm_result *res);

/* vm-verbs.c: the container verbs on a VM with this id.  Each returns
 * -ENOENT (printing nothing) when there is no such VM, else the command's
 * exit status. */
int cli_vm_state(const struct cli_ctx *ctx, const char *id);
/* The OCI state object of a VM (pid 0 once stopped). */
json_object *cli_vm_state_object(const struct vm_info *v);
int cli_vm_kill(const struct cli_ctx *ctx, const char *id, int sig);
int cli_vm_delete(const struct cli_ctx *ctx, const char *id, bool force);
/* Whether id names ROOT/vm, the VMs' own directory, rather than a container. */
bool cli_is_vm_root(const struct cli_ctx *ctx, const char *id);
/* Does a VM with this id exist under the root? */
bool cli_vm_exists(const struct cli_ctx *ctx, const char *id);

#endif
