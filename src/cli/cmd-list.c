/* cell list [--format table|json] [--quiet|-q] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "container/container.h"

static void print_table(const struct container_info *c, size_t n)
{
	printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t i = 0; i < n; i++)
		printf("%-20s %-8d %-10s %-40s %-30s %s\n", c[i].id, (int)c[i].pid,
		       container_status_name(c[i].status), c[i].bundle ? c[i].bundle : "",
		       c[i].created ? c[i].created : "", c[i].owner ? c[i].owner : "");
}

static void print_json(const struct container_info *c, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		char *j = container_info_json(&c[i]);
		printf("%s%s", i ? "," : "", j);
		free(j);
	}
	printf("]\n");
}

CLI_COMMAND(list)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ 0 },
	};
	const char *format = "table";
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "f:q", opts, NULL)) != -1) {
		if (c == 'f')
			format = optarg;
		else if (c == 'q')
			quiet = true;
		else
			return cli_usage_error("list", "unknown option \"%s\"", argv[optind - 1]);
	}
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("list", "--format: \"%s\" is not table or json", format);
	int r = cli_expect_args("list", argc, argv, optind, 0, "");
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	struct container_info *infos = NULL;
	size_t n = 0;
	if (container_list(&cctx, &infos, &n, &err) < 0)
		return cli_fail(err);
	if (quiet)
		for (size_t i = 0; i < n; i++)
			printf("%s\n", infos[i].id);
	else if (strcmp(format, "json") == 0)
		print_json(infos, n);
	else
		print_table(infos, n);
	for (size_t i = 0; i < n; i++)
		container_info_clear(&infos[i]);
	free(infos);
	return 0;
}
