/* cell ps [--format table|json] ID [PS_ARGS...]
 * json: the container's host pids; table: ps(1)'s output (default -ef)
 * filtered to them, as runc does. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "container/container.h"

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* Run ps with args and print its header and the lines of our pids. */
static int ps_table(char **ps_args, const pid_t *pids, size_t n)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -errno;
	pid_t child = fork();
	if (child == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execvp("ps", ps_args);
		_exit(127);
	}
	close(fds[1]);
	FILE *f = fdopen(fds[0], "r");
	char *line = NULL;
	size_t cap = 0;
	int pid_col = -1, r = 0;
	for (bool header = true; f && getline(&line, &cap, f) > 0; header = false) {
		char *copy = xstrdup(line), *save = NULL;
		int col = 0;
		long pid = -1;
		for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save), col++) {
			if (header && strcmp(w, "PID") == 0)
				pid_col = col;
			if (!header && col == pid_col)
				pid = strtol(w, NULL, 10);
		}
		free(copy);
		if (header && pid_col < 0) {
			r = -EINVAL;
			break;
		}
		if (header || has_pid(pids, n, pid))
			fputs(line, stdout);
	}
	free(line);
	if (f)
		fclose(f);
	int status;
	waitpid(child, &status, 0);
	return r;
}

CLI_COMMAND(ps)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { 0 } };
	const char *format = "table";
	int c;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c == 'f')
			format = optarg;
		else
			return cli_usage_error("ps", "unknown option \"%s\"", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error("ps", "missing container id");
	if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
		return cli_usage_error("ps", "--format: \"%s\" is not table or json", format);
	const char *id = argv[optind];
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	if (container_pids(&cctx, id, &pids, &n, &err) < 0)
		return cli_fail(err);
	if (strcmp(format, "json") == 0) {
		printf("[");
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? "," : "", (int)pids[i]);
		printf("]\n");
		free(pids);
		return 0;
	}
	char **ps_args = NULL;
	cell_strv_push(&ps_args, "ps");
	if (optind + 1 >= argc)
		cell_strv_push(&ps_args, "-ef");
	for (int i = optind + 1; i < argc; i++)
		cell_strv_push(&ps_args, argv[i]);
	fflush(stdout);
	int r = ps_table(ps_args, pids, n);
	cell_strv_free(ps_args);
	free(pids);
	if (r < 0) {
		cell_err(&err, 0, "ps: the output of ps has no PID column");
		return cli_fail(err);
	}
	return 0;
}
