/* The options checkpoint and restore share, with runc's names.  Those are
 * runc's CRIU options; cell's engine honours some, and refuses the others
 * by name rather than ignoring what the caller asked for:
 *
 *   --image-path --work-path --parent-path --tcp-established    honoured
 *   --manage-cgroups-mode soft|full|strict   what cell does anyway: the
 *        container's cgroup is its own and comes back with the config's limits
 *   --empty-ns network    what cell does anyway: namespaces are made from
 *        the config, none is restored from the image
 *   --status-fd N         a NUL byte is written there once the work is done
 *   --file-locks          (containerd always passes it) accepted: locks are
 *        not checkpointed, and a tree holding one is refused at dump time
 *        (after a few tries, as most locks are held for a moment), so no
 *        image ever lacks a lock its tree held
 *   --ext-unix-sk --shell-job --auto-dedup --lazy-pages --page-server
 *   --manage-cgroups-mode ignore --empty-ns other    refused
 *
 * And one of cell's own: --print-stats prints the engine's figures (JSON). */
#ifndef CELL_CLI_CKPT_OPTS_H
#define CELL_CLI_CKPT_OPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "ckpt/ckpt.h"

enum {
	OPT_CK_IMAGE_PATH = 2000,
	OPT_CK_WORK_PATH,
	OPT_CK_PARENT_PATH,
	OPT_CK_TCP_ESTABLISHED,
	OPT_CK_MANAGE_CGROUPS,
	OPT_CK_EMPTY_NS,
	OPT_CK_STATUS_FD,
	OPT_CK_PRINT_STATS,
	OPT_CK_FILE_LOCKS,
	OPT_CK_EXT_UNIX_SK,
	OPT_CK_SHELL_JOB,
	OPT_CK_AUTO_DEDUP,
	OPT_CK_LAZY_PAGES,
	OPT_CK_PAGE_SERVER,
	OPT_CK_LAST,
};

#define CLI_CKPT_OPTIONS_N 14
extern const struct option cli_ckpt_options[];

struct cli_ckpt_opts {
	const char *image_path; /* default: ./checkpoint, as runc */
	const char *work_path;
	const char *parent_path;
	bool tcp_established;
	int status_fd; /* -1: none */
	bool print_stats;
};

/* 0 when c was taken, 1 after a usage error (printed), -1 when c is not
 * one of these options. */
int cli_ckpt_option(const char *cmd, int c, const char *arg, char **argv,
		    struct cli_ckpt_opts *o);

/* After the work: the NUL on --status-fd, the figures with --print-stats. */
void cli_ckpt_done(const struct cli_ckpt_opts *o, const struct ckpt_stats *st);

#endif
