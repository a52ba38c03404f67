#include "container/sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "os/unix.h"

static const char *const type_names[] = {
	[SYNC_GO] = "go", [SYNC_PLACED] = "placed", [SYNC_USERNS] = "userns",
	[SYNC_MAPPED] = "mapped", [SYNC_INIT] = "init", [SYNC_HOOKS] = "hooks", [SYNC_HOOKS_DONE] = "hooks-done",
	[SYNC_PTY] = "pty", [SYNC_SECCOMP] = "seccomp", [SYNC_READY] = "ready", [SYNC_COMMITTED] = "committed",
	[SYNC_ERROR] = "error",
};

int sync_send(int sock, enum sync_type type, const char *data, int fd)
{
	size_t len = data ? strlen(data) : 0;
	if (len > SYNC_DATA_MAX)
		len = SYNC_DATA_MAX;
	_cleanup_free_ char *buf = xmalloc(len + 4);
	uint32_t t = (uint32_t)type;
	memcpy(buf, &t, 4);
	if (len)
		memcpy(buf + 4, data, len);
	return os_send_fds(sock, buf, len + 4, &fd, fd >= 0 ? 1 : 0);
}

int sync_expect(int sock, enum sync_type want, struct sync_msg *ret, struct cell_err **err)
{
	_cleanup_free_ char *buf = xmalloc(SYNC_DATA_MAX + 5);
	int fd = -1;
	size_t nfds = 0;
	ssize_t n = os_recv_fds(sock, buf, SYNC_DATA_MAX + 4, &fd, 1, &nfds);
	if (n < 0)
		return cell_err(err, (int)-n, "waiting for %s", type_names[want]);
	if (n == 0)
		return cell_err(err, EPIPE, "the other side exited while cell waited for %s",
				type_names[want]);
	if (n < 4) {
		if (nfds)
			close(fd);
		return cell_err(err, EPROTO, "short sync message");
	}
	uint32_t t;
	memcpy(&t, buf, 4);
	buf[n] = '\0';
	if (t == SYNC_ERROR) {
		if (nfds)
			close(fd);
		return cell_err(err, 0, "%s", buf + 4);
	}
	if (t != (uint32_t)want) {
		if (nfds)
			close(fd);
		return cell_err(err, EPROTO, "expected %s, got message %u", type_names[want], t);
	}
	if (ret) {
		ret->type = (enum sync_type)t;
		ret->data = xstrdup(buf + 4);
		ret->fd = nfds ? fd : -1;
	} else if (nfds) {
		close(fd);
	}
	return 0;
}

void sync_msg_clear(struct sync_msg *m)
{
	free(m->data);
	if (m->fd >= 0)
		close(m->fd);
	m->data = NULL;
	m->fd = -1;
}

void sync_fail(int sock, struct cell_err *err)
{
	sync_send(sock, SYNC_ERROR, err && err->msg ? err->msg : "init failed", -1);
	_exit(1);
}
