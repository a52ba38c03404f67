/* `update`: new limits for a live container.  The resource layer checks and
 * writes them all or nothing; then the state directory's config.json gets
 * them merged into linux.resources, so that what a later command reads
 * (update, checkpoint, a restore elsewhere) is what the kernel enforces. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "container/internal.h"
#include "oci/json-merge.h"
#include "os/cgroup.h"

/* config.json in the state directory, with the update merged in. */
static int record(struct state_dir *dir, const struct container_update_opts *o,
		  struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = cell_read_file_at(dir->fd, CONFIG_COPY, OCI_SPEC_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return r;
	json_tokener *tok = json_tokener_new();
	json_object *cfg = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_reset(tok);
	json_object *upd = json_tokener_parse_ex(tok, o->resources_json, (int)o->len);
	json_tokener_free(tok);
	if (!cfg || !upd || !json_object_is_type(cfg, json_type_object)) {
		json_object_put(cfg);
		json_object_put(upd);
		return cell_err(err, EINVAL, "%s/%s: not a JSON object", dir->path, CONFIG_COPY);
	}
	oci_json_merge_resources(
		oci_json_child_object(oci_json_child_object(cfg, "linux"), "resources"), upd);
	const char *out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = cell_write_file_atomic_at(dir->fd, CONFIG_COPY, out, strlen(out), 0600, err);
	json_object_put(cfg);
	json_object_put(upd);
	return r;
}

static int check_status(struct state_dir *dir, struct cell_err **err)
{
	struct state_record rec = { 0 };
	struct cell_err *e = NULL;
	enum container_status st = CONTAINER_STOPPED;
	int r = state_record_read(dir, &rec, &e);
	cell_err_free(e);
	if (r == 0)
		container_status_of(dir, &rec, true, &st);
	state_record_clear(&rec);
	if (st == CONTAINER_STOPPED)
		return cell_err(err, 0, "container \"%s\": cannot update a stopped container",
				dir->id);
	return 0;
}

static int apply(struct state_dir *dir, const struct container_update_opts *o,
		 struct cell_err **err)
{
	struct oci_resources *res = NULL;
	const char *name = o->name ? o->name : "resources";
	int r = oci_resources_parse(o->resources_json, o->len, name, &res, err);
	if (r < 0)
		return r;
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	if (res->n_devices) {
		/* The device rules are a list the layer appends to; replacing them
		 * on a live container would need the defaults rebuilt, which
		 * runc does not offer either. */
		r = cell_err(err, 0, "%s: devices: the device rules of a container cannot be "
			     "updated", name);
	} else {
		if (o->check_usage && !res->memory.has_check_before_update) {
			res->memory.has_check_before_update = true;
			res->memory.check_before_update = true;
		}
		r = container_open_cgroup(dir, &cg, err);
		if (r == 0)
			r = cgroup_apply(cg, res, err);
	}
	oci_resources_free(res);
	return r;
}

int container_update(const struct container_ctx *ctx, const char *id,
		     const struct container_update_opts *opts, struct cell_err **err)
{
	struct state_dir dir;
	int r = state_dir_open(ctx->root, id, true, &dir, err);
	if (r < 0)
		return r;
	if ((r = check_status(&dir, err)) == 0 && (r = apply(&dir, opts, err)) == 0 &&
	    (r = record(&dir, opts, err)) < 0)
		cell_err_wrap(err, "the new limits are in force but were not recorded");
	if (r < 0)
		cell_err_wrap(err, "update container \"%s\"", id);
	state_dir_close(&dir);
	return r;
}
