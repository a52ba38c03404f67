/* cell update [-r FILE|-] [resource flags] ID
 *
 * runc's update: new limits for a live container, from a linux.resources
 * JSON file (-r; "-" reads stdin) and/or the flags `run` takes (--memory,
 * --cpus, --pids-limit, ...; runc's --cpu-share spelling too).  Flags win
 * over the file.  With --memory (not -r alone) a limit below what the
 * container uses now is refused rather than left to reclaim. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "cli/run-flags.h"
#include "container/container.h"
#include "oci/spec.h"

enum { OPT_RESOURCES = 'r' };

struct update_args {
	struct run_flags flags;
	const char *file;
	const char *id;
};

static int parse(int argc, char **argv, struct update_args *a)
{
	size_t nr = run_options_count(run_resource_options);
	struct option opts[64];
	if (nr + 2 > ARRAY_SIZE(opts))
		return cli_usage_error("update", "too many options");
	memcpy(opts, run_resource_options, nr * sizeof(struct option));
	opts[nr] = (struct option){ "resources", required_argument, NULL, OPT_RESOURCES };
	memset(&opts[nr + 1], 0, sizeof(struct option));
	int c;
	while ((c = getopt_long(argc, argv, "+r:m:c:", opts, NULL)) != -1) {
		if (c == OPT_RESOURCES) {
			a->file = optarg;
			continue;
		}
		struct cell_err *err = NULL;
		int r = c == '?' ? -ENOENT : run_resource_option(&a->flags, c, optarg, &err);
		if (r == -ENOENT)
			return cli_usage_error("update", "unknown option or missing value \"%s\"",
					       argv[optind - 1]);
		if (r < 0)
			return cli_fail(err);
	}
	int r = cli_expect_args("update", argc, argv, optind, 1, "container id");
	if (r)
		return r;
	a->id = argv[optind];
	if (!a->file && !a->flags.resources)
		return cli_usage_error("update", "nothing to update: give resource flags or "
				       "-r FILE");
	return 0;
}

static int read_input(const char *file, char **ret, size_t *ret_len, struct cell_err **err)
{
	if (strcmp(file, "-") != 0)
		return cell_read_file(file, OCI_SPEC_MAX_BYTES, ret, ret_len, err);
	return cell_read_file("/dev/stdin", OCI_SPEC_MAX_BYTES, ret, ret_len, err);
}

/* The file's object with the flags merged over it (run_flags_apply merges
 * into linux.resources of what it is given). */
static char *merged(struct update_args *a, const char *text, size_t len, struct cell_err **err)
{
	json_object *cfg = json_object_new_object(), *res = NULL, *lo;
	if (text) {
		json_tokener *tok = json_tokener_new();
		res = json_tokener_parse_ex(tok, text, (int)len);
		json_tokener_free(tok);
		json_object_object_add(cfg, "linux", lo = json_object_new_object());
		json_object_object_add(lo, "resources", res);
	}
	char *out = NULL;
	if (run_flags_apply(&a->flags, cfg, err) == 0 &&
	    json_object_object_get_ex(cfg, "linux", &lo) &&
	    json_object_object_get_ex(lo, "resources", &res))
		out = xstrdup(json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
	json_object_put(cfg);
	return out;
}

static int update(struct cli_ctx *ctx, struct update_args *a, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL, *json = NULL;
	size_t len = 0;
	struct container_update_opts o = { .name = a->file ? a->file : "flags",
					   .check_usage = a->flags.resources != NULL };
	if (a->file) {
		int r = read_input(a->file, &text, &len, err);
		if (r < 0)
			return cell_err_wrap(err, "-r");
		/* The file on its own first, so its errors name it and its paths. */
		struct oci_resources *res = NULL;
		r = oci_resources_parse(text, len, a->file, &res, err);
		oci_resources_free(res);
		if (r < 0)
			return r;
	}
	if (a->flags.resources) {
		if (!(json = merged(a, text, len, err)))
			return -EINVAL;
		o.resources_json = json;
		o.len = strlen(json);
	} else {
		o.resources_json = text;
		o.len = len;
	}
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	return container_update(&cctx, a->id, &o, err);
}

CLI_COMMAND(update)
{
	struct update_args a = { 0 };
	int r = parse(argc, argv, &a);
	if (r == 0) {
		struct cell_err *err = NULL;
		if (update(ctx, &a, &err) < 0)
			r = cli_fail(err);
	}
	run_flags_clear(&a.flags);
	return r;
}
