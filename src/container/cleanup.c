/* Undoing what create made, from the ledger, newest first.  The same path
 * serves a failed create, `delete`, and a delete after cell was killed
 * mid-create: every undoer accepts a resource that never came to exist. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/internal.h"
#include "os/cgroup.h"

char *container_default_cgroup(const char *id)
{
	return xasprintf("%s/%s", CONTAINER_CGROUP_PARENT, id);
}

/* The usual end of a container: its cgroup is empty and has no children,
 * and one rmdir per hierarchy is all it takes.  false when anything is
 * left (processes, nested cgroups), for the thorough path. */
static bool rmdir_empty(char *const *dirs)
{
	bool all = true;
	for (char *const *d = dirs; d && *d; d++)
		if (rmdir(*d) < 0 && errno != ENOENT)
			all = false;
	return all;
}

static int undo_cgroup(char *const *dirs, struct cell_err **err)
{
	if (rmdir_empty(dirs))
		return 0;
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL;
	int r = cgroup_open_dirs(dirs, &cg, err);
	if (r == -ENOENT) {
		cell_err_freep(err);
		return 0;
	}
	if (r < 0)
		return r;
	/* Whatever is still inside (a container without its own PID namespace,
	 * an exec'd process) goes with it; an empty cgroup, the usual case,
	 * needs no freezing and signalling. */
	struct cell_err *e = NULL;
	pid_t *pids = NULL;
	size_t n = 0;
	if ((cgroup_pids(cg, &pids, &n, &e) < 0 || n > 0) && cgroup_kill_all(cg, SIGKILL, &e) < 0)
		cell_debug("kill what is left in the cgroup: %s", e->msg);
	free(pids);
	cell_err_free(e);
	for (int tries = 0;; tries++) {
		r = cgroup_destroy(cg, err);
		if (r != -EBUSY || tries >= 100)
			return r;
		cell_err_freep(err);
		usleep(10000); /* killed tasks leave the cgroup once fully exited */
	}
}

/* Parents create made for the cgroup (deepest first): removed when empty,
 * never forced; another container may be using them by now. */
static int undo_cgroup_parent(char *const *dirs, struct cell_err **err)
{
	for (char *const *d = dirs; d && *d; d++)
		rmdir(*d);
	(void)err;
	return 0;
}

static const struct {
	const char *kind;
	int (*undo)(char *const *args, struct cell_err **err);
} undoers[] = {
	{ "cgroup", undo_cgroup },
	{ "cgroup-parent", undo_cgroup_parent },
	{ "net-lease", network_undo_lease },
	{ "net-veth", network_undo_veth },
	{ "net-qdisc", network_undo_qdisc },
	{ "net-port", network_undo_port },
};

int container_open_cgroup(struct state_dir *dir, struct cgroup **ret, struct cell_err **err)
{
	struct ledger_entry *e = NULL;
	size_t n = 0;
	int r = ledger_read(dir, &e, &n, err);
	if (r < 0)
		return r;
	r = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].kind, "cgroup") == 0)
			r = cgroup_open_dirs(e[i].args, ret, err);
	if (r == -ENOENT && !*err)
		cell_err(err, ENOENT, "container \"%s\" has no cgroup", dir->id);
	ledger_free(e, n);
	return r;
}

int container_undo(struct state_dir *dir, struct cell_err **err)
{
	struct ledger_entry *e = NULL;
	size_t n = 0;
	int r = ledger_read(dir, &e, &n, err);
	if (r < 0)
		return r;
	int first = 0;
	for (size_t i = n; i-- > 0;) {
		size_t k;
		for (k = 0; k < ARRAY_SIZE(undoers); k++)
			if (strcmp(undoers[k].kind, e[i].kind) == 0)
				break;
		if (k == ARRAY_SIZE(undoers)) {
			cell_warn("container \"%s\": unknown ledger entry \"%s\" left alone", dir->id,
				  e[i].kind);
			continue;
		}
		struct cell_err *ue = NULL;
		r = undoers[k].undo(e[i].args, &ue);
		if (r < 0 && first == 0) {
			/* Keep going: one stuck resource must not strand the rest. */
			first = r;
			cell_err_free(*err);
			*err = ue;
			cell_err_wrap(err, "undo %s", e[i].kind);
		} else {
			cell_err_free(ue);
		}
	}
	ledger_free(e, n);
	if (first < 0)
		return first;
	return state_dir_remove(dir, err);
}
