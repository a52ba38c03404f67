/* start, kill, delete, pause/resume and pids: the verbs that act on an
 * existing container.  Each decides its container's status from the
 * kernel (status.c) before acting, and refuses with runc's wording. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/hooks.h"
#include "container/internal.h"
#include "os/cgroup.h"
#include "os/process.h"

/* An opened, locked container with its record and live status. */
struct handle {
	struct state_dir dir;
	struct state_record rec;
	bool have_rec;
	enum container_status status;
};

static int handle_open(const struct container_ctx *ctx, const char *id, bool lock,
		       struct handle *h, struct cell_err **err)
{
	memset(h, 0, sizeof(*h));
	h->dir.fd = -1;
	int r = state_dir_open(ctx->root, id, lock, &h->dir, err);
	if (r < 0)
		return r;
	struct cell_err *e = NULL;
	r = state_record_read(&h->dir, &h->rec, &e);
	if (r == -ENOENT) {
		/* create died before its first record: stopped, and deletable. */
		cell_err_free(e);
		h->status = CONTAINER_STOPPED;
		return 0;
	}
	if (r < 0) {
		cell_err_free(*err);
		*err = e;
		state_dir_close(&h->dir);
		return r;
	}
	h->have_rec = true;
	return container_status_of(&h->dir, &h->rec, lock, &h->status);
}

static void handle_close(struct handle *h)
{
	state_record_clear(&h->rec);
	state_dir_close(&h->dir);
}

static int load_spec(struct handle *h, struct oci_spec **ret, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = cell_read_file_at(h->dir.fd, CONFIG_COPY, OCI_SPEC_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return r;
	return oci_spec_parse(text, len, CONFIG_COPY, ret, err);
}

static void run_hooks_warn(struct handle *h, const struct oci_spec *spec, enum oci_hook_kind kind,
			   const char *status)
{
	if (!spec->hooks[kind].n)
		return;
	_cleanup_free_ char *state = oci_state_json(
		h->rec.id, status, strcmp(status, "stopped") == 0 ? 0 : h->rec.pid,
		h->rec.bundle, h->rec.rootfs, h->rec.created, h->rec.owner, h->rec.annotations,
		h->rec.n_annotations);
	struct cell_err *e = NULL;
	/* The spec: a failing poststart or poststop hook is a warning only. */
	if (hooks_run(spec, kind, state, &e) < 0)
		cell_warn("container \"%s\": %s", h->rec.id, e->msg);
	cell_err_free(e);
}

/* Poststart hooks run after the container's process has started (the
 * spec): the init holds exec.fifo open (close-on-exec) until its execve, so
 * our write end reports POLLERR once no reader is left, or the init died. */
static void wait_for_exec(int fifo, struct handle *h)
{
	_cleanup_close_ int pidfd = os_pidfd_open_checked(h->rec.pid, h->rec.pid_start);
	struct pollfd p[2] = { { .fd = fifo, .events = 0 }, { .fd = pidfd, .events = POLLIN } };
	while (poll(p, pidfd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
		;
}

int container_start(const struct container_ctx *ctx, const char *id, struct cell_err **err)
{
	/* Declared before any goto: cleanup must never run on garbage. */
	_cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
	_cleanup_close_ int fd = -1;
	struct cell_err *e = NULL;
	struct handle h;
	int r = handle_open(ctx, id, true, &h, err);
	if (r < 0)
		return r;
	switch (h.status) {
	case CONTAINER_CREATED:
		break;
	case CONTAINER_STOPPED:
		r = cell_err(err, 0, "container \"%s\": cannot start a container that has stopped", id);
		goto out;
	case CONTAINER_CREATING:
		r = cell_err(err, 0, "container \"%s\": cannot start a container that is being created", id);
		goto out;
	default:
		r = cell_err(err, 0, "container \"%s\": cannot start an already running container", id);
		goto out;
	}
	fd = openat(h.dir.fd, EXEC_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENXIO ? cell_err(err, 0, "container \"%s\": cannot start a container that has stopped", id)
				   : cell_err_sys(err, "container \"%s\": open %s", id, EXEC_FIFO);
		goto out;
	}
	if (write(fd, "0", 1) != 1) {
		r = cell_err_sys(err, "container \"%s\": release the init", id);
		goto out;
	}
	unlinkat(h.dir.fd, EXEC_FIFO, 0);
	if (h.rec.late_hooks)
		wait_for_exec(fd, &h);
	h.rec.phase = STATE_PHASE_STARTED;
	if ((r = state_record_write(&h.dir, &h.rec, err)) < 0)
		goto out;
	if (h.rec.late_hooks && load_spec(&h, &spec, &e) == 0)
		run_hooks_warn(&h, spec, OCI_HOOK_POSTSTART, "running");
	else if (h.rec.late_hooks)
		cell_warn("container \"%s\": poststart hooks not run: %s", id, e->msg);
	cell_err_free(e);
out:
	handle_close(&h);
	return r;
}

static int signal_init(struct handle *h, int sig, struct cell_err **err)
{
	_cleanup_close_ int pidfd = os_pidfd_open_checked(h->rec.pid, h->rec.pid_start);
	if (pidfd < 0)
		return cell_err(err, 0, "container \"%s\": container not running", h->dir.id);
	int r = os_pidfd_send_signal(pidfd, sig);
	if (r < 0)
		return cell_err(err, -r, "container \"%s\": send signal %d", h->dir.id, sig);
	return 0;
}

static int signal_all(struct handle *h, int sig, struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r = container_open_cgroup(&h->dir, &cg, err);
	if (r == -ENOENT) {
		cell_err_freep(err);
		return 0; /* no cgroup left, so no process either */
	}
	if (r < 0 || (r = cgroup_kill_all(cg, sig, err)) < 0)
		return cell_err_wrap(err, "container \"%s\"", h->dir.id);
	return 0;
}

int container_kill(const struct container_ctx *ctx, const char *id, int sig, bool all,
		   struct cell_err **err)
{
	struct handle h;
	int r = handle_open(ctx, id, false, &h, err);
	if (r < 0)
		return r;
	if (all)
		r = signal_all(&h, sig, err);
	else if (h.status == CONTAINER_STOPPED || h.status == CONTAINER_CREATING)
		r = cell_err(err, 0, "container \"%s\": container not running", id);
	else
		r = signal_init(&h, sig, err);
	handle_close(&h);
	return r;
}

/* Stop everything in a live container and wait for the init to be gone. */
static int stop_all(struct handle *h, struct cell_err **err)
{
	_cleanup_close_ int pidfd = os_pidfd_open_checked(h->rec.pid, h->rec.pid_start);
	if (pidfd >= 0)
		os_pidfd_send_signal(pidfd, SIGKILL);
	int r = signal_all(h, SIGKILL, err);
	if (r < 0)
		return r;
	if (h->status == CONTAINER_PAUSED) {
		/* Frozen tasks die only once thawed. */
		_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
		if (container_open_cgroup(&h->dir, &cg, err) == 0)
			cgroup_freeze(cg, false, err);
		cell_err_freep(err);
	}
	if (pidfd >= 0 && os_pidfd_wait_exit(pidfd, 10000) < 0)
		return cell_err(err, ETIMEDOUT, "container \"%s\": init (pid %d) did not die",
				h->dir.id, (int)h->rec.pid);
	return 0;
}

int container_delete(const struct container_ctx *ctx, const char *id, bool force,
		     struct cell_err **err)
{
	_cleanup_(oci_spec_freep) struct oci_spec *spec = NULL;
	struct cell_err *e = NULL;
	bool hooks;
	struct handle h;
	int r = handle_open(ctx, id, true, &h, err);
	if (r < 0)
		return r;
	if (h.status != CONTAINER_STOPPED) {
		if (!force) {
			r = cell_err(err, 0, "cannot delete container \"%s\" that is not stopped: %s", id,
				     container_status_name(h.status));
			goto out;
		}
		if ((r = stop_all(&h, err)) < 0)
			goto out;
	}
	hooks = h.have_rec && h.rec.phase != STATE_PHASE_CREATING && h.rec.late_hooks &&
		load_spec(&h, &spec, &e) == 0;
	cell_err_free(e);
	if ((r = container_undo(&h.dir, err)) < 0) {
		cell_err_wrap(err, "delete container \"%s\"", id);
		goto out;
	}
	if (hooks)
		run_hooks_warn(&h, spec, OCI_HOOK_POSTSTOP, "stopped");
out:
	handle_close(&h);
	return r;
}

int container_pause(const struct container_ctx *ctx, const char *id, bool pause,
		    struct cell_err **err)
{
	struct handle h;
	int r = handle_open(ctx, id, true, &h, err);
	if (r < 0)
		return r;
	if (pause && h.status != CONTAINER_RUNNING)
		r = cell_err(err, 0, "container \"%s\": container not running", id);
	else if (!pause && h.status != CONTAINER_PAUSED)
		r = cell_err(err, 0, "container \"%s\": container not paused", id);
	if (r == 0) {
		_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
		if ((r = container_open_cgroup(&h.dir, &cg, err)) == 0)
			r = cgroup_freeze(cg, pause, err);
		if (r < 0)
			cell_err_wrap(err, "container \"%s\": %s", id, pause ? "pause" : "resume");
	}
	handle_close(&h);
	return r;
}

int container_pids(const struct container_ctx *ctx, const char *id, pid_t **ret, size_t *ret_n,
		   struct cell_err **err)
{
	struct handle h;
	int r = handle_open(ctx, id, false, &h, err);
	if (r < 0)
		return r;
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	r = container_open_cgroup(&h.dir, &cg, err);
	if (r == -ENOENT) {
		cell_err_freep(err);
		*ret = NULL;
		*ret_n = 0;
		r = 0;
	} else if (r == 0) {
		r = cgroup_pids(cg, ret, ret_n, err);
	}
	if (r < 0)
		cell_err_wrap(err, "container \"%s\"", id);
	handle_close(&h);
	return r;
}
