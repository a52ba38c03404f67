#include "container/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "container/internal.h"
#include "container/sync.h"
#include "os/process.h"

/* Creating these needs a second process: the init must be born into them. */
static const uint64_t unshared = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;

/* The intermediate: join, unshare, clone the init, report, exit. */
__attribute__((noreturn)) static void intermediate(struct create_plan *p)
{
	struct cell_err *err = NULL;
	int sock = p->sync_child, r;
	if ((r = ns_join(&p->ns, &err)) < 0)
		sync_fail(sock, err);
	if (p->ns.join_fd[OCI_NS_PID] >= 0 && setns(p->ns.join_fd[OCI_NS_PID], CLONE_NEWPID) < 0) {
		cell_err_sys(&err, "join the PID namespace");
		sync_fail(sock, err);
	}
	if (p->ns.is_new[OCI_NS_USER]) {
		if (unshare(CLONE_NEWUSER) < 0) {
			cell_err_sys(&err, "create the user namespace");
			sync_fail(sock, err);
		}
		if ((r = sync_send(sock, SYNC_USERNS, NULL, -1)) < 0 ||
		    (r = sync_expect(sock, SYNC_MAPPED, NULL, &err)) < 0)
			sync_fail(sock, err);
	}
	if ((r = ns_become_root(&p->ns, &err)) < 0)
		sync_fail(sock, err);
	if (unshare((int)(p->ns.clone_flags & (unshared | CLONE_NEWPID))) < 0) {
		cell_err_sys(&err, "create the container's namespaces");
		sync_fail(sock, err);
	}
	/* CLONE_PARENT: the init is cell's child, as in the one-stage case. */
	struct clone_args args = { .flags = CLONE_PARENT };
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		p->ns.two_stage_init = true;
		container_init(p);
	}
	if (pid < 0) {
		cell_err_sys(&err, "clone3 the container's init");
		sync_fail(sock, err);
	}
	char buf[16];
	snprintf(buf, sizeof(buf), "%ld", pid);
	sync_send(sock, SYNC_INIT, buf, -1);
	_exit(0);
}

/* The parent's side of the two stages. */
static int two_stage(struct create_plan *p, int cgroup_fd, struct cell_err **err)
{
	/* Our child until we reap it below: its pid cannot be reused before.
	 * Born in the container's v2 cgroup, which the init inherits. */
	pid_t mid = cgroup_fd >= 0 ? os_clone3_into(0, cgroup_fd, NULL) : os_clone3(0, NULL, NULL, 0);
	if (mid == 0)
		intermediate(p);
	if (mid < 0)
		return cell_err(err, -mid, "fork the namespace setup process");
	struct sync_msg m = { .fd = -1 };
	int r = 0;
	if (p->ns.is_new[OCI_NS_USER]) {
		if ((r = sync_expect(p->sync_parent, SYNC_USERNS, NULL, err)) == 0 &&
		    (r = ns_write_id_maps(mid, &p->spec->linux_, err)) == 0 &&
		    (r = sync_send(p->sync_parent, SYNC_MAPPED, NULL, -1)) < 0)
			cell_err(err, -r, "resume the namespace setup process");
	}
	if (r == 0)
		r = sync_expect(p->sync_parent, SYNC_INIT, &m, err);
	int status;
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	int64_t pid;
	r = cell_parse_int64(m.data, 1, INT32_MAX, &pid);
	sync_msg_clear(&m);
	if (r < 0)
		return cell_err(err, EPROTO, "bad init pid from the namespace setup process");
	/* Our child now (CLONE_PARENT): nobody else can reap it, so the pid is
	 * safe to turn into a pidfd. */
	p->pidfd = os_pidfd_open((pid_t)pid, 0);
	if (p->pidfd < 0) {
		kill((pid_t)pid, SIGKILL);
		return cell_err(err, -p->pidfd, "pidfd of the init");
	}
	return (int)pid;
}

int spawn_init(struct create_plan *p, int cgroup_fd, struct cell_err **err)
{
	if (!p->ns.two_stage) {
		pid_t pid = ns_clone_init(&p->ns, cgroup_fd, &p->pidfd, err);
		if (pid == 0)
			container_init(p);
		return pid;
	}
	return two_stage(p, cgroup_fd, err);
}
