/* Managing VMs by id: list, stop, kill, control.  A VM whose monitor is
 * gone (the state directory's lock is free) is stopped: the command that
 * notices reports it and removes what it left (record, cgroup). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "os/process.h"
#include "vm/control.h"
#include "vm/record.h"

#define KILL_WAIT_MS 10000

struct opened {
	struct state_dir dir;
	struct vm_record rec;
	bool dead;       /* the monitor is gone */
	bool ours;       /* we hold the lock: cleaning up is ours */
};

static void opened_close(struct opened *o)
{
	vm_record_clear(&o->rec);
	state_dir_close(&o->dir);
}

static int open_vm(const char *root, const char *id, struct opened *o, struct cell_err **err)
{
	memset(o, 0, sizeof(*o));
	o->dir.fd = -1;
	int r = state_check_id(id, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *vmroot = vm_state_root(root);
	if ((r = state_dir_open(vmroot, id, false, &o->dir, err)) < 0) {
		if (r == -ENOENT) {
			cell_err_free(*err);
			*err = NULL;
			return cell_err(err, ENOENT, "vm \"%s\" does not exist", id);
		}
		return r;
	}
	o->ours = state_dir_try_lock(&o->dir) == 0;
	if ((r = vm_record_read(o->dir.fd, &o->rec, err)) < 0) {
		if (!o->ours) { /* still being created */
			state_dir_close(&o->dir);
			cell_err_free(*err);
			*err = NULL;
			return cell_err(err, EBUSY, "vm \"%s\" is starting", id);
		}
		cell_err_free(*err);
		*err = NULL;
		o->dead = true;
		return 0;
	}
	o->dead = o->ours || !os_proc_alive(o->rec.pid, o->rec.pid_start);
	return 0;
}

static char *socket_of(struct opened *o)
{
	return vm_socket_path(&o->dir, "control.sock");
}

static char *what_happened(struct opened *o, struct vm_info *x)
{
	struct vm_result res;
	if (vm_result_read(o->dir.fd, &res) == 0) {
		x->oom_kills = res.oom_kills;
		x->oom_kills_known = o->rec.kind == VM_KIND_GUEST;
		return vm_result_describe(&res);
	}
	return xstrdup("the monitor died");
}

/* A running light guest's OOM kills, from its stats (memory.oom_kill). */
static void ask_oom_kills(struct opened *o, struct vm_info *x)
{
	_cleanup_free_ char *sock = socket_of(o), *ans = NULL;
	_cleanup_err_ struct cell_err *err = NULL;
	if (o->rec.kind != VM_KIND_GUEST ||
	    control_call(sock, "{\"cmd\":\"stats\"}", &ans, &err) < 0)
		return;
	struct json_object *a = json_tokener_parse(ans), *v;
	if (a && json_object_object_get_ex(a, "stats", &v) &&
	    json_object_object_get_ex(v, "memory", &v) &&
	    json_object_object_get_ex(v, "oom_kill", &v) && json_object_is_type(v, json_type_int)) {
		x->oom_kills = (unsigned)json_object_get_uint64(v);
		x->oom_kills_known = true;
	}
	json_object_put(a);
}

static void info_from(struct vm_info *x, const char *id, struct opened *o)
{
	x->id = xstrdup(id);
	x->kind = xstrdup(o->rec.kind == VM_KIND_LINUX ? "linux" : "guest");
	x->what = xstrdup(o->rec.what ? o->rec.what : "");
	x->created = xstrdup(o->rec.created ? o->rec.created : "");
	x->pid = o->rec.pid;
	x->status = xstrdup(o->dead ? "stopped" : o->rec.paused ? "paused" : "running");
	x->bundle = xstrdup(o->rec.bundle ? o->rec.bundle : "");
	x->rootfs = xstrdup(o->rec.rootfs ? o->rec.rootfs : "");
	if (o->dead)
		x->result = what_happened(o, x);
}

int vm_info_get(const char *root, const char *id, struct vm_info *ret, struct cell_err **err)
{
	struct opened o;
	int r = open_vm(root, id, &o, err);
	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	info_from(ret, id, &o);
	if (!o.dead)
		ask_oom_kills(&o, ret);
	opened_close(&o);
	return 0;
}

int vm_list(const char *root, struct vm_info **ret, size_t *ret_n, struct cell_err **err)
{
	_cleanup_free_ char *vmroot = vm_state_root(root);
	_cleanup_strv_ char **ids = NULL;
	int r = state_list_ids(vmroot, &ids, err);
	if (r < 0)
		return r;
	struct vm_info *v = xcalloc(cell_strv_len(ids) + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; ids[i]; i++) {
		struct opened o;
		_cleanup_err_ struct cell_err *e = NULL;
		if (open_vm(root, ids[i], &o, &e) < 0)
			continue;
		info_from(&v[n++], ids[i], &o);
		if (o.dead && o.ours)
			vm_record_cleanup(&o.dir, &e);
		opened_close(&o);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void vm_info_free(struct vm_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].id);
		free(v[i].status);
		free(v[i].kind);
		free(v[i].what);
		free(v[i].created);
		free(v[i].result);
		free(v[i].bundle);
		free(v[i].rootfs);
	}
	free(v);
}

/* Wait for the monitor to go, SIGKILL it after timeout_ms. */
static void reap(struct opened *o, int timeout_ms)
{
	int pidfd = os_pidfd_open_checked(o->rec.pid, o->rec.pid_start);
	if (pidfd < 0)
		return;
	if (os_pidfd_wait_exit(pidfd, timeout_ms) == -ETIMEDOUT) {
		os_pidfd_send_signal(pidfd, SIGKILL);
		os_pidfd_wait_exit(pidfd, KILL_WAIT_MS);
	}
	close(pidfd);
}

/* After the monitor is gone: clean up unless a foreground `cell vm run`
 * still holds the lock (it cleans up itself). */
static int cleanup_after(struct opened *o, struct cell_err **err)
{
	if (!o->ours && state_dir_try_lock(&o->dir) != 0) {
		/* The lock outlives the monitor by a moment when the kernel
		 * still closes its fds; give it that moment. */
		for (int i = 0; i < 50 && state_dir_try_lock(&o->dir) != 0; i++)
			usleep(10000);
		if (state_dir_try_lock(&o->dir) != 0)
			return 0;
	}
	return vm_record_cleanup(&o->dir, err);
}

int vm_control(const char *root, const char *id, const char *request, char **ret,
	       struct cell_err **err)
{
	struct opened o;
	int r = open_vm(root, id, &o, err);
	if (r < 0)
		return r;
	if (o.dead) {
		r = cell_err(err, ESRCH, "vm \"%s\" is not running", id);
	} else {
		_cleanup_free_ char *sock = socket_of(&o);
		r = control_call(sock, request, ret, err);
		if (r < 0)
			cell_err_wrap(err, "vm \"%s\"", id);
	}
	opened_close(&o);
	return r;
}

int vm_stop(const char *root, const char *id, int timeout_s, struct cell_err **err)
{
	struct opened o;
	int r = open_vm(root, id, &o, err);
	if (r < 0)
		return r;
	if (!o.dead) {
		_cleanup_free_ char *sock = socket_of(&o);
		_cleanup_free_ char *ans = NULL;
		_cleanup_err_ struct cell_err *e = NULL;
		control_call(sock, "{\"cmd\":\"stop\"}", &ans, &e); /* a dying monitor may not answer */
		reap(&o, timeout_s * 1000);
	}
	r = cleanup_after(&o, err);
	opened_close(&o);
	return r;
}

int vm_kill(const char *root, const char *id, int sig, struct cell_err **err)
{
	struct opened o;
	int r = open_vm(root, id, &o, err);
	if (r < 0)
		return r;
	if (sig != SIGKILL) {
		if (o.dead) {
			r = cell_err(err, ESRCH, "vm \"%s\" is not running", id);
		} else {
			_cleanup_free_ char *sock = socket_of(&o);
			_cleanup_free_ char *ans = NULL;
			_cleanup_free_ char *req = xasprintf("{\"cmd\":\"signal\",\"signal\":%d}", sig);
			r = control_call(sock, req, &ans, err);
		}
		opened_close(&o);
		return r;
	}
	if (!o.dead) {
		int pidfd = os_pidfd_open_checked(o.rec.pid, o.rec.pid_start);
		if (pidfd >= 0) {
			os_pidfd_send_signal(pidfd, SIGKILL);
			os_pidfd_wait_exit(pidfd, KILL_WAIT_MS);
			close(pidfd);
		}
	}
	r = cleanup_after(&o, err);
	opened_close(&o);
	return r;
}
