/* cell events [--stats] [--interval DURATION] ID
 *
 * runc's events: one JSON object per line, {"type":"stats"|"oom","id":ID,
 * "data":...}.  With --stats, the container's stats once.  Otherwise stats
 * every interval (default 5s) and an "oom" line the moment the kernel
 * reports an OOM in the container's cgroup, until the container's init is
 * gone (runc stops when its cgroup is; an exited container's cgroup stays
 * until delete, so cell stops at the exit, after reporting any OOM that
 * caused it). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "cli/cli.h"
#include "container/container.h"

enum { OPT_STATS = 1, OPT_INTERVAL };

static void emit(const char *type, const char *id, const char *data)
{
	_cleanup_free_ char *line = container_event_json(type, id, data);
	printf("%s\n", line);
	fflush(stdout);
}

/* One stats line; prev (the last sample) gives cpu.percent over the interval. */
static int emit_stats(struct container_ctx *cctx, const char *id, struct container_stats *prev,
		      bool running_only, struct cell_err **err)
{
	struct container_stats s;
	int r = container_stats(cctx, id, &s, err);
	if (r < 0)
		return r;
	if (running_only && s.status == CONTAINER_STOPPED) {
		container_stats_clear(&s);
		return cell_err(err, 0, "container \"%s\" is not running", id);
	}
	_cleanup_free_ char *data = container_stats_json(
		&s, container_stats_cpu_percent(&s, prev && prev->id ? prev : NULL));
	emit("stats", id, data);
	if (prev) {
		container_stats_clear(prev);
		*prev = s;
	} else {
		container_stats_clear(&s);
	}
	return 0;
}

static int watch(struct container_ctx *cctx, const char *id, int64_t interval_ms,
		 struct cell_err **err)
{
	struct container_watch *w = NULL;
	int r = container_watch_open(cctx, id, &w, err);
	if (r < 0)
		return r;
	struct container_stats prev = { 0 };
	uint64_t next = cell_now_ns() + (uint64_t)interval_ms * 1000000ULL;
	for (;;) {
		uint64_t now = cell_now_ns();
		if (now >= next) {
			struct cell_err *e = NULL;
			/* A missed sample is not the end (runc logs it and goes on). */
			if (emit_stats(cctx, id, &prev, false, &e) < 0)
				cell_err_free(e);
			next += (uint64_t)interval_ms * 1000000ULL;
			if (next <= now)
				next = now + (uint64_t)interval_ms * 1000000ULL;
			continue;
		}
		enum container_watch_event ev;
		uint64_t n;
		r = container_watch_wait(w, (int)((next - now + 999999) / 1000000), &ev, &n, err);
		if (r < 0 || ev == CONTAINER_WATCH_EXIT)
			break;
		for (uint64_t i = 0; ev == CONTAINER_WATCH_OOM && i < n && i < 1000; i++)
			emit("oom", id, NULL);
	}
	container_stats_clear(&prev);
	container_watch_free(w);
	return r;
}

CLI_COMMAND(events)
{
	static const struct option opts[] = { { "stats", no_argument, NULL, OPT_STATS },
					      { "interval", required_argument, NULL, OPT_INTERVAL },
					      { 0 } };
	bool stats = false;
	int64_t interval_ms = 5000;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == OPT_STATS)
			stats = true;
		else if (c == OPT_INTERVAL && cli_parse_duration_ms(optarg, &interval_ms) < 0)
			return cli_usage_error("events", "--interval %s: not a duration greater "
					       "than 0 (such as 5s or 250ms)", optarg);
		else if (c != OPT_INTERVAL)
			return cli_usage_error("events", "unknown option or missing value \"%s\"",
					       argv[optind - 1]);
	}
	int r = cli_expect_args("events", argc, argv, optind, 1, "container id");
	if (r)
		return r;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	const char *id = argv[optind];
	r = stats ? emit_stats(&cctx, id, NULL, true, &err) : watch(&cctx, id, interval_ms, &err);
	return r < 0 ? cli_fail(err) : 0;
}
