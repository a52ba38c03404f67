/* cell run [create options] [-d] [-t] [--keep] ID
 * cell run [-d] [-t] [--rootfs DIR] ID -- COMMAND [ARGS...]
 *
 * create + start, then (without -d) wait for the container's init,
 * relaying signals or the terminal, delete it, and exit with its status.
 * The second form writes the config itself: the given rootfs, or with no
 * --rootfs the built-in busybox one. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/create-opts.h"
#include "container/builtin.h"
#include "container/container.h"
#include "state/state.h"
#include "container/tty.h"
#include "oci/spec.h"
#include "os/process.h"

enum { O_DETACH = 'd', O_TTY = 't', O_KEEP = OPT_CREATE_LAST, O_ROOTFS };

struct run_opts {
	struct container_create_opts create;
	bool detach, tty, keep, generate;
	const char *rootfs;
	char **command;
};

static void set_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

/* A config for the rootfs (or the built-in one) running command. */
static char *generate_config(const struct cli_ctx *ctx, const struct run_opts *ro,
			     struct cell_err **err)
{
	_cleanup_free_ char *builtin = NULL;
	char abs[4096];
	if (ro->rootfs) {
		if (!realpath(ro->rootfs, abs)) {
			cell_err_sys(err, "--rootfs %s", ro->rootfs);
			return NULL;
		}
	} else if (builtin_rootfs(ctx->root, &builtin, err) < 0) {
		return NULL;
	}
	_cleanup_free_ char *text = oci_spec_default_json(ro->command, false);
	json_object *cfg = json_tokener_parse(text), *proc, *root, *mounts, *tmp;
	json_object_object_get_ex(cfg, "process", &proc);
	json_object_object_get_ex(cfg, "root", &root);
	json_object_object_get_ex(cfg, "mounts", &mounts);
	json_object_object_add(proc, "terminal", json_object_new_boolean(ro->tty));
	set_string(root, "path", builtin ? builtin : abs);
	/* The built-in rootfs is shared: read-only, with a private /tmp. */
	json_object_object_add(root, "readonly", json_object_new_boolean(builtin != NULL));
	set_string(cfg, "hostname", ro->create.id);
	tmp = json_object_new_object();
	set_string(tmp, "destination", "/tmp");
	set_string(tmp, "type", "tmpfs");
	set_string(tmp, "source", "tmpfs");
	json_object *opts = json_object_new_array();
	json_object_array_add(opts, json_object_new_string("nosuid"));
	json_object_array_add(opts, json_object_new_string("nodev"));
	json_object_array_add(opts, json_object_new_string("mode=1777"));
	json_object_object_add(tmp, "options", opts);
	json_object_array_add(mounts, tmp);
	char *out = xstrdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN));
	json_object_put(cfg);
	return out;
}

static int parse(int argc, char **argv, struct run_opts *ro)
{
	struct option opts[CLI_CREATE_OPTIONS_N + 5] = { 0 };
	memcpy(opts, cli_create_options, sizeof(struct option) * CLI_CREATE_OPTIONS_N);
	opts[CLI_CREATE_OPTIONS_N] = (struct option){ "detach", no_argument, NULL, O_DETACH };
	opts[CLI_CREATE_OPTIONS_N + 1] = (struct option){ "tty", no_argument, NULL, O_TTY };
	opts[CLI_CREATE_OPTIONS_N + 2] = (struct option){ "keep", no_argument, NULL, O_KEEP };
	opts[CLI_CREATE_OPTIONS_N + 3] = (struct option){ "rootfs", required_argument, NULL, O_ROOTFS };
	int c;
	while ((c = getopt_long(argc, argv, "+b:dt", opts, NULL)) != -1) {
		switch (c) {
		case O_DETACH: ro->detach = true; break;
		case O_TTY: ro->tty = true; break;
		case O_KEEP: ro->keep = true; break;
		case O_ROOTFS: ro->rootfs = optarg; ro->generate = true; break;
		default: {
			int r = cli_create_option(c, optarg, argv, &ro->create);
			if (r != 0)
				return r < 0 ? cli_usage_error("run", "unknown option") : r;
		}
		}
	}
	if (optind >= argc)
		return cli_usage_error("run", "missing container id");
	ro->create.id = argv[optind++];
	if (optind < argc && strcmp(argv[optind], "--") == 0) {
		ro->generate = true;
		optind++;
	}
	if (optind < argc && !ro->generate)
		return cli_usage_error("run", "unexpected argument \"%s\" (a command goes after --)",
				       argv[optind]);
	if (ro->generate) {
		if (optind >= argc)
			return cli_usage_error("run", "--rootfs needs a command after --");
		if (ro->create.bundle)
			return cli_usage_error("run", "--bundle and a command after -- exclude each other");
		ro->command = argv + optind;
	}
	return 0;
}

/* Wait for the init (relaying the terminal if we hold it), then delete. */
static int wait_and_delete(struct container_ctx *cctx, struct run_opts *ro,
			   struct container_created *cr)
{
	if (cr->pty_master >= 0) {
		struct cell_err *e = NULL;
		tty_relay(cr->pty_master, cr->pidfd, &e);
		cell_err_free(e);
	}
	int status = cli_wait_forwarding(cr->pid, cr->pidfd);
	if (!ro->keep) {
		struct cell_err *err = NULL;
		if (container_delete(cctx, ro->create.id, true, &err) < 0)
			cli_fail(err);
	}
	return os_exit_status(status);
}

CLI_COMMAND(run)
{
	struct run_opts ro = { 0 };
	int r = parse(argc, argv, &ro);
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	_cleanup_free_ char *config = NULL;
	if (ro.generate) {
		if (state_check_id(ro.create.id, &err) < 0 ||
		    !(config = generate_config(ctx, &ro, &err)))
			return cli_fail(err);
		ro.create.config_json = config;
	}
	ro.create.keep_pty = !ro.create.console_socket && !ro.detach;
	if (ro.detach && ro.tty && !ro.create.console_socket)
		return cli_usage_error("run", "--detach with a terminal needs --console-socket");
	struct container_created cr;
	if (container_create(&cctx, &ro.create, &cr, &err) < 0)
		return cli_fail(err);
	if (container_start(&cctx, ro.create.id, &err) < 0) {
		struct cell_err *e2 = NULL;
		container_delete(&cctx, ro.create.id, true, &e2);
		cell_err_free(e2);
		close(cr.pidfd);
		return cli_fail(err);
	}
	if (ro.detach) {
		close(cr.pidfd);
		if (cr.pty_master >= 0)
			close(cr.pty_master);
		return 0;
	}
	r = wait_and_delete(&cctx, &ro, &cr);
	close(cr.pidfd);
	if (cr.pty_master >= 0)
		close(cr.pty_master);
	return r;
}
