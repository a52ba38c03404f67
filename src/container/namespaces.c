#include "container/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/util.h"
#include "os/process.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const int ns_flags[OCI_NS_TYPES] = {
	[OCI_NS_PID] = CLONE_NEWPID,   [OCI_NS_NETWORK] = CLONE_NEWNET,
	[OCI_NS_MOUNT] = CLONE_NEWNS,  [OCI_NS_IPC] = CLONE_NEWIPC,
	[OCI_NS_UTS] = CLONE_NEWUTS,   [OCI_NS_USER] = CLONE_NEWUSER,
	[OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

/* Created by clone3 itself; cgroup and time come later, in the init. */
static const uint64_t clone_created = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC |
				      CLONE_NEWUTS | CLONE_NEWUSER;

int ns_plan_init(const struct oci_linux *l, struct ns_plan *ret, struct cell_err **err)
{
	struct ns_plan p = { 0 };
	for (int t = 0; t < OCI_NS_TYPES; t++)
		p.join_fd[t] = -1;
	for (size_t i = 0; i < l->n_namespaces; i++) {
		const struct oci_namespace *ns = &l->namespaces[i];
		if (!ns->path) {
			p.is_new[ns->type] = true;
			if (clone_created & (uint64_t)ns_flags[ns->type])
				p.clone_flags |= (uint64_t)ns_flags[ns->type];
			continue;
		}
		int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int r = cell_err_sys(err, "linux.namespaces[%zu].path: %s", i, ns->path);
			ns_plan_close(&p);
			return r;
		}
		p.join_fd[ns->type] = fd;
	}
	if (!ns_plan_has(&p, OCI_NS_MOUNT)) {
		ns_plan_close(&p);
		return cell_err(err, 0, "linux.namespaces: a mount namespace is required "
					"(cell never changes the host's root filesystem)");
	}
	/* New namespaces belong to the user namespace of whoever creates them.
	 * With a joined user namespace they must be made inside it; with a new
	 * one, joined namespaces must be entered while we still hold the host's
	 * privileges.  Either takes an intermediate process (spawn.c). */
	bool joins = false;
	for (int t = 0; t < OCI_NS_TYPES; t++)
		joins |= t != OCI_NS_USER && t != OCI_NS_PID && p.join_fd[t] >= 0;
	p.two_stage = (p.join_fd[OCI_NS_USER] >= 0 && (p.clone_flags & ~(uint64_t)CLONE_NEWUSER)) ||
		      (p.is_new[OCI_NS_USER] && joins);
	*ret = p;
	return 0;
}

void ns_plan_close(struct ns_plan *p)
{
	for (int t = 0; t < OCI_NS_TYPES; t++) {
		if (p->join_fd[t] >= 0)
			close(p->join_fd[t]);
		p->join_fd[t] = -1;
	}
}

bool ns_plan_has(const struct ns_plan *p, enum oci_ns_type t)
{
	return p->is_new[t] || p->join_fd[t] >= 0;
}

pid_t ns_clone_init(const struct ns_plan *p, int cgroup_fd, int *ret_pidfd,
		    struct cell_err **err)
{
	_cleanup_close_ int own_pidns = -1;
	if (p->join_fd[OCI_NS_PID] >= 0) {
		own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
		if (own_pidns < 0)
			return cell_err_sys(err, "open /proc/self/ns/pid");
		if (setns(p->join_fd[OCI_NS_PID], CLONE_NEWPID) < 0)
			return cell_err_sys(err, "join the PID namespace");
	}
	uint64_t flags = p->clone_flags | CLONE_PIDFD;
	pid_t pid = cgroup_fd >= 0 ? os_clone3_into(flags, cgroup_fd, ret_pidfd)
				   : os_clone3(flags, ret_pidfd, NULL, 0);
	if (pid == 0)
		return 0;
	/* Back to our own namespace for children: hooks run in the runtime's. */
	if (own_pidns >= 0 && setns(own_pidns, CLONE_NEWPID) < 0 && pid > 0) {
		int r = cell_err_sys(err, "return to cell's PID namespace");
		kill(pid, SIGKILL);
		return r;
	}
	if (pid < 0)
		return cell_err(err, -pid, "clone3 the container's init");
	return pid;
}

static int write_map(pid_t pid, const char *file, const struct oci_id_mapping *m, size_t n,
		     struct cell_err **err)
{
	if (n == 0)
		return 0;
	size_t cap = n * 36 + 1, len = 0;
	_cleanup_free_ char *buf = xmalloc(cap);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%u %u %u\n", m[i].container_id,
					m[i].host_id, m[i].size);
	_cleanup_free_ char *path = xasprintf("/proc/%d/%s", (int)pid, file);
	int r = cell_write_file(path, buf, len, err);
	if (r < 0)
		return cell_err_wrap(err, "linux.%s", strcmp(file, "uid_map") == 0 ? "uidMappings"
										     : "gidMappings");
	return 0;
}

int ns_write_id_maps(pid_t pid, const struct oci_linux *l, struct cell_err **err)
{
	int r = write_map(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err);
	if (r < 0)
		return r;
	return write_map(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err);
}

int ns_join(const struct ns_plan *p, struct cell_err **err)
{
	/* User first: the others are then entered with its credentials. */
	static const enum oci_ns_type order[] = { OCI_NS_USER, OCI_NS_IPC, OCI_NS_UTS,
						  OCI_NS_NETWORK, OCI_NS_CGROUP, OCI_NS_TIME,
						  OCI_NS_MOUNT };
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		enum oci_ns_type t = order[i];
		if (p->join_fd[t] < 0)
			continue;
		if (setns(p->join_fd[t], ns_flags[t]) < 0)
			return cell_err_sys(err, "join the %s namespace", oci_ns_type_name(t));
	}
	return 0;
}

static int enter_time_ns(const struct oci_linux *l, struct cell_err **err)
{
	if (unshare(CLONE_NEWTIME) < 0)
		return cell_err_sys(err, "create the time namespace");
	if (l->has_time_offsets) {
		char buf[128];
		int n = snprintf(buf, sizeof(buf), "monotonic %lld %u\nboottime %lld %u\n",
				 (long long)l->monotonic_secs, l->monotonic_nanosecs,
				 (long long)l->boottime_secs, l->boottime_nanosecs);
		int r = cell_write_file("/proc/self/timens_offsets", buf, (size_t)n, err);
		if (r < 0)
			return cell_err_wrap(err, "linux.timeOffsets");
	}
	/* unshare made the namespace for our children; step into it ourselves. */
	_cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
		return cell_err_sys(err, "enter the time namespace");
	return 0;
}

int ns_become_root(const struct ns_plan *p, struct cell_err **err)
{
	if (!ns_plan_has(p, OCI_NS_USER))
		return 0;
	/* Our host ids are not mapped in the new namespace: files we create
	 * would get no owner (EOVERFLOW).  Root inside is what the rootfs
	 * setup runs as; the process's own user comes at the very end. */
	if (setresgid(0, 0, 0) < 0 && errno != EINVAL)
		return cell_err_sys(err, "setresgid(0) in the user namespace");
	if (setresuid(0, 0, 0) < 0 && errno != EINVAL)
		return cell_err_sys(err, "setresuid(0) in the user namespace");
	return 0;
}

int ns_unshare_time(const struct ns_plan *p, const struct oci_linux *l, struct cell_err **err)
{
	return p->is_new[OCI_NS_TIME] ? enter_time_ns(l, err) : 0;
}

int ns_unshare_cgroup(const struct ns_plan *p, struct cell_err **err)
{
	if (p->is_new[OCI_NS_CGROUP] && unshare(CLONE_NEWCGROUP) < 0)
		return cell_err_sys(err, "create the cgroup namespace");
	return 0;
}

int ns_loopback_up(struct cell_err **err)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return cell_err_sys(err, "socket for loopback");
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return cell_err_sys(err, "read flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return cell_err_sys(err, "bring lo up");
	return 0;
}
