/* Resource flags of `run` and `update` (--memory, --cpus, ...), Docker's
 * and runc update's names, turned into linux.resources fragments.
 *
 * Each value is checked here, naming the flag, before any container or
 * cgroup is touched: sizes through cell_parse_size, CPU lists against the
 * CPUs this machine has online, DEV in DEV:RATE resolved to major:minor by
 * stat.  What only the cgroup knows (usage above a new limit, an
 * ancestor's quota) is left to the resource layer, which also checks
 * everything before it writes. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"
#include "cli/run-flags.h"

enum {
	OPT_MEMORY = 'm',
	OPT_CPU_SHARES = 'c',
	OPT_MEMORY_SWAP = 2000,
	OPT_MEMORY_RESERVATION,
	OPT_CPUS,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPU_RT_RUNTIME,
	OPT_CPU_RT_PERIOD,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_DEVICE_READ_BPS,
	OPT_DEVICE_WRITE_BPS,
	OPT_DEVICE_READ_IOPS,
	OPT_DEVICE_WRITE_IOPS,
};

const struct option run_resource_options[] = {
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
	{ "memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
	{ "cpu-share", required_argument, NULL, OPT_CPU_SHARES }, /* runc update's spelling */
	{ "cpu-quota", required_argument, NULL, OPT_CPU_QUOTA },
	{ "cpu-period", required_argument, NULL, OPT_CPU_PERIOD },
	{ "cpu-rt-runtime", required_argument, NULL, OPT_CPU_RT_RUNTIME },
	{ "cpu-rt-period", required_argument, NULL, OPT_CPU_RT_PERIOD },
	{ "cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS },
	{ "cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
	{ "device-read-bps", required_argument, NULL, OPT_DEVICE_READ_BPS },
	{ "device-write-bps", required_argument, NULL, OPT_DEVICE_WRITE_BPS },
	{ "device-read-iops", required_argument, NULL, OPT_DEVICE_READ_IOPS },
	{ "device-write-iops", required_argument, NULL, OPT_DEVICE_WRITE_IOPS },
	{ 0 },
};

#define CPU_PERIOD_DEFAULT 100000 /* what --cpus counts in, as Docker does */

static const char *flag_name(int c)
{
	for (const struct option *o = run_resource_options; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* f->resources.group, made on first use. */
static json_object *group(struct run_flags *f, const char *name)
{
	if (!f->resources)
		f->resources = json_object_new_object();
	json_object *g;
	if (json_object_object_get_ex(f->resources, name, &g))
		return g;
	g = json_object_new_object();
	json_object_object_add(f->resources, name, g);
	return g;
}

static void set_i64(struct run_flags *f, const char *grp, const char *key, int64_t v)
{
	json_object_object_add(group(f, grp), key, json_object_new_int64(v));
}

/* A size, or -1 for "no limit". */
static int parse_limit(int c, const char *arg, int64_t *ret, struct cell_err **err)
{
	uint64_t v = 0;
	if (strcmp(arg, "-1") == 0) {
		*ret = -1;
		return 0;
	}
	int r = cell_parse_size(arg, &v);
	if (r == -ERANGE || (r == 0 && v > INT64_MAX))
		return cell_err(err, 0, "--%s %s: too large", flag_name(c), arg);
	if (r < 0)
		return cell_err(err, 0, "--%s %s: not a size (such as 256M, 1.5G, or -1 for no "
				"limit)", flag_name(c), arg);
	if (v == 0)
		return cell_err(err, 0, "--%s %s: 0 is not a limit (-1 means none)", flag_name(c),
				arg);
	*ret = (int64_t)v;
	return 0;
}

static int parse_int(int c, const char *arg, int64_t min, int64_t max, int64_t *ret,
		     struct cell_err **err)
{
	if (cell_parse_int64(arg, min, max, ret) < 0)
		return cell_err(err, 0, "--%s %s: not a whole number in [%" PRId64 ", %" PRId64 "]",
				flag_name(c), arg, min, max);
	return 0;
}

/* --cpus N: N CPUs' worth of time in every period (quota/period). */
static int take_cpus(struct run_flags *f, const char *arg, struct cell_err **err)
{
	char *end;
	errno = 0;
	double cpus = strtod(arg, &end);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (errno || end == arg || *end || !isfinite(cpus) || cpus <= 0)
		return cell_err(err, 0, "--cpus %s: not a positive number of CPUs (such as 0.5)",
				arg);
	if (cpus < 0.01)
		return cell_err(err, 0, "--cpus %s: below the smallest quota the kernel takes "
				"(0.01)", arg);
	if (online > 0 && cpus > (double)online)
		return cell_err(err, 0, "--cpus %s: this machine has %ld CPU%s online", arg, online,
				online == 1 ? "" : "s");
	json_object *cpu = group(f, "cpu");
	if (json_object_object_get_ex(cpu, "quota", NULL) ||
	    json_object_object_get_ex(cpu, "period", NULL))
		return cell_err(err, 0, "--cpus %s: --cpu-quota or --cpu-period was given too",
				arg);
	set_i64(f, "cpu", "quota", llround(cpus * CPU_PERIOD_DEFAULT));
	set_i64(f, "cpu", "period", CPU_PERIOD_DEFAULT);
	return 0;
}

/* "0-3,6" as a bitmap of CPULIST_MAX bits; -EINVAL on bad syntax or a
 * number past the cap. */
#define CPULIST_MAX 8192
static int cpulist_bits(const char *s, uint64_t *bits)
{
	memset(bits, 0, CPULIST_MAX / 8);
	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p;) {
		char *end;
		int64_t a, b;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		a = b = strtoll(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			b = strtoll(p, &end, 10);
		}
		if (a > b || b >= CPULIST_MAX)
			return -EINVAL;
		for (int64_t i = a; i <= b; i++)
			bits[i / 64] |= 1ULL << (i % 64);
		p = end;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			return -EINVAL;
	}
	return 0;
}

static int take_cpuset(struct run_flags *f, int c, const char *arg, struct cell_err **err)
{
	bool cpus = c == OPT_CPUSET_CPUS;
	const char *online_file = cpus ? "/sys/devices/system/cpu/online"
				       : "/sys/devices/system/node/online";
	uint64_t want[CPULIST_MAX / 64], have[CPULIST_MAX / 64];
	if (cpulist_bits(arg, want) < 0)
		return cell_err(err, 0, "--%s %s: not a list such as \"0-3,6\"", flag_name(c), arg);
	_cleanup_free_ char *online = NULL;
	struct cell_err *e = NULL;
	/* No NUMA in the kernel means one memory node, 0. */
	if (cell_read_file(online_file, 4096, &online, NULL, &e) < 0)
		online = xstrdup(cpus ? "" : "0");
	cell_err_free(e);
	online[strcspn(online, "\n")] = '\0';
	if (*online && cpulist_bits(online, have) == 0) {
		for (int i = 0; i < CPULIST_MAX; i++) {
			if (!(want[i / 64] >> (i % 64) & 1) || (have[i / 64] >> (i % 64) & 1))
				continue;
			return cell_err(err, 0, "--%s %s: %s %d is not online on this machine "
					"(online: %s)", flag_name(c), arg,
					cpus ? "CPU" : "memory node", i, online);
		}
	}
	json_object_object_add(group(f, "cpu"), cpus ? "cpus" : "mems",
			       json_object_new_string(arg));
	return 0;
}

/* DEV:RATE with DEV a block device node, for blockIO.throttle*Device. */
static int take_throttle(struct run_flags *f, int c, const char *arg, struct cell_err **err)
{
	static const struct {
		int c;
		const char *key;
		bool bytes;
	} kinds[] = {
		{ OPT_DEVICE_READ_BPS, "throttleReadBpsDevice", true },
		{ OPT_DEVICE_WRITE_BPS, "throttleWriteBpsDevice", true },
		{ OPT_DEVICE_READ_IOPS, "throttleReadIOPSDevice", false },
		{ OPT_DEVICE_WRITE_IOPS, "throttleWriteIOPSDevice", false },
	};
	size_t k = 0;
	while (kinds[k].c != c)
		k++;
	const char *colon = strrchr(arg, ':');
	if (!colon || colon == arg)
		return cell_err(err, 0, "--%s %s: expected DEVICE:%s (such as /dev/sda:%s)",
				flag_name(c), arg, kinds[k].bytes ? "RATE" : "IOPS",
				kinds[k].bytes ? "10M" : "100");
	_cleanup_free_ char *dev = strndup(arg, (size_t)(colon - arg));
	uint64_t rate;
	int64_t n;
	if (kinds[k].bytes && cell_parse_size(colon + 1, &rate) < 0)
		return cell_err(err, 0, "--%s %s: \"%s\" is not a rate in bytes per second (such "
				"as 10M)", flag_name(c), arg, colon + 1);
	if (!kinds[k].bytes) {
		if (cell_parse_int64(colon + 1, 0, INT64_MAX, &n) < 0)
			return cell_err(err, 0, "--%s %s: \"%s\" is not a number of operations per "
					"second", flag_name(c), arg, colon + 1);
		rate = (uint64_t)n;
	}
	struct stat st;
	/* Not cell_err_sys: -ENOENT would read as "not a resource flag". */
	if (stat(dev, &st) < 0)
		return cell_err(err, 0, "--%s %s: %s: %s", flag_name(c), arg, dev, strerror(errno));
	if (!S_ISBLK(st.st_mode))
		return cell_err(err, 0, "--%s %s: %s is not a block device", flag_name(c), arg,
				dev);
	json_object *bio = group(f, "blockIO"), *list;
	if (!json_object_object_get_ex(bio, kinds[k].key, &list)) {
		list = json_object_new_array();
		json_object_object_add(bio, kinds[k].key, list);
	}
	json_object *e = json_object_new_object();
	json_object_object_add(e, "major", json_object_new_int64(major(st.st_rdev)));
	json_object_object_add(e, "minor", json_object_new_int64(minor(st.st_rdev)));
	json_object_object_add(e, "rate", json_object_new_uint64(rate));
	json_object_array_add(list, e);
	return 0;
}

static int take_cfs(struct run_flags *f, int c, const char *arg, struct cell_err **err)
{
	int64_t v = 0;
	const char *key = c == OPT_CPU_QUOTA ? "quota" : "period";
	int r = c == OPT_CPU_QUOTA ? parse_int(c, arg, -1, INT64_MAX, &v, err)
				   : parse_int(c, arg, 1000, 1000000, &v, err);
	if (r < 0)
		return r;
	if (c == OPT_CPU_QUOTA && v >= 0 && v < 1000)
		return cell_err(err, 0, "--cpu-quota %s: below 1000 microseconds (-1 means none)",
				arg);
	if (json_object_object_get_ex(group(f, "cpu"), key, NULL))
		return cell_err(err, 0, "--%s %s: the CPU %s is already set (by --cpus or "
				"an earlier --%s)", flag_name(c), arg, key, flag_name(c));
	set_i64(f, "cpu", key, v);
	return 0;
}

static int take_number(struct run_flags *f, int c, const char *arg, struct cell_err **err)
{
	int64_t v = 0;
	int r;
	switch (c) {
	case OPT_CPU_SHARES:
		if ((r = parse_int(c, arg, 2, 262144, &v, err)) == 0)
			set_i64(f, "cpu", "shares", v);
		return r;
	case OPT_CPU_RT_RUNTIME:
		if ((r = parse_int(c, arg, -1, INT64_MAX, &v, err)) == 0)
			set_i64(f, "cpu", "realtimeRuntime", v);
		return r;
	case OPT_CPU_RT_PERIOD:
		if ((r = parse_int(c, arg, 1, INT64_MAX, &v, err)) == 0)
			set_i64(f, "cpu", "realtimePeriod", v);
		return r;
	case OPT_PIDS_LIMIT:
		/* 0 and -1 both mean no limit, as in Docker and the spec. */
		if ((r = parse_int(c, arg, -1, INT64_MAX, &v, err)) == 0)
			set_i64(f, "pids", "limit", v <= 0 ? -1 : v);
		return r;
	case OPT_BLKIO_WEIGHT:
		if ((r = parse_int(c, arg, 10, 1000, &v, err)) == 0)
			set_i64(f, "blockIO", "weight", v);
		return r;
	}
	return -ENOENT;
}

int run_resource_option(struct run_flags *f, int c, const char *arg, struct cell_err **err)
{
	int64_t v = 0;
	int r;
	switch (c) {
	case OPT_MEMORY:
	case OPT_MEMORY_SWAP:
	case OPT_MEMORY_RESERVATION:
		if ((r = parse_limit(c, arg, &v, err)) < 0)
			return r;
		set_i64(f, "memory", c == OPT_MEMORY ? "limit" : c == OPT_MEMORY_SWAP ? "swap"
							      : "reservation", v);
		return 0;
	case OPT_CPUS:
		return take_cpus(f, arg, err);
	case OPT_CPU_QUOTA:
	case OPT_CPU_PERIOD:
		return take_cfs(f, c, arg, err);
	case OPT_CPUSET_CPUS:
	case OPT_CPUSET_MEMS:
		return take_cpuset(f, c, arg, err);
	case OPT_DEVICE_READ_BPS:
	case OPT_DEVICE_WRITE_BPS:
	case OPT_DEVICE_READ_IOPS:
	case OPT_DEVICE_WRITE_IOPS:
		return take_throttle(f, c, arg, err);
	}
	return take_number(f, c, arg, err);
}

int run_resource_check(const struct run_flags *f, struct cell_err **err)
{
	json_object *cpu, *mem, *quota, *o;
	if (f->resources && json_object_object_get_ex(f->resources, "cpu", &cpu) &&
	    json_object_object_get_ex(cpu, "quota", &quota) &&
	    !json_object_object_get_ex(cpu, "period", NULL))
		return cell_err(err, 0, "--cpu-quota %s: needs --cpu-period (the quota is time per "
				"period; or use --cpus)", json_object_get_string(quota));
	/* --memory-swap counts memory plus swap (as Docker's does). */
	if (f->resources && json_object_object_get_ex(f->resources, "memory", &mem) &&
	    json_object_object_get_ex(mem, "swap", &o)) {
		int64_t swap = json_object_get_int64(o);
		json_object *lim;
		if (json_object_object_get_ex(mem, "limit", &lim) && swap > 0 &&
		    swap < json_object_get_int64(lim))
			return cell_err(err, 0, "--memory-swap %" PRId64 ": below --memory %" PRId64
					" (it limits memory plus swap)", swap,
					json_object_get_int64(lim));
	}
	return 0;
}
