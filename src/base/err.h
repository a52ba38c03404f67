/* Errors: one object carries what failed and why, with context added on the
 * way up, to the one place (the CLI) that prints it.
 *
 * Convention: a fallible function returns 0 or a negative errno and, on
 * failure, leaves a message in *err.  Callers add context with cell_err_wrap()
 * ("restore 'web1': open pages.img: No such file or directory"). */
#ifndef CELL_BASE_ERR_H
#define CELL_BASE_ERR_H

#include <stdarg.h>

struct cell_err {
	int errnum; /* positive errno, or 0 when the message says it all */
	char *msg;
};

/* Set *err (freeing any earlier one) and return -errnum, or -EINVAL when
 * errnum is 0.  A non-zero errnum appends ": strerror(errnum)". */
int cell_err(struct cell_err **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cell_verr(struct cell_err **err, int errnum, const char *fmt, va_list ap);

/* Shorthand for the common case of a failed syscall. */
#define cell_err_sys(err, ...) cell_err((err), errno, __VA_ARGS__)

/* Prefix the message in *err with context ("context: message") and return
 * the stored negative errno.  With no error set it records the context
 * alone, so a wrap never loses a failure. */
int cell_err_wrap(struct cell_err **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The negative errno stored in err (or -EINVAL). */
int cell_err_code(const struct cell_err *err);

void cell_err_free(struct cell_err *err);
void cell_err_freep(struct cell_err **err);

#endif
