/* Fake cgroup trees for the driver tests: directories and files shaped
 * like cgroupfs below a temporary directory, which a context made with
 * cgroup_ctx_new(..., prefix) reads and writes instead of /sys. */
#ifndef CELL_TESTS_CGROUP_FAKE_H
#define CELL_TESTS_CGROUP_FAKE_H

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

static inline char *fake_new(void)
{
	char tmpl[] = "/tmp/cell-cgfake-XXXXXX";
	if (!mkdtemp(tmpl))
		abort();
	return xstrdup(tmpl);
}

static inline void fake_mkdir(const char *root, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
	_cleanup_err_ struct cell_err *e = NULL;
	if (cell_mkdir_p(p, 0755, &e) < 0)
		abort();
}

/* root/rel := content, making the directories on the way. */
static inline void fake_put(const char *root, const char *rel, const char *content)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
	_cleanup_free_ char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	_cleanup_err_ struct cell_err *e = NULL;
	if (cell_mkdir_p(dir, 0755, &e) < 0)
		abort();
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || cell_write_all(fd, content, strlen(content)) < 0)
		abort();
	close(fd);
}

/* Several files of one directory: NULL-terminated name, content pairs. */
static inline void fake_files(const char *root, const char *dir, ...)
{
	va_list ap;
	va_start(ap, dir);
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (!name)
			break;
		const char *content = va_arg(ap, const char *);
		_cleanup_free_ char *rel = xasprintf("%s/%s", dir, name);
		fake_put(root, rel, content);
	}
	va_end(ap);
}

/* Contents of root/rel without trailing newline, or NULL. */
static inline char *fake_get(const char *root, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
	char *s;
	size_t len;
	_cleanup_err_ struct cell_err *e = NULL;
	if (cell_read_file(p, 1 << 20, &s, &len, &e) < 0)
		return NULL;
	while (len && s[len - 1] == '\n')
		s[--len] = '\0';
	return s;
}

static inline int fake_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	remove(path);
	return 0;
}

static inline void fake_rm(const char *root)
{
	if (root)
		nftw(root, fake_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fake_freep(char **root)
{
	fake_rm(*root);
	free(*root);
}
#define _cleanup_fake_ _cleanup_(fake_freep)

static inline void ctx_freep(struct cgroup_ctx **ctx)
{
	cgroup_ctx_free(*ctx);
}
#define _cleanup_ctx_ _cleanup_(ctx_freep)

/* Position of "PATH=VALUE" in the journal, -1 when absent. */
static inline int journal_at(const struct cgroup_ctx *ctx, const char *entry)
{
	for (size_t i = 0; ctx->journal && ctx->journal[i]; i++)
		if (strcmp(ctx->journal[i], entry) == 0)
			return (int)i;
	return -1;
}

static inline size_t journal_len(const struct cgroup_ctx *ctx)
{
	return cell_strv_len(ctx->journal);
}

static inline void journal_reset(struct cgroup_ctx *ctx)
{
	cell_strv_free(ctx->journal);
	ctx->journal = NULL;
}

#endif
