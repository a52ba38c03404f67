/* `cell run --isolation vm`: launch the config's process in a light guest,
 * then (without -d) wait for it, relaying signals, and exit as `cell run`
 * exits for a container: the program's code, or 128 + its signal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "cli/run-vm.h"
#include "os/process.h"
#include "state/state.h"

bool cli_is_vm_root(const struct cli_ctx *ctx, const char *id)
{
	/* ROOT/vm is the VMs' directory unless a container really is "vm"
	 * (it has a record; the VMs' directory never has one). */
	if (strcmp(id, "vm") != 0)
		return false;
	_cleanup_free_ char *rec = xasprintf("%s/vm/state.json", ctx->root);
	return access(rec, F_OK) < 0;
}

bool cli_vm_exists(const struct cli_ctx *ctx, const char *id)
{
	if (state_check_id(id, NULL) < 0)
		return false;
	_cleanup_free_ char *d = xasprintf("%s/vm/%s", ctx->root, id);
	return access(d, F_OK) == 0;
}

static int launch(const struct cli_ctx *ctx, const struct run_vm_opts *o, struct oci_spec *spec,
		  struct vm_instance **ret, struct cell_err **err)
{
	struct vm_launch l = { .root = ctx->root, .id = o->id, .detach = o->detach,
			       .bundle = o->bundle };
	_cleanup_free_ char *rootfs = NULL;
	int r = run_vm_from_spec(spec, o->bundle, o->config_name, &l, &rootfs, err);
	if (r < 0)
		return r;
	l.guest.stdio[0] = 0;
	l.guest.stdio[1] = 1;
	l.guest.stdio[2] = 2;
	cell_debug("run \"%s\": a light guest, %llu MiB, %u vCPUs", o->id,
		   (unsigned long long)(l.guest.mem_size ? l.guest.mem_size : VM_DEFAULT_MEM) >> 20,
		   l.guest.vcpus);
	return vm_launch(&l, ret, err);
}

/* As a container's `run`: the code, or 128 + the signal (with the
 * monitor's report when a fault was the cause). */
int run_vm_exit_status(const struct vm_result *res)
{
	if (res->vm_failed || (res->signal && res->report[0]))
		fprintf(stderr, "cell: vm: %s\n", res->report);
	if (res->vm_failed)
		return 1;
	if (res->exited)
		return res->code;
	return 128 + res->signal;
}

int run_vm(const struct cli_ctx *ctx, const struct run_vm_opts *o)
{
	struct cell_err *err = NULL;
	_cleanup_free_ char *cdir = xasprintf("%s/%s", ctx->root, o->id);
	if (strcmp(o->id, "vm") == 0 || access(cdir, F_OK) == 0) {
		cell_err(&err, 0,
			 strcmp(o->id, "vm") == 0 ? "id \"%s\" is reserved (ROOT/vm holds the VMs)"
						  : "container \"%s\" already exists",
			 o->id);
		return cli_fail(err);
	}
	struct oci_spec *spec = NULL;
	if (oci_spec_parse(o->config, strlen(o->config), o->config_name, &spec, &err) < 0)
		return cli_fail(err);
	struct vm_instance *vi;
	int r = launch(ctx, o, spec, &vi, &err);
	oci_spec_free(spec);
	if (r < 0)
		return cli_fail(err);
	if (o->pid_file && cell_write_pid_file(o->pid_file, vm_instance_pid(vi), &err) < 0) {
		/* Nothing stays behind: the monitor goes, and its state with it. */
		os_pidfd_send_signal(vm_instance_pidfd(vi), SIGKILL);
		int st = 0;
		waitpid(vm_instance_pid(vi), &st, 0);
		struct vm_result res;
		struct cell_err *e2 = NULL;
		vm_instance_finish(vi, st, &res, &e2);
		cell_err_free(e2);
		return cli_fail(err);
	}
	if (o->detach) {
		vm_instance_free(vi);
		return 0;
	}
	int wstatus = cli_wait_forwarding(vm_instance_pid(vi), vm_instance_pidfd(vi));
	struct vm_result res;
	if (vm_instance_finish(vi, wstatus, &res, &err) < 0)
		return cli_fail(err);
	return run_vm_exit_status(&res);
}
