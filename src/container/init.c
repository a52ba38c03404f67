/* The container's init, between clone3 and execve.  It runs as pid 1 of
 * the new PID namespace (when there is one), in the container's other new
 * namespaces, and talks to cell over the sync socket (see sync.h).  Any
 * failure goes back to cell as text; cell then kills us and cleans up. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "ckpt/ckpt.h"
#include "container/hooks.h"
#include "container/internal.h"
#include "container/rootfs.h"
#include "container/sync.h"
#include "container/tty.h"

void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static int set_names(const struct oci_spec *spec, const struct ns_plan *ns, struct cell_err **err)
{
	if (!ns->is_new[OCI_NS_UTS])
		return 0;
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return cell_err_sys(err, "hostname: \"%s\"", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return cell_err_sys(err, "domainname: \"%s\"", spec->domainname);
	return 0;
}

/* The parent made our cgroup meanwhile, overlapping with our mounts.  It
 * either placed us itself (then its first write to a v1 hierarchy waited
 * out an RCU grace period), or it sends each v1 hierarchy's tasks file for
 * us to enter (create.c, self_place).  Wait for that once, then make the
 * cgroup namespace, rooted there. */
static int wait_placed(void *arg, struct cell_err **err)
{
	struct create_plan *p = arg;
	if (p->placed)
		return 0;
	int r = sync_expect_entering(p->sync_child, SYNC_PLACED, NULL, err);
	if (r < 0)
		return r;
	p->placed = true;
	return ns_unshare_cgroup(&p->ns, err);
}

/* Namespaces, mounts, devices: everything before the create-time hooks. */
static int build_world(struct create_plan *p, struct rootfs_ctx *rc, struct cell_err **err)
{
	int r;
	if ((!p->ns.two_stage_init && (r = ns_join(&p->ns, err)) < 0) ||
	    (r = ns_become_root(&p->ns, err)) < 0 ||
	    (r = ns_unshare_time(&p->ns, &p->spec->linux_, err)) < 0)
		return r;
	if ((r = set_names(p->spec, &p->ns, err)) < 0)
		return r;
	if (p->ns.is_new[OCI_NS_NETWORK] && (r = ns_loopback_up(err)) < 0)
		return r;
	if (chdir(p->bundle) < 0)
		return cell_err_sys(err, "chdir to the bundle %s", p->bundle);
	if ((r = rootfs_prepare(rc, err)) < 0 || (r = rootfs_mount_all(rc, err)) < 0 ||
	    (r = wait_placed(p, err)) < 0 || (r = network_mount_etc(p, rc->rootfd, err)) < 0)
		return r;
	return rootfs_devices(rc, err);
}

static int hooks_then_pivot(struct create_plan *p, struct rootfs_ctx *rc, int sock,
			    struct cell_err **err)
{
	struct sync_msg m = { .fd = -1 };
	int r = sync_send(sock, SYNC_HOOKS, NULL, -1);
	if (r < 0)
		return cell_err(err, -r, "ask cell to run hooks");
	if ((r = sync_expect(sock, SYNC_HOOKS_DONE, &m, err)) < 0)
		return r;
	r = hooks_run(p->spec, OCI_HOOK_CREATE_CONTAINER, m.data, err);
	sync_msg_clear(&m);
	if (r < 0)
		return r;
	if ((r = rootfs_pivot(rc, p->opts->no_pivot, err)) < 0)
		return r;
	return rootfs_finalize(rc, err);
}

static int setup_terminal(struct create_plan *p, int sock, struct cell_err **err)
{
	if (!p->spec->process->terminal)
		return 0;
	_cleanup_close_ int master = -1;
	int r = tty_setup(p->spec->process, true, &master, err);
	if (r < 0)
		return r;
	r = sync_send(sock, SYNC_PTY, NULL, master);
	return r < 0 ? cell_err(err, -r, "send the pty to cell") : 0;
}

/* Block on exec.fifo until `cell start` writes its byte. */
static int wait_for_start(int fifo, struct cell_err **err)
{
	char c;
	for (;;) {
		ssize_t n = read(fifo, &c, 1);
		if (n == 1)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return cell_err_sys(err, "read %s", EXEC_FIFO);
	}
}

static void preserve_fds(int n)
{
	for (int fd = 3; fd < 3 + n; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
	}
	syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC);
}

/* Restore: no process of our own to start.  Once cell has made it all
 * official, the checkpoint's tree takes this process over, memory, fds,
 * credentials and security included, so none of that is set up here; a
 * terminal is, the new console the tree's old one becomes (its slave on
 * fds 0-2, handed to the engine; the master to the console socket).  Only
 * a failed restore returns from the wait, and cell has its error already:
 * exit quietly. */
static int become_restored(struct create_plan *p, int sock, struct cell_err **err)
{
	struct sync_msg m = { .fd = -1 };
	int r = setup_terminal(p, sock, err);
	if (r < 0)
		return r;
	/* Becoming root of a user namespace made us non-dumpable, and exec,
	 * which would have reset that, never comes: the tree's processes,
	 * forked from us, take files from us with pidfd_getfd, which needs us
	 * dumpable (the image's own setting comes back at the end). */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return cell_err_sys(err, "PR_SET_DUMPABLE");
	if ((r = sync_send(sock, SYNC_READY, NULL, -1)) < 0)
		return cell_err(err, -r, "tell cell the container is ready");
	if ((r = sync_expect(sock, SYNC_COMMITTED, &m, err)) < 0)
		return r;
	ckpt_restore_child(sock, err);
	_exit(127);
}

static int run(struct create_plan *p, struct cell_err **err)
{
	int sock = p->sync_child;
	const struct oci_process *proc = p->spec->process;
	struct rootfs_ctx rc = { .spec = p->spec, .rootfs = p->rootfs, .bundle = p->bundle,
				 .userns = ns_plan_has(&p->ns, OCI_NS_USER),
				 .cgroupns = p->ns.is_new[OCI_NS_CGROUP], .cg = p->cg, .rootfd = -1,
				 .before_cgroup = wait_placed, .arg = p };
	struct sync_msg m = { .fd = -1 };
	_cleanup_free_ char *exec_path = NULL;
	int r;

	if (setsid() < 0)
		return cell_err_sys(err, "setsid");
	if ((r = sync_expect(sock, SYNC_GO, NULL, err)) < 0)
		return r;
	cell_debug("init: go");
	if ((r = build_world(p, &rc, err)) < 0)
		return r;
	cell_debug("init: mounts done");
	if ((r = hooks_then_pivot(p, &rc, sock, err)) < 0)
		return r;
	cell_debug("init: root finalised");
	if (p->restore)
		return become_restored(p, sock, err);
	if ((r = setup_terminal(p, sock, err)) < 0)
		return r;
	if (proc->cwd && chdir(proc->cwd) < 0)
		return cell_err_sys(err, "process.cwd: %s", proc->cwd);
	if ((r = resolve_exec(proc, &exec_path, err)) < 0)
		return r;
	add_default_home(p->spec->process);
	int listener = -1;
	if ((r = security_apply(p->sec, p->spec, proc, &listener, err)) < 0)
		return r;
	if (listener >= 0) {
		r = sync_send(sock, SYNC_SECCOMP, NULL, listener);
		close(listener);
		if (r < 0)
			return cell_err(err, -r, "send the seccomp listener to cell");
	}
	if ((r = sync_send(sock, SYNC_READY, NULL, -1)) < 0)
		return cell_err(err, -r, "tell cell the container is ready");
	if ((r = sync_expect(sock, SYNC_COMMITTED, &m, err)) < 0)
		return r;
	close(sock);
	p->sync_child = -1;

	/* From here on nobody listens: failures go to the container's stderr. */
	if ((r = wait_for_start(p->fifo_fd, err)) < 0 ||
	    (r = hooks_run(p->spec, OCI_HOOK_START_CONTAINER, m.data, err)) < 0)
		return r;
	preserve_fds(p->opts->preserve_fds);
	reset_signals();
	execve(exec_path, proc->args, proc->env ? proc->env : (char *[]){ NULL });
	return cell_err_sys(err, "exec %s", exec_path);
}

void container_init(struct create_plan *p)
{
	struct cell_err *err = NULL;
	/* Our copy of the state directory fd would hold create's lock until
	 * exec, making a created container look "creating" to everyone. */
	close(p->dir.fd);
	close(p->sync_parent);
	if (run(p, &err) < 0) {
		/* Before COMMITTED the parent reads this; after, only stderr can. */
		if (p->sync_child >= 0)
			sync_fail(p->sync_child, err);
		dprintf(STDERR_FILENO, "cell: container %s: %s\n", p->rec.id, err ? err->msg : "failed");
		_exit(127);
	}
	_exit(127);
}
