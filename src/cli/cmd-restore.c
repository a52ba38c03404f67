/* cell restore [--image-path DIR] [--work-path DIR] [--bundle DIR] [-d]
 *              [--pid-file F] [--console-socket S] [--no-pivot] [--tcp-established] ID
 *
 * runc's restore (with runc's other CRIU options, cli/ckpt-opts.h): the
 * container comes back from --image-path (default ./checkpoint) with
 * --bundle's config, or without --bundle the one the image recorded.  With
 * -d cell returns once it runs; without, it waits for it as `run` does,
 * deletes it, and exits with its status.  --no-new-keyring and
 * --no-subreaper are accepted (cell makes no keyring and is no subreaper);
 * --parent-path is accepted (the image names its parent itself). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/ckpt-opts.h"
#include "cli/cli.h"
#include "container/container.h"
#include "os/process.h"

enum {
	O_BUNDLE = 'b',
	O_DETACH = 'd',
	O_PID_FILE = OPT_CK_LAST,
	O_CONSOLE_SOCKET,
	O_NO_PIVOT,
	O_NO_NEW_KEYRING,
	O_NO_SUBREAPER,
	O_LSM_PROFILE,
	O_LSM_MOUNT_CONTEXT,
};

static void usage(void)
{
	printf("usage: cell restore [--image-path DIR] [--work-path DIR] [--bundle DIR] [-d]\n"
	       "                    [--pid-file FILE] [--console-socket SOCK] [--no-pivot]\n"
	       "                    [--tcp-established] [--print-stats] ID\n");
}

static int take(int c, char **argv, struct container_restore_opts *o, bool *detach,
		struct cli_ckpt_opts *co)
{
	switch (c) {
	case 'h': usage(); return 2;
	case O_BUNDLE: o->bundle = optarg; return 0;
	case O_DETACH: *detach = true; return 0;
	case O_PID_FILE: o->pid_file = optarg; return 0;
	case O_CONSOLE_SOCKET: o->console_socket = optarg; return 0;
	case O_NO_PIVOT: o->no_pivot = true; return 0;
	case O_NO_NEW_KEYRING:
	case O_NO_SUBREAPER: return 0;
	case O_LSM_PROFILE:
	case O_LSM_MOUNT_CONTEXT:
		return cli_usage_error("restore", "%s: LSM labels are not supported",
				       argv[optind - 1]);
	}
	int r = cli_ckpt_option("restore", c, optarg, argv, co);
	return r < 0 ? cli_usage_error("restore", "unknown option \"%s\"", argv[optind - 1]) : r;
}

/* go-runc passes "-no-subreaper", Go's single-dash spelling. */
static void normalize(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-no-subreaper") == 0)
			argv[i] = (char *)"--no-subreaper";
}

static int wait_and_delete(struct container_ctx *cctx, const char *id, struct container_created *cr)
{
	int status = cli_wait_forwarding(cr->pid, cr->pidfd);
	struct cell_err *err = NULL;
	if (container_delete(cctx, id, true, &err) < 0)
		cli_fail(err);
	return os_exit_status(status);
}

CLI_COMMAND(restore)
{
	static const struct option own[] = {
		{ "bundle", required_argument, NULL, O_BUNDLE },
		{ "detach", no_argument, NULL, O_DETACH },
		{ "pid-file", required_argument, NULL, O_PID_FILE },
		{ "console-socket", required_argument, NULL, O_CONSOLE_SOCKET },
		{ "no-pivot", no_argument, NULL, O_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, O_NO_NEW_KEYRING },
		{ "no-subreaper", no_argument, NULL, O_NO_SUBREAPER },
		{ "lsm-profile", required_argument, NULL, O_LSM_PROFILE },
		{ "lsm-mount-context", required_argument, NULL, O_LSM_MOUNT_CONTEXT },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option opts[CLI_CKPT_OPTIONS_N + ARRAY_SIZE(own) + 1] = { 0 };
	memcpy(opts, cli_ckpt_options, sizeof(struct option) * CLI_CKPT_OPTIONS_N);
	memcpy(opts + CLI_CKPT_OPTIONS_N, own, sizeof(own));
	struct cli_ckpt_opts co = { .image_path = "checkpoint", .status_fd = -1 };
	struct container_restore_opts o = { 0 };
	bool detach = false;
	int c;
	normalize(argc, argv);
	while ((c = getopt_long(argc, argv, "+b:dh", opts, NULL)) != -1) {
		int r = take(c, argv, &o, &detach, &co);
		if (r)
			return r == 2 ? 0 : r;
	}
	int r = cli_expect_args("restore", argc, argv, optind, 1, "container id");
	if (r)
		return r;
	o.id = argv[optind];
	o.image_path = co.image_path;
	o.work_path = co.work_path;
	o.tcp_established = co.tcp_established;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	struct container_created cr;
	struct ckpt_stats st;
	if (container_restore(&cctx, &o, &cr, &st, &err) < 0)
		return cli_fail(err);
	cli_ckpt_done(&co, &st);
	if (!detach)
		return wait_and_delete(&cctx, o.id, &cr);
	close(cr.pidfd);
	return 0;
}
