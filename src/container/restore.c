/* `restore`: create's own phases build the container (state and ledger,
 * cgroup and limits, network and address, namespaces, mounts, hooks), but
 * its init, instead of exec'ing, is taken over by the image's tree, which
 * brings its own credentials, capabilities and memory:
 *
 *   image       container.json and the config (the image's, or --bundle's),
 *               the address the container had, the stdio to hand over
 *   create      every phase up to the init's COMMITTED (create.c, with
 *               plan.restore: no exec.fifo, no security; a new terminal)
 *   tree        ckpt_restore() from here, the init's pid and the sync
 *               socket it waits on (ckpt_restore_child in init.c)
 *   commit      record "started", pid file, poststart hooks
 *
 * A failure anywhere undoes everything create made: no process, cgroup,
 * network or state is left. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/hooks.h"
#include "container/internal.h"

struct restore_job {
	const struct container_restore_opts *o;
	struct ckpt_meta meta;
	bool have_meta;
	char *config;      /* the text create gets */
	char *config_name; /* where it came from, for errors */
	struct ckpt_inherit_fd inherit[CKPT_META_STDIO];
	size_t n_inherit;
};

static void job_free(struct restore_job *j)
{
	ckpt_meta_clear(&j->meta);
	free(j->config);
	free(j->config_name);
}

/* The image is the engine's to check in full; this only tells a directory
 * that holds none from one whose content is wrong, before anything exists. */
static int read_image(struct restore_job *j, struct cell_err **err)
{
	const char *img = j->o->image_path;
	_cleanup_free_ char *inv = xasprintf("%s/inventory.img", img);
	if (access(inv, F_OK) < 0)
		return cell_err_sys(err, "--image-path %s: no checkpoint image there (%s)", img, inv);
	_cleanup_free_ char *path = xasprintf("%s/%s", img, CKPT_META);
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct cell_err *e = NULL;
	int r = cell_read_file(path, 64 * 1024, &text, &len, &e);
	if (r == -ENOENT && j->o->bundle) {
		cell_err_free(e); /* not made by cell: the bundle says it all */
		return 0;
	}
	if (r < 0) {
		cell_err_free(*err);
		*err = e;
		return r == -ENOENT ? cell_err_wrap(err, "--image-path %s was not made by `cell "
						    "checkpoint`: give --bundle", img) : r;
	}
	if ((r = ckpt_meta_parse(text, len, path, &j->meta, err)) < 0)
		return r;
	j->have_meta = true;
	return 0;
}

static const char *annotation(json_object *anns, const char *key)
{
	json_object *v;
	if (!anns || !json_object_object_get_ex(anns, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The same address on the same cell network, unless the config names one:
 * an annotation, as a user would have asked for it. */
static int keep_address(struct restore_job *j, struct cell_err **err)
{
	if (!j->meta.ip)
		return 0;
	json_tokener *tok = json_tokener_new();
	json_object *cfg = json_tokener_parse_ex(tok, j->config, (int)strlen(j->config)), *anns = NULL;
	json_tokener_free(tok);
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		json_object_put(cfg);
		return cell_err(err, 0, "%s: invalid JSON", j->config_name);
	}
	json_object_object_get_ex(cfg, "annotations", &anns);
	const char *net = annotation(anns, "cell.network");
	if (net && strcmp(net, j->meta.net_name) == 0 && !annotation(anns, "cell.ip") &&
	    json_object_is_type(anns, json_type_object)) {
		json_object_object_add(anns, "cell.ip", json_object_new_string(j->meta.ip));
		free(j->config);
		j->config = xstrdup(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	json_object_put(cfg);
	return 0;
}

/* The config: --bundle's, as runc takes it, or the one the image recorded
 * (with the bundle it recorded, which relative paths in it lead to). */
static int read_config(struct restore_job *j, const char **ret_bundle, struct cell_err **err)
{
	const struct container_restore_opts *o = j->o;
	*ret_bundle = o->bundle;
	if (o->bundle) {
		j->config_name = xasprintf("%s/config.json", o->bundle);
	} else {
		if (!j->meta.bundle)
			return cell_err(err, 0, "%s/%s: no bundle recorded: give --bundle",
					o->image_path, CKPT_META);
		j->config_name = xasprintf("%s/%s", o->image_path, CONFIG_COPY);
		*ret_bundle = j->meta.bundle;
	}
	int r = cell_read_file(j->config_name, OCI_SPEC_MAX_BYTES, &j->config, NULL, err);
	if (r == 0)
		r = keep_address(j, err);
	return r;
}

/* The init's stdio that led outside at checkpoint becomes ours: conmon and
 * containerd's shim give the restore the new pipes, as runc's callers do. */
static void plan_inherit(struct restore_job *j)
{
	for (int fd = 0; fd < CKPT_META_STDIO; fd++)
		if (j->meta.stdio[fd] && fcntl(fd, F_GETFD) >= 0)
			j->inherit[j->n_inherit++] = (struct ckpt_inherit_fd){ .image_fd = fd, .fd = fd };
}

static int restore_tree(struct create_plan *p, struct restore_job *j, struct ckpt_stats *stats,
			struct cell_err **err)
{
	const struct container_restore_opts *o = j->o;
	/* A terminal: the init made a new one (its slave on fds 0-2, init.c);
	 * the tree's console, whose master was outside, becomes that. */
	static const struct ckpt_external_fd console = { .key = "tty", .fd = 0 };
	bool tty = p->spec->process->terminal;
	struct ckpt_restore_opts ro = {
		.image_dir = o->image_path, .work_dir = o->work_path ? o->work_path : o->image_path,
		.init_pid = p->pid, .sync_fd = p->sync_parent, .tcp_established = o->tcp_established,
		.inherit = tty ? NULL : j->inherit, .n_inherit = tty ? 0 : j->n_inherit,
		.external = tty ? &console : NULL, .n_external = tty ? 1 : 0,
	};
	int r = ckpt_restore(&ro, stats, err);
	if (r < 0)
		return r;
	if (o->pid_file && (r = cell_write_pid_file(o->pid_file, p->pid, err)) < 0)
		return cell_err_wrap(err, "--pid-file");
	p->rec.phase = STATE_PHASE_STARTED;
	return state_record_write(&p->dir, &p->rec, err);
}

int restore_lock_network(const struct create_plan *p, struct cell_err **err)
{
	/* A namespace that was there before (the host's, podman's) has had
	 * its addresses all along: the lock the dump left there is the one. */
	if (!p->restore || !p->restore_image || !p->ns.is_new[OCI_NS_NETWORK])
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)p->pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", path);
	int r = ckpt_net_lock(p->restore_image, fd, err);
	return r < 0 ? cell_err_wrap(err, "lock the image's connections in the new network "
				     "namespace") : 0;
}

static void poststart(struct create_plan *p)
{
	if (!p->spec->hooks[OCI_HOOK_POSTSTART].n)
		return;
	_cleanup_free_ char *state = create_plan_state(p, "running");
	struct cell_err *e = NULL;
	/* As after start: a failing poststart hook is a warning only. */
	if (hooks_run(p->spec, OCI_HOOK_POSTSTART, state, &e) < 0)
		cell_warn("container \"%s\": %s", p->rec.id, e->msg);
	cell_err_free(e);
}

int container_restore(const struct container_ctx *ctx, const struct container_restore_opts *o,
		      struct container_created *ret, struct ckpt_stats *ret_stats,
		      struct cell_err **err)
{
	struct restore_job j = { .o = o };
	struct ckpt_stats stats = { 0 };
	const char *bundle = NULL;
	int r = o->work_path ? cell_mkdir_p(o->work_path, 0700, err) : 0;
	if (r == 0 && (r = read_image(&j, err)) == 0)
		r = read_config(&j, &bundle, err);
	if (r < 0) {
		job_free(&j);
		return cell_err_wrap(err, "restore container \"%s\"", o->id);
	}
	plan_inherit(&j);
	struct container_create_opts co = {
		.id = o->id, .bundle = bundle, .config_path = j.config_name, .config_json = j.config,
		.console_socket = o->console_socket, .no_pivot = o->no_pivot,
	};
	struct create_plan p;
	create_plan_init(&p, ctx, &co);
	p.restore = true;
	p.restore_image = o->image_path;
	r = create_plan_run(&p, err);
	if (r == 0)
		r = restore_tree(&p, &j, &stats, err);
	if (r < 0) {
		create_plan_abort(&p);
		cell_err_wrap(err, "restore container \"%s\"", o->id);
	} else {
		poststart(&p);
		if (ret)
			*ret = (struct container_created){ .pid = p.pid, .pidfd = TAKE_FD(p.pidfd),
							   .pty_master = -1 };
		if (ret_stats)
			*ret_stats = stats;
	}
	create_plan_free(&p);
	job_free(&j);
	return r;
}
