/* The per-container directory, its lock, and state.json. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "state/state.h"

#define RECORD_FILE "state.json"
#define RECORD_MAX (1u << 20)

int state_check_id(const char *id, struct cell_err **err)
{
	if (!id || !*id)
		return cell_err(err, 0, "container id must not be empty");
	if (strlen(id) > STATE_ID_MAX)
		return cell_err(err, 0, "container id is longer than %d characters", STATE_ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return cell_err(err, 0, "invalid container id \"%s\"", id);
	for (const char *p = id; *p; p++) {
		if (isalnum((unsigned char)*p) || strchr("_+-.", *p))
			continue;
		return cell_err(err, 0,
				"invalid container id \"%s\": only letters, digits, \"_\", \"+\", "
				"\"-\" and \".\" are allowed",
				id);
	}
	return 0;
}

void state_record_clear(struct state_record *rec)
{
	free(rec->id);
	free(rec->bundle);
	free(rec->rootfs);
	free(rec->created);
	free(rec->owner);
	free(rec->cgroup);
	for (size_t i = 0; i < rec->n_annotations; i++) {
		free(rec->annotations[i].key);
		free(rec->annotations[i].value);
	}
	free(rec->annotations);
	memset(rec, 0, sizeof(*rec));
}

static int open_root(const char *root, bool create, struct cell_err **err)
{
	if (create) {
		int r = cell_mkdir_p(root, 0700, err);
		if (r < 0)
			return cell_err_wrap(err, "state root");
	}
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "state root %s", root);
	return fd;
}

static int lock_dir(int fd, bool wait)
{
	for (;;) {
		if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int state_dir_create(const char *root, const char *id, struct state_dir *ret,
		     struct cell_err **err)
{
	int r = state_check_id(id, err);
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open_root(root, true, err);
	if (rootfd < 0)
		return rootfd;
	if (mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return cell_err(err, EEXIST, "container \"%s\" already exists", id);
		return cell_err_sys(err, "create state directory %s/%s", root, id);
	}
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open state directory %s/%s", root, id);
	/* Nobody else can know this directory yet, so the lock is immediate. */
	lock_dir(fd, true);
	ret->fd = fd;
	ret->path = xasprintf("%s/%s", root, id);
	ret->id = xstrdup(id);
	return 0;
}

int state_dir_open(const char *root, const char *id, bool lock, struct state_dir *ret,
		   struct cell_err **err)
{
	int r = state_check_id(id, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *path = xasprintf("%s/%s", root, id);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return cell_err(err, ENOENT, "container \"%s\" does not exist", id);
		return cell_err_sys(err, "open state directory %s", path);
	}
	if (lock) {
		r = lock_dir(fd, true);
		if (r < 0) {
			close(fd);
			return cell_err(err, -r, "lock %s", path);
		}
		/* delete may have removed it while we waited for the lock. */
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_nlink == 0) {
			close(fd);
			return cell_err(err, ENOENT, "container \"%s\" does not exist", id);
		}
	}
	ret->fd = fd;
	ret->path = TAKE_PTR(path);
	ret->id = xstrdup(id);
	return 0;
}

int state_dir_try_lock(struct state_dir *dir)
{
	return lock_dir(dir->fd, false);
}

void state_dir_close(struct state_dir *dir)
{
	if (dir->fd >= 0)
		close(dir->fd);
	free(dir->path);
	free(dir->id);
	dir->fd = -1;
	dir->path = dir->id = NULL;
}

int state_dir_remove(struct state_dir *dir, struct cell_err **err)
{
	_cleanup_close_ int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", dir->path);
	DIR *d = fdopendir(TAKE_FD(fd));
	if (!d)
		return cell_err_sys(err, "read %s", dir->path);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dir->fd, de->d_name, 0) < 0 && errno != ENOENT) {
			int r = cell_err_sys(err, "remove %s/%s", dir->path, de->d_name);
			closedir(d);
			return r;
		}
	}
	closedir(d);
	if (rmdir(dir->path) < 0 && errno != ENOENT)
		return cell_err_sys(err, "remove %s", dir->path);
	return 0;
}

static const char *const phase_names[] = { "creating", "created", "started" };

int state_record_write(struct state_dir *dir, const struct state_record *rec,
		       struct cell_err **err)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "id", json_object_new_string(rec->id));
	json_object_object_add(o, "phase", json_object_new_string(phase_names[rec->phase]));
	json_object_object_add(o, "bundle", json_object_new_string(rec->bundle ? rec->bundle : ""));
	json_object_object_add(o, "rootfs", json_object_new_string(rec->rootfs ? rec->rootfs : ""));
	json_object_object_add(o, "created", json_object_new_string(rec->created ? rec->created : ""));
	json_object_object_add(o, "owner", json_object_new_string(rec->owner ? rec->owner : ""));
	json_object_object_add(o, "pid", json_object_new_int(rec->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(rec->pid_start));
	json_object_object_add(o, "cgroup", json_object_new_string(rec->cgroup ? rec->cgroup : ""));
	json_object_object_add(o, "own_userns", json_object_new_boolean(rec->own_userns));
	json_object_object_add(o, "own_pidns", json_object_new_boolean(rec->own_pidns));
	json_object_object_add(o, "late_hooks", json_object_new_boolean(rec->late_hooks));
	json_object *ann = json_object_new_object();
	for (size_t i = 0; i < rec->n_annotations; i++)
		json_object_object_add(ann, rec->annotations[i].key,
				       json_object_new_string(rec->annotations[i].value));
	json_object_object_add(o, "annotations", ann);
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int r = cell_write_file_atomic_at(dir->fd, RECORD_FILE, text, strlen(text), 0600, err);
	json_object_put(o);
	if (r < 0)
		return cell_err_wrap(err, "%s", dir->path);
	return 0;
}

static char *get_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	return *s ? xstrdup(s) : NULL;
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int state_record_read(struct state_dir *dir, struct state_record *ret, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	int r = cell_read_file_at(dir->fd, RECORD_FILE, RECORD_MAX, &text, NULL, err);
	if (r < 0)
		return cell_err_wrap(err, "container \"%s\"", dir->id);
	json_object *o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return cell_err(err, EIO, "%s/%s: corrupt state record", dir->path, RECORD_FILE);
	}
	struct state_record rec = { 0 };
	rec.id = get_str(o, "id");
	_cleanup_free_ char *phase = get_str(o, "phase");
	rec.phase = STATE_PHASE_CREATING;
	for (size_t i = 0; phase && i < ARRAY_SIZE(phase_names); i++)
		if (strcmp(phase, phase_names[i]) == 0)
			rec.phase = (enum state_phase)i;
	rec.bundle = get_str(o, "bundle");
	rec.rootfs = get_str(o, "rootfs");
	rec.created = get_str(o, "created");
	rec.owner = get_str(o, "owner");
	rec.cgroup = get_str(o, "cgroup");
	rec.pid = (pid_t)get_int(o, "pid");
	json_object *v;
	if (json_object_object_get_ex(o, "pid_start", &v))
		rec.pid_start = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "own_userns", &v))
		rec.own_userns = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "own_pidns", &v))
		rec.own_pidns = json_object_get_boolean(v);
	/* Absent in records of older cells: assume there may be hooks. */
	rec.late_hooks = !json_object_object_get_ex(o, "late_hooks", &v) ||
			 json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "annotations", &v) &&
	    json_object_is_type(v, json_type_object)) {
		size_t n = (size_t)json_object_object_length(v), i = 0;
		rec.annotations = xcalloc(n ? n : 1, sizeof(*rec.annotations));
		json_object_object_foreach(v, key, val)
		{
			if (i >= n)
				break;
			rec.annotations[i].key = xstrdup(key);
			rec.annotations[i].value = xstrdup(json_object_get_string(val));
			i++;
		}
		rec.n_annotations = i;
	}
	json_object_put(o);
	if (!rec.id)
		rec.id = xstrdup(dir->id);
	*ret = rec;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int state_list_ids(const char *root, char ***ret, struct cell_err **err)
{
	char **ids = xcalloc(1, sizeof(char *));
	_cleanup_closedir_ DIR *d = opendir(root);
	if (!d) {
		if (errno == ENOENT) {
			*ret = ids;
			return 0;
		}
		free(ids);
		return cell_err_sys(err, "read state root %s", root);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || state_check_id(de->d_name, NULL) < 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		cell_strv_push(&ids, de->d_name);
	}
	qsort(ids, cell_strv_len(ids), sizeof(char *), cmp_str);
	*ret = ids;
	return 0;
}
