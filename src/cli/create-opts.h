/* The options create and run share, with runc's names. */
#ifndef CELL_CLI_CREATE_OPTS_H
#define CELL_CLI_CREATE_OPTS_H

#include <getopt.h>

#include "container/container.h"

enum {
	OPT_BUNDLE = 'b',
	OPT_PID_FILE = 1000,
	OPT_CONSOLE_SOCKET,
	OPT_PRESERVE_FDS,
	OPT_NO_PIVOT,
	OPT_NO_NEW_KEYRING,
	OPT_CREATE_LAST,
};

/* Terminated by a zero entry; callers with more options copy it. */
extern const struct option cli_create_options[];
#define CLI_CREATE_OPTIONS_N 6

/* 0 when c was a create option and was taken, 1 (after a usage error) when
 * its value was bad, -1 when c is not a create option. */
int cli_create_option(int c, const char *arg, char **argv, struct container_create_opts *o);

#endif
