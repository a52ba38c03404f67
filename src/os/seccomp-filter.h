/* linux.seccomp: compiled by libseccomp in the runtime, installed as raw BPF
 * by the container's process right before execve.
 *
 * Split in two so that (1) bad input fails early, with nothing created yet,
 * and (2) the child does no libseccomp work (no allocation, no library state
 * copied across clone) -- it makes one seccomp(2) call.
 *
 * ORDER (see os/security.h for the whole sequence and why):
 *
 *   parent, before any clone/unshare:
 *       seccomp_compile()            errors name the JSON path
 *   child, when process.noNewPrivileges is false, BEFORE the capabilities
 *   are dropped (without no_new_privs installing a filter needs
 *   CAP_SYS_ADMIN, which the drop may remove):
 *       seccomp_install()
 *   child, when process.noNewPrivileges is true, as LATE as possible: after
 *   procattr_set_no_new_privs(), caps_apply() and everything else, so the
 *   filter only ever sees what the container itself does:
 *       seccomp_install()
 *   then hand the listener fd (SCMP_ACT_NOTIFY) to the runtime, which
 *   passes it to linux.seccomp.listenerPath, and execve.
 *
 * Whatever runs between seccomp_install() and execve is filtered too.  Until
 * the listener fd has been handed over, nobody answers a notification, so
 * there the runtime may use only the syscalls in seccomp_runtime_syscalls()
 * (the rest of the order after an early install, passing the fd, reporting
 * an error), and seccomp_compile() refuses SCMP_ACT_NOTIFY on those. */
#ifndef CELL_OS_SECCOMP_FILTER_H
#define CELL_OS_SECCOMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "oci/spec.h"

/* A compiled filter: BPF instructions and the seccomp(2) flags to install it
 * with.  Plain memory, so it survives fork/clone as-is. */
struct seccomp_prog;

/* Compile s for the native architecture plus s->architectures.
 *
 * libseccomp runs in a short-lived child process (fork) with a deadline of
 * SECCOMP_COMPILE_TIMEOUT_MS: libseccomp 2.5.4 loops forever on some sets of
 * 64-bit argument comparisons, and may leak or crash on odd input; none of
 * that reaches the runtime, which gets an error naming the entry instead
 * ("linux.seccomp.syscalls[1]: libseccomp did not finish within 10000 ms").
 * The program comes back through a memfd, the result through a shared page.
 * Call it before the runtime starts threads (fork from one thread).
 *
 * Syscall names: a name libseccomp knows but that does not exist on one of
 * the filter's architectures (socketcall on x86_64) is left out for that
 * architecture, as runc does; a name of a syscall newer than this libseccomp
 * (a table in seccomp-build.c of Linux syscalls up to 6.18) is skipped with a debug
 * record; any other name is an error:
 *
 *   linux.seccomp.syscalls[3].names[1]: unknown syscall "foo"
 *
 * Rules: the args of one entry are ANDed (one rule); several entries for one
 * name are ORed.  When an entry compares the same argument twice libseccomp
 * cannot AND them, and each arg becomes its own rule (ORed) -- runc's
 * semantics, which existing profiles are written for.  An entry whose action
 * equals the default action is dropped (libseccomp refuses it; it is a
 * no-op).  errnoRet applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE, default
 * EPERM; defaultErrnoRet likewise to the default action.
 *
 * Actions and flags the running kernel lacks are errors here, not at install
 * time.  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is only meaningful with a
 * SCMP_ACT_NOTIFY rule and is dropped (debug record) without one. */
int seccomp_compile(const struct oci_seccomp *s, struct seccomp_prog **ret,
		    struct cell_err **err);
#define SECCOMP_COMPILE_TIMEOUT_MS 10000
/* The same with another deadline (tests). */
int seccomp_compile_deadline(const struct oci_seccomp *s, int timeout_ms,
			     struct seccomp_prog **ret, struct cell_err **err);
/* The same without the child and the deadline, for the fuzzer (libFuzzer
 * sees coverage only in its own process). */
int seccomp_compile_in_process(const struct oci_seccomp *s, struct seccomp_prog **ret,
			       struct cell_err **err);
void seccomp_prog_free(struct seccomp_prog *p);
void seccomp_prog_freep(struct seccomp_prog **p);

/* Whether the filter has SCMP_ACT_NOTIFY rules: then seccomp_install()
 * returns a listener fd and linux.seccomp.listenerPath must be set. */
bool seccomp_prog_uses_notify(const struct seccomp_prog *p);
/* Instruction count and the instructions (struct sock_filter), for tests. */
size_t seccomp_prog_len(const struct seccomp_prog *p);
const void *seccomp_prog_insns(const struct seccomp_prog *p);

/* Install p on the calling thread (the process is single-threaded here).
 * Needs no_new_privs or CAP_SYS_ADMIN in the current user namespace.  On
 * success *ret_listener is the notify listener fd (O_CLOEXEC, owned by the
 * caller) when p uses notify, else -1.  Allocates nothing unless it fails. */
int seccomp_install(const struct seccomp_prog *p, int *ret_listener, struct cell_err **err);

/* The syscalls the runtime may make between seccomp_install() and the
 * hand-over of the listener fd (see above), NULL-terminated. */
const char *const *seccomp_runtime_syscalls(void);

/* For `cell features`.  The names the config may use come from
 * oci_seccomp_{action,operator,arch,flag}_names(); this adds what the
 * running kernel and the linked libseccomp support. */
struct seccomp_features {
	bool enabled;          /* the kernel has seccomp filters (CONFIG_SECCOMP_FILTER) */
	uint32_t actions;      /* bit (1u << enum oci_seccomp_action_kind) per available action */
	const char *flags[8];  /* SECCOMP_FILTER_FLAG_* names the kernel accepts, NULL-terminated */
	unsigned int lib_major, lib_minor, lib_micro; /* libseccomp version */
	unsigned int api_level;                       /* seccomp_api_get() */
};
void seccomp_features(struct seccomp_features *ret);

#endif
