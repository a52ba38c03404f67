/* cell kill [--all|-a] ID [SIGNAL]  (default SIGTERM) */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/run-vm.h"
#include "container/container.h"

CLI_COMMAND(kill)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { 0 } };
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else
			return cli_usage_error("kill", "unknown option \"%s\"", argv[optind - 1]);
	}
	if (argc - optind < 1)
		return cli_usage_error("kill", "missing container id");
	if (argc - optind > 2)
		return cli_usage_error("kill", "unexpected argument \"%s\"", argv[optind + 2]);
	int sig = SIGTERM;
	if (argc - optind == 2 && (sig = cli_parse_signal(argv[optind + 1])) < 0)
		return cli_usage_error("kill", "unknown signal \"%s\"", argv[optind + 1]);
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	int r = container_kill(&cctx, argv[optind], sig, all, &err);
	if (r == -ENOENT) { /* a VM with that id? */
		int v = cli_vm_kill(ctx, argv[optind], sig);
		if (v != -ENOENT) {
			cell_err_free(err);
			return v;
		}
	}
	if (r < 0)
		return cli_fail(err);
	return 0;
}
