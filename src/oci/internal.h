/* Internal to src/oci: the pieces of the config.json parser, one file each.
 * Every parse_* fills a zeroed struct in place; on failure the caller frees
 * the whole spec, so a half-filled struct must always be freeable. */
#ifndef CELL_OCI_INTERNAL_H
#define CELL_OCI_INTERNAL_H

#include "oci/json.h"
#include "oci/spec.h"

/* parse-process.c */
int oci_parse_process(const struct oj *o, struct oci_process *p);
/* Checks shared by every parser: path is absolute; env entries of array o
 * are KEY=value. */
int oci_check_abs_path(const struct oj *o, const char *path);
int oci_check_env(const struct oj *o, char *const *env);

/* parse-mounts.c */
int oci_parse_mounts(const struct oj *o, struct oci_spec *spec);

/* parse-hooks.c */
int oci_parse_hooks(const struct oj *o, struct oci_spec *spec);

/* parse-linux.c */
int oci_parse_linux(const struct oj *o, struct oci_linux *l);
int oci_parse_id_mappings(const struct oj *o, struct oci_id_mapping **ret, size_t *ret_n);

/* parse-resources.c */
int oci_parse_resources(const struct oj *o, struct oci_resources *r);

/* parse-seccomp.c */
int oci_parse_seccomp(const struct oj *o, struct oci_seccomp *s);

/* names.c: the name tables the parsers resolve against. */
int oci_seccomp_action_from_name(const char *name); /* enum oci_seccomp_action_kind; -1 */
int oci_seccomp_arch_from_name(const char *name, uint32_t *ret); /* 0; -ENOENT; -ENOTSUP */
int oci_seccomp_operator_from_name(const char *name);		 /* enum scmp_compare; -1 */
bool oci_seccomp_flag_known(const char *name);

/* free.c */
void oci_process_clear(struct oci_process *p);
void oci_kv_free(struct oci_kv *kv, size_t n);

#endif
