/* The runtime's verbs (state, list, kill, delete) on a microVM: when no
 * container has the id, a VM under ROOT/vm may.  Its state is shaped as
 * runc's (OCI runtime spec "state"): pid is the monitor's, the annotation
 * run.cell.isolation says "vm", and run.cell.vm.oom_kills counts the
 * guest's OOM kills (a light guest's, when known).  Annotations, not new
 * fields: OCI clients keep them as they are and need no new schema. */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/run-vm.h"

#define OCI_STATE_VERSION "1.2.0"

json_object *cli_vm_state_object(const struct vm_info *v)
{
	json_object *o = json_object_new_object(), *a = json_object_new_object();
	bool stopped = strcmp(v->status, "stopped") == 0;
	json_object_object_add(o, "ociVersion", json_object_new_string(OCI_STATE_VERSION));
	json_object_object_add(o, "id", json_object_new_string(v->id));
	json_object_object_add(o, "pid", json_object_new_int(stopped ? 0 : v->pid));
	json_object_object_add(o, "status", json_object_new_string(v->status));
	json_object_object_add(o, "bundle", json_object_new_string(v->bundle ? v->bundle : ""));
	json_object_object_add(o, "rootfs", json_object_new_string(v->rootfs ? v->rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(v->created ? v->created : ""));
	json_object_object_add(o, "owner", json_object_new_string(""));
	json_object_object_add(a, RUN_ISOLATION_ANNOTATION, json_object_new_string("vm"));
	if (v->oom_kills_known) {
		char n[16];
		snprintf(n, sizeof(n), "%u", v->oom_kills);
		json_object_object_add(a, RUN_VM_OOM_KILLS_ANNOTATION, json_object_new_string(n));
	}
	json_object_object_add(o, "annotations", a);
	return o;
}

static bool no_vm(const struct cli_ctx *ctx, const char *id)
{
	return !cli_vm_exists(ctx, id);
}

int cli_vm_state(const struct cli_ctx *ctx, const char *id)
{
	if (no_vm(ctx, id))
		return -ENOENT;
	struct vm_info *v = xcalloc(1, sizeof(*v));
	struct cell_err *err = NULL;
	if (vm_info_get(ctx->root, id, v, &err) < 0) {
		free(v);
		return cli_fail(err);
	}
	json_object *o = cli_vm_state_object(v);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	vm_info_free(v, 1);
	return 0;
}

int cli_vm_kill(const struct cli_ctx *ctx, const char *id, int sig)
{
	if (no_vm(ctx, id))
		return -ENOENT;
	struct cell_err *err = NULL;
	if (sig == SIGKILL) {
		/* As for a container: the program dies, the record stays for
		 * `state` ("stopped") and `delete`.  A monitor that does not
		 * answer is killed (and cleaned up) instead. */
		char req[64], *ans = NULL;
		snprintf(req, sizeof(req), "{\"cmd\":\"signal\",\"signal\":%d}", sig);
		if (vm_control(ctx->root, id, req, &ans, &err) == 0) {
			free(ans);
			return 0;
		}
		cell_err_free(err);
		err = NULL;
	}
	return vm_kill(ctx->root, id, sig, &err) < 0 ? cli_fail(err) : 0;
}

int cli_vm_delete(const struct cli_ctx *ctx, const char *id, bool force)
{
	if (no_vm(ctx, id))
		return -ENOENT;
	struct vm_info *v = xcalloc(1, sizeof(*v));
	struct cell_err *err = NULL;
	if (vm_info_get(ctx->root, id, v, &err) < 0) {
		free(v);
		return cli_fail(err);
	}
	bool stopped = strcmp(v->status, "stopped") == 0;
	vm_info_free(v, 1);
	/* runc's rule: a live one goes only with --force. */
	if (!stopped && !force) {
		cell_err(&err, 0, "cannot delete vm \"%s\": it is running (use --force)", id);
		return cli_fail(err);
	}
	return vm_kill(ctx->root, id, SIGKILL, &err) < 0 ? cli_fail(err) : 0;
}
