/* cell spec [--bundle|-b DIR] [--rootless]: write a starter config.json,
 * as `runc spec` does, and never over an existing one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/commands.h"
#include "oci/spec.h"

static void spec_usage(FILE *out)
{
	fprintf(out, "usage: cell spec [--bundle|-b DIR] [--rootless]\n\n"
		     "Write a default config.json into DIR (default: the current directory).\n"
		     "  --rootless   for a container started by an unprivileged user: a user\n"
		     "               namespace mapping the caller, no network namespace\n");
}

static int write_spec(const char *bundle, const char *text, struct cell_err **err)
{
	_cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cell_err_sys(err, "bundle %s", bundle);
	/* O_EXCL: refuse an existing file (or a symlink planted in its place). */
	_cleanup_close_ int fd =
		openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0 && errno == EEXIST)
		return cell_err(err, 0, "File config.json exists. Remove it first");
	if (fd < 0)
		return cell_err_sys(err, "create %s/config.json", bundle);
	int r = cell_write_all(fd, text, strlen(text));
	if (r < 0) {
		unlinkat(dfd, "config.json", 0);
		return cell_err(err, -r, "write %s/config.json", bundle);
	}
	return 0;
}

CLI_COMMAND(spec)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *bundle = ".";
	bool rootless = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'r':
			rootless = true;
			break;
		case 'h':
			spec_usage(stdout);
			return 0;
		default:
			return cli_usage_error("spec", "unknown option \"%s\"", argv[optind - 1]);
		}
	}
	int r = cli_expect_args("spec", argc, argv, optind, 0, "");
	if (r)
		return r;
	struct cell_err *err = NULL;
	_cleanup_free_ char *text = oci_spec_default_json(NULL, rootless);
	if (write_spec(bundle, text, &err) < 0)
		return cli_fail(err);
	return 0;
}
