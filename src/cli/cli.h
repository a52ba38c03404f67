/* The CLI: parses arguments, calls the library, and is the only code that
 * prints errors and picks exit codes (runc's: 1 for an error, the
 * container process's status for run and exec). */
#ifndef CELL_CLI_H
#define CELL_CLI_H

#include <stdbool.h>
#include <stdint.h>

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

/* The options of a listing verb (list, network ls): --format table|json and
 * --quiet|-q, no positional argument.  Returns 0, or a usage error's 1. */
struct cli_list_opts {
	bool json;
	bool quiet;
};
int cli_parse_list_opts(const char *cmd, int argc, char **argv, struct cli_list_opts *ret);

/* "KILL", "SIGKILL", "kill", "9" -> 9; -1 when unknown. */
int cli_parse_signal(const char *s);
/* The library's view of the global options. */
struct container_ctx;
void cli_container_ctx(const struct cli_ctx *ctx, struct container_ctx *ret);
/* A duration as runc's flags take it ("5s", "250ms", "1m", "1.5s"; a bare
 * number is seconds) to milliseconds; -EINVAL when it is none, or not > 0. */
int cli_parse_duration_ms(const char *s, int64_t *ret_ms);
/* Forward signals sent to cell to the process behind pidfd until it exits;
 * returns its wait status.  pid must be cell's child. */
int cli_wait_forwarding(int pid, int pidfd);

#define CLI_COMMAND(name) int cmd_##name(struct cli_ctx *ctx, int argc, char **argv)

CLI_COMMAND(version);
CLI_COMMAND(create);
CLI_COMMAND(start);
CLI_COMMAND(run);
CLI_COMMAND(state);
CLI_COMMAND(kill);
CLI_COMMAND(delete);
CLI_COMMAND(list);
CLI_COMMAND(ps);
CLI_COMMAND(exec);
CLI_COMMAND(pause);
CLI_COMMAND(resume);
CLI_COMMAND(features);
CLI_COMMAND(network);
CLI_COMMAND(update);
CLI_COMMAND(stats);
CLI_COMMAND(events);
CLI_COMMAND(checkpoint);
CLI_COMMAND(restore);

#endif
