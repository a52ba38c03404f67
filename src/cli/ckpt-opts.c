#include "cli/ckpt-opts.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"

const struct option cli_ckpt_options[] = {
	{ "image-path", required_argument, NULL, OPT_CK_IMAGE_PATH },
	{ "work-path", required_argument, NULL, OPT_CK_WORK_PATH },
	{ "parent-path", required_argument, NULL, OPT_CK_PARENT_PATH },
	{ "tcp-established", no_argument, NULL, OPT_CK_TCP_ESTABLISHED },
	{ "manage-cgroups-mode", required_argument, NULL, OPT_CK_MANAGE_CGROUPS },
	{ "empty-ns", required_argument, NULL, OPT_CK_EMPTY_NS },
	{ "status-fd", required_argument, NULL, OPT_CK_STATUS_FD },
	{ "print-stats", no_argument, NULL, OPT_CK_PRINT_STATS },
	{ "file-locks", no_argument, NULL, OPT_CK_FILE_LOCKS },
	{ "ext-unix-sk", no_argument, NULL, OPT_CK_EXT_UNIX_SK },
	{ "shell-job", no_argument, NULL, OPT_CK_SHELL_JOB },
	{ "auto-dedup", no_argument, NULL, OPT_CK_AUTO_DEDUP },
	{ "lazy-pages", no_argument, NULL, OPT_CK_LAZY_PAGES },
	{ "page-server", required_argument, NULL, OPT_CK_PAGE_SERVER },
	{ 0 },
};

/* Options runc passes on to CRIU that cell's engine has no answer for. */
static const char *refused(int c)
{
	switch (c) {
	case OPT_CK_EXT_UNIX_SK:
		return "--ext-unix-sk: unix sockets connected outside the container are not "
		       "supported";
	case OPT_CK_SHELL_JOB:
		return "--shell-job: a process tree with a terminal from outside is not supported";
	case OPT_CK_AUTO_DEDUP:
		return "--auto-dedup: not supported (pages of a parent image are never copied "
		       "twice, and never removed)";
	case OPT_CK_LAZY_PAGES:
		return "--lazy-pages: post-copy restore is not supported by cell's command line";
	case OPT_CK_PAGE_SERVER:
		return "--page-server: not supported (cell writes images to a directory)";
	default:
		return NULL;
	}
}

int cli_ckpt_option(const char *cmd, int c, const char *arg, char **argv,
		    struct cli_ckpt_opts *o)
{
	const char *no = refused(c);
	int64_t n;
	if (no)
		return cli_usage_error(cmd, "%s", no);
	switch (c) {
	case OPT_CK_IMAGE_PATH: o->image_path = arg; return 0;
	case OPT_CK_WORK_PATH: o->work_path = arg; return 0;
	case OPT_CK_PARENT_PATH: o->parent_path = arg; return 0;
	case OPT_CK_TCP_ESTABLISHED: o->tcp_established = true; return 0;
	case OPT_CK_FILE_LOCKS: return 0; /* see ckpt-opts.h */
	case OPT_CK_PRINT_STATS: o->print_stats = true; return 0;
	case OPT_CK_MANAGE_CGROUPS:
		if (!strcmp(arg, "soft") || !strcmp(arg, "full") || !strcmp(arg, "strict"))
			return 0;
		if (!strcmp(arg, "ignore"))
			return cli_usage_error(cmd, "--manage-cgroups-mode ignore: not supported (the "
					       "container always gets its cgroup and limits back)");
		return cli_usage_error(cmd, "--manage-cgroups-mode: \"%s\" is none of soft, full, "
				       "strict, ignore", arg);
	case OPT_CK_EMPTY_NS:
		if (!strcmp(arg, "network"))
			return 0;
		return cli_usage_error(cmd, "--empty-ns %s: only \"network\" is supported", arg);
	case OPT_CK_STATUS_FD:
		if (cell_parse_int64(arg, 0, 1 << 20, &n) < 0 || fcntl(n, F_GETFD) < 0)
			return cli_usage_error(cmd, "--status-fd: \"%s\" is not an open fd", arg);
		o->status_fd = (int)n;
		return 0;
	case '?':
		return cli_usage_error(cmd, "unknown option \"%s\"", argv[optind - 1]);
	case ':':
		return cli_usage_error(cmd, "option \"%s\" needs a value", argv[optind - 1]);
	default:
		return -1;
	}
}

void cli_ckpt_done(const struct cli_ckpt_opts *o, const struct ckpt_stats *st)
{
	if (o->status_fd >= 0) {
		(void)!write(o->status_fd, "", 1);
		close(o->status_fd);
	}
	if (!o->print_stats)
		return;
	printf("{\"frozen_us\":%" PRIu64 ",\"total_us\":%" PRIu64 ",\"pages_written\":%" PRIu64
	       ",\"pages_skipped\":%" PRIu64 ",\"bytes_written\":%" PRIu64 ",\"tasks\":%u,"
	       "\"threads\":%u,\"files\":%u,\"dirty_tracking\":%s,\"precopy_pages\":%" PRIu64
	       ",\"precopy_us\":%" PRIu64 "}\n",
	       st->frozen_ns / 1000, st->total_ns / 1000, st->pages_written, st->pages_skipped,
	       st->bytes_written, st->tasks, st->threads, st->files,
	       st->dirty_tracking ? "true" : "false", st->precopy_pages, st->precopy_ns / 1000);
	fflush(stdout);
}
