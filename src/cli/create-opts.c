#include "cli/create-opts.h"

#include <stdint.h>
#include <stdio.h>

#include "base/util.h"
#include "cli/cli.h"

const struct option cli_create_options[] = {
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
	{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
	{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
	{ "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
	{ 0 },
};

int cli_create_option(int c, const char *arg, char **argv, struct container_create_opts *o)
{
	int64_t n;
	switch (c) {
	case OPT_BUNDLE:
		o->bundle = arg;
		return 0;
	case OPT_PID_FILE:
		o->pid_file = arg;
		return 0;
	case OPT_CONSOLE_SOCKET:
		o->console_socket = arg;
		return 0;
	case OPT_PRESERVE_FDS:
		if (cell_parse_int64(arg, 0, 65536, &n) < 0)
			return cli_usage_error(argv[0], "--preserve-fds: \"%s\" is not a count of fds", arg);
		o->preserve_fds = (int)n;
		return 0;
	case OPT_NO_PIVOT:
		o->no_pivot = true;
		return 0;
	case OPT_NO_NEW_KEYRING:
		return 0; /* cell never makes a session keyring */
	case '?':
		return cli_usage_error(argv[0], "unknown option \"%s\"", argv[optind - 1]);
	case ':':
		return cli_usage_error(argv[0], "option \"%s\" needs a value", argv[optind - 1]);
	default:
		return -1;
	}
}
