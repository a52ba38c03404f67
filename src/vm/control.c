/* The control socket: request parsing (fuzzed: tests/fuzz/fuzz-vm-control.c),
 * serving, and the client side. */
#include "vm/control.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"

#define ANSWER_MAX (1u << 20)
#define IO_TIMEOUT_MS 5000

int control_parse(const char *buf, size_t len, struct control_request *ret, struct cell_err **err)
{
	if (len > CONTROL_REQUEST_MAX)
		return cell_err(err, E2BIG, "control request longer than %u bytes", CONTROL_REQUEST_MAX);
	struct json_tokener *tok = json_tokener_new_ex(8);
	struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t end = o ? json_tokener_get_parse_end(tok) : 0;
	json_tokener_free(tok);
	while (end < len && (buf[end] == ' ' || buf[end] == '\n' || buf[end] == '\r' || buf[end] == '\t'))
		end++;
	int r = 0;
	if (!o || je != json_tokener_success || end != len ||
	    !json_object_is_type(o, json_type_object)) {
		r = cell_err(err, EINVAL, "control request: not a JSON object");
		goto out;
	}
	struct control_request q = { 0 };
	const char *cmd = NULL;
	json_object_object_foreach(o, key, val) {
		if (strcmp(key, "cmd") == 0 && json_object_is_type(val, json_type_string)) {
			cmd = json_object_get_string(val);
		} else if (strcmp(key, "signal") == 0 && json_object_is_type(val, json_type_int)) {
			int64_t s = json_object_get_int64(val);
			if (s < 1 || s > 64) {
				r = cell_err(err, EINVAL, "control request: signal %lld out of range",
					     (long long)s);
				goto out;
			}
			q.signal = (int)s;
		} else {
			r = cell_err(err, EINVAL, "control request: unexpected field \"%s\"", key);
			goto out;
		}
	}
	static const struct {
		const char *name;
		enum control_cmd cmd;
	} cmds[] = { { "pause", CONTROL_PAUSE }, { "resume", CONTROL_RESUME },
		     { "stats", CONTROL_STATS }, { "stop", CONTROL_STOP },
		     { "signal", CONTROL_SIGNAL } };
	r = cell_err(err, EINVAL, "control request: unknown cmd \"%s\"", cmd ? cmd : "(none)");
	for (size_t i = 0; cmd && i < ARRAY_SIZE(cmds); i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			cell_err_free(*err);
			*err = NULL;
			q.cmd = cmds[i].cmd;
			r = 0;
		}
	if (r == 0 && q.cmd == CONTROL_SIGNAL && !q.signal)
		r = cell_err(err, EINVAL, "control request: \"signal\" needs a signal number");
	if (r == 0)
		*ret = q;
out:
	json_object_put(o);
	return r;
}

static void answer(int conn, bool ok, const char *error, const char *body)
{
	char *s;
	if (!ok) {
		_cleanup_free_ char *q = cell_json_quote(error ? error : "failed");
		s = xasprintf("{\"ok\":false,\"error\":%s}\n", q);
	} else if (body) {
		s = xasprintf("{\"ok\":true,\"stats\":%s}\n", body);
	} else {
		s = xstrdup("{\"ok\":true}\n");
	}
	cell_write_all(conn, s, strlen(s));
	free(s);
}

/* Read until EOF or newline, bounded in size and time. */
static ssize_t read_request(int conn, char *buf, size_t cap)
{
	size_t n = 0;
	while (n < cap) {
		struct pollfd p = { .fd = conn, .events = POLLIN };
		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		ssize_t k = read(conn, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
		if (memchr(buf + n - (size_t)k, '\n', (size_t)k))
			break;
	}
	return (ssize_t)n;
}

void control_serve(int conn, const struct control_ops *ops)
{
	char buf[CONTROL_REQUEST_MAX + 1];
	ssize_t n = read_request(conn, buf, sizeof(buf));
	struct control_request q;
	_cleanup_err_ struct cell_err *err = NULL;
	_cleanup_free_ char *why = NULL;
	if (n < 0) {
		answer(conn, false, "no request", NULL);
	} else if (control_parse(buf, (size_t)n, &q, &err) < 0) {
		answer(conn, false, err->msg, NULL);
	} else {
		switch (q.cmd) {
		case CONTROL_PAUSE:
		case CONTROL_RESUME:
			if (ops->pause(ops->ctx, q.cmd == CONTROL_PAUSE, &why) < 0)
				answer(conn, false, why, NULL);
			else
				answer(conn, true, NULL, NULL);
			break;
		case CONTROL_STATS: {
			_cleanup_free_ char *s = ops->stats(ops->ctx);
			answer(conn, true, NULL, s);
			break;
		}
		case CONTROL_STOP:
			ops->stop(ops->ctx);
			answer(conn, true, NULL, NULL);
			break;
		case CONTROL_SIGNAL:
			if (ops->signal(ops->ctx, q.signal, &why) < 0)
				answer(conn, false, why, NULL);
			else
				answer(conn, true, NULL, NULL);
			break;
		}
	}
	close(conn);
}

static int fill_addr(const char *path, struct sockaddr_un *a, struct cell_err **err)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return cell_err(err, ENAMETOOLONG, "control socket path %s is too long", path);
	strcpy(a->sun_path, path);
	return 0;
}

int control_listen(const char *path, struct cell_err **err)
{
	struct sockaddr_un a;
	int r = fill_addr(path, &a, err);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cell_err_sys(err, "control socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		r = cell_err_sys(err, "control socket %s", path);
		close(fd);
		return r;
	}
	return fd;
}

int control_call(const char *path, const char *request, char **ret, struct cell_err **err)
{
	struct sockaddr_un a;
	int r = fill_addr(path, &a, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cell_err_sys(err, "control socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return cell_err_sys(err, "connect to the VM's control socket");
	if ((r = cell_write_all(fd, request, strlen(request))) < 0 ||
	    (r = cell_write_all(fd, "\n", 1)) < 0)
		return cell_err(err, -r, "control socket: sending the request");
	shutdown(fd, SHUT_WR);
	_cleanup_free_ char *buf = xmalloc(ANSWER_MAX + 1);
	size_t n = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return cell_err(err, ETIMEDOUT, "control socket: no answer");
		ssize_t k = read(fd, buf + n, ANSWER_MAX - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return cell_err_sys(err, "control socket");
		if (k == 0 || (n += (size_t)k) == ANSWER_MAX)
			break;
	}
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	struct json_object *o = json_tokener_parse(buf);
	if (!o)
		return cell_err(err, EPROTO, "control socket: the answer is not JSON");
	struct json_object *ok, *e;
	bool good = json_object_object_get_ex(o, "ok", &ok) && json_object_get_boolean(ok);
	if (!good) {
		r = cell_err(err, EIO, "%s",
			     json_object_object_get_ex(o, "error", &e) ? json_object_get_string(e)
								       : "the VM refused the request");
		json_object_put(o);
		return r;
	}
	json_object_put(o);
	*ret = TAKE_PTR(buf);
	return 0;
}
