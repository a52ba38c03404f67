/* The CLI: parses arguments, calls the library, and is the only code that
 * prints errors and picks exit codes (runc's: 1 for an error, the
 * container process's status for run and exec). */
#ifndef CELL_CLI_H
#define CELL_CLI_H

#include <stdbool.h>

#include "base/err.h"

struct cli_ctx {
	const char *root;   /* --root, default /run/cell */
	bool debug;
	bool systemd_cgroup;
	const char *argv0;
};

struct cli_command {
	const char *name;
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	const char *summary;
};

/* Print err (to stderr and the --log sink) and return the exit status 1. */
int cli_fail(struct cell_err *err);
/* Print a usage error for command cmd and return 1. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Expect exactly n positional arguments from argv[first]; otherwise print a
 * usage error naming what is missing or extra, and return 1. */
int cli_expect_args(const char *cmd, int argc, char **argv, int first, int n, const char *what);

#define CLI_COMMAND(name) int cmd_##name(struct cli_ctx *ctx, int argc, char **argv)

CLI_COMMAND(version);

#endif
