/* The cgroup layer's text parsers: /proc/self/mountinfo and /proc/PID/cgroup
 * (paths in them are chosen by whoever mounts or names cgroups, e.g. inside
 * a container), cgroup paths from linux.cgroupsPath and the cpuset lists of
 * linux.resources.cpu.  Input: four parts separated by NUL bytes. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "os/cgroup-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *part(const char *buf, size_t size, size_t *pos)
{
	const char *p = buf + *pos;
	if (*pos >= size)
		return "";
	*pos += strlen(p) + 1;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	size_t pos = 0;
	const char *mountinfo = part(buf, size, &pos), *self = part(buf, size, &pos);
	const char *path = part(buf, size, &pos), *list = part(buf, size, &pos);
	struct cell_err *e = NULL;
	struct cgroup_ctx *ctx = NULL;
	/* A prefix where nothing exists: parsing only, no file system. */
	if (cgroup_ctx_new(mountinfo, self, "/nonexistent-cell-fuzz", &ctx, &e) == 0) {
		if (ctx->n_hier == 0 || (ctx->unified >= 0 && !ctx->hier[ctx->unified].v2))
			abort();
		struct cgroup *cg = NULL;
		if (cgroup_ctx_of_text(ctx, self, &cg, &e) == 0) {
			if (cell_strv_len(cgroup_dirs(cg)) != ctx->n_hier)
				abort();
			cgroup_free(cg);
			cg = NULL;
		}
		if (*path && cgroup_ctx_open(ctx, path, &cg, &e) == 0)
			abort(); /* nothing exists below the prefix */
		cgroup_ctx_free(ctx);
	}
	struct cg_bits bits;
	int r = cg_cpulist_parse(list, &bits);
	if (r != 0 && r != -EINVAL && r != -ERANGE)
		abort();
	cell_err_free(e);
	free(buf);
	return 0;
}
