/* The control socket (control.c): one JSON request per connection, one JSON
 * answer: {"cmd":"pause"|"resume"|"stats"|"stop"|"signal","signal":N}
 * -> {"ok":true,...} or {"ok":false,"error":"..."}.  Requests are
 * untrusted input: bounded in size, parsed strictly, unknown fields refused. */
#ifndef CELL_VM_CONTROL_H
#define CELL_VM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define CONTROL_REQUEST_MAX 4096

struct control_ops {
	int (*pause)(void *ctx, bool pause, char **why);
	char *(*stats)(void *ctx); /* a JSON object */
	void (*stop)(void *ctx);
	int (*signal)(void *ctx, int sig, char **why);
	void *ctx;
};

enum control_cmd { CONTROL_PAUSE, CONTROL_RESUME, CONTROL_STATS, CONTROL_STOP, CONTROL_SIGNAL };

struct control_request {
	enum control_cmd cmd;
	int signal;
};

/* Parse one request (len bytes, need not be NUL-terminated). */
int control_parse(const char *buf, size_t len, struct control_request *ret, struct cell_err **err);
/* Serve one request on an accepted connection, then close it. */
void control_serve(int conn, const struct control_ops *ops);
/* Bind and listen on path (removing a stale socket). */
int control_listen(const char *path, struct cell_err **err);
/* Send request to the socket at path; the answer's JSON text in *ret. */
int control_call(const char *path, const char *request, char **ret, struct cell_err **err);

#endif
