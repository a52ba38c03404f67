/* What state a container is in, decided from the kernel's facts rather
 * than from what cell last wrote: after a crash of the init or of cell
 * itself, `state` still tells the truth. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "container/internal.h"
#include "os/cgroup.h"
#include "os/process.h"

static const char *const status_names[] = {
	[CONTAINER_CREATING] = "creating", [CONTAINER_CREATED] = "created",
	[CONTAINER_RUNNING] = "running",   [CONTAINER_PAUSED] = "paused",
	[CONTAINER_STOPPED] = "stopped",
};

const char *container_status_name(enum container_status s)
{
	return status_names[s];
}

char *rfc3339_now(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

static json_object *state_object(const char *id, const char *status, pid_t pid,
				 const char *bundle, const char *rootfs, const char *created,
				 const char *owner, const struct oci_kv *annotations,
				 size_t n_annotations)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string(CELL_OCI_STATE_VERSION));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "bundle", json_object_new_string(bundle ? bundle : ""));
	json_object_object_add(o, "rootfs", json_object_new_string(rootfs ? rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(created ? created : ""));
	json_object_object_add(o, "owner", json_object_new_string(owner ? owner : ""));
	if (n_annotations) {
		json_object *a = json_object_new_object();
		for (size_t i = 0; i < n_annotations; i++)
			json_object_object_add(a, annotations[i].key,
					       json_object_new_string(annotations[i].value));
		json_object_object_add(o, "annotations", a);
	}
	return o;
}

static char *state_text(json_object *o)
{
	char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

char *oci_state_json(const char *id, const char *status, pid_t pid, const char *bundle,
		     const char *rootfs, const char *created, const char *owner,
		     const struct oci_kv *annotations, size_t n_annotations)
{
	return state_text(state_object(id, status, pid, bundle, rootfs, created, owner,
				       annotations, n_annotations));
}

/* Does the init still wait on exec.fifo?  It holds the fifo open for
 * reading until exec, so a non-blocking open for writing succeeds exactly
 * then; nothing is written, so the init does not wake up. */
static bool waits_for_start(int dirfd)
{
	int fd = openat(dirfd, EXEC_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static bool frozen(struct state_dir *dir)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	struct cell_err *e = NULL;
	bool f = false;
	if (container_open_cgroup(dir, &cg, &e) == 0)
		cgroup_is_frozen(cg, &f, &e);
	cell_err_free(e);
	return f;
}

int container_status_of(struct state_dir *dir, const struct state_record *rec, bool locked,
			enum container_status *ret)
{
	if (rec->phase == STATE_PHASE_CREATING) {
		/* Only a live create holds the lock over this phase. */
		if (!locked && state_dir_try_lock(dir) == -EWOULDBLOCK) {
			*ret = CONTAINER_CREATING;
			return 0;
		}
		if (!locked)
			flock(dir->fd, LOCK_UN);
		*ret = CONTAINER_STOPPED;
		return 0;
	}
	if (!os_proc_alive(rec->pid, rec->pid_start))
		*ret = CONTAINER_STOPPED;
	else if (rec->phase == STATE_PHASE_CREATED && waits_for_start(dir->fd))
		*ret = CONTAINER_CREATED;
	else if (frozen(dir))
		*ret = CONTAINER_PAUSED;
	else
		*ret = CONTAINER_RUNNING;
	return 0;
}

void container_info_clear(struct container_info *info)
{
	free(info->id);
	free(info->bundle);
	free(info->rootfs);
	free(info->created);
	free(info->owner);
	for (size_t i = 0; i < info->n_annotations; i++) {
		free(info->annotations[i].key);
		free(info->annotations[i].value);
	}
	free(info->annotations);
	memset(info, 0, sizeof(*info));
}

static void info_from(struct container_info *info, struct state_record *rec,
		      enum container_status st)
{
	info->id = TAKE_PTR(rec->id);
	info->status = st;
	info->pid = st == CONTAINER_STOPPED ? 0 : rec->pid;
	info->bundle = TAKE_PTR(rec->bundle);
	info->rootfs = TAKE_PTR(rec->rootfs);
	info->created = TAKE_PTR(rec->created);
	info->owner = TAKE_PTR(rec->owner);
	info->annotations = TAKE_PTR(rec->annotations);
	info->n_annotations = rec->n_annotations;
	rec->n_annotations = 0;
}

int container_info(const struct container_ctx *ctx, const char *id, struct container_info *ret,
		   struct cell_err **err)
{
	struct state_dir dir;
	int r = state_dir_open(ctx->root, id, false, &dir, err);
	if (r < 0)
		return r;
	struct state_record rec = { 0 };
	struct cell_err *e = NULL;
	r = state_record_read(&dir, &rec, &e);
	memset(ret, 0, sizeof(*ret));
	if (r == -ENOENT) {
		/* create died (or is still) before writing its first record. */
		bool busy = state_dir_try_lock(&dir) == -EWOULDBLOCK;
		ret->id = xstrdup(id);
		ret->status = busy ? CONTAINER_CREATING : CONTAINER_STOPPED;
		cell_err_free(e);
		state_dir_close(&dir);
		return 0;
	}
	if (r < 0) {
		cell_err_free(*err);
		*err = e;
		state_dir_close(&dir);
		return r;
	}
	enum container_status st;
	container_status_of(&dir, &rec, false, &st);
	info_from(ret, &rec, st);
	if (container_oom_kills_in(&dir, &ret->oom_kills, &e) < 0) {
		ret->oom_kills = 0; /* no cgroup or no memory controller: nothing to say */
		cell_err_freep(&e);
	}
	state_record_clear(&rec);
	state_dir_close(&dir);
	return 0;
}

char *container_info_json(const struct container_info *i)
{
	json_object *o = state_object(i->id, container_status_name(i->status), i->pid, i->bundle,
				      i->rootfs, i->created, i->owner, i->annotations,
				      i->n_annotations);
	/* Not in the OCI state; runc's consumers ignore members they do not know. */
	if (i->oom_kills) {
		json_object_object_add(o, "oomKilled", json_object_new_boolean(true));
		json_object_object_add(o, "oomKills", json_object_new_uint64(i->oom_kills));
	}
	return state_text(o);
}

int container_list(const struct container_ctx *ctx, struct container_info **ret, size_t *ret_n,
		   struct cell_err **err)
{
	_cleanup_strv_ char **ids = NULL;
	int r = state_list_ids(ctx->root, &ids, err);
	if (r < 0)
		return r;
	size_t n = 0, cap = cell_strv_len(ids);
	struct container_info *out = xcalloc(cap + 1, sizeof(*out));
	for (size_t i = 0; i < cap; i++) {
		struct cell_err *e = NULL;
		/* A container deleted while we list is simply not listed. */
		if (container_info(ctx, ids[i], &out[n], &e) == 0)
			n++;
		cell_err_free(e);
	}
	*ret = out;
	*ret_n = n;
	return 0;
}
