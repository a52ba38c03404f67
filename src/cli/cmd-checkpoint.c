/* cell checkpoint [--image-path DIR] [--work-path DIR] [--parent-path DIR]
 *                 [--leave-running] [--pre-dump] [--tcp-established] ID
 * cell checkpoint --inspect DIR [--json]
 *
 * runc's checkpoint (with runc's other CRIU options, cli/ckpt-opts.h): the
 * image goes to --image-path (default ./checkpoint); without
 * --leave-running the container is gone afterwards.  --inspect describes
 * an image instead. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/ckpt-opts.h"
#include "cli/cli.h"
#include "container/container.h"

enum { O_LEAVE_RUNNING = OPT_CK_LAST, O_PRE_DUMP, O_INSPECT, O_JSON };

static void usage(void)
{
	printf("usage: cell checkpoint [--image-path DIR] [--work-path DIR] [--parent-path DIR]\n"
	       "                       [--leave-running] [--pre-dump] [--tcp-established]\n"
	       "                       [--print-stats] ID\n"
	       "       cell checkpoint --inspect DIR [--json]\n"
	       "Accepted as runc does: --manage-cgroups-mode soft|full|strict, --empty-ns network,\n"
	       "--status-fd N, --file-locks (a tree holding a lock is refused).  Refused:\n"
	       "--ext-unix-sk, --shell-job, --auto-dedup, --lazy-pages, --page-server.\n");
}

static int inspect(const char *dir, bool json)
{
	struct cell_err *err = NULL;
	char *text = NULL;
	if (ckpt_inspect(dir, json, &text, &err) < 0)
		return cli_fail(err);
	fputs(text, stdout);
	free(text);
	return 0;
}

CLI_COMMAND(checkpoint)
{
	static const struct option own[] = {
		{ "leave-running", no_argument, NULL, O_LEAVE_RUNNING },
		{ "pre-dump", no_argument, NULL, O_PRE_DUMP },
		{ "inspect", required_argument, NULL, O_INSPECT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
	};
	struct option opts[CLI_CKPT_OPTIONS_N + ARRAY_SIZE(own) + 1] = { 0 };
	memcpy(opts, cli_ckpt_options, sizeof(struct option) * CLI_CKPT_OPTIONS_N);
	memcpy(opts + CLI_CKPT_OPTIONS_N, own, sizeof(own));
	struct cli_ckpt_opts co = { .image_path = "checkpoint", .status_fd = -1 };
	struct container_checkpoint_opts o = { 0 };
	const char *inspect_dir = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(); return 0;
		case O_LEAVE_RUNNING: o.leave_running = true; continue;
		case O_PRE_DUMP: o.pre_dump = true; continue;
		case O_INSPECT: inspect_dir = optarg; continue;
		case O_JSON: json = true; continue;
		}
		int r = cli_ckpt_option("checkpoint", c, optarg, argv, &co);
		if (r)
			return r < 0 ? cli_usage_error("checkpoint", "unknown option") : r;
	}
	if (inspect_dir) {
		int r = cli_expect_args("checkpoint", argc, argv, optind, 0, "");
		return r ? r : inspect(inspect_dir, json);
	}
	int r = cli_expect_args("checkpoint", argc, argv, optind, 1, "container id");
	if (r)
		return r;
	o.image_path = co.image_path;
	o.work_path = co.work_path;
	o.parent_path = co.parent_path;
	o.tcp_established = co.tcp_established;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	struct ckpt_stats st;
	if (container_checkpoint(&cctx, argv[optind], &o, &st, &err) < 0)
		return cli_fail(err);
	cli_ckpt_done(&co, &st);
	return 0;
}
