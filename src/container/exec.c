/* `exec`: a new process in a running container's namespaces and cgroup,
 * under the container's security settings.  The same sync protocol as
 * create, shortened: GO, [PTY], [SECCOMP], READY, COMMITTED, then EOF on
 * the socket (close-on-exec) is how the parent learns execve succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "container/internal.h"
#include "container/sync.h"
#include "container/tty.h"
#include "os/cgroup.h"
#include "os/process.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	const char *name;
	int flag;
} exec_ns[] = {
	/* user first: the others are entered with its credentials. */
	{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS },	 { "ipc", CLONE_NEWIPC },
	{ "uts", CLONE_NEWUTS },   { "net", CLONE_NEWNET },	 { "cgroup", CLONE_NEWCGROUP },
	{ "time", CLONE_NEWTIME },
};

struct exec_job {
	const struct container_exec_opts *opts;
	struct oci_spec *spec;      /* the container's config */
	struct oci_process *proc;   /* what runs (points into spec) */
	struct security_plan *sec;
	struct state_dir dir;
	struct state_record rec;
	struct cgroup *cg;
	bool self_place; /* the process enters the v1 hierarchies itself (sync.h) */
	int ns_fd[ARRAY_SIZE(exec_ns)];
	int pidns_fd;
	int sync_parent, sync_child;
	pid_t pid;
	int pidfd;
	int pty_master;
};

/* Open the init's namespaces that differ from ours. */
static int open_namespaces(struct exec_job *j, struct cell_err **err)
{
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) {
		char path[64], self[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)j->rec.pid, exec_ns[i].name);
		snprintf(self, sizeof(self), "/proc/self/ns/%s", exec_ns[i].name);
		struct stat a, b;
		if (stat(path, &a) < 0)
			continue; /* a namespace type this kernel lacks */
		if (stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			continue;
		j->ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (j->ns_fd[i] < 0)
			return cell_err_sys(err, "open %s", path);
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)j->rec.pid);
	j->pidns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (j->pidns_fd < 0)
		return cell_err_sys(err, "open %s", path);
	/* The init must still be the one we recorded, now that we hold its ns. */
	if (!os_proc_alive(j->rec.pid, j->rec.pid_start))
		return cell_err(err, 0, "cannot exec in a stopped container");
	return 0;
}

static void env_set(char ***env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	for (char **e = *env; e && *e; e++) {
		if (strncmp(*e, kv, klen) == 0 && (*e)[klen] == '=') {
			free(*e);
			*e = xstrdup(kv);
			return;
		}
	}
	cell_strv_push(env, kv);
}

/* The process to run: --process as given, or the container's own process
 * with the command-line overrides (what runc exec does). */
static int build_process(struct exec_job *j, struct cell_err **err)
{
	const struct container_exec_opts *o = j->opts;
	struct oci_process *p = j->spec->process;
	if (o->process) {
		oci_process_free(p);
		j->spec->process = p = o->process;
		return 0;
	}
	if (!o->args || !o->args[0])
		return cell_err(err, 0, "exec: no command given");
	cell_strv_free(p->args);
	p->args = cell_strv_dup(o->args);
	for (char **e = o->env; e && *e; e++)
		env_set(&p->env, *e);
	if (o->cwd) {
		free(p->cwd);
		p->cwd = xstrdup(o->cwd);
	}
	if (o->has_user) {
		p->user.uid = o->uid;
		p->user.gid = o->gid;
		free(p->user.additional_gids);
		p->user.additional_gids = NULL;
		p->user.n_additional_gids = o->n_additional_gids;
		if (o->n_additional_gids) {
			p->user.additional_gids = xcalloc(o->n_additional_gids, sizeof(uint32_t));
			memcpy(p->user.additional_gids, o->additional_gids,
			       o->n_additional_gids * sizeof(uint32_t));
		}
	}
	p->terminal = o->tty;
	p->no_new_privileges |= o->no_new_privs;
	for (char **c = o->add_caps; c && *c; c++) {
		int cap = oci_cap_from_name(*c);
		if (cap < 0)
			return cell_err(err, 0, "--cap: unknown capability \"%s\"", *c);
		uint64_t bit = 1ULL << cap;
		p->has_capabilities = true;
		p->caps.bounding |= bit;
		p->caps.effective |= bit;
		p->caps.permitted |= bit;
		p->caps.inheritable |= bit;
		p->caps.ambient |= bit;
	}
	return 0;
}

static int load(const struct container_ctx *ctx, struct exec_job *j, struct cell_err **err)
{
	int r = state_dir_open(ctx->root, j->opts->id, false, &j->dir, err);
	if (r < 0)
		return r;
	if ((r = state_record_read(&j->dir, &j->rec, err)) < 0)
		return r;
	enum container_status st;
	container_status_of(&j->dir, &j->rec, false, &st);
	if (st == CONTAINER_STOPPED || st == CONTAINER_CREATING)
		return cell_err(err, 0, "cannot exec in a %s container",
				st == CONTAINER_STOPPED ? "stopped" : "creating");
	if (st == CONTAINER_PAUSED)
		return cell_err(err, 0, "cannot exec in a paused container");
	_cleanup_free_ char *text = NULL;
	size_t len;
	if ((r = cell_read_file_at(j->dir.fd, CONFIG_COPY, OCI_SPEC_MAX_BYTES, &text, &len, err)) < 0 ||
	    (r = oci_spec_parse(text, len, CONFIG_COPY, &j->spec, err)) < 0)
		return r;
	if ((r = build_process(j, err)) < 0)
		return r;
	if (j->spec->process->terminal && !j->opts->console_socket && !j->opts->keep_pty)
		return cell_err(err, 0, "a terminal was asked for but no --console-socket was given");
	if ((r = security_prepare(j->spec, &j->sec, err)) < 0 ||
	    (r = container_open_cgroup(&j->dir, &j->cg, err)) < 0)
		return r;
	return open_namespaces(j, err);
}

/* The child: enter, set up, report, exec. */
static int child(struct exec_job *j, struct cell_err **err)
{
	int sock = j->sync_child, r;
	struct oci_process *p = j->spec->process;
	if ((r = sync_expect_entering(sock, SYNC_GO, NULL, err)) < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
		if (j->ns_fd[i] >= 0 && setns(j->ns_fd[i], exec_ns[i].flag) < 0)
			return cell_err_sys(err, "join the container's %s namespace", exec_ns[i].name);
	if (p->terminal) {
		if (setsid() < 0)
			return cell_err_sys(err, "setsid");
		_cleanup_close_ int master = -1;
		if ((r = tty_setup(p, false, &master, err)) < 0)
			return r;
		if ((r = sync_send(sock, SYNC_PTY, NULL, master)) < 0)
			return cell_err(err, -r, "send the pty");
	}
	if (chdir(p->cwd ? p->cwd : "/") < 0)
		return cell_err_sys(err, "cwd %s", p->cwd ? p->cwd : "/");
	_cleanup_free_ char *path = NULL;
	if ((r = resolve_exec(p, &path, err)) < 0)
		return r;
	add_default_home(p);
	int listener = -1;
	if ((r = security_apply(j->sec, j->spec, p, &listener, err)) < 0)
		return r;
	if (listener >= 0)
		close(listener); /* the container's own listener already serves it */
	if ((r = sync_send(sock, SYNC_READY, NULL, -1)) < 0)
		return cell_err(err, -r, "report ready");
	if ((r = sync_expect(sock, SYNC_COMMITTED, NULL, err)) < 0)
		return r;
	for (int fd = 3; fd < 3 + j->opts->preserve_fds; fd++)
		fcntl(fd, F_SETFD, 0);
	syscall(SYS_close_range, 3 + j->opts->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
	reset_signals();
	execve(path, p->args, p->env ? p->env : (char *[]){ NULL });
	return cell_err_sys(err, "exec %s", path);
}

static int spawn(struct exec_job *j, struct cell_err **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return cell_err_sys(err, "socketpair");
	j->sync_parent = sv[0];
	j->sync_child = sv[1];
	_cleanup_close_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (own < 0 || setns(j->pidns_fd, CLONE_NEWPID) < 0)
		return cell_err_sys(err, "enter the container's PID namespace");
	/* On pure cgroup v2 the process is born in the container's cgroup.
	 * With v1 hierarchies it enters those itself, still cell's root
	 * (before GO), rather than our writing its pid to their cgroup.procs
	 * (an RCU grace period, sync.h); on a hybrid host it is born in the
	 * v2 side. */
	j->self_place = cgroup_v2_fd(j->cg) < 0;
	int cgfd = cgroup_unified_fd(j->cg);
	pid_t pid = cgfd >= 0 ? os_clone3_into(CLONE_PIDFD, cgfd, &j->pidfd)
			      : os_clone3(CLONE_PIDFD, &j->pidfd, NULL, 0);
	if (pid == 0) {
		struct cell_err *e = NULL;
		close(j->sync_parent);
		close(j->dir.fd);
		child(j, &e);
		sync_fail(j->sync_child, e);
	}
	setns(own, CLONE_NEWPID);
	close(j->sync_child);
	j->sync_child = -1;
	if (pid < 0)
		return cell_err(err, -pid, "clone3");
	j->pid = pid;
	return 0;
}

static int drive(struct exec_job *j, struct cell_err **err)
{
	int r, sock = j->sync_parent;
	if (j->self_place && (r = sync_send_cgroup(sock, j->cg, err)) < 0)
		return sync_peer_gone(sock, r, err);
	if ((r = security_parent(j->spec->process, j->pid, err)) < 0)
		return r;
	if ((r = sync_send(sock, SYNC_GO, NULL, -1)) < 0)
		return sync_peer_gone(sock, cell_err(err, -r, "start the process"), err);
	if (j->spec->process->terminal) {
		struct sync_msg m = { .fd = -1 };
		if ((r = sync_expect(sock, SYNC_PTY, &m, err)) < 0)
			return r;
		if (j->opts->console_socket)
			r = tty_send(j->opts->console_socket, m.fd, err);
		else
			j->pty_master = TAKE_FD(m.fd);
		sync_msg_clear(&m);
		if (r < 0)
			return r;
	}
	if ((r = sync_expect(sock, SYNC_READY, NULL, err)) < 0)
		return r;
	if (j->opts->pid_file && (r = cell_write_pid_file(j->opts->pid_file, j->pid, err)) < 0)
		return cell_err_wrap(err, "--pid-file");
	if ((r = sync_send(sock, SYNC_COMMITTED, NULL, -1)) < 0)
		return cell_err(err, -r, "release the process");
	/* EOF: the socket closed on exec.  A message: exec failed. */
	struct cell_err *e = NULL;
	r = sync_expect(sock, SYNC_ERROR, NULL, &e);
	if (r < 0 && e && e->errnum == EPIPE) {
		cell_err_free(e);
		return 0;
	}
	cell_err_free(*err);
	*err = e;
	return r < 0 ? r : -EIO;
}

static void job_free(struct exec_job *j)
{
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
		if (j->ns_fd[i] >= 0)
			close(j->ns_fd[i]);
	if (j->pidns_fd >= 0)
		close(j->pidns_fd);
	if (j->sync_parent >= 0)
		close(j->sync_parent);
	if (j->sync_child >= 0)
		close(j->sync_child);
	if (j->pidfd >= 0)
		close(j->pidfd);
	if (j->pty_master >= 0)
		close(j->pty_master);
	if (j->opts->process && j->spec && j->spec->process == j->opts->process)
		j->spec->process = NULL; /* the caller's */
	oci_spec_free(j->spec);
	security_plan_free(j->sec);
	cgroup_free(j->cg);
	state_record_clear(&j->rec);
	if (j->dir.path)
		state_dir_close(&j->dir);
}

int container_exec(const struct container_ctx *ctx, const struct container_exec_opts *opts,
		   struct container_execed *ret, struct cell_err **err)
{
	struct exec_job j = { .opts = opts, .pidns_fd = -1, .sync_parent = -1, .sync_child = -1,
			      .pidfd = -1, .pty_master = -1, .dir = { .fd = -1 } };
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++)
		j.ns_fd[i] = -1;
	int r = load(ctx, &j, err);
	if (r == 0 && (r = spawn(&j, err)) == 0 && (r = drive(&j, err)) < 0) {
		os_pidfd_send_signal(j.pidfd, SIGKILL);
		waitpid(j.pid, NULL, 0);
	}
	if (r < 0) {
		cell_err_wrap(err, "exec in container \"%s\"", opts->id);
	} else if (ret) {
		ret->pid = j.pid;
		ret->pidfd = TAKE_FD(j.pidfd);
		ret->pty_master = TAKE_FD(j.pty_master);
	}
	job_free(&j);
	return r;
}
