/* `create`, the parent's side: a linear list of phases.  Everything that can
 * be checked is checked before the first resource exists; from then on each
 * resource is written to the ledger before it is made, so a failure here or
 * a SIGKILL of cell anywhere leaves a ledger that container_undo() (or a
 * later delete) turns back into nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "container/hooks.h"
#include "container/internal.h"
#include "container/rootfs.h"
#include "container/spawn.h"
#include "container/sync.h"
#include "container/tty.h"
#include "os/cgroup.h"
#include "os/process.h"
#include "os/unix.h"

/* Phase 1: read and check everything; create nothing. */
static int plan_load(struct create_plan *p, struct cell_err **err)
{
	const struct container_create_opts *o = p->opts;
	int r = state_check_id(o->id, err);
	if (r < 0)
		return r;
	char buf[PATH_MAX];
	if (!realpath(o->bundle ? o->bundle : ".", buf))
		return cell_err_sys(err, "--bundle %s", o->bundle ? o->bundle : ".");
	p->bundle = xstrdup(buf);
	if (o->config_json) {
		p->config_path = xstrdup(o->config_path ? o->config_path : "generated config");
		p->config_text = xstrdup(o->config_json);
		p->config_len = strlen(o->config_json);
	} else {
		p->config_path = o->config_path ? xstrdup(o->config_path)
						: xasprintf("%s/config.json", p->bundle);
		r = cell_read_file(p->config_path, OCI_SPEC_MAX_BYTES, &p->config_text,
				   &p->config_len, err);
		if (r < 0)
			return r;
	}
	r = oci_spec_parse(p->config_text, p->config_len, p->config_path, &p->spec, err);
	if (r < 0)
		return r;
	if (!p->spec->process)
		return cell_err(err, 0, "%s: process: required to create a container", p->config_path);
	if (!p->spec->root)
		return cell_err(err, 0, "%s: root: required to create a container", p->config_path);
	const char *root = p->spec->root->path;
	_cleanup_free_ char *abs = root[0] == '/' ? xstrdup(root) : xasprintf("%s/%s", p->bundle, root);
	struct stat st;
	if (!realpath(abs, buf) || stat(buf, &st) < 0)
		return cell_err_sys(err, "%s: root.path: %s", p->config_path, abs);
	if (!S_ISDIR(st.st_mode))
		return cell_err(err, ENOTDIR, "%s: root.path: %s is not a directory", p->config_path, abs);
	p->rootfs = xstrdup(buf);
	if (p->spec->process->terminal && !o->console_socket && !o->keep_pty)
		return cell_err(err, 0, "%s: process.terminal is true but no --console-socket was given",
				p->config_path);
	devices_add_default_rules(p->spec);
	if ((r = ns_plan_init(&p->spec->linux_, &p->ns, err)) < 0 ||
	    (r = security_prepare(p->spec, &p->sec, err)) < 0)
		return cell_err_wrap(err, "%s", p->config_path);
	return 0;
}

/* Which files fds 0-2 are: the init inherits them (as with runc, create
 * hands its stdio to the container), and a checkpoint compares them with
 * what the init holds then.  A terminal replaces them in the init. */
static int record_stdio(struct create_plan *p, struct cell_err **err)
{
	char text[3 * 64] = "";
	size_t len = 0;
	struct stat st;
	for (int fd = 0; fd < 3 && !p->spec->process->terminal; fd++)
		if (fstat(fd, &st) == 0)
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%d %llu %llu\n", fd,
						(unsigned long long)st.st_dev,
						(unsigned long long)st.st_ino);
	return cell_write_file_atomic_at(p->dir.fd, STDIO_IDS, text, len, 0600, err);
}

/* Phase 2: the state directory, its record and the config copy. */
static int plan_record(struct create_plan *p, struct cell_err **err)
{
	int r = state_dir_create(p->ctx->root, p->opts->id, &p->dir, err);
	if (r < 0)
		return r;
	p->have_dir = true;
	const struct oci_spec *s = p->spec;
	struct state_record *rec = &p->rec;
	rec->id = xstrdup(p->opts->id);
	rec->phase = STATE_PHASE_CREATING;
	rec->bundle = xstrdup(p->bundle);
	rec->rootfs = xstrdup(p->rootfs);
	rec->created = rfc3339_now();
	rec->owner = xstrdup("");
	rec->cgroup = s->linux_.cgroups_path ? xstrdup(s->linux_.cgroups_path)
					     : container_default_cgroup(p->opts->id);
	rec->own_userns = p->ns.is_new[OCI_NS_USER];
	rec->own_pidns = p->ns.is_new[OCI_NS_PID];
	rec->late_hooks = s->hooks[OCI_HOOK_POSTSTART].n || s->hooks[OCI_HOOK_POSTSTOP].n;
	rec->annotations = xcalloc(s->n_annotations + 1, sizeof(struct oci_kv));
	for (size_t i = 0; i < s->n_annotations; i++) {
		rec->annotations[i].key = xstrdup(s->annotations[i].key);
		rec->annotations[i].value = xstrdup(s->annotations[i].value);
	}
	rec->n_annotations = s->n_annotations;
	if ((r = state_record_write(&p->dir, rec, err)) < 0 || (r = record_stdio(p, err)) < 0)
		return r;
	return cell_write_file_atomic_at(p->dir.fd, CONFIG_COPY, p->config_text, p->config_len, 0600,
					 err);
}

/* The ancestors of dirs that do not exist yet, deepest first: what making
 * the cgroup will create besides itself (podman's /libpod_parent, containerd's
 * /<namespace>, cell's own /cell), so that they go again when empty. */
static char **missing_ancestors(char *const *dirs)
{
	char **out = xcalloc(1, sizeof(char *));
	for (char *const *d = dirs; d && *d; d++) {
		_cleanup_free_ char *p = xstrdup(*d);
		for (char *slash = strrchr(p, '/'); slash && slash != p; slash = strrchr(p, '/')) {
			*slash = '\0';
			if (access(p, F_OK) == 0)
				break;
			cell_strv_push(&out, p);
		}
	}
	return out;
}

/* The cgroup's directories, or with v2_only its v2 one alone.  A shared
 * parent (/cell) that another container's delete removes just as we make
 * our directory below it vanishes under us (ENOENT, or ENODEV from a
 * cgroup being destroyed): make it again. */
static int make_dirs(struct create_plan *p, bool v2_only, struct cell_err **err)
{
	int r;
	for (int tries = 0;; tries++) {
		r = v2_only ? cgroup_make_some(p->cg, NULL, true, NULL, err) : cgroup_make(p->cg, err);
		if ((r != -ENOENT && r != -ENODEV) || tries == 5)
			break;
		cell_err_freep(err);
	}
	return r < 0 ? cell_err_wrap(err, "linux.cgroupsPath \"%s\"", p->rec.cgroup) : 0;
}

/* Phase 3: the cgroup, with its limits.  Its directories are recorded, not
 * its path: a relative cgroupsPath means something else to a later command
 * running from another cgroup. */
static int make_cgroup(struct create_plan *p, struct cell_err **err)
{
	int r = make_dirs(p, false, err);
	if (r < 0)
		return r;
	p->cgroup_made = true;
	if (p->spec->linux_.resources &&
	    (r = cgroup_apply(p->cg, p->spec->linux_.resources, err)) < 0)
		return cell_err_wrap(err, "%s: linux.resources", p->config_path);
	return 0;
}

static int plan_cgroup(struct create_plan *p, struct cell_err **err)
{
	int r = cgroup_resolve(p->rec.cgroup, &p->cg, err);
	if (r < 0)
		return cell_err_wrap(err, "linux.cgroupsPath \"%s\"", p->rec.cgroup);
	_cleanup_strv_ char **parents = missing_ancestors(cgroup_dirs(p->cg));
	if (!p->spec->linux_.cgroups_path) {
		/* cell's own parent is shared by every default cgroup: whoever
		 * deletes the last container removes it, whoever created it. */
		_cleanup_(cgroup_freep) struct cgroup *shared = NULL;
		if (cgroup_resolve(CONTAINER_CGROUP_PARENT, &shared, err) < 0)
			return cell_err_wrap(err, "cgroup parent %s", CONTAINER_CGROUP_PARENT);
		for (char *const *d = cgroup_dirs(shared); d && *d; d++)
			if (!cell_strv_contains(parents, *d))
				cell_strv_push(&parents, *d);
	}
	if (parents[0] && (r = ledger_append(&p->dir, "cgroup-parent", parents, err)) < 0)
		return r;
	if ((r = ledger_append(&p->dir, "cgroup", cgroup_dirs(p->cg), err)) < 0)
		return r;
	/* On pure cgroup v2 the init is born in its cgroup, which must exist
	 * first.  Elsewhere making it overlaps with the init's mounts. */
	enum cgroup_mode mode;
	if ((r = cgroup_host_mode(&mode, err)) < 0)
		return r;
	if (mode == CGROUP_MODE_V2)
		return make_cgroup(p, err);
	/* With v1 hierarchies, the parent writing the init's pid to their
	 * cgroup.procs takes the kernel's threadgroup lock, and the first
	 * taker after a quiet spell waits for an RCU grace period: 16-30 ms
	 * here, on top of a 7 ms start.  So the init moves itself, through
	 * tasks files we open (cgroup_open_task_files()), and is born in the
	 * v2 side of a hybrid host, made now.  In a user namespace of its own
	 * too: the kernel checks the credentials the files were opened with.
	 * One that starts through an intermediate (spawn.c) too: the
	 * intermediate is born in the v2 side, and the init inherits it. */
	p->self_place = true;
	return make_dirs(p, true, err);
}

/* Phase 4: the fifo `start` writes to, and the sync socket pair.  The init
 * inherits the fifo open read-write, so it never sees EOF and needs no path
 * to it (its user namespace may not be allowed into our state directory).
 * A restored container runs at once: no fifo. */
static int plan_channels(struct create_plan *p, struct cell_err **err)
{
	if (!p->restore && mkfifoat(p->dir.fd, EXEC_FIFO, 0600) < 0)
		return cell_err_sys(err, "create %s/%s", p->dir.path, EXEC_FIFO);
	if (!p->restore && (p->fifo_fd = openat(p->dir.fd, EXEC_FIFO, O_RDWR | O_CLOEXEC)) < 0)
		return cell_err_sys(err, "open %s/%s", p->dir.path, EXEC_FIFO);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cell_err_sys(err, "socketpair");
	p->sync_parent = sv[0];
	p->sync_child = sv[1];
	return 0;
}

/* Phase 5: clone the init, straight into its cgroup where the host is pure
 * cgroup v2.  Until the parent records it, the init cannot outlive a crash
 * of ours: it gives up when the sync socket closes. */
static int plan_spawn(struct create_plan *p, struct cell_err **err)
{
	/* Born in its v2 cgroup, made by now (plan_cgroup), on a pure v2 or
	 * a hybrid host; through an intermediate, by inheriting it from that. */
	int cgfd = cgroup_unified_fd(p->cg);
	p->into_cgroup = cgfd >= 0;
	pid_t pid = spawn_init(p, cgfd, err);
	if (pid < 0)
		return pid;
	p->pid = pid;
	close(p->sync_child);
	p->sync_child = -1;
	if (p->fifo_fd >= 0)
		close(p->fifo_fd);
	p->fifo_fd = -1;
	return 0;
}

/* Phase 6: what only the parent can do for the init.  The init needs just
 * its id maps to start on its mounts (GO); the rest (making the cgroup and
 * placing the init in it or having it enter it, rlimits, the network)
 * overlaps with that, and PLACED says it is done.  Then the record of who
 * the init is. */
static int plan_configure(struct create_plan *p, struct cell_err **err)
{
	int r;
	if (p->ns.is_new[OCI_NS_USER] && !p->ns.two_stage &&
	    (r = ns_write_id_maps(p->pid, &p->spec->linux_, err)) < 0)
		return r;
	if ((r = sync_send(p->sync_parent, SYNC_GO, NULL, -1)) < 0)
		return sync_peer_gone(p->sync_parent, cell_err(err, -r, "start the init"), err);
	if (!p->cgroup_made && (r = make_cgroup(p, err)) < 0)
		return r;
	if (p->self_place && (r = sync_send_cgroup(p->sync_parent, p->cg, err)) < 0)
		return sync_peer_gone(p->sync_parent, cell_err_wrap(err, "place the init in its cgroup"), err);
	if (!p->self_place && !p->into_cgroup && (r = cgroup_enter(p->cg, p->pid, err)) < 0)
		return cell_err_wrap(err, "place the init in its cgroup");
	if ((r = security_parent(p->spec->process, p->pid, err)) < 0 ||
	    (r = restore_lock_network(p, err)) < 0 || (r = network_configure(p, err)) < 0)
		return r;
	if ((r = sync_send(p->sync_parent, SYNC_PLACED, NULL, -1)) < 0)
		return sync_peer_gone(p->sync_parent, cell_err(err, -r, "resume the init"), err);
	if ((r = os_proc_start_time(p->pid, &p->rec.pid_start)) < 0)
		return cell_err(err, -r, "read the start time of the init (pid %d)", (int)p->pid);
	p->rec.pid = p->pid;
	return state_record_write(&p->dir, &p->rec, err);
}

char *create_plan_state(struct create_plan *p, const char *status)
{
	return oci_state_json(p->rec.id, status, p->pid, p->bundle, p->rootfs, p->rec.created,
			      p->rec.owner, p->rec.annotations, p->rec.n_annotations);
}

/* Phase 7: the init has its mounts; run the runtime-side create hooks. */
static int plan_hooks(struct create_plan *p, struct cell_err **err)
{
	int r = sync_expect(p->sync_parent, SYNC_HOOKS, NULL, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *state = create_plan_state(p, "creating");
	if ((r = hooks_run(p->spec, OCI_HOOK_PRESTART, state, err)) < 0 ||
	    (r = hooks_run(p->spec, OCI_HOOK_CREATE_RUNTIME, state, err)) < 0)
		return r;
	r = sync_send(p->sync_parent, SYNC_HOOKS_DONE, state, -1);
	return r < 0 ? cell_err(err, -r, "resume the init") : 0;
}

/* Phase 8: the pty master goes to the console socket (or to our caller). */
static int plan_terminal(struct create_plan *p, struct cell_err **err)
{
	if (!p->spec->process->terminal)
		return 0;
	struct sync_msg m = { .fd = -1 };
	int r = sync_expect(p->sync_parent, SYNC_PTY, &m, err);
	if (r < 0)
		return r;
	if (m.fd < 0) {
		sync_msg_clear(&m);
		return cell_err(err, EPROTO, "the init sent no pty");
	}
	if (p->opts->console_socket)
		r = tty_send(p->opts->console_socket, m.fd, err);
	else
		p->pty_master = TAKE_FD(m.fd);
	sync_msg_clear(&m);
	return r;
}

/* linux.seccomp.listenerPath gets the notify fd with the container's state
 * (the message runc sends: specs.ContainerProcessState). */
static int plan_seccomp_listener(struct create_plan *p, struct cell_err **err)
{
	if (p->restore || !security_uses_notify(p->sec))
		return 0; /* a restored tree brings its own security, listener or not */
	struct sync_msg m = { .fd = -1 };
	int r = sync_expect(p->sync_parent, SYNC_SECCOMP, &m, err);
	if (r < 0)
		return r;
	const struct oci_seccomp *sc = p->spec->linux_.seccomp;
	if (sc->listener_path) {
		_cleanup_free_ char *state = create_plan_state(p, "creating");
		_cleanup_free_ char *meta = cell_json_quote(sc->listener_metadata ? sc->listener_metadata : "");
		_cleanup_free_ char *msg = xasprintf(
			"{\"ociVersion\":\"%s\",\"fds\":[\"seccompFd\"],\"pid\":%d,\"metadata\":%s,"
			"\"state\":%s}", CELL_OCI_STATE_VERSION, (int)p->pid, meta, state);
		_cleanup_close_ int s = os_unix_connect(sc->listener_path);
		if (s < 0)
			r = cell_err(err, -s, "linux.seccomp.listenerPath %s", sc->listener_path);
		else if ((r = os_send_fds(s, msg, strlen(msg), &m.fd, 1)) < 0)
			cell_err(err, -r, "linux.seccomp.listenerPath %s: send", sc->listener_path);
	}
	sync_msg_clear(&m);
	return r;
}

/* Phase 9: the init is ready; make it official, then let it wait for start.
 * A restore makes it official only once the tree runs (restore.c). */
static int plan_commit(struct create_plan *p, struct cell_err **err)
{
	int r = sync_expect(p->sync_parent, SYNC_READY, NULL, err);
	if (r < 0)
		return r;
	if (!p->restore) {
		if (p->opts->pid_file &&
		    (r = cell_write_pid_file(p->opts->pid_file, p->pid, err)) < 0)
			return cell_err_wrap(err, "--pid-file");
		p->rec.phase = STATE_PHASE_CREATED;
		if ((r = state_record_write(&p->dir, &p->rec, err)) < 0)
			return r;
	}
	_cleanup_free_ char *state = create_plan_state(p, "created");
	r = sync_send(p->sync_parent, SYNC_COMMITTED, state, -1);
	return r < 0 ? cell_err(err, -r, "release the init") : 0;
}

void create_plan_abort(struct create_plan *p)
{
	if (p->pidfd >= 0) {
		os_pidfd_send_signal(p->pidfd, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	if (p->have_dir) {
		struct cell_err *e = NULL;
		if (container_undo(&p->dir, &e) < 0)
			cell_warn("cleaning up after a failed create: %s", e->msg);
		cell_err_free(e);
	}
}

void create_plan_free(struct create_plan *p)
{
	if (p->sync_parent >= 0)
		close(p->sync_parent);
	if (p->sync_child >= 0)
		close(p->sync_child);
	if (p->fifo_fd >= 0)
		close(p->fifo_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->pty_master >= 0)
		close(p->pty_master);
	if (p->have_dir)
		state_dir_close(&p->dir);
	ns_plan_close(&p->ns);
	network_plan_free(p->net);
	security_plan_free(p->sec);
	cgroup_free(p->cg);
	state_record_clear(&p->rec);
	oci_spec_free(p->spec);
	free(p->bundle);
	free(p->config_path);
	free(p->rootfs);
	free(p->config_text);
}

void create_plan_init(struct create_plan *p, const struct container_ctx *ctx,
		      const struct container_create_opts *opts)
{
	*p = (struct create_plan){ .ctx = ctx, .opts = opts, .sync_parent = -1, .sync_child = -1,
				   .fifo_fd = -1, .pidfd = -1, .pty_master = -1 };
	for (int t = 0; t < OCI_NS_TYPES; t++)
		p->ns.join_fd[t] = -1;
}

int create_plan_run(struct create_plan *p, struct cell_err **err)
{
	static const struct {
		const char *name;
		int (*run)(struct create_plan *p, struct cell_err **err);
	} phases[] = {
		{ "load", plan_load },		 { "record", plan_record },
		{ "cgroup", plan_cgroup },	 { "network", network_prepare },
		{ "channels", plan_channels },	 { "spawn", plan_spawn },
		{ "configure", plan_configure }, { "hooks", plan_hooks },
		{ "terminal", plan_terminal },	 { "seccomp listener", plan_seccomp_listener },
		{ "commit", plan_commit },
	};
	int r = 0;
	for (size_t i = 0; i < ARRAY_SIZE(phases) && r == 0; i++) {
		cell_debug("create \"%s\": %s", p->opts->id, phases[i].name);
		r = phases[i].run(p, err);
	}
	return r;
}

int container_create(const struct container_ctx *ctx, const struct container_create_opts *opts,
		     struct container_created *ret, struct cell_err **err)
{
	struct create_plan p;
	create_plan_init(&p, ctx, opts);
	int r = create_plan_run(&p, err);
	if (r < 0) {
		create_plan_abort(&p);
		cell_err_wrap(err, "create container \"%s\"", opts->id);
		create_plan_free(&p);
		return r;
	}
	if (ret) {
		ret->pid = p.pid;
		ret->pidfd = TAKE_FD(p.pidfd);
		ret->pty_master = TAKE_FD(p.pty_master);
	}
	create_plan_free(&p);
	return 0;
}
