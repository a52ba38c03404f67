/* Destructors: every one accepts a half-filled struct, because a parse
 * that fails midway frees whatever it had built. */
#include <stdlib.h>

#include "base/cleanup.h"
#include "oci/internal.h"

void oci_kv_free(struct oci_kv *kv, size_t n)
{
	for (size_t i = 0; kv && i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void oci_process_clear(struct oci_process *p)
{
	free(p->user.additional_gids);
	free(p->user.username);
	cell_strv_free(p->args);
	free(p->command_line);
	cell_strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	free(p->io_priority);
	free(p->scheduler);
	free(p->exec_cpu_affinity_initial);
	free(p->exec_cpu_affinity_final);
}

void oci_process_free(struct oci_process *p)
{
	if (!p)
		return;
	oci_process_clear(p);
	free(p);
}

static void mount_free(struct oci_mount *m)
{
	free(m->destination);
	free(m->type);
	free(m->source);
	cell_strv_free(m->options);
	free(m->data);
	free(m->uid_mappings);
	free(m->gid_mappings);
}

static void hooks_free(struct oci_hook_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->hooks[i].path);
		cell_strv_free(l->hooks[i].args);
		cell_strv_free(l->hooks[i].env);
	}
	free(l->hooks);
}

void oci_resources_free(struct oci_resources *r)
{
	if (!r)
		return;
	free(r->devices);
	free(r->cpu.cpus);
	free(r->cpu.mems);
	free(r->block_io.weight_devices);
	free(r->block_io.throttle_read_bps);
	free(r->block_io.throttle_write_bps);
	free(r->block_io.throttle_read_iops);
	free(r->block_io.throttle_write_iops);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		free(r->hugepage_limits[i].page_size);
	free(r->hugepage_limits);
	for (size_t i = 0; i < r->network.n_priorities; i++)
		free(r->network.priorities[i].name);
	free(r->network.priorities);
	free(r->rdma_unused);
	oci_kv_free(r->unified, r->n_unified);
	free(r);
}

static void seccomp_free(struct oci_seccomp *s)
{
	if (!s)
		return;
	free(s->architectures);
	cell_strv_free(s->flags);
	free(s->listener_path);
	free(s->listener_metadata);
	for (size_t i = 0; i < s->n_syscalls; i++) {
		cell_strv_free(s->syscalls[i].names);
		free(s->syscalls[i].args);
	}
	free(s->syscalls);
	free(s);
}

static void linux_clear(struct oci_linux *l)
{
	for (size_t i = 0; i < l->n_namespaces; i++)
		free(l->namespaces[i].path);
	free(l->namespaces);
	free(l->uid_mappings);
	free(l->gid_mappings);
	for (size_t i = 0; i < l->n_devices; i++)
		free(l->devices[i].path);
	free(l->devices);
	free(l->cgroups_path);
	oci_resources_free(l->resources);
	cell_strv_free(l->masked_paths);
	cell_strv_free(l->readonly_paths);
	free(l->mount_label);
	oci_kv_free(l->sysctl, l->n_sysctl);
	seccomp_free(l->seccomp);
	cell_strv_free(l->personality_flags);
}

void oci_spec_free(struct oci_spec *spec)
{
	if (!spec)
		return;
	free(spec->oci_version);
	oci_process_free(spec->process);
	if (spec->root)
		free(spec->root->path);
	free(spec->root);
	free(spec->hostname);
	free(spec->domainname);
	for (size_t i = 0; i < spec->n_mounts; i++)
		mount_free(&spec->mounts[i]);
	free(spec->mounts);
	for (int k = 0; k < OCI_HOOK_KINDS; k++)
		hooks_free(&spec->hooks[k]);
	oci_kv_free(spec->annotations, spec->n_annotations);
	linux_clear(&spec->linux_);
	free(spec);
}

void oci_spec_freep(struct oci_spec **spec)
{
	oci_spec_free(*spec);
	*spec = NULL;
}
