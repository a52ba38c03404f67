/* src/oci: real-shaped configs parse and every field lands where the
 * runtime will look for it. */
#include <ctype.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <unistd.h>

#include "oci-test.h"
#include "t.h"

static char msg[4096];

#define LOAD(var, file)                                            \
	struct oci_spec *var = oci_t_load(file, msg, sizeof(msg)); \
	if (!var)                                                  \
	T_FAIL("%s: %s", file, msg)

#define CAP(n) (1ULL << (n))

static void podman_process(void)
{
	LOAD(s, "podman.json");
	struct oci_process *p = s->process;
	T_ASSERT_STR(s->oci_version, "1.1.0");
	T_ASSERT(p && p->terminal && !p->has_console_size);
	T_ASSERT_INT(p->user.uid, 1000);
	T_ASSERT_INT(p->user.gid, 1000);
	T_ASSERT(p->user.has_umask);
	T_ASSERT_INT(p->user.umask, 022);
	T_ASSERT_INT(p->user.n_additional_gids, 2);
	T_ASSERT_INT(p->user.additional_gids[1], 10);
	T_ASSERT(p->user.username == NULL);
	T_ASSERT_INT(cell_strv_len(p->args), 3);
	T_ASSERT_STR(p->args[2], "echo hello");
	T_ASSERT_INT(cell_strv_len(p->env), 6);
	T_ASSERT_STR(p->env[5], "EMPTY=");
	T_ASSERT_STR(p->cwd, "/home/app");
	T_ASSERT(p->has_capabilities);
	uint64_t want = CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FOWNER) | CAP(CAP_FSETID) |
			CAP(CAP_KILL) | CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SETFCAP) |
			CAP(CAP_SETGID) | CAP(CAP_SETPCAP) | CAP(CAP_SETUID) | CAP(CAP_SYS_CHROOT);
	T_ASSERT(p->caps.bounding == want && p->caps.effective == want &&
		 p->caps.permitted == want);
	T_ASSERT(p->caps.inheritable == 0 && p->caps.ambient == 0);
	T_ASSERT_INT(p->n_rlimits, 2);
	T_ASSERT_INT(p->rlimits[0].resource, RLIMIT_NOFILE);
	T_ASSERT(p->rlimits[0].soft == 1048576 && p->rlimits[0].hard == 1048576);
	T_ASSERT_INT(p->rlimits[1].resource, RLIMIT_NPROC);
	T_ASSERT(!p->no_new_privileges);
	T_ASSERT_STR(p->apparmor_profile, "containers-default-0.50.1");
	T_ASSERT_STR(p->selinux_label, "system_u:system_r:container_t:s0:c123,c456");
	T_ASSERT(p->has_oom_score_adj && p->oom_score_adj == 0);
	T_ASSERT(!p->scheduler && !p->io_priority && !p->exec_cpu_affinity_initial);
	oci_spec_free(s);
}

static void podman_mounts(void)
{
	LOAD(s, "podman.json");
	T_ASSERT_STR(s->root->path, "/var/lib/containers/storage/overlay/3f1e0c5d/merged");
	T_ASSERT(!s->root->readonly);
	T_ASSERT_STR(s->hostname, "4c1a2b3d5e6f");
	T_ASSERT_INT(s->n_mounts, 11);
	struct oci_mount *m = s->mounts;
	T_ASSERT_STR(m[0].destination, "/proc");
	T_ASSERT_STR(m[0].type, "proc");
	T_ASSERT_INT(m[0].flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
	T_ASSERT(m[0].data == NULL && !m[0].bind);
	T_ASSERT_INT(m[1].flags, MS_NOSUID | MS_STRICTATIME);
	T_ASSERT_STR(m[1].data, "mode=755,size=65536k");
	T_ASSERT_STR(m[3].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
	T_ASSERT(m[5].bind);
	T_ASSERT_INT(m[5].flags, MS_BIND);
	T_ASSERT_INT(m[5].propagation, MS_PRIVATE | MS_REC);
	T_ASSERT_INT(m[6].flags, MS_BIND | MS_RDONLY);
	T_ASSERT_STR(m[9].source, "/srv/data");
	T_ASSERT_INT(m[9].flags, MS_BIND | MS_REC);
	T_ASSERT_INT(m[9].propagation, MS_SLAVE | MS_REC);
	T_ASSERT(m[9].recursive_attrs);
	T_ASSERT_INT(m[9].attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME);
	T_ASSERT_INT(m[9].attr_clr, MOUNT_ATTR__ATIME);
	T_ASSERT_STR(m[9].data, "context=\"system_u:object_r:container_file_t:s0:c123,c456\"");
	T_ASSERT(m[10].tmpcopyup);
	T_ASSERT_INT(m[10].clear_flags, MS_RDONLY);
	T_ASSERT_INT(m[10].flags, MS_NOSUID | MS_NODEV);
	T_ASSERT_STR(m[10].data, "size=64m,mode=1777");
	T_ASSERT_INT(cell_strv_len(m[10].options), 7);
	oci_spec_free(s);
}

static void podman_hooks_annotations(void)
{
	LOAD(s, "podman.json");
	const struct oci_hook_list *cr = &s->hooks[OCI_HOOK_CREATE_RUNTIME];
	T_ASSERT_INT(cr->n, 1);
	T_ASSERT_STR(cr->hooks[0].path, "/usr/libexec/podman/hook");
	T_ASSERT_INT(cell_strv_len(cr->hooks[0].args), 3);
	T_ASSERT_STR(cr->hooks[0].env[0], "PATH=/usr/bin");
	T_ASSERT_INT(cr->hooks[0].timeout, 10);
	T_ASSERT_INT(s->hooks[OCI_HOOK_POSTSTOP].n, 1);
	T_ASSERT_INT(s->hooks[OCI_HOOK_POSTSTOP].hooks[0].timeout, 0);
	T_ASSERT_INT(cell_strv_len(s->hooks[OCI_HOOK_POSTSTOP].hooks[0].args), 6);
	T_ASSERT_INT(s->hooks[OCI_HOOK_PRESTART].n, 0);
	T_ASSERT_INT(s->n_annotations, 4);
	T_ASSERT_STR(s->annotations[0].key, "io.container.manager");
	T_ASSERT_STR(s->annotations[0].value, "libpod");
	T_ASSERT_STR(s->annotations[3].value, "'none'");
	oci_spec_free(s);
}

static void podman_linux(void)
{
	LOAD(s, "podman.json");
	const struct oci_linux *l = &s->linux_;
	T_ASSERT_INT(l->n_sysctl, 1);
	T_ASSERT_STR(l->sysctl[0].key, "net.ipv4.ping_group_range");
	T_ASSERT_STR(l->sysctl[0].value, "0 0");
	T_ASSERT_STR(l->cgroups_path, "machine.slice:libpod:4c1a2b3d5e6f");
	T_ASSERT_INT(l->n_namespaces, 6);
	T_ASSERT_INT(l->namespaces[1].type, OCI_NS_NETWORK);
	T_ASSERT_STR(l->namespaces[1].path, "/run/netns/netns-7d3c1a2b");
	T_ASSERT(l->namespaces[5].type == OCI_NS_CGROUP && !l->namespaces[5].path);
	T_ASSERT_INT(cell_strv_len(l->masked_paths), 11);
	T_ASSERT_STR(l->readonly_paths[5], "/proc/sysrq-trigger");
	T_ASSERT_STR(l->mount_label, "system_u:object_r:container_file_t:s0:c123,c456");
	T_ASSERT(!l->has_rootfs_propagation && !l->has_personality && !l->has_time_offsets);
	const struct oci_resources *r = l->resources;
	T_ASSERT(r);
	T_ASSERT_INT(r->n_devices, 3);
	T_ASSERT(!r->devices[0].allow && r->devices[0].type == 'a');
	T_ASSERT(r->devices[0].major == -1 && r->devices[0].minor == -1);
	T_ASSERT_STR(r->devices[0].access, "rwm");
	T_ASSERT(r->devices[1].allow && r->devices[1].type == 'c');
	T_ASSERT(r->devices[1].major == 10 && r->devices[1].minor == 200);
	T_ASSERT(r->devices[2].major == 136 && r->devices[2].minor == -1);
	T_ASSERT_STR(r->devices[2].access, "rw");
	T_ASSERT(r->memory.has_limit && r->memory.limit == 536870912);
	T_ASSERT(r->memory.has_swap && r->memory.swap == 1073741824);
	T_ASSERT(!r->memory.has_reservation && !r->memory.has_swappiness);
	T_ASSERT(r->cpu.has_shares && r->cpu.shares == 1024);
	T_ASSERT(r->cpu.has_quota && r->cpu.quota == 50000);
	T_ASSERT(r->cpu.has_period && r->cpu.period == 100000);
	T_ASSERT(!r->cpu.has_burst && !r->cpu.has_idle);
	T_ASSERT_STR(r->cpu.cpus, "0-1");
	T_ASSERT(r->cpu.mems == NULL);
	T_ASSERT(r->pids.has_limit && r->pids.limit == 2048);
	T_ASSERT(r->n_hugepage_limits == 0 && r->n_unified == 0 && !r->network.has_class_id);
	oci_spec_free(s);
}

static void podman_seccomp(void)
{
	LOAD(s, "podman.json");
	const struct oci_seccomp *sc = s->linux_.seccomp;
	T_ASSERT(sc);
	T_ASSERT_INT(sc->default_action, OCI_SECCOMP_ERRNO);
	T_ASSERT(sc->has_default_errno_ret && sc->default_errno_ret == 38);
	T_ASSERT_INT(sc->n_architectures, 3);
	T_ASSERT(sc->architectures[0] == SCMP_ARCH_X86_64);
	T_ASSERT(sc->architectures[1] == SCMP_ARCH_X86);
	T_ASSERT(sc->architectures[2] == SCMP_ARCH_X32);
	T_ASSERT(sc->flags == NULL && sc->listener_path == NULL);
	T_ASSERT_INT(sc->n_syscalls, 7);
	T_ASSERT_INT(cell_strv_len(sc->syscalls[0].names), 11);
	T_ASSERT_STR(sc->syscalls[0].names[10], "vm86old");
	T_ASSERT(sc->syscalls[0].has_errno_ret && sc->syscalls[0].errno_ret == 1);
	T_ASSERT_INT(sc->syscalls[1].action, OCI_SECCOMP_ALLOW);
	T_ASSERT(!sc->syscalls[1].has_errno_ret && sc->syscalls[1].n_args == 0);
	T_ASSERT(sc->syscalls[3].args[0].value == 4294967295u);
	const struct oci_seccomp_arg *a = &sc->syscalls[4].args[0];
	T_ASSERT(a->index == 0 && a->value == 2114060288 && a->value_two == 0);
	T_ASSERT_INT(a->op, SCMP_CMP_MASKED_EQ);
	T_ASSERT_INT(sc->syscalls[6].n_args, 2);
	T_ASSERT(sc->syscalls[6].args[1].index == 2 && sc->syscalls[6].args[1].value == 9);
	T_ASSERT_INT(sc->syscalls[6].args[1].op, SCMP_CMP_EQ);
	oci_spec_free(s);
}

static void full_process(void)
{
	LOAD(s, "full.json");
	struct oci_process *p = s->process;
	T_ASSERT(p->has_console_size && p->console_height == 24 && p->console_width == 80);
	T_ASSERT(p->user.has_umask && p->user.umask == 077);
	T_ASSERT_STR(p->user.username, "root");
	T_ASSERT_STR(p->env[1], "A=b=c");
	T_ASSERT(p->caps.bounding == (CAP(CAP_CHOWN) | CAP(CAP_CHECKPOINT_RESTORE)));
	T_ASSERT(p->caps.effective == CAP(CAP_KILL));
	T_ASSERT(p->caps.inheritable == CAP(CAP_BPF));
	T_ASSERT(p->caps.permitted == (CAP(CAP_CHOWN) | CAP(CAP_KILL)));
	T_ASSERT(p->caps.ambient == CAP(CAP_NET_RAW));
	T_ASSERT(p->rlimits[0].resource == RLIMIT_CORE && p->rlimits[0].hard == UINT64_MAX);
	T_ASSERT(p->no_new_privileges && p->has_oom_score_adj && p->oom_score_adj == -500);
	T_ASSERT(p->scheduler);
	T_ASSERT_INT(p->scheduler->policy, SCHED_FIFO);
	T_ASSERT(p->scheduler->nice == -5 && p->scheduler->priority == 10);
	T_ASSERT_INT(p->scheduler->flags, 0x01 | 0x40);
	T_ASSERT(p->scheduler->runtime == 1000 && p->scheduler->deadline == 2000);
	T_ASSERT(p->scheduler->period == 3000);
	T_ASSERT(p->io_priority && p->io_priority->klass == IOPRIO_CLASS_BE);
	T_ASSERT_INT(p->io_priority->priority, 4);
	T_ASSERT_STR(p->exec_cpu_affinity_initial, "0-3,7");
	T_ASSERT_STR(p->exec_cpu_affinity_final, "4");
	T_ASSERT_STR(s->domainname, "example.org");
	T_ASSERT_INT(s->n_annotations, 2);
	T_ASSERT_STR(s->annotations[1].value, "");
	for (int k = 0; k < OCI_HOOK_KINDS; k++)
		T_ASSERT(s->hooks[k].n >= 1);
	T_ASSERT_INT(s->hooks[OCI_HOOK_POSTSTART].n, 2);
	T_ASSERT_STR(s->hooks[OCI_HOOK_START_CONTAINER].hooks[0].path, "/usr/bin/sc");
	oci_spec_free(s);
}

static void full_mounts(void)
{
	LOAD(s, "full.json");
	struct oci_mount *m = &s->mounts[0];
	T_ASSERT(m->idmap && m->idmap_recursive && m->bind);
	T_ASSERT_INT(m->n_uid_mappings, 1);
	T_ASSERT(m->uid_mappings[0].host_id == 100000 && m->uid_mappings[0].size == 65536);
	T_ASSERT_INT(m->n_gid_mappings, 1);
	T_ASSERT_INT(m->flags, MS_BIND | MS_REC | MS_NOSYMFOLLOW);
	T_ASSERT_INT(m->propagation, MS_UNBINDABLE | MS_REC);
	T_ASSERT_INT(m->attr_set, MOUNT_ATTR_RELATIME | MOUNT_ATTR_NODIRATIME);
	T_ASSERT_INT(m->attr_clr, MOUNT_ATTR__ATIME);
	T_ASSERT(m->data == NULL);
	m = &s->mounts[1];
	T_ASSERT(m->type == NULL && m->source == NULL && !m->bind && !m->idmap);
	T_ASSERT_INT(m->flags, MS_SYNCHRONOUS | MS_REMOUNT | MS_MANDLOCK | MS_DIRSYNC |
				       MS_LAZYTIME | MS_SILENT | MS_I_VERSION);
	T_ASSERT_INT(m->clear_flags, MS_NOEXEC);
	T_ASSERT_INT(m->propagation, MS_SHARED);
	T_ASSERT(!m->recursive_attrs && m->data == NULL);
	oci_spec_free(s);
}

static void full_linux(void)
{
	LOAD(s, "full.json");
	const struct oci_linux *l = &s->linux_;
	T_ASSERT_INT(l->n_namespaces, 8);
	static const char *const ns_order[] = { "pid", "network", "mount",  "ipc",
						"uts", "user",	  "cgroup", "time" };
	for (int i = 0; i < 8; i++)
		T_ASSERT_STR(oci_ns_type_name(l->namespaces[i].type), ns_order[i]);
	T_ASSERT_INT(l->n_uid_mappings, 2);
	T_ASSERT(l->uid_mappings[1].container_id == 1 && l->uid_mappings[1].host_id == 100000);
	T_ASSERT(l->n_gid_mappings == 1 && l->gid_mappings[0].size == 65537);
	T_ASSERT(l->has_time_offsets && l->monotonic_secs == -86400 && l->monotonic_nanosecs == 5);
	T_ASSERT(l->boottime_secs == 172800 && l->boottime_nanosecs == 0);
	T_ASSERT_INT(l->n_devices, 4);
	T_ASSERT(l->devices[0].type == 'c' && l->devices[0].major == 10 &&
		 l->devices[0].minor == 229);
	T_ASSERT(l->devices[0].has_file_mode && l->devices[0].file_mode == 0666);
	T_ASSERT(l->devices[0].has_uid && l->devices[0].has_gid && l->devices[0].gid == 0);
	T_ASSERT(l->devices[1].type == 'b' && !l->devices[1].has_file_mode &&
		 !l->devices[1].has_uid);
	T_ASSERT(l->devices[2].type == 'p' && l->devices[2].major == -1 &&
		 l->devices[2].minor == -1);
	T_ASSERT(l->devices[3].major == 4095 && l->devices[3].minor == 1048575);
	T_ASSERT_STR(l->cgroups_path, "/cell/full");
	T_ASSERT(l->has_rootfs_propagation && l->rootfs_propagation == (MS_SLAVE | MS_REC));
	T_ASSERT_INT(l->n_sysctl, 4);
	T_ASSERT_STR(l->sysctl[2].key, "net/core/somaxconn");
	T_ASSERT(l->has_personality && l->personality_domain == PER_LINUX32);
	T_ASSERT(l->personality_flags && l->personality_flags[0] == NULL);
	T_ASSERT(l->has_intel_rdt);
	T_ASSERT_STR(l->masked_paths[0], "/proc/kcore");
	oci_spec_free(s);
}

static void full_resources(void)
{
	LOAD(s, "full.json");
	const struct oci_resources *r = s->linux_.resources;
	T_ASSERT(r->n_devices == 3 && r->devices[1].type == 'b' && r->devices[1].minor == -1);
	T_ASSERT_STR(r->devices[2].access, "rwm");
	T_ASSERT(r->memory.has_reservation && r->memory.reservation == 536870912);
	T_ASSERT(r->memory.has_swap && r->memory.swap == -1);
	T_ASSERT(r->memory.has_kernel && r->memory.has_kernel_tcp);
	T_ASSERT(r->memory.has_swappiness && r->memory.swappiness == 60);
	T_ASSERT(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
	T_ASSERT(r->memory.has_use_hierarchy && !r->memory.use_hierarchy);
	T_ASSERT(r->memory.has_check_before_update && r->memory.check_before_update);
	T_ASSERT(r->cpu.quota == -1 && r->cpu.has_burst && r->cpu.burst == 1000);
	T_ASSERT(r->cpu.has_realtime_runtime && r->cpu.realtime_runtime == 950000);
	T_ASSERT(r->cpu.has_realtime_period && r->cpu.realtime_period == 1000000);
	T_ASSERT(r->cpu.has_idle && r->cpu.idle == 1);
	T_ASSERT_STR(r->cpu.mems, "0");
	T_ASSERT(r->pids.has_limit && r->pids.limit == -1);
	T_ASSERT(r->block_io.has_weight && r->block_io.weight == 500);
	T_ASSERT(r->block_io.has_leaf_weight && r->block_io.leaf_weight == 300);
	T_ASSERT_INT(r->block_io.n_weight_devices, 2);
	T_ASSERT(r->block_io.weight_devices[0].has_weight &&
		 !r->block_io.weight_devices[0].has_leaf_weight);
	T_ASSERT(r->block_io.weight_devices[1].minor == 16 &&
		 r->block_io.weight_devices[1].leaf_weight == 200);
	T_ASSERT(r->block_io.n_throttle_read_bps == 1 &&
		 r->block_io.throttle_read_bps[0].rate == 1048576);
	T_ASSERT(r->block_io.n_throttle_write_bps == 1 &&
		 r->block_io.throttle_write_bps[0].rate == 2097152);
	T_ASSERT(r->block_io.n_throttle_read_iops == 1 &&
		 r->block_io.throttle_read_iops[0].rate == 100);
	T_ASSERT(r->block_io.n_throttle_write_iops == 1 &&
		 r->block_io.throttle_write_iops[0].rate == 200);
	T_ASSERT_INT(r->n_hugepage_limits, 2);
	T_ASSERT_STR(r->hugepage_limits[1].page_size, "64KB");
	T_ASSERT(r->hugepage_limits[0].limit == 209715200);
	T_ASSERT(r->network.has_class_id && r->network.class_id == 1048577);
	T_ASSERT_INT(r->network.n_priorities, 2);
	T_ASSERT_STR(r->network.priorities[0].name, "eth0");
	T_ASSERT_INT(r->network.priorities[0].priority, 500);
	T_ASSERT_INT(r->n_unified, 2);
	T_ASSERT_STR(r->unified[1].key, "io.weight");
	T_ASSERT_STR(r->unified[1].value, "default 100");
	oci_spec_free(s);
}

static void full_seccomp(void)
{
	LOAD(s, "full.json");
	const struct oci_seccomp *sc = s->linux_.seccomp;
	T_ASSERT_INT(sc->default_action, OCI_SECCOMP_ALLOW);
	T_ASSERT(!sc->has_default_errno_ret);
	T_ASSERT(sc->n_architectures == 2 && sc->architectures[1] == SCMP_ARCH_AARCH64);
	T_ASSERT_INT(cell_strv_len(sc->flags), 2);
	T_ASSERT_STR(sc->flags[1], "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
	T_ASSERT_STR(sc->listener_path, "/run/seccomp-agent.sock");
	T_ASSERT_STR(sc->listener_metadata, "meta");
	T_ASSERT_INT(sc->syscalls[0].action, OCI_SECCOMP_NOTIFY);
	T_ASSERT_INT(sc->syscalls[1].action, OCI_SECCOMP_TRACE);
	T_ASSERT(sc->syscalls[1].has_errno_ret && sc->syscalls[1].errno_ret == 7);
	T_ASSERT_INT(sc->syscalls[2].action, OCI_SECCOMP_KILL_PROCESS);
	const struct oci_seccomp_arg *a = &sc->syscalls[2].args[0];
	T_ASSERT(a->index == 5 && a->value == UINT64_MAX && a->value_two == 1);
	T_ASSERT_INT(a->op, SCMP_CMP_GE);
	T_ASSERT_INT(sc->syscalls[3].action, OCI_SECCOMP_LOG);
	oci_spec_free(s);
}

static void other_real_configs(void)
{
	LOAD(c, "containerd.json");
	T_ASSERT_STR(c->linux_.cgroups_path, "/kubepods/besteffort/pod1b2c3d4e/9f2b7c1e");
	T_ASSERT_INT(c->process->oom_score_adj, -998);
	T_ASSERT_INT(c->linux_.resources->n_hugepage_limits, 2);
	T_ASSERT_STR(c->linux_.resources->unified[0].key, "memory.oom.group");
	T_ASSERT_INT(c->linux_.seccomp->syscalls[1].n_args, 0);
	T_ASSERT_STR(c->annotations[1].value, "9f2b7c1e");
	oci_spec_free(c);
	LOAD(r, "runc-default.json");
	T_ASSERT_STR(r->oci_version, "1.0.2-dev");
	T_ASSERT(r->root->readonly);
	T_ASSERT_INT(r->n_mounts, 7);
	T_ASSERT(r->process->caps.ambient ==
		 (CAP(CAP_AUDIT_WRITE) | CAP(CAP_KILL) | CAP(CAP_NET_BIND_SERVICE)));
	T_ASSERT_INT(r->linux_.resources->n_devices, 1);
	oci_spec_free(r);
	LOAD(rl, "cell-rootless.json");
	T_ASSERT_INT(rl->linux_.uid_mappings[0].host_id, 1000);
	oci_spec_free(rl);
}

static void default_roundtrip(void)
{
	_cleanup_free_ char *j = oci_spec_default_json(NULL, false);
	struct oci_spec *s = NULL;
	struct cell_err *err = NULL;
	if (oci_spec_parse(j, strlen(j), "default", &s, &err) < 0) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		cell_err_free(err);
		T_FAIL("%s", msg);
	}
	T_ASSERT_STR(s->oci_version, "1.2.0");
	T_ASSERT(s->process->terminal && s->process->no_new_privileges);
	T_ASSERT_STR(s->process->args[0], "sh");
	T_ASSERT(s->process->args[1] == NULL);
	T_ASSERT(s->process->caps.bounding ==
		 (CAP(CAP_AUDIT_WRITE) | CAP(CAP_KILL) | CAP(CAP_NET_BIND_SERVICE)));
	T_ASSERT(s->process->n_rlimits == 1 && s->process->rlimits[0].hard == 1024);
	T_ASSERT(s->root && s->root->readonly);
	T_ASSERT_STR(s->root->path, "rootfs");
	T_ASSERT_INT(s->n_mounts, 7);
	T_ASSERT_STR(s->mounts[6].destination, "/sys/fs/cgroup");
	T_ASSERT(s->linux_.n_namespaces >= 5 && s->linux_.n_uid_mappings == 0);
	bool net = false;
	for (size_t i = 0; i < s->linux_.n_namespaces; i++)
		net |= s->linux_.namespaces[i].type == OCI_NS_NETWORK;
	T_ASSERT(net);
	T_ASSERT(s->linux_.resources && s->linux_.resources->n_devices == 1);
	T_ASSERT_INT(cell_strv_len(s->linux_.masked_paths), 11);
	T_ASSERT_INT(cell_strv_len(s->linux_.readonly_paths), 5);
	/* Tabs and unescaped slashes, as runc writes it. */
	T_ASSERT(strstr(j, "\n\t\"ociVersion\": \"1.2.0\"") != NULL);
	T_ASSERT(strstr(j, "\"/proc\"") != NULL);
	oci_spec_free(s);
}

static void default_rootless_and_args(void)
{
	char *args[] = { "/bin/echo", "hi", NULL };
	_cleanup_free_ char *j = oci_spec_default_json(args, true);
	struct oci_spec *s = NULL;
	struct cell_err *err = NULL;
	if (oci_spec_parse(j, strlen(j), "default", &s, &err) < 0) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		cell_err_free(err);
		T_FAIL("%s", msg);
	}
	T_ASSERT_STR(s->process->args[1], "hi");
	T_ASSERT_INT(s->linux_.n_uid_mappings, 1);
	T_ASSERT_INT(s->linux_.uid_mappings[0].host_id, geteuid());
	T_ASSERT_INT(s->linux_.gid_mappings[0].host_id, getegid());
	T_ASSERT(s->linux_.uid_mappings[0].container_id == 0 &&
		 s->linux_.uid_mappings[0].size == 1);
	bool user = false, net = false;
	for (size_t i = 0; i < s->linux_.n_namespaces; i++) {
		user |= s->linux_.namespaces[i].type == OCI_NS_USER;
		net |= s->linux_.namespaces[i].type == OCI_NS_NETWORK;
	}
	T_ASSERT(user && !net);
	T_ASSERT(s->linux_.resources == NULL);
	T_ASSERT_INT(s->n_mounts, 6);
	for (size_t i = 0; i < s->n_mounts; i++) {
		T_ASSERT(strcmp(s->mounts[i].destination, "/sys/fs/cgroup") != 0);
		T_ASSERT(!s->mounts[i].data || !strstr(s->mounts[i].data, "gid="));
	}
	T_ASSERT_STR(s->mounts[5].destination, "/sys");
	T_ASSERT(s->mounts[5].bind && (s->mounts[5].flags & MS_REC) &&
		 (s->mounts[5].flags & MS_RDONLY));
	T_ASSERT_STR(s->mounts[5].source, "/sys");
	oci_spec_free(s);
}

static void process_json(void)
{
	const char *j = "{\"user\":{\"uid\":5,\"gid\":6},\"args\":[\"ls\",\"-l\"],\"cwd\":\"/tmp\","
			"\"env\":[\"A=1\"],\"terminal\":false,\"capabilities\":{\"bounding\":["
			"\"CAP_KILL\"]}}";
	struct oci_process *p = NULL;
	struct cell_err *err = NULL;
	T_ASSERT_INT(oci_process_parse(j, strlen(j), "p.json", &p, &err), 0);
	T_ASSERT(p->user.uid == 5 && p->user.gid == 6);
	T_ASSERT_STR(p->args[1], "-l");
	T_ASSERT(p->caps.bounding == CAP(CAP_KILL));
	oci_process_free(p);
	p = NULL;
	const char *bad = "{\"user\":{\"uid\":5,\"gid\":6},\"args\":[\"ls\"],\"cwd\":\"tmp\"}";
	T_ASSERT(oci_process_parse(bad, strlen(bad), "p.json", &p, &err) < 0);
	T_ASSERT(p == NULL);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	cell_err_free(err);
	T_ASSERT_STR(msg, "p.json: cwd: \"tmp\" is not an absolute path");
	err = NULL;
	T_ASSERT(oci_process_parse("null", 4, "p.json", &p, &err) < 0);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	cell_err_free(err);
	T_ASSERT_STR(msg, "p.json: expected an object, got null");
}

static void name_tables(void)
{
	T_ASSERT_INT(oci_cap_last(), CAP_LAST_CAP);
	T_ASSERT_INT(oci_cap_from_name("CAP_CHOWN"), CAP_CHOWN);
	T_ASSERT_INT(oci_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
	T_ASSERT_INT(oci_cap_from_name("CAP_PERFMON"), CAP_PERFMON);
	T_ASSERT_INT(oci_cap_from_name("CAP_BPF"), CAP_BPF);
	T_ASSERT_INT(oci_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	T_ASSERT_INT(oci_cap_from_name("CAP_FOO"), -1);
	T_ASSERT_INT(oci_cap_from_name("cap_chown"), -1);
	for (int c = 0; c <= oci_cap_last(); c++)
		T_ASSERT_INT(oci_cap_from_name(oci_cap_name(c)), c);
	T_ASSERT(oci_cap_name(41) == NULL && oci_cap_name(-1) == NULL);
	for (int t = 0; t < OCI_NS_TYPES; t++)
		T_ASSERT_INT(oci_ns_type_from_name(oci_ns_type_name(t)), t);
	T_ASSERT(oci_ns_type_name(OCI_NS_TYPES) == NULL);
	T_ASSERT_INT(oci_ns_type_from_name("net"), -1);
	T_ASSERT_STR(oci_hook_kind_name(OCI_HOOK_CREATE_RUNTIME), "createRuntime");
	T_ASSERT_STR(oci_hook_kind_name(OCI_HOOK_POSTSTOP), "poststop");
	T_ASSERT_INT(oci_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	T_ASSERT_INT(oci_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	T_ASSERT_STR(oci_rlimit_name(RLIMIT_MSGQUEUE), "RLIMIT_MSGQUEUE");
	T_ASSERT_INT(oci_rlimit_from_name("NOFILE"), -1);
	const char *const *acts = oci_seccomp_action_names();
	size_t n = 0;
	while (acts[n])
		n++;
	T_ASSERT_INT(n, 9);
	/* Each supported name parses to the token libseccomp has for it. */
	for (const char *const *a = oci_seccomp_arch_names(); *a; a++) {
		char lower[32];
		snprintf(lower, sizeof(lower), "%s", *a + strlen("SCMP_ARCH_"));
		for (char *c = lower; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		_cleanup_free_ char *j = xasprintf("{'ociVersion':'1.2.0','linux':{'seccomp':{'"
						   "defaultAction':'SCMP_ACT_ALLOW',"
						   "'architectures':['%s']}}}",
						   *a);
		struct oci_spec *s = oci_t_parse(j, msg, sizeof(msg));
		if (!s)
			T_FAIL("%s: %s", *a, msg);
		uint32_t tok = s->linux_.seccomp->architectures[0];
		oci_spec_free(s);
		if (tok != seccomp_arch_resolve_name(lower))
			T_FAIL("%s: token %#x, libseccomp says %#x", *a, tok,
			       seccomp_arch_resolve_name(lower));
	}
	n = 0;
	for (const char *const *o = oci_seccomp_operator_names(); *o; o++)
		n++;
	T_ASSERT_INT(n, 7);
	T_ASSERT_STR(oci_seccomp_flag_names()[0], "SECCOMP_FILTER_FLAG_TSYNC");
}

/* Go's encoding/json reads null as absent; so do we, for members. */
static void nulls_and_extensions(void)
{
	struct oci_spec *s = oci_t_parse(
		"{'ociVersion':'1.2.0','process':null,'root':null,'hooks':null,'mounts':null,"
		"'annotations':null,'linux':{'seccomp':null,'resources':null,'namespaces':null,"
		"'someFutureThing':{'a':[1]}},'hostname':null,'x-vendor':[true]}",
		msg, sizeof(msg));
	if (!s)
		T_FAIL("%s", msg);
	T_ASSERT(!s->process && !s->root && !s->mounts && !s->linux_.seccomp && !s->hostname);
	oci_spec_free(s);
}

static void versions(void)
{
	static const char *const good[] = { "1.0.0", "1.0.2-dev", "1.1.0-rc.1", "1.2.0",
					    "1.2.1", "1.3.0+dev", "1.0.0-rc5" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		_cleanup_free_ char *j = xasprintf("{'ociVersion':'%s'}", good[i]);
		struct oci_spec *s = oci_t_parse(j, msg, sizeof(msg));
		if (!s)
			T_FAIL("%s: %s", good[i], msg);
		T_ASSERT_STR(s->oci_version, good[i]);
		oci_spec_free(s);
	}
}

T_MAIN("oci", T_CASE(podman_process), T_CASE(podman_mounts), T_CASE(podman_hooks_annotations),
       T_CASE(podman_linux), T_CASE(podman_seccomp), T_CASE(full_process), T_CASE(full_mounts),
       T_CASE(full_linux), T_CASE(full_resources), T_CASE(full_seccomp), T_CASE(other_real_configs),
       T_CASE(default_roundtrip), T_CASE(default_rootless_and_args), T_CASE(process_json),
       T_CASE(name_tables), T_CASE(nulls_and_extensions), T_CASE(versions))
