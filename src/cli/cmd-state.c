/* cell state ID: the OCI state as JSON. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "container/container.h"

CLI_COMMAND(state)
{
	int r = cli_expect_args("state", argc, argv, 1, 1, "container id");
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	struct container_info info;
	if (container_info(&cctx, argv[1], &info, &err) < 0)
		return cli_fail(err);
	char *json = container_info_json(&info);
	printf("%s\n", json);
	free(json);
	container_info_clear(&info);
	return 0;
}
