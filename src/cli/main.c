/* cell: the command line.  Global options follow runc's, so podman, conmon
 * and containerd's shim can drive cell as they drive runc. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cell-config.h"
#include "cli/cli.h"
#include "cli/commands.h"

static bool log_is_file;

int cli_fail(struct cell_err *err)
{
	const char *msg = err && err->msg ? err->msg : "unknown error";
	cell_log(CELL_LOG_ERROR, "%s", msg);
	/* With --log the sink is that file (podman and containerd read the
	 * error there); whoever ran us still deserves it on stderr. */
	if (log_is_file)
		fprintf(stderr, "cell: %s\n", msg);
	cell_err_free(err);
	return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	struct cell_err *err = NULL;
	cell_err(&err, 0, "%s%s%s (see 'cell %s --help')", cmd ? cmd : "", cmd ? ": " : "",
		 msg ? msg : "usage error", cmd ? cmd : "");
	free(msg);
	return cli_fail(err);
}

int cli_expect_args(const char *cmd, int argc, char **argv, int first, int n, const char *what)
{
	int have = argc - first;
	if (have < n)
		return cli_usage_error(cmd, "missing %s", what);
	if (have > n)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[first + n]);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: cell [--root DIR] [--log FILE] [--log-format text|json] [--debug] "
		     "COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(out, "  %-12s %s\n", c->name, c->summary);
}

CLI_COMMAND(version)
{
	printf("cell version %s\ncommit: %s\nspec: %s\n", CELL_VERSION, CELL_COMMIT, CELL_OCI_VERSION);
	return 0;
}

enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD_CGROUP, OPT_VERSION,
       OPT_CRIU, OPT_ROOTLESS };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		/* Accepted for runc compatibility; they change nothing in cell. */
		{ "criu", required_argument, NULL, OPT_CRIU },
		{ "rootless", required_argument, NULL, OPT_ROOTLESS },
		{ 0 },
	};
	struct cli_ctx ctx = { .root = "/run/cell", .argv0 = argv[0] };
	const char *log_path = NULL;
	enum cell_log_format format = CELL_LOG_TEXT;
	int c;

	/* A hook or console peer that goes away must give us EPIPE, not kill
	 * cell halfway through; every child resets this before its execve. */
	signal(SIGPIPE, SIG_IGN);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			ctx.root = optarg;
			break;
		case OPT_LOG:
			log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "json") == 0)
				format = CELL_LOG_JSON;
			else if (strcmp(optarg, "text") == 0)
				format = CELL_LOG_TEXT;
			else
				return cli_usage_error(NULL, "--log-format: unknown format \"%s\" (text or json)", optarg);
			break;
		case OPT_DEBUG:
			ctx.debug = true;
			break;
		case OPT_SYSTEMD_CGROUP:
			ctx.systemd_cgroup = true;
			break;
		case OPT_CRIU:
		case OPT_ROOTLESS:
			break;
		case 'v':
			return cmd_version(&ctx, argc, argv);
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "cell: unknown global option \"%s\"\n", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}

	if (log_path) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "cell: --log %s: %s\n", log_path, strerror(errno));
			return 1;
		}
		log_is_file = true;
		cell_log_setup(fd, format, ctx.debug ? CELL_LOG_DEBUG : CELL_LOG_INFO);
	} else {
		cell_log_setup(-1, format, ctx.debug ? CELL_LOG_DEBUG : CELL_LOG_WARN);
	}

	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	const char *name = argv[optind];
	for (const struct cli_command *cmd = cli_commands; cmd->name; cmd++) {
		if (strcmp(cmd->name, name) != 0)
			continue;
		if (ctx.systemd_cgroup && strcmp(name, "version") != 0 && strcmp(name, "features") != 0) {
			struct cell_err *err = NULL;
			cell_err(&err, 0, "--systemd-cgroup is not supported: cell manages cgroupfs "
					  "directly (drop the flag, or set podman's cgroup_manager to cgroupfs)");
			return cli_fail(err);
		}
		/* Each command parses its own options, with argv[0] its name. */
		int first = optind;
		optind = 0;
		return cmd->run(&ctx, argc - first, argv + first);
	}
	fprintf(stderr, "cell: unknown command \"%s\"\n", name);
	usage(stderr);
	return 1;
}
