#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

__attribute__((noreturn)) static void out_of_memory(void)
{
	static const char msg[] = "cell: out of memory\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		out_of_memory();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory();
	return s;
}

int cell_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cell_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cell_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		      struct cell_err **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", path);
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap + 1);
	for (;;) {
		if (len == cap) {
			if (cap >= max)
				return cell_err(err, EFBIG, "read %s: larger than %zu bytes", path, max);
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cell_err_sys(err, "read %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

int cell_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
		   struct cell_err **err)
{
	return cell_read_file_at(AT_FDCWD, path, max, ret, ret_len, err);
}

int cell_write_file_at(int dirfd, const char *path, const char *data, size_t len,
		       struct cell_err **err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", path);
	/* Kernel knobs take one write; a short write is a failure there. */
	ssize_t n = write(fd, data, len);
	if (n < 0)
		return cell_err_sys(err, "write %s", path);
	if ((size_t)n != len)
		return cell_err(err, EIO, "write %s: short write", path);
	return 0;
}

int cell_write_file(const char *path, const char *data, size_t len, struct cell_err **err)
{
	return cell_write_file_at(AT_FDCWD, path, data, len, err);
}

int cell_write_file_atomic_at(int dirfd, const char *path, const char *data, size_t len,
			      mode_t mode, struct cell_err **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return cell_err_sys(err, "create %s", tmp);
	int r = cell_write_all(fd, data, len);
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return cell_err(err, -r, "write %s", tmp);
	}
	if (renameat(dirfd, tmp, dirfd, path) < 0) {
		r = cell_err_sys(err, "rename %s", tmp);
		unlinkat(dirfd, tmp, 0);
		return r;
	}
	return 0;
}

int cell_write_pid_file(const char *path, pid_t pid, struct cell_err **err)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	return cell_write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0644, err);
}

int cell_mkdir_p(const char *path, mode_t mode, struct cell_err **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return cell_err_sys(err, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return cell_err_sys(err, "mkdir %s", p);
	return 0;
}

char *cell_json_quote(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, len = strlen(s);
	if (len > SIZE_MAX / 8)
		out_of_memory();
	/* Worst case: every byte becomes \u00XX (6 bytes), plus quotes and NUL. */
	char *out = xmalloc(len * 6 + 3);
	out[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		const char *esc = NULL;
		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\t': esc = "\\t"; break;
		case '\r': esc = "\\r"; break;
		default: break;
		}
		if (esc) {
			out[n++] = esc[0];
			out[n++] = esc[1];
		} else if (*p < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[*p >> 4];
			out[n + 5] = hex[*p & 15];
			n += 6;
		} else {
			out[n++] = (char)*p;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

bool cell_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cell_str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

size_t cell_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **cell_strv_dup(char *const *v)
{
	size_t n = cell_strv_len(v);
	char **out = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

bool cell_strv_contains(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

void cell_strv_push(char ***v, const char *s)
{
	size_t n = cell_strv_len(*v);
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

int cell_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cell_parse_size(const char *s, uint64_t *ret)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} units[] = {
		{ "", 1 },	    { "b", 1 },		 { "k", 1ULL << 10 }, { "kb", 1ULL << 10 },
		{ "kib", 1ULL << 10 }, { "m", 1ULL << 20 }, { "mb", 1ULL << 20 }, { "mib", 1ULL << 20 },
		{ "g", 1ULL << 30 }, { "gb", 1ULL << 30 }, { "gib", 1ULL << 30 }, { "t", 1ULL << 40 },
		{ "tb", 1ULL << 40 }, { "tib", 1ULL << 40 },
	};
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno == ERANGE || !isfinite(v) || v < 0)
		return -ERANGE;
	char unit[8];
	size_t ul = 0;
	for (; end[ul] && ul < sizeof(unit) - 1; ul++)
		unit[ul] = (char)tolower((unsigned char)end[ul]);
	if (end[ul])
		return -EINVAL;
	unit[ul] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(unit, units[i].suffix) != 0)
			continue;
		double bytes = v * (double)units[i].mult;
		if (bytes >= 18446744073709551615.0)
			return -ERANGE;
		*ret = (uint64_t)bytes;
		return 0;
	}
	return -EINVAL;
}

uint64_t cell_clock_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cell_now_ns(void)
{
	return cell_clock_ns(CLOCK_MONOTONIC);
}
