/* cell state ID: the OCI state as JSON (of a container, else of a VM
 * with that id: cli/run-vm.h). */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/run-vm.h"
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
	r = cli_is_vm_root(ctx, argv[1]) ? -ENOENT : container_info(&cctx, argv[1], &info, &err);
	if (r == -ENOENT) { /* a VM with that id? */
		int v = cli_vm_state(ctx, argv[1]);
		if (v != -ENOENT) {
			cell_err_free(err);
			return v;
		}
		if (!err)
			cell_err(&err, 0, "container \"%s\" does not exist", argv[1]);
	}
	if (r < 0)
		return cli_fail(err);
	char *json = container_info_json(&info);
	printf("%s\n", json);
	free(json);
	container_info_clear(&info);
	return 0;
}
