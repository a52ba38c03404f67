#include "container/sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "os/unix.h"

static const char *const type_names[] = {
	[SYNC_GO] = "go", [SYNC_PLACED] = "placed", [SYNC_CGROUP] = "cgroup", [SYNC_USERNS] = "userns",
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
	struct sync_msg m = { .fd = -1 };
	int r = sync_recv(sock, type_names[want], &m, err);
	if (r < 0)
		return r;
	if (m.type != want) {
		r = cell_err(err, EPROTO, "expected %s, got message %u", type_names[want],
			     (unsigned)m.type);
		sync_msg_clear(&m);
		return r;
	}
	if (ret)
		*ret = m;
	else
		sync_msg_clear(&m);
	return 0;
}

int sync_recv(int sock, const char *want, struct sync_msg *ret, struct cell_err **err)
{
	_cleanup_free_ char *buf = xmalloc(SYNC_DATA_MAX + 5);
	int fd = -1;
	size_t nfds = 0;
	ssize_t n = os_recv_fds(sock, buf, SYNC_DATA_MAX + 4, &fd, 1, &nfds);
	/* A peer that exits with our messages unread leaves a reset, and the
	 * kernel reports it ahead of what the peer sent before it went (its
	 * SYNC_ERROR, say).  The reset is consumed by that report; read on. */
	if (n == -ECONNRESET)
		n = os_recv_fds(sock, buf, SYNC_DATA_MAX + 4, &fd, 1, &nfds);
	if (n < 0)
		return cell_err(err, (int)-n, "waiting for %s", want);
	if (n == 0)
		return cell_err(err, EPIPE, "the other side exited while cell waited for %s", want);
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
	ret->type = (enum sync_type)t;
	ret->data = xstrdup(buf + 4);
	ret->fd = nfds ? fd : -1;
	return 0;
}

int sync_peer_gone(int sock, int r, struct cell_err **err)
{
	if (r != -EPIPE && r != -ECONNRESET)
		return r;
	struct sync_msg m = { .fd = -1 };
	struct cell_err *why = NULL;
	if (sync_recv(sock, "the other side's report", &m, &why) == 0) {
		sync_msg_clear(&m);
		return r;
	}
	if (why->errnum != 0) { /* no report came before the end */
		cell_err_free(why);
		return r;
	}
	cell_err_freep(err);
	*err = why;
	return r;
}

int sync_send_cgroup(int sock, struct cgroup *cg, struct cell_err **err)
{
	int fds[32];
	size_t n = 0;
	int r = cgroup_open_task_files(cg, fds, ARRAY_SIZE(fds), &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = sync_send(sock, SYNC_CGROUP, cgroup_path(cg), fds[i]);
		close(fds[i]);
	}
	return r < 0 ? cell_err(err, -r, "send the tasks files of cgroup %s", cgroup_path(cg)) : 0;
}

int sync_expect_entering(int sock, enum sync_type want, struct sync_msg *ret,
			 struct cell_err **err)
{
	for (;;) {
		struct sync_msg m = { .fd = -1 };
		int r = sync_recv(sock, type_names[want], &m, err);
		if (r < 0)
			return r;
		if (m.type == want) {
			if (ret)
				*ret = m;
			else
				sync_msg_clear(&m);
			return 0;
		}
		if (m.type != SYNC_CGROUP)
			r = cell_err(err, EPROTO, "expected %s, got message %u", type_names[want],
				     (unsigned)m.type);
		else if (m.fd < 0)
			r = cell_err(err, EPROTO, "cgroup %s: no tasks file came", m.data);
		else if (write(m.fd, "0", 1) != 1)
			r = cell_err_sys(err, "join cgroup %s", m.data);
		sync_msg_clear(&m);
		if (r < 0)
			return r;
	}
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
