/* cell create [--bundle DIR] [--pid-file F] [--console-socket S]
 *             [--preserve-fds N] [--no-pivot] [--no-new-keyring] ID */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/create-opts.h"
#include "container/container.h"

CLI_COMMAND(create)
{
	struct container_create_opts o = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "+b:h", cli_create_options, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: cell create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] "
			       "[--preserve-fds N] [--no-pivot] ID\n");
			return 0;
		}
		int r = cli_create_option(c, optarg, argv, &o);
		if (r != 0)
			return r;
	}
	int r = cli_expect_args("create", argc, argv, optind, 1, "container id");
	if (r)
		return r;
	o.id = argv[optind];
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	struct container_created created;
	if (container_create(&cctx, &o, &created, &err) < 0)
		return cli_fail(err);
	close(created.pidfd);
	return 0;
}
