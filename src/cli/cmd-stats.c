/* cell stats [--no-stream] [--json] [--interval DURATION] [ID...]
 *
 * Resource usage of the named containers, or of every container under
 * --root: CPU (percent of one CPU over the last interval, throttling),
 * memory (usage, peak, limit, OOM kills), network (from the container's
 * own namespace), block I/O and pids.
 *
 *   default      a table redrawn every interval (1s), like top
 *   --json       one line per container per interval: runc's events
 *                stats object with the container's "status" added
 *   --no-stream  one sample and exit; CPU percent is over the container's
 *                life, or over --interval when that is given (two samples)
 *
 * A stream of named containers ends when all of them are deleted. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/cli.h"
#include "container/container.h"
#include "state/state.h"

enum { OPT_NO_STREAM = 1, OPT_JSON, OPT_INTERVAL };

struct stats_opts {
	bool no_stream, json, interval_given, tty;
	int64_t interval_ms;
	char **ids; /* named, or NULL for all */
};

struct sample {
	struct container_stats *s;
	size_t n;
};

static void sample_clear(struct sample *sm)
{
	for (size_t i = 0; i < sm->n; i++)
		container_stats_clear(&sm->s[i]);
	free(sm->s);
	sm->s = NULL;
	sm->n = 0;
}

/* Stats of every container asked for.  Named ones that do not exist are
 * an error in the first sample and dropped later (deleted meanwhile). */
static int take(struct container_ctx *cctx, const struct stats_opts *o, bool first,
		struct sample *ret, struct cell_err **err)
{
	_cleanup_strv_ char **all = NULL;
	char *const *ids = o->ids;
	if (!ids) {
		int r = state_list_ids(cctx->root, &all, err);
		if (r < 0)
			return r;
		ids = all;
	}
	size_t n = cell_strv_len(ids), k = 0;
	struct container_stats *s = xcalloc(n + 1, sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		struct cell_err *e = NULL;
		if (container_stats(cctx, ids[i], &s[k], &e) == 0) {
			k++;
		} else if (first && o->ids) {
			for (size_t j = 0; j < k; j++)
				container_stats_clear(&s[j]);
			free(s);
			cell_err_free(*err);
			*err = e;
			return cell_err_code(e);
		} else {
			cell_err_free(e);
		}
	}
	*ret = (struct sample){ s, k };
	return 0;
}

static const struct container_stats *find(const struct sample *sm, const char *id)
{
	for (size_t i = 0; sm && i < sm->n; i++)
		if (strcmp(sm->s[i].id, id) == 0)
			return &sm->s[i];
	return NULL;
}

static void human(char *buf, size_t size, uint64_t v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double d = (double)v;
	size_t u = 0;
	while (d >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f%s" : "%.0f%s", d, units[u]);
}

static void net_totals(const struct container_stats *s, uint64_t *rx, uint64_t *tx)
{
	*rx = *tx = 0;
	for (size_t i = 0; i < s->n_net; i++) {
		if (strcmp(s->net[i].name, "lo") == 0)
			continue;
		*rx += s->net[i].rx_bytes;
		*tx += s->net[i].tx_bytes;
	}
}

static void print_row(const struct container_stats *s, double cpu)
{
	const struct cgroup_stats *c = &s->cg;
	char use[16], lim[16], rx[16], tx[16], br[16], bw[16], mem_pct[16] = "-", pids[32];
	uint64_t nrx, ntx, rb = 0, wb = 0;
	net_totals(s, &nrx, &ntx);
	for (size_t i = 0; i < c->n_blkio; i++) {
		rb += c->blkio[i].read_bytes;
		wb += c->blkio[i].write_bytes;
	}
	human(use, sizeof(use), c->memory.usage);
	if (c->memory.limit == CGROUP_STATS_UNLIMITED) {
		snprintf(lim, sizeof(lim), "-");
	} else {
		human(lim, sizeof(lim), c->memory.limit);
		double pct = 100.0 * (double)c->memory.usage / (double)c->memory.limit;
		snprintf(mem_pct, sizeof(mem_pct), "%.1f%%", c->memory.limit ? pct : 0);
	}
	human(rx, sizeof(rx), nrx);
	human(tx, sizeof(tx), ntx);
	human(br, sizeof(br), rb);
	human(bw, sizeof(bw), wb);
	if (c->pids.limit == CGROUP_STATS_UNLIMITED)
		snprintf(pids, sizeof(pids), "%" PRIu64, c->pids.current);
	else
		snprintf(pids, sizeof(pids), "%" PRIu64 "/%" PRIu64, c->pids.current,
			 c->pids.limit);
	char mem[40];
	snprintf(mem, sizeof(mem), "%s / %s", use, lim);
	char net[40], blk[40];
	snprintf(net, sizeof(net), "%s / %s", rx, tx);
	snprintf(blk, sizeof(blk), "%s / %s", br, bw);
	printf("%-20.20s %-8s %7.2f%% %-22s %7s %4" PRIu64 " %-20s %-20s %s\n", s->id,
	       container_status_name(s->status), cpu, mem, mem_pct, c->memory.oom_kill, net, blk,
	       pids);
}

static void print_json(const struct container_stats *s, double cpu)
{
	_cleanup_free_ char *data = container_stats_json(s, cpu);
	_cleanup_free_ char *id = cell_json_quote(s->id);
	printf("{\"type\":\"stats\",\"id\":%s,\"status\":\"%s\",\"data\":%s}\n", id,
	       container_status_name(s->status), data);
}

static void show(const struct stats_opts *o, const struct sample *now, const struct sample *prev)
{
	if (!o->json) {
		if (o->tty && !o->no_stream)
			fputs("\033[H\033[J", stdout); /* home, clear: redraw like top */
		printf("%-20s %-8s %8s %-22s %7s %4s %-20s %-20s %s\n", "ID", "STATUS", "CPU %",
		       "MEM USAGE / LIMIT", "MEM %", "OOM", "NET RX / TX", "BLOCK READ / WRITE",
		       "PIDS");
	}
	for (size_t i = 0; i < now->n; i++) {
		const struct container_stats *s = &now->s[i];
		double cpu = container_stats_cpu_percent(s, prev ? find(prev, s->id) : NULL);
		if (o->json)
			print_json(s, cpu);
		else
			print_row(s, cpu);
	}
	fflush(stdout);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0)
		;
}

static int stream(struct container_ctx *cctx, const struct stats_opts *o, struct cell_err **err)
{
	struct sample prev = { 0 }, now = { 0 };
	int r = take(cctx, o, true, &prev, err);
	if (r < 0)
		return r;
	if (o->no_stream && !o->interval_given) {
		show(o, &prev, NULL);
		sample_clear(&prev);
		return 0;
	}
	if (!o->no_stream)
		show(o, &prev, NULL);
	for (;;) {
		sleep_ms(o->interval_ms);
		if ((r = take(cctx, o, false, &now, err)) < 0)
			break;
		show(o, &now, &prev);
		sample_clear(&prev);
		prev = now;
		now = (struct sample){ 0 };
		if (o->no_stream || (o->ids && prev.n == 0))
			break;
	}
	sample_clear(&prev);
	return r;
}

CLI_COMMAND(stats)
{
	static const struct option opts[] = { { "no-stream", no_argument, NULL, OPT_NO_STREAM },
					      { "json", no_argument, NULL, OPT_JSON },
					      { "interval", required_argument, NULL, OPT_INTERVAL },
					      { 0 } };
	struct stats_opts o = { .interval_ms = 1000, .tty = isatty(STDOUT_FILENO) };
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == OPT_NO_STREAM) {
			o.no_stream = true;
		} else if (c == OPT_JSON) {
			o.json = true;
		} else if (c == OPT_INTERVAL) {
			if (cli_parse_duration_ms(optarg, &o.interval_ms) < 0)
				return cli_usage_error("stats", "--interval %s: not a duration "
						       "greater than 0 (such as 1s or 500ms)",
						       optarg);
			o.interval_given = true;
		} else {
			return cli_usage_error("stats", "unknown option or missing value \"%s\"",
					       argv[optind - 1]);
		}
	}
	for (int i = optind; i < argc; i++) {
		struct cell_err *err = NULL;
		if (state_check_id(argv[i], &err) < 0)
			return cli_fail(err);
	}
	if (optind < argc)
		o.ids = argv + optind;
	struct container_ctx cctx;
	cli_container_ctx(ctx, &cctx);
	struct cell_err *err = NULL;
	return stream(&cctx, &o, &err) < 0 ? cli_fail(err) : 0;
}
