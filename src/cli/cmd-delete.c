/* cell delete [--force|-f] ID */
#include <errno.h>
#include <getopt.h>

#include "cli/cli.h"
#include "cli/run-vm.h"
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
	if (cli_is_vm_root(ctx, argv[optind])) {
		cell_err(&err, 0, "container \"%s\" does not exist", argv[optind]);
		r = -ENOENT;
	} else {
		r = container_delete(&cctx, argv[optind], force, &err);
	}
	if (r == -ENOENT) { /* a VM with that id? */
		int v = cli_vm_delete(ctx, argv[optind], force);
		if (v != -ENOENT) {
			cell_err_free(err);
			return v;
		}
	}
	/* As runc: forcing the delete of what does not exist succeeds (podman
	 * deletes a container after a checkpoint has done so already). */
	if (r == -ENOENT && force) {
		cell_err_free(err);
		return 0;
	}
	return r < 0 ? cli_fail(err) : 0;
}
