/* VM records: JSON files in a state directory. */
#include "vm/record.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/util.h"
#include "os/cgroup.h"

#define RECORD_MAX (64u << 10)

void vm_record_clear(struct vm_record *r)
{
	free(r->id);
	free(r->what);
	free(r->created);
	free(r->cgroup);
	free(r->bundle);
	free(r->rootfs);
	memset(r, 0, sizeof(*r));
}

char *vm_state_root(const char *root)
{
	return xasprintf("%s/vm", root);
}

static int write_json(int dirfd, const char *name, struct json_object *o, struct cell_err **err)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int r = cell_write_file_atomic_at(dirfd, name, s, strlen(s), 0600, err);
	json_object_put(o);
	return r;
}

int vm_record_write(int dirfd, const struct vm_record *r, struct cell_err **err)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "kind", json_object_new_string(r->kind == VM_KIND_LINUX ? "linux" : "guest"));
	json_object_object_add(o, "what", json_object_new_string(r->what ? r->what : ""));
	json_object_object_add(o, "created", json_object_new_string(r->created ? r->created : ""));
	json_object_object_add(o, "pid", json_object_new_int(r->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(r->pid_start));
	json_object_object_add(o, "cgroup", json_object_new_string(r->cgroup ? r->cgroup : ""));
	json_object_object_add(o, "paused", json_object_new_boolean(r->paused));
	json_object_object_add(o, "detached", json_object_new_boolean(r->detached));
	if (r->bundle)
		json_object_object_add(o, "bundle", json_object_new_string(r->bundle));
	if (r->rootfs)
		json_object_object_add(o, "rootfs", json_object_new_string(r->rootfs));
	return write_json(dirfd, "state.json", o, err);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *read_json(int dirfd, const char *name, struct cell_err **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	if (cell_read_file_at(dirfd, name, RECORD_MAX, &buf, &len, err) < 0)
		return NULL;
	struct json_object *o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		cell_err(err, EINVAL, "%s: not a JSON object", name);
		return NULL;
	}
	return o;
}

int vm_record_read(int dirfd, struct vm_record *ret, struct cell_err **err)
{
	struct json_object *o = read_json(dirfd, "state.json", err);
	if (!o)
		return cell_err_code(*err);
	struct json_object *v;
	const char *id = get_str(o, "id"), *kind = get_str(o, "kind");
	if (!id || !kind || !json_object_object_get_ex(o, "pid", &v)) {
		json_object_put(o);
		return cell_err(err, EINVAL, "state.json: missing id, kind or pid");
	}
	memset(ret, 0, sizeof(*ret));
	ret->id = xstrdup(id);
	ret->kind = strcmp(kind, "linux") == 0 ? VM_KIND_LINUX : VM_KIND_GUEST;
	ret->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid_start", &v))
		ret->pid_start = json_object_get_uint64(v);
	const char *s;
	ret->what = xstrdup((s = get_str(o, "what")) ? s : "");
	ret->created = xstrdup((s = get_str(o, "created")) ? s : "");
	ret->cgroup = xstrdup((s = get_str(o, "cgroup")) ? s : "");
	ret->bundle = (s = get_str(o, "bundle")) ? xstrdup(s) : NULL;
	ret->rootfs = (s = get_str(o, "rootfs")) ? xstrdup(s) : NULL;
	if (json_object_object_get_ex(o, "paused", &v))
		ret->paused = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "detached", &v))
		ret->detached = json_object_get_boolean(v);
	json_object_put(o);
	return 0;
}

int vm_result_write(int dirfd, const struct vm_result *r)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "exited", json_object_new_boolean(r->exited));
	json_object_object_add(o, "code", json_object_new_int(r->code));
	json_object_object_add(o, "signal", json_object_new_int(r->signal));
	json_object_object_add(o, "core", json_object_new_boolean(r->core));
	json_object_object_add(o, "vm_failed", json_object_new_boolean(r->vm_failed));
	json_object_object_add(o, "report", json_object_new_string(r->report));
	json_object_object_add(o, "oom_kills", json_object_new_int((int)r->oom_kills));
	_cleanup_err_ struct cell_err *err = NULL;
	return write_json(dirfd, "result.json", o, &err);
}

int vm_result_read(int dirfd, struct vm_result *ret)
{
	_cleanup_err_ struct cell_err *err = NULL;
	struct json_object *o = read_json(dirfd, "result.json", &err);
	if (!o)
		return -ENOENT;
	struct json_object *v;
	memset(ret, 0, sizeof(*ret));
	if (json_object_object_get_ex(o, "exited", &v))
		ret->exited = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "code", &v))
		ret->code = json_object_get_int(v);
	if (json_object_object_get_ex(o, "signal", &v))
		ret->signal = json_object_get_int(v);
	if (json_object_object_get_ex(o, "core", &v))
		ret->core = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "vm_failed", &v))
		ret->vm_failed = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "oom_kills", &v) && json_object_get_int(v) > 0)
		ret->oom_kills = (unsigned)json_object_get_int(v);
	const char *s = get_str(o, "report");
	snprintf(ret->report, sizeof(ret->report), "%s", s ? s : "");
	json_object_put(o);
	return 0;
}

char *vm_result_describe(const struct vm_result *r)
{
	if (r->vm_failed)
		return xasprintf("failed: %s", r->report);
	if (r->exited && r->oom_kills)
		return xasprintf("exited %d (out of guest memory: %u process%s killed)", r->code,
				 r->oom_kills, r->oom_kills == 1 ? "" : "es");
	if (r->exited)
		return xasprintf("exited %d", r->code);
	if (r->signal)
		return xasprintf("killed by SIG%s%s%s", sigabbrev_np(r->signal) ? sigabbrev_np(r->signal) : "?",
				 r->report[0] ? ": " : "", r->report);
	return xstrdup(r->report[0] ? r->report : "ended");
}

/* Once its monitor is gone a VM's cgroups are normally empty (the monitor
 * was init of its PID namespace and never forks): plain rmdirs, the vCPU
 * child first, remove them without enumerating anything.  False when
 * something is still there (busy, a task, an unexpected child): the caller
 * then takes the thorough way. */
static bool rmdir_empty(char *const *dirs)
{
	bool gone = true;
	for (char *const *d = dirs; d && *d; d++) {
		_cleanup_free_ char *vcpus = xasprintf("%s/vcpus", *d);
		if (rmdir(vcpus) < 0 && errno != ENOENT)
			gone = false;
		if (rmdir(*d) < 0 && errno != ENOENT)
			gone = false;
	}
	return gone;
}

/* The VM's cgroup: whatever is left in it is killed, then it goes (killed
 * tasks leave once they have fully exited: retry for a moment). */
static int undo_cgroup(char *const *dirs, struct cell_err **err)
{
	if (rmdir_empty(dirs))
		return 0;
	struct cgroup *cg = NULL;
	if (cgroup_open_dirs(dirs, &cg, err) < 0) {
		cell_err_free(*err);
		*err = NULL;
		return 0; /* gone already */
	}
	_cleanup_err_ struct cell_err *e2 = NULL;
	cgroup_kill_all(cg, SIGKILL, &e2);
	int r;
	for (int tries = 0;; tries++) {
		r = cgroup_destroy(cg, err);
		if (r != -EBUSY || tries >= 100)
			break;
		cell_err_free(*err);
		*err = NULL;
		usleep(10000);
	}
	cgroup_free(cg);
	return r;
}

int vm_record_cleanup(struct state_dir *dir, struct cell_err **err)
{
	struct ledger_entry *e = NULL;
	size_t n = 0;
	int r = ledger_read(dir, &e, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (strcmp(e[i].kind, "cgroup") == 0)
			r = undo_cgroup(e[i].args, err);
	/* then the shared parent, if it is empty now */
	for (size_t i = 0; r == 0 && i < n; i++)
		if (strcmp(e[i].kind, "cgroup-parent") == 0)
			for (char *const *d = e[i].args; d && *d; d++)
				rmdir(*d);
	ledger_free(e, n);
	if (r < 0)
		return r;
	unlinkat(dir->fd, "sandbox", AT_REMOVEDIR); /* the monitor's mount point */
	return state_dir_remove(dir, err);
}

char *vm_socket_path(const struct state_dir *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir->path, name);
	if (strlen(p) < sizeof(((struct sockaddr_un *)0)->sun_path))
		return p;
	free(p);
	return xasprintf("/proc/self/fd/%d/%s", dir->fd, name);
}
