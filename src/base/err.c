#include "base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int code_of(int errnum)
{
	return errnum > 0 ? -errnum : -EINVAL;
}

int cell_verr(struct cell_err **err, int errnum, const char *fmt, va_list ap)
{
	char *text = NULL, *msg = NULL;
	if (errnum < 0)
		errnum = -errnum;
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	if (text && errnum > 0) {
		if (asprintf(&msg, "%s: %s", text, strerror(errnum)) < 0)
			msg = NULL;
		free(text);
	} else {
		msg = text;
	}
	if (err) {
		cell_err_free(*err);
		*err = calloc(1, sizeof(**err));
		if (*err) {
			(*err)->errnum = errnum;
			(*err)->msg = msg ? msg : strdup("out of memory formatting an error");
			return code_of(errnum);
		}
	}
	free(msg);
	return code_of(errnum);
}

int cell_err(struct cell_err **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cell_verr(err, errnum, fmt, ap);
	va_end(ap);
	return r;
}

int cell_err_wrap(struct cell_err **err, const char *fmt, ...)
{
	char *ctx = NULL, *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (!err) {
		free(ctx);
		return -EINVAL;
	}
	if (!*err) {
		int r = cell_err(err, 0, "%s", ctx ? ctx : "error");
		free(ctx);
		return r;
	}
	if (ctx && asprintf(&msg, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = msg;
	}
	free(ctx);
	return code_of((*err)->errnum);
}

int cell_err_code(const struct cell_err *err)
{
	return err ? code_of(err->errnum) : -EINVAL;
}

void cell_err_free(struct cell_err *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

void cell_err_freep(struct cell_err **err)
{
	cell_err_free(*err);
	*err = NULL;
}
