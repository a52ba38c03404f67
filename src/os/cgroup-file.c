/* Small file and list helpers of the cgroup drivers. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

int cg_read(const char *dir, const char *file, char **ret, struct cell_err **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	char *s;
	size_t len;
	int r = cell_read_file(path, CG_FILE_MAX, &s, &len, err);
	if (r < 0)
		return r;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	*ret = s;
	return 0;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *ret, struct cell_err **err)
{
	_cleanup_free_ char *s = NULL;
	int r = cg_read(dir, file, &s, err);
	if (r < 0)
		return r;
	if (strcmp(s, "max") == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	/* v1 spells "no limit" as -1 in some files (cpu.cfs_quota_us). */
	if (s[0] == '-') {
		long long v = strtoll(s, &end, 10);
		if (errno || *end || v != -1)
			return cell_err(err, EINVAL, "%s/%s: not a number: \"%s\"", dir, file, s);
		*ret = UINT64_MAX;
		return 0;
	}
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return cell_err(err, EINVAL, "%s/%s: not a number: \"%s\"", dir, file, s);
	*ret = v;
	return 0;
}

int cg_write(struct cgroup_ctx *ctx, const char *dir, const char *file, const char *value,
	     struct cell_err **err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	if (ctx->journal_on) {
		size_t pl = strlen(ctx->prefix);
		const char *shown = strncmp(path, ctx->prefix, pl) == 0 ? path + pl : path;
		_cleanup_free_ char *entry = xasprintf("%s=%s", shown, value);
		cell_strv_push(&ctx->journal, entry);
	}
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", path);
	/* A cgroup knob takes its value in one write(); a partial write
	 * would be parsed as a different value. */
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return cell_err_sys(err, "write \"%s\" to %s", value, path);
	if ((size_t)n != len)
		return cell_err(err, EIO, "write \"%s\" to %s: short write", value, path);
	return 0;
}

bool cg_exists(const char *dir, const char *file)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

bool cg_words_have(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		const char *e = p;
		while (*e && *e != ' ' && *e != '\n' && *e != '\t')
			e++;
		if ((size_t)(e - p) == wl && strncmp(p, word, wl) == 0)
			return true;
		p = e;
	}
	return false;
}

char *cg_dirname(const char *dir)
{
	const char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return xstrdup("/");
	size_t n = (size_t)(slash - dir);
	char *s = xmalloc(n + 1);
	memcpy(s, dir, n);
	s[n] = '\0';
	return s;
}

static int parse_cpu(const char **s, unsigned *ret)
{
	if (!isdigit((unsigned char)**s))
		return -EINVAL;
	unsigned long v = 0;
	while (isdigit((unsigned char)**s)) {
		v = v * 10 + (unsigned long)(**s - '0');
		if (v >= CG_CPULIST_MAX)
			return -ERANGE;
		(*s)++;
	}
	*ret = (unsigned)v;
	return 0;
}

int cg_cpulist_parse(const char *s, struct cg_bits *ret)
{
	struct cg_bits b = { { 0 } };
	while (*s == ' ' || *s == '\n')
		s++;
	while (*s) {
		unsigned lo, hi;
		int r = parse_cpu(&s, &lo);
		if (r < 0)
			return r;
		hi = lo;
		if (*s == '-') {
			s++;
			r = parse_cpu(&s, &hi);
			if (r < 0)
				return r;
			if (hi < lo)
				return -EINVAL;
		}
		for (unsigned i = lo; i <= hi; i++)
			b.w[i / 64] |= 1ULL << (i % 64);
		if (*s == ',') {
			s++;
			if (!isdigit((unsigned char)*s))
				return -EINVAL;
		} else if (*s == '\n' || *s == ' ') {
			while (*s == '\n' || *s == ' ')
				s++;
			if (*s)
				return -EINVAL;
		} else if (*s) {
			return -EINVAL;
		}
	}
	*ret = b;
	return 0;
}

bool cg_bits_subset(const struct cg_bits *a, const struct cg_bits *b)
{
	for (size_t i = 0; i < ARRAY_SIZE(a->w); i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}
