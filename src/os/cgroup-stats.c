/* cgroup_stats(): usage counters from v1 or v2 files.  Files are read
 * relative to one directory fd per controller, into stack buffers. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "os/cgroup-internal.h"
#include "os/cgroup-stats.h"

/* v1 shows "no limit" as the largest page-aligned long. */
#define V1_UNLIMITED_FROM 0x7ffffffffffff000ULL

static uint64_t norm_limit(uint64_t v)
{
	return v >= V1_UNLIMITED_FROM ? CGROUP_STATS_UNLIMITED : v;
}

/* file into buf, NUL-terminated: its length, or -errno. */
static ssize_t read_at(int dfd, const char *file, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static bool read_u64_at(int dfd, const char *file, uint64_t *ret)
{
	char buf[64];
	if (read_at(dfd, file, buf, sizeof(buf)) <= 0)
		return false;
	if (strncmp(buf, "max", 3) == 0) {
		*ret = CGROUP_STATS_UNLIMITED;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return false;
	*ret = v;
	return true;
}

struct kv {
	const char *key;
	uint64_t *dst;
};

/* "key value" lines; the keys asked for get their values. */
static void parse_kv(const char *text, const struct kv *want, size_t n)
{
	for (const char *line = text; line && *line;) {
		const char *sp = strchr(line, ' ');
		const char *nl = strchr(line, '\n');
		if (sp && (!nl || sp < nl)) {
			size_t kl = (size_t)(sp - line);
			for (size_t i = 0; i < n; i++)
				if (strlen(want[i].key) == kl && strncmp(line, want[i].key, kl) == 0)
					*want[i].dst = strtoull(sp + 1, NULL, 10);
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* The directory of the hierarchy serving a controller, opened. */
static int open_ctrl(struct cgroup *cg, const char *v1, const char *v2, bool *is_v2)
{
	int h = cg_find_controller(cg->ctx, v1, v2);
	if (h < 0 || cg->absent[h])
		return -1;
	*is_v2 = cg->ctx->hier[h].v2;
	return open(cg->dirs[h], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static void stat_cpu(struct cgroup *cg, struct cgroup_stats *s)
{
	char buf[4096];
	bool v2;
	_cleanup_close_ int acct = open_ctrl(cg, "cpuacct", "cpu", &v2);
	if (acct < 0 && cg->ctx->unified >= 0 && !cg->absent[cg->ctx->unified]) {
		/* cgroup2's cpu.stat has the usage even without the controller. */
		acct = open(cg->dirs[cg->ctx->unified], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		v2 = true;
	}
	if (acct < 0)
		return;
	if (v2) {
		uint64_t usage = 0, user = 0, sys = 0, periods = 0, thr = 0, thr_us = 0;
		const struct kv want[] = { { "usage_usec", &usage }, { "user_usec", &user },
					   { "system_usec", &sys }, { "nr_periods", &periods },
					   { "nr_throttled", &thr }, { "throttled_usec", &thr_us } };
		if (read_at(acct, "cpu.stat", buf, sizeof(buf)) <= 0)
			return;
		parse_kv(buf, want, ARRAY_SIZE(want));
		s->has_cpu = true;
		s->cpu.usage_ns = usage * 1000;
		s->cpu.user_ns = user * 1000;
		s->cpu.system_ns = sys * 1000;
		s->cpu.nr_periods = periods;
		s->cpu.nr_throttled = thr;
		s->cpu.throttled_ns = thr_us * 1000;
		return;
	}
	/* "cpu user system" then one line per CPU, in ns (Linux 4.16). */
	if (read_at(acct, "cpuacct.usage_all", buf, sizeof(buf)) > 0) {
		char *line = strchr(buf, '\n');
		while (line && *++line) {
			unsigned cpu;
			unsigned long long u, y;
			if (sscanf(line, "%u %llu %llu", &cpu, &u, &y) == 3) {
				s->cpu.user_ns += u;
				s->cpu.system_ns += y;
			}
			line = strchr(line, '\n');
		}
		s->cpu.usage_ns = s->cpu.user_ns + s->cpu.system_ns;
		s->has_cpu = true;
	} else if (read_u64_at(acct, "cpuacct.usage", &s->cpu.usage_ns)) {
		s->has_cpu = true;
	}
	bool cpu_v2;
	_cleanup_close_ int cpu = open_ctrl(cg, "cpu", NULL, &cpu_v2);
	uint64_t thr_ns = 0;
	const struct kv want[] = { { "nr_periods", &s->cpu.nr_periods },
				   { "nr_throttled", &s->cpu.nr_throttled },
				   { "throttled_time", &thr_ns } };
	if (cpu >= 0 && read_at(cpu, "cpu.stat", buf, sizeof(buf)) > 0) {
		parse_kv(buf, want, ARRAY_SIZE(want));
		s->cpu.throttled_ns = thr_ns;
	}
}

static void stat_memory_v1(int dfd, struct cgroup_stats *s)
{
	char buf[8192];
	uint64_t aa = 0, ia = 0, kill = 0;
	if (!read_u64_at(dfd, "memory.usage_in_bytes", &s->memory.usage))
		return;
	s->has_memory = true;
	read_u64_at(dfd, "memory.max_usage_in_bytes", &s->memory.max_usage);
	if (read_u64_at(dfd, "memory.limit_in_bytes", &s->memory.limit))
		s->memory.limit = norm_limit(s->memory.limit);
	const struct kv want[] = { { "total_cache", &s->memory.cache },
				   { "total_rss", &s->memory.rss },
				   { "total_swap", &s->memory.swap },
				   { "total_active_anon", &aa },
				   { "total_inactive_anon", &ia } };
	if (read_at(dfd, "memory.stat", buf, sizeof(buf)) > 0)
		parse_kv(buf, want, ARRAY_SIZE(want));
	s->memory.anon = aa + ia;
	const struct kv oom[] = { { "oom_kill", &kill } };
	if (read_at(dfd, "memory.oom_control", buf, sizeof(buf)) > 0)
		parse_kv(buf, oom, ARRAY_SIZE(oom));
	s->memory.oom_kill = kill;
}

static void stat_memory_v2(int dfd, struct cgroup_stats *s)
{
	char buf[8192];
	if (!read_u64_at(dfd, "memory.current", &s->memory.usage))
		return;
	s->has_memory = true;
	read_u64_at(dfd, "memory.peak", &s->memory.max_usage);
	s->memory.limit = CGROUP_STATS_UNLIMITED;
	read_u64_at(dfd, "memory.max", &s->memory.limit);
	read_u64_at(dfd, "memory.swap.current", &s->memory.swap);
	const struct kv want[] = { { "file", &s->memory.cache }, { "anon", &s->memory.anon } };
	if (read_at(dfd, "memory.stat", buf, sizeof(buf)) > 0)
		parse_kv(buf, want, ARRAY_SIZE(want));
	s->memory.rss = s->memory.anon;
	const struct kv ev[] = { { "oom", &s->memory.oom_events },
				 { "oom_kill", &s->memory.oom_kill } };
	if (read_at(dfd, "memory.events", buf, sizeof(buf)) > 0) {
		parse_kv(buf, ev, ARRAY_SIZE(ev));
		s->memory.has_oom_events = true;
	}
}

static void stat_pids(struct cgroup *cg, struct cgroup_stats *s)
{
	bool v2;
	_cleanup_close_ int dfd = open_ctrl(cg, "pids", "pids", &v2);
	if (dfd < 0 || !read_u64_at(dfd, "pids.current", &s->pids.current))
		return;
	s->has_pids = true;
	s->pids.limit = CGROUP_STATS_UNLIMITED;
	read_u64_at(dfd, "pids.max", &s->pids.limit);
}

static struct cgroup_stats_blkio *blkio_entry(struct cgroup_stats *s, uint32_t maj, uint32_t min)
{
	for (size_t i = 0; i < s->n_blkio; i++)
		if (s->blkio[i].major == maj && s->blkio[i].minor == min)
			return &s->blkio[i];
	s->blkio = xrealloc(s->blkio, (s->n_blkio + 1) * sizeof(*s->blkio));
	s->blkio[s->n_blkio] = (struct cgroup_stats_blkio){ .major = maj, .minor = min };
	return &s->blkio[s->n_blkio++];
}

/* "MAJ:MIN Read N" lines; bytes or ops by the file. */
static void parse_v1_blkio(struct cgroup_stats *s, const char *text, bool bytes)
{
	for (const char *line = text; line && *line;) {
		unsigned maj, min;
		char op[16];
		unsigned long long v;
		if (sscanf(line, "%u:%u %15s %llu", &maj, &min, op, &v) == 4) {
			bool rd = strcmp(op, "Read") == 0, wr = strcmp(op, "Write") == 0;
			if (rd || wr) {
				struct cgroup_stats_blkio *e = blkio_entry(s, maj, min);
				uint64_t *dst = bytes ? (rd ? &e->read_bytes : &e->write_bytes)
						      : (rd ? &e->read_ops : &e->write_ops);
				*dst = v;
			}
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
}

/* "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" lines. */
static void parse_io_stat(struct cgroup_stats *s, const char *text)
{
	for (const char *line = text; line && *line;) {
		unsigned maj, min;
		unsigned long long rb = 0, wb = 0, ri = 0, wi = 0;
		if (sscanf(line, "%u:%u rbytes=%llu wbytes=%llu rios=%llu wios=%llu", &maj, &min, &rb,
			   &wb, &ri, &wi) == 6) {
			struct cgroup_stats_blkio *e = blkio_entry(s, maj, min);
			*e = (struct cgroup_stats_blkio){ maj, min, rb, wb, ri, wi };
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
}

static void stat_blkio(struct cgroup *cg, struct cgroup_stats *s)
{
	bool v2;
	_cleanup_close_ int dfd = open_ctrl(cg, "blkio", "io", &v2);
	if (dfd < 0)
		return;
	_cleanup_err_ struct cell_err *e = NULL;
	_cleanup_free_ char *text = NULL;
	if (v2) {
		if (cell_read_file_at(dfd, "io.stat", CG_FILE_MAX, &text, NULL, &e) == 0)
			parse_io_stat(s, text);
		return;
	}
	static const char *const files[2][2] = {
		{ "blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes" },
		{ "blkio.throttle.io_serviced_recursive", "blkio.throttle.io_serviced" },
	};
	for (int k = 0; k < 2; k++) {
		free(text);
		text = NULL;
		if (cell_read_file_at(dfd, files[k][0], CG_FILE_MAX, &text, NULL, &e) < 0 &&
		    cell_read_file_at(dfd, files[k][1], CG_FILE_MAX, &text, NULL, &e) < 0)
			continue;
		parse_v1_blkio(s, text, k == 0);
	}
}

static void stat_hugetlb(struct cgroup *cg, struct cgroup_stats *s)
{
	bool v2;
	_cleanup_close_ int dfd = open_ctrl(cg, "hugetlb", "hugetlb", &v2);
	if (dfd < 0)
		return;
	for (char **z = cg->ctx->hugepage_sizes; z && *z; z++) {
		struct cgroup_stats_hugetlb h = { .limit = CGROUP_STATS_UNLIMITED };
		char f[64];
		snprintf(f, sizeof(f), v2 ? "hugetlb.%s.current" : "hugetlb.%s.usage_in_bytes", *z);
		if (!read_u64_at(dfd, f, &h.usage))
			continue; /* not enabled for this cgroup */
		snprintf(h.page_size, sizeof(h.page_size), "%s", *z);
		if (!v2) {
			snprintf(f, sizeof(f), "hugetlb.%s.max_usage_in_bytes", *z);
			read_u64_at(dfd, f, &h.max_usage);
		}
		snprintf(f, sizeof(f), v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", *z);
		if (read_u64_at(dfd, f, &h.limit))
			h.limit = norm_limit(h.limit);
		s->hugetlb = xrealloc(s->hugetlb, (s->n_hugetlb + 1) * sizeof(*s->hugetlb));
		s->hugetlb[s->n_hugetlb++] = h;
	}
}

int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret, struct cell_err **err)
{
	struct cgroup_stats s = { 0 };
	bool any = false;
	for (size_t i = 0; i < cg->ctx->n_hier && !any; i++)
		any = !cg->absent[i] && access(cg->dirs[i], F_OK) == 0;
	if (!any)
		return cell_err(err, ENOENT, "stats of cgroup %s: it does not exist", cg->path);
	stat_cpu(cg, &s);
	bool v2;
	int dfd = open_ctrl(cg, "memory", "memory", &v2);
	if (dfd >= 0) {
		if (v2)
			stat_memory_v2(dfd, &s);
		else
			stat_memory_v1(dfd, &s);
		close(dfd);
	}
	stat_pids(cg, &s);
	stat_blkio(cg, &s);
	stat_hugetlb(cg, &s);
	*ret = s;
	return 0;
}

void cgroup_stats_release(struct cgroup_stats *s)
{
	if (!s)
		return;
	free(s->blkio);
	free(s->hugetlb);
	s->blkio = NULL;
	s->hugetlb = NULL;
	s->n_blkio = s->n_hugetlb = 0;
}
