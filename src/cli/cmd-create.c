/* cell create [--bundle DIR] [--pid-file F] [--console-socket S]
 *             [--preserve-fds N] [--no-pivot] [--no-new-keyring] ID */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/create-opts.h"
#include "cli/run-vm.h"
#include "container/container.h"

/* A bundle that asks for a light guest is not silently made a container:
 * VMs are run with `cell run` (cli/run-vm.h). */
static int refuse_vm(const struct container_create_opts *o, struct cell_err **err)
{
	if (o->config_path)
		return 0;
	_cleanup_free_ char *path = xasprintf("%s/config.json", o->bundle ? o->bundle : ".");
	enum run_isolation iso;
	int r = run_isolation_of_file(path, &iso, err);
	if (r < 0 || iso != RUN_ISOLATION_VM)
		return r;
	return cell_err(err, 0,
			"%s: annotations.\"%s\": \"vm\": create/start makes containers "
			"only; run a light guest with `cell run`",
			path, RUN_ISOLATION_ANNOTATION);
}

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
	struct cell_err *err = NULL;
	if (refuse_vm(&o, &err) < 0)
		return cli_fail(err);
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct container_created created;
	if (container_create(&cctx, &o, &created, &err) < 0)
		return cli_fail(err);
	close(created.pidfd);
	return 0;
}
