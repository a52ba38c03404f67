/* `checkpoint`: the container's tree goes through the engine; what restore
 * needs of the container itself (its config, the runtime's record of its
 * stdio and address) is written into the image first, so a failure at any
 * point leaves the container as it was.  Without --leave-running the
 * container is then deleted, as runc does. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/internal.h"
#include "net/net.h"
#include "os/cgroup.h"

struct ckpt_job {
	const struct container_checkpoint_opts *o;
	struct state_dir dir;
	struct state_record rec;
	enum container_status status;
	struct ckpt_meta meta;
	bool wrote_meta;
	bool thawed;
};

static int open_container(const struct container_ctx *ctx, const char *id, struct ckpt_job *j,
			  struct cell_err **err)
{
	int r = state_dir_open(ctx->root, id, true, &j->dir, err);
	if (r < 0)
		return r;
	if ((r = state_record_read(&j->dir, &j->rec, err)) < 0 ||
	    (r = container_status_of(&j->dir, &j->rec, true, &j->status)) < 0)
		return cell_err_wrap(err, "container \"%s\"", id);
	if (j->status != CONTAINER_RUNNING && j->status != CONTAINER_PAUSED)
		return cell_err(err, 0, "container \"%s\": cannot checkpoint a container that is %s",
				id, container_status_name(j->status));
	if (!j->rec.own_pidns)
		return cell_err(err, EOPNOTSUPP, "container \"%s\": checkpoint needs a container with "
				"a PID namespace of its own", id);
	return 0;
}

/* Which of fds 0-2 the init still has from cell (create recorded them):
 * those lead outside the container, and restore hands over new ones. */
static void find_stdio(struct ckpt_job *j)
{
	_cleanup_free_ char *text = NULL;
	struct cell_err *e = NULL;
	if (cell_read_file_at(j->dir.fd, STDIO_IDS, 4096, &text, NULL, &e) < 0) {
		cell_debug("container \"%s\": no stdio record: %s", j->dir.id, e->msg);
		cell_err_free(e);
		return;
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int fd;
		unsigned long long dev, ino;
		struct stat st;
		char path[64];
		if (sscanf(line, "%d %llu %llu", &fd, &dev, &ino) != 3 || fd < 0 ||
		    fd >= CKPT_META_STDIO)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)j->rec.pid, fd);
		j->meta.stdio[fd] = stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
	}
}

/* The address of the container on a cell network: its lease. */
static int find_address(struct ckpt_job *j, struct cell_err **err)
{
	struct ledger_entry *e = NULL;
	size_t n = 0;
	int r = ledger_read(&j->dir, &e, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (strcmp(e[i].kind, "net-lease") != 0 || cell_strv_len(e[i].args) != 3)
			continue;
		struct net_store s = { .dirfd = -1, .lockfd = -1 };
		_cleanup_(net_network_freep) struct net_network *net = NULL;
		struct net_lease *l = NULL;
		size_t nl = 0;
		r = net_store_open(e[i].args[0], &s, err);
		if (r == 0 && (r = net_store_get(&s, e[i].args[1], &net, err)) == 0)
			r = net_lease_list(&s, net, &l, &nl, err);
		for (size_t k = 0; r == 0 && k < nl; k++) {
			char ip[NET_IP_STRLEN];
			if (strcmp(l[k].owner, e[i].args[2]) != 0)
				continue;
			j->meta.net_name = xstrdup(e[i].args[1]);
			j->meta.ip = xstrdup(net_ip_str(l[k].ip, ip));
		}
		net_leases_free(l, nl);
		net_store_close(&s);
	}
	ledger_free(e, n);
	return r < 0 ? cell_err_wrap(err, "the container's address") : 0;
}

/* An image's files are written before the tree is touched; a directory
 * that holds an image already is refused before anything is written. */
static int write_meta(struct ckpt_job *j, int imgfd, struct cell_err **err)
{
	if (faccessat(imgfd, "inventory.img", F_OK, 0) == 0 ||
	    faccessat(imgfd, "core.img", F_OK, 0) == 0 || faccessat(imgfd, CKPT_META, F_OK, 0) == 0)
		return cell_err(err, EEXIST, "--image-path %s already holds an image",
				j->o->image_path);
	_cleanup_free_ char *config = NULL;
	size_t len;
	int r = cell_read_file_at(j->dir.fd, CONFIG_COPY, OCI_SPEC_MAX_BYTES, &config, &len, err);
	if (r < 0)
		return r;
	j->meta.id = xstrdup(j->rec.id);
	j->meta.bundle = xstrdup(j->rec.bundle);
	find_stdio(j);
	if ((r = find_address(j, err)) < 0)
		return r;
	_cleanup_free_ char *meta = ckpt_meta_json(&j->meta);
	j->wrote_meta = true;
	r = cell_write_file_atomic_at(imgfd, CONFIG_COPY, config, len, 0600, err);
	if (r == 0)
		r = cell_write_file_atomic_at(imgfd, CKPT_META, meta, strlen(meta), 0600, err);
	return r;
}

/* A paused container is thawed for the dump: the engine stops every task
 * with ptrace, which a frozen v1 cgroup would hold off until the thaw. */
static int set_frozen(struct ckpt_job *j, bool frozen, struct cell_err **err)
{
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r = container_open_cgroup(&j->dir, &cg, err);
	if (r == 0)
		r = cgroup_freeze(cg, frozen, err);
	if (r < 0)
		return cell_err_wrap(err, "container \"%s\": %s", j->dir.id,
				     frozen ? "pause again" : "thaw for the checkpoint");
	j->thawed = !frozen;
	return 0;
}

/* A dump that caught the tree in a passing state it cannot take (-EAGAIN:
 * a child its shell had not reaped yet, a file lock held for a moment) is
 * tried again, a few times.  A failed dump leaves the tree as it was and
 * its files invalid. */
static int dump_retrying(int imgfd, const struct ckpt_dump_opts *d, struct ckpt_stats *stats,
			 struct cell_err **err)
{
	static const char *const files[] = { "inventory.img", "core.img", "pages.img" };
	for (int tries = 1;; tries++) {
		int r = ckpt_dump(d, stats, err);
		if (r != -EAGAIN || tries == 20)
			return r;
		cell_debug("%s; trying again", (*err)->msg);
		cell_err_freep(err);
		for (size_t i = 0; i < ARRAY_SIZE(files); i++)
			unlinkat(imgfd, files[i], 0);
		usleep(5000 * tries);
	}
}

static int dump(struct ckpt_job *j, int imgfd, struct ckpt_stats *stats, struct cell_err **err)
{
	const struct container_checkpoint_opts *o = j->o;
	struct ckpt_dump_opts d = {
		.root_pid = j->rec.pid, .image_dir = o->image_path,
		.work_dir = o->work_path ? o->work_path : o->image_path,
		.parent_dir = o->parent_path, .leave_running = o->leave_running,
		.pre_dump = o->pre_dump, .tcp_established = o->tcp_established,
	};
	int r = 0;
	if (!o->pre_dump)
		r = write_meta(j, imgfd, err);
	if (r == 0 && j->status == CONTAINER_PAUSED)
		r = set_frozen(j, false, err);
	if (r == 0)
		r = dump_retrying(imgfd, &d, stats, err);
	if (r < 0 && j->wrote_meta) {
		unlinkat(imgfd, CONFIG_COPY, 0);
		unlinkat(imgfd, CKPT_META, 0);
	}
	return r;
}

static int open_image(const struct container_checkpoint_opts *o, int *ret, struct cell_err **err)
{
	int r = cell_mkdir_p(o->image_path, 0700, err);
	if (r == 0 && o->work_path)
		r = cell_mkdir_p(o->work_path, 0700, err);
	if (r < 0)
		return r;
	int fd = open(o->image_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "--image-path %s", o->image_path);
	*ret = fd;
	return 0;
}

int container_checkpoint(const struct container_ctx *ctx, const char *id,
			 const struct container_checkpoint_opts *o, struct ckpt_stats *ret_stats,
			 struct cell_err **err)
{
	struct ckpt_job j = { .o = o, .dir = { .fd = -1 } };
	struct ckpt_stats stats = { 0 };
	_cleanup_close_ int imgfd = -1;
	int r = open_container(ctx, id, &j, err);
	if (r == 0 && ((r = open_image(o, &imgfd, err)) < 0 || (r = dump(&j, imgfd, &stats, err)) < 0))
		cell_err_wrap(err, "checkpoint container \"%s\"", id);
	bool gone = r == 0 && !o->leave_running && !o->pre_dump;
	if (j.thawed && !gone) {
		/* Paused it was, paused it stays (also when the dump failed). */
		struct cell_err *e = NULL;
		int f = set_frozen(&j, true, &e);
		if (f < 0 && r == 0) {
			r = f;
			*err = e;
		} else {
			cell_err_free(e);
		}
	}
	ckpt_meta_clear(&j.meta);
	state_record_clear(&j.rec);
	if (j.dir.fd >= 0)
		state_dir_close(&j.dir);
	/* The tree is dead: the rest of the container goes the way delete
	 * takes it (cgroup, network, state, poststop hooks). */
	if (gone && (r = container_delete(ctx, id, true, err)) < 0)
		cell_err_wrap(err, "checkpoint of \"%s\" is complete, but deleting the container "
			      "failed", id);
	if (r == 0 && ret_stats)
		*ret_stats = stats;
	return r;
}
