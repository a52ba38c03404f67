/* cell start ID */
#include "cli/cli.h"
#include "container/container.h"

CLI_COMMAND(start)
{
	int r = cli_expect_args("start", argc, argv, 1, 1, "container id");
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	if (container_start(&cctx, argv[1], &err) < 0)
		return cli_fail(err);
	return 0;
}
