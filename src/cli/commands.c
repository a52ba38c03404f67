#include "cli/commands.h"
#include <stddef.h>

const struct cli_command cli_commands[] = {
	{ "version", cmd_version, "print the version" },
	{ NULL, NULL, NULL },
};
