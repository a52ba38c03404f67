/* Small helpers shared by every module: whole-file I/O, paths, strings. */
#ifndef CELL_BASE_UTIL_H
#define CELL_BASE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/cleanup.h"
#include "base/err.h"

/* Allocation failure is not a recoverable condition for a runtime that
 * holds kernel resources half-built; abort loudly instead of limping. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cell_write_all(int fd, const void *buf, size_t len);
int cell_read_all(int fd, void *buf, size_t len); /* 0, or -errno; -EIO on early EOF */

/* Read a whole file (at most max bytes, NUL-terminated) relative to dirfd. */
int cell_read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
		      struct cell_err **err);
int cell_read_file(const char *path, size_t max, char **ret, size_t *ret_len,
		   struct cell_err **err);
/* Write data to an existing file, e.g. a cgroup or /proc knob. */
int cell_write_file_at(int dirfd, const char *path, const char *data, size_t len,
		       struct cell_err **err);
int cell_write_file(const char *path, const char *data, size_t len, struct cell_err **err);
/* Replace path with data atomically: write a temporary file, fsync-free
 * rename over the old one, so a reader sees the old or the new, never half. */
int cell_write_file_atomic_at(int dirfd, const char *path, const char *data, size_t len,
			      mode_t mode, struct cell_err **err);

/* The pid as text, no newline (what runc writes), replaced atomically. */
int cell_write_pid_file(const char *path, pid_t pid, struct cell_err **err);

int cell_mkdir_p(const char *path, mode_t mode, struct cell_err **err);

/* Quote s as a JSON string, with the quotes. */
char *cell_json_quote(const char *s);

bool cell_str_has_prefix(const char *s, const char *prefix);
bool cell_str_has_suffix(const char *s, const char *suffix);
size_t cell_strv_len(char *const *v);
char **cell_strv_dup(char *const *v);
bool cell_strv_contains(char *const *v, const char *s);
/* Append a copy of s to the NULL-terminated vector *v. */
void cell_strv_push(char ***v, const char *s);

/* Parse a decimal integer, the whole string, in [min, max]. */
int cell_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* "256M", "1.5G", "4096", "1k" (binary units) to bytes. */
int cell_parse_size(const char *s, uint64_t *ret);

uint64_t cell_now_ns(void); /* CLOCK_MONOTONIC */
/* Any clock in ns (a CPU-time clock too); 0 when it cannot be read. */
uint64_t cell_clock_ns(clockid_t clock);

#endif
