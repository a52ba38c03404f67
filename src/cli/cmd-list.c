/* cell list [--format table|json] [--quiet|-q]: containers, then the
 * microVMs under the same root (`run --isolation vm`, `vm run`), whose
 * bundle is "" unless they came from one. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/run-vm.h"
#include "container/container.h"

static void print_table(const struct container_info *c, size_t n, const struct vm_info *v,
			size_t nv)
{
	printf("%-20s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
	for (size_t i = 0; i < n; i++)
		printf("%-20s %-8d %-10s %-40s %-30s %s\n", c[i].id, (int)c[i].pid,
		       container_status_name(c[i].status), c[i].bundle ? c[i].bundle : "",
		       c[i].created ? c[i].created : "", c[i].owner ? c[i].owner : "");
	for (size_t i = 0; i < nv; i++)
		printf("%-20s %-8d %-10s %-40s %-30s %s\n", v[i].id,
		       strcmp(v[i].status, "stopped") == 0 ? 0 : (int)v[i].pid, v[i].status,
		       v[i].bundle, v[i].created, "(vm)");
}

static void print_json(const struct container_info *c, size_t n, const struct vm_info *v,
		       size_t nv)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		char *j = container_info_json(&c[i]);
		printf("%s%s", i ? "," : "", j);
		free(j);
	}
	for (size_t i = 0; i < nv; i++) {
		json_object *o = cli_vm_state_object(&v[i]);
		printf("%s%s", i || n ? "," : "",
		       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	printf("]\n");
}

/* Drop the VMs' own directory (ROOT/vm), which is no container. */
static void drop_vm_root(const struct cli_ctx *ctx, struct container_info *c, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		if (!cli_is_vm_root(ctx, c[i].id))
			continue;
		container_info_clear(&c[i]);
		memmove(&c[i], &c[i + 1], (*n - i - 1) * sizeof(*c));
		(*n)--;
		return;
	}
}

CLI_COMMAND(list)
{
	struct cli_list_opts o;
	int r = cli_parse_list_opts("list", argc, argv, &o);
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	struct container_info *infos = NULL;
	size_t n = 0;
	if (container_list(&cctx, &infos, &n, &err) < 0)
		return cli_fail(err);
	drop_vm_root(ctx, infos, &n);
	struct vm_info *vms = NULL;
	size_t nv = 0;
	if (vm_list(ctx->root, &vms, &nv, &err) < 0) {
		cli_fail(err); /* the containers still get listed */
		err = NULL;
	}
	if (o.quiet) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", infos[i].id);
		for (size_t i = 0; i < nv; i++)
			printf("%s\n", vms[i].id);
	} else if (o.json) {
		print_json(infos, n, vms, nv);
	} else {
		print_table(infos, n, vms, nv);
	}
	vm_info_free(vms, nv);
	for (size_t i = 0; i < n; i++)
		container_info_clear(&infos[i]);
	free(infos);
	return 0;
}
