/* Resource usage of a cgroup, for `cell events --stats`, `ps` and the VM
 * monitor: the same numbers on v1, v2 and hybrid hosts.
 *
 * Reading is cheap: about one open per controller plus one per huge page
 * size, no processes spawned, nothing written.  Each part is read from the
 * hierarchy that serves its controller; a part whose controller is not
 * there is left out (has_* false, no entries), which is not an error.
 * Limits that are not set read as CGROUP_STATS_UNLIMITED. */
#ifndef CELL_OS_CGROUP_STATS_H
#define CELL_OS_CGROUP_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "os/cgroup.h"

#define CGROUP_STATS_UNLIMITED UINT64_MAX

struct cgroup_stats_blkio {
	uint32_t major, minor;
	uint64_t read_bytes, write_bytes;
	uint64_t read_ops, write_ops;
};

struct cgroup_stats_hugetlb {
	char page_size[16]; /* "2MB" */
	uint64_t usage;
	uint64_t max_usage; /* v1 only; v2 keeps no peak (0) */
	uint64_t limit;
};

struct cgroup_stats {
	bool has_cpu;
	struct {
		uint64_t usage_ns, user_ns, system_ns;
		uint64_t nr_periods, nr_throttled, throttled_ns; /* 0 without the cpu controller */
	} cpu;

	bool has_memory;
	struct {
		uint64_t usage;     /* memory.current / usage_in_bytes (hierarchical) */
		uint64_t max_usage; /* memory.peak (Linux 5.19) / max_usage_in_bytes; 0 if unknown */
		uint64_t limit;
		uint64_t cache;     /* page cache: v2 "file", v1 "total_cache" */
		uint64_t anon;      /* anonymous memory: v2 "anon", v1 active+inactive anon */
		uint64_t rss;       /* v1 "total_rss" (anon + swap cache); v2: anon */
		uint64_t swap;      /* swap used alone (not memory+swap); 0 without accounting */
		bool has_oom_events; /* v2 only: v1 counts kills but not OOM events */
		uint64_t oom_events; /* times the limit was hit and reclaim failed */
		uint64_t oom_kill;   /* processes the OOM killer killed here (v1: Linux 4.13) */
	} memory;

	bool has_pids;
	struct {
		uint64_t current;
		uint64_t limit;
	} pids;

	struct cgroup_stats_blkio *blkio; /* one per device with I/O */
	size_t n_blkio;
	struct cgroup_stats_hugetlb *hugetlb; /* one per huge page size the host has */
	size_t n_hugetlb;
};

/* Fill *ret (the arrays are malloc'd: release with cgroup_stats_release). */
int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret, struct cell_err **err);
void cgroup_stats_release(struct cgroup_stats *s);

#endif
