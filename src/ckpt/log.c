/* The engine's own log file (WORK_DIR/dump.log, restore.log): what was done
 * and how long it took, for the one who has to find out why a restore
 * failed.  Never stdout or stderr: this is library code. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

int ck_log_open(struct ck_log *l, const char *work_dir, const char *name, struct cell_err **err)
{
	l->f = NULL;
	l->t0 = cell_now_ns();
	if (!work_dir)
		return 0;
	_cleanup_free_ char *path = xasprintf("%s/%s", work_dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return cell_err_sys(err, "create %s", path);
	l->f = fdopen(fd, "w");
	if (!l->f) {
		close(fd);
		return cell_err_sys(err, "open %s", path);
	}
	setvbuf(l->f, NULL, _IOLBF, 0);
	return 0;
}

void ck_log_close(struct ck_log *l)
{
	if (l->f)
		fclose(l->f);
	l->f = NULL;
}

void ck_logf(struct ck_log *l, const char *fmt, ...)
{
	if (!l->f)
		return;
	uint64_t us = (cell_now_ns() - l->t0) / 1000;
	fprintf(l->f, "%6llu.%03llu ", (unsigned long long)(us / 1000),
		(unsigned long long)(us % 1000));
	va_list ap;
	va_start(ap, fmt);
	vfprintf(l->f, fmt, ap);
	va_end(ap);
	fputc('\n', l->f);
}
