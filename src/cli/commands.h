/* The verb table: explicit, so `grep cmd_` finds every verb. */
#ifndef CELL_CLI_COMMANDS_H
#define CELL_CLI_COMMANDS_H

#include "cli/cli.h"

extern const struct cli_command cli_commands[];

CLI_COMMAND(spec);
CLI_COMMAND(vm);

#endif
