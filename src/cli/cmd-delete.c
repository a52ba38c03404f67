/* cell delete [--force|-f] ID */
#include <getopt.h>

#include "cli/cli.h"
#include "container/container.h"

CLI_COMMAND(delete)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { 0 } };
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return cli_usage_error("delete", "unknown option \"%s\"", argv[optind - 1]);
	}
	int r = cli_expect_args("delete", argc, argv, optind, 1, "container id");
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	if (container_delete(&cctx, argv[optind], force, &err) < 0)
		return cli_fail(err);
	return 0;
}
