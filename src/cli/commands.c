#include "cli/commands.h"
#include <stddef.h>

const struct cli_command cli_commands[] = {
	{ "create", cmd_create, "create a container from a bundle, waiting for start" },
	{ "start", cmd_start, "start a created container" },
	{ "run", cmd_run, "create and start a container, and wait for it" },
	{ "state", cmd_state, "print the OCI state of a container" },
	{ "kill", cmd_kill, "send a signal to a container's init (or all its processes)" },
	{ "delete", cmd_delete, "delete a stopped container (--force: any)" },
	{ "list", cmd_list, "list containers" },
	{ "ps", cmd_ps, "list the processes of a container" },
	{ "exec", cmd_exec, "run a process in a running container" },
	{ "pause", cmd_pause, "freeze every process of a container" },
	{ "resume", cmd_resume, "thaw a paused container" },
	{ "checkpoint", cmd_checkpoint, "checkpoint a running container (--inspect: describe an image)" },
	{ "restore", cmd_restore, "restore a container from a checkpoint" },
	{ "update", cmd_update, "change the resource limits of a running container" },
	{ "stats", cmd_stats, "show resource usage of containers (live, or --no-stream)" },
	{ "events", cmd_events, "stream a container's OOM events and stats (JSON)" },
	{ "network", cmd_network, "manage container networks (create, ls, inspect, rm)" },
	{ "features", cmd_features, "print what this runtime supports (JSON)" },
	{ "version", cmd_version, "print the version" },
	{ "spec", cmd_spec, "write a default config.json into a bundle" },
	{ "vm", cmd_vm, "run and manage microVMs (run, list, stop, kill, stats)" },
	{ NULL, NULL, NULL },
};
