/* cell run [create options] [-d] [-t] [--keep] [--isolation container|vm] ID
 * cell run [-d] [-t] [--rootfs DIR] [--isolation container|vm] ID -- COMMAND [ARGS...]
 *
 * create + start, then (without -d) wait for the container's init,
 * relaying signals or the terminal, delete it, and exit with its status.
 * The second form writes the config itself: the given rootfs, or with no
 * --rootfs the built-in busybox one.  With --isolation vm (or the config's
 * annotation run.cell.isolation=vm) the process runs in a light-guest
 * microVM instead (cli/run-vm.h). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "cli/create-opts.h"
#include "cli/run-flags.h"
#include "cli/run-vm.h"
#include "container/builtin.h"
#include "container/container.h"
#include "state/state.h"
#include "container/tty.h"
#include "oci/spec.h"
#include "os/process.h"

enum { O_DETACH = 'd', O_TTY = 't', O_KEEP = OPT_CREATE_LAST, O_ROOTFS, O_ISOLATION };

struct run_opts {
	struct container_create_opts create;
	struct run_flags flags;
	bool detach, tty, keep, generate, edited;
	enum run_isolation isolation;
	const char *rootfs;
	char **command;
};

static void set_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static json_object *tmpfs_mount(const char *dest)
{
	json_object *m = json_object_new_object(), *opts = json_object_new_array();
	set_string(m, "destination", dest);
	set_string(m, "type", "tmpfs");
	set_string(m, "source", "tmpfs");
	json_object_array_add(opts, json_object_new_string("nosuid"));
	json_object_array_add(opts, json_object_new_string("nodev"));
	json_object_array_add(opts, json_object_new_string("mode=1777"));
	json_object_object_add(m, "options", opts);
	return m;
}

/* A config for the rootfs (or the built-in one) running command. */
static json_object *generate_config(const struct cli_ctx *ctx, const struct run_opts *ro,
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
	json_object *cfg = json_tokener_parse(text), *proc, *root, *mounts;
	json_object_object_get_ex(cfg, "process", &proc);
	json_object_object_get_ex(cfg, "root", &root);
	json_object_object_get_ex(cfg, "mounts", &mounts);
	json_object_object_add(proc, "terminal", json_object_new_boolean(ro->tty));
	set_string(root, "path", builtin ? builtin : abs);
	/* The built-in rootfs is shared: read-only, with a private /tmp. */
	json_object_object_add(root, "readonly", json_object_new_boolean(builtin != NULL));
	set_string(cfg, "hostname", ro->create.id);
	json_object_array_add(mounts, tmpfs_mount("/tmp"));
	return cfg;
}

/* The bundle's config.json, to be edited by flags. */
static json_object *bundle_config(struct run_opts *ro, char **ret_path, struct cell_err **err)
{
	char abs[4096];
	if (!realpath(ro->create.bundle ? ro->create.bundle : ".", abs)) {
		cell_err_sys(err, "--bundle %s", ro->create.bundle ? ro->create.bundle : ".");
		return NULL;
	}
	*ret_path = xasprintf("%s/config.json", abs);
	_cleanup_free_ char *text = NULL;
	size_t len;
	if (cell_read_file(*ret_path, OCI_SPEC_MAX_BYTES, &text, &len, err) < 0)
		return NULL;
	json_tokener *tok = json_tokener_new();
	json_object *cfg = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!cfg)
		cell_err(err, 0, "%s: invalid JSON", *ret_path);
	return cfg;
}

static int take_option(struct run_opts *ro, int c, char **argv, struct cell_err **err)
{
	switch (c) {
	case O_DETACH: ro->detach = true; return 0;
	case O_TTY: ro->tty = true; return 0;
	case O_KEEP: ro->keep = true; return 0;
	case O_ROOTFS: ro->rootfs = optarg; ro->generate = true; return 0;
	case O_ISOLATION:
		if (run_isolation_parse(optarg, &ro->isolation) < 0)
			return cli_usage_error(
				"run", "--isolation: unknown value \"%s\" (container or vm)", optarg);
		return 0;
	}
	int r = run_resource_option(&ro->flags, c, optarg, err);
	if (r == -ENOENT)
		r = run_network_option(&ro->flags, c, optarg, err);
	if (r == 0)
		ro->edited = true;
	if (r != -ENOENT)
		return r < 0 ? cli_fail(*err) : 0;
	*err = NULL;
	r = cli_create_option(c, optarg, argv, &ro->create);
	return r < 0 ? cli_usage_error("run", "unknown option \"%s\"", argv[optind - 1]) : r;
}

static int parse(int argc, char **argv, struct run_opts *ro)
{
	static const struct option own[] = {
		{ "detach", no_argument, NULL, O_DETACH }, { "tty", no_argument, NULL, O_TTY },
		{ "keep", no_argument, NULL, O_KEEP }, { "rootfs", required_argument, NULL, O_ROOTFS },
		{ "isolation", required_argument, NULL, O_ISOLATION },
	};
	size_t nr = run_options_count(run_resource_options), nn = run_options_count(run_network_options);
	struct option opts[CLI_CREATE_OPTIONS_N + ARRAY_SIZE(own) + 64];
	size_t n = 0;
	if (nr + nn > 64)
		return cli_usage_error("run", "too many options");
	memcpy(opts + n, cli_create_options, sizeof(struct option) * CLI_CREATE_OPTIONS_N);
	n += CLI_CREATE_OPTIONS_N;
	memcpy(opts + n, own, sizeof(own));
	n += ARRAY_SIZE(own);
	memcpy(opts + n, run_resource_options, sizeof(struct option) * nr);
	n += nr;
	memcpy(opts + n, run_network_options, sizeof(struct option) * nn);
	n += nn;
	memset(opts + n, 0, sizeof(struct option));
	int c;
	while ((c = getopt_long(argc, argv, "+b:dtm:c:p:", opts, NULL)) != -1) {
		struct cell_err *err = NULL;
		int r = take_option(ro, c, argv, &err);
		if (r)
			return r;
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

/* The config text to create from, when run writes or edits it; NULL with
 * no error when the bundle's config.json is used as it is. */
static char *config_text(const struct cli_ctx *ctx, struct run_opts *ro, char **ret_name,
			 struct cell_err **err)
{
	if (!ro->generate && !ro->edited && ro->isolation != RUN_ISOLATION_VM)
		return NULL;
	json_object *cfg = ro->generate ? generate_config(ctx, ro, err)
					: bundle_config(ro, ret_name, err);
	if (!cfg)
		return NULL;
	char *out = NULL;
	if (ro->isolation != RUN_ISOLATION_VM) /* a light guest has no network */
		run_network_default(&ro->flags, cfg, ro->generate);
	if (run_flags_apply(&ro->flags, cfg, err) == 0)
		out = xstrdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN));
	json_object_put(cfg);
	return out;
}

/* Without --isolation, the bundle's annotation decides. */
static int choose_isolation(struct run_opts *ro, struct cell_err **err)
{
	if (ro->isolation != RUN_ISOLATION_DEFAULT || ro->generate)
		return 0;
	_cleanup_free_ char *path =
		xasprintf("%s/config.json", ro->create.bundle ? ro->create.bundle : ".");
	return run_isolation_of_file(path, &ro->isolation, err);
}

/* The process in a light guest (run-vm.c). */
static int run_in_vm(const struct cli_ctx *ctx, struct run_opts *ro)
{
	const char *no = ro->tty		    ? "--tty: the light guest has no terminal"
			 : ro->keep		    ? "--keep: a VM's record goes when it ends"
			 : ro->create.console_socket ? "--console-socket: the light guest has no terminal"
			 : ro->create.preserve_fds  ? "--preserve-fds: the light guest gets fds 0-2 only"
						    : NULL;
	if (no) {
		run_flags_clear(&ro->flags);
		return cli_usage_error("run", "%s (--isolation vm)", no);
	}
	struct cell_err *err = NULL;
	_cleanup_free_ char *name = NULL;
	_cleanup_free_ char *config = config_text(ctx, ro, &name, &err);
	run_flags_clear(&ro->flags);
	if (!config)
		return cli_fail(err);
	char abs[4096];
	const char *bundle = NULL;
	if (!ro->generate && realpath(ro->create.bundle ? ro->create.bundle : ".", abs))
		bundle = abs;
	struct run_vm_opts o = { .id = ro->create.id, .bundle = bundle, .config = config,
				 .config_name = name ? name : "the generated config",
				 .detach = ro->detach, .pid_file = ro->create.pid_file };
	return run_vm(ctx, &o);
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
	cell_debug("run \"%s\": exited", ro->create.id);
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
	if (r) {
		run_flags_clear(&ro.flags);
		return r;
	}
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	_cleanup_free_ char *config = NULL, *config_name = NULL;
	if (state_check_id(ro.create.id, &err) < 0 || choose_isolation(&ro, &err) < 0) {
		run_flags_clear(&ro.flags);
		return cli_fail(err);
	}
	if (ro.isolation == RUN_ISOLATION_VM)
		return run_in_vm(ctx, &ro);
	if (cli_vm_exists(ctx, ro.create.id)) {
		run_flags_clear(&ro.flags);
		cell_err(&err, 0, "container \"%s\" already exists (a VM has that id)",
			 ro.create.id);
		return cli_fail(err);
	}
	if (!(config = config_text(ctx, &ro, &config_name, &err)) && err) {
		run_flags_clear(&ro.flags);
		return cli_fail(err);
	}
	run_flags_clear(&ro.flags);
	ro.create.config_json = config;
	ro.create.config_path = config_name;
	ro.create.keep_pty = !ro.create.console_socket && !ro.detach;
	if (ro.detach && ro.tty && !ro.create.console_socket)
		return cli_usage_error("run", "--detach with a terminal needs --console-socket");
	struct container_created cr;
	if (container_create(&cctx, &ro.create, &cr, &err) < 0)
		return cli_fail(err);
	cell_debug("run \"%s\": created", ro.create.id);
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
	cell_debug("run \"%s\": started", ro.create.id);
	r = wait_and_delete(&cctx, &ro, &cr);
	cell_debug("run \"%s\": deleted", ro.create.id);
	close(cr.pidfd);
	if (cr.pty_master >= 0)
		close(cr.pty_master);
	return r;
}
