/* Name tables: capabilities, namespaces, rlimits, hooks, seccomp.  Explicit
 * arrays so that `grep CAP_BPF src/oci` finds the one place a name lives. */
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/resource.h>

#include "base/cleanup.h"
#include "oci/internal.h"

/* Numbers from include/uapi/linux/capability.h; the kernel never renumbers. */
static const char *const cap_names[] = {
	[0] = "CAP_CHOWN",
	[1] = "CAP_DAC_OVERRIDE",
	[2] = "CAP_DAC_READ_SEARCH",
	[3] = "CAP_FOWNER",
	[4] = "CAP_FSETID",
	[5] = "CAP_KILL",
	[6] = "CAP_SETGID",
	[7] = "CAP_SETUID",
	[8] = "CAP_SETPCAP",
	[9] = "CAP_LINUX_IMMUTABLE",
	[10] = "CAP_NET_BIND_SERVICE",
	[11] = "CAP_NET_BROADCAST",
	[12] = "CAP_NET_ADMIN",
	[13] = "CAP_NET_RAW",
	[14] = "CAP_IPC_LOCK",
	[15] = "CAP_IPC_OWNER",
	[16] = "CAP_SYS_MODULE",
	[17] = "CAP_SYS_RAWIO",
	[18] = "CAP_SYS_CHROOT",
	[19] = "CAP_SYS_PTRACE",
	[20] = "CAP_SYS_PACCT",
	[21] = "CAP_SYS_ADMIN",
	[22] = "CAP_SYS_BOOT",
	[23] = "CAP_SYS_NICE",
	[24] = "CAP_SYS_RESOURCE",
	[25] = "CAP_SYS_TIME",
	[26] = "CAP_SYS_TTY_CONFIG",
	[27] = "CAP_MKNOD",
	[28] = "CAP_LEASE",
	[29] = "CAP_AUDIT_WRITE",
	[30] = "CAP_AUDIT_CONTROL",
	[31] = "CAP_SETFCAP",
	[32] = "CAP_MAC_OVERRIDE",
	[33] = "CAP_MAC_ADMIN",
	[34] = "CAP_SYSLOG",
	[35] = "CAP_WAKE_ALARM",
	[36] = "CAP_BLOCK_SUSPEND",
	[37] = "CAP_AUDIT_READ",
	[38] = "CAP_PERFMON",
	[39] = "CAP_BPF",
	[40] = "CAP_CHECKPOINT_RESTORE",
};

int oci_cap_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcmp(cap_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *oci_cap_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

int oci_cap_last(void)
{
	return (int)ARRAY_SIZE(cap_names) - 1;
}

static const char *const ns_names[OCI_NS_TYPES] = {
	[OCI_NS_PID] = "pid",	    [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
	[OCI_NS_IPC] = "ipc",	    [OCI_NS_UTS] = "uts",	  [OCI_NS_USER] = "user",
	[OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const char *oci_ns_type_name(enum oci_ns_type t)
{
	if ((unsigned)t >= OCI_NS_TYPES)
		return NULL;
	return ns_names[t];
}

int oci_ns_type_from_name(const char *name)
{
	for (int i = 0; i < OCI_NS_TYPES; i++)
		if (strcmp(ns_names[i], name) == 0)
			return i;
	return -1;
}

static const char *const hook_names[OCI_HOOK_KINDS] = {
	[OCI_HOOK_PRESTART] = "prestart",
	[OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
	[OCI_HOOK_CREATE_CONTAINER] = "createContainer",
	[OCI_HOOK_START_CONTAINER] = "startContainer",
	[OCI_HOOK_POSTSTART] = "poststart",
	[OCI_HOOK_POSTSTOP] = "poststop",
};

const char *oci_hook_kind_name(enum oci_hook_kind k)
{
	if ((unsigned)k >= OCI_HOOK_KINDS)
		return NULL;
	return hook_names[k];
}

static const struct {
	const char *name;
	int resource;
} rlimits[] = {
	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },
	{ "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },
	{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_STACK", RLIMIT_STACK },
};

int oci_rlimit_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
		if (strcmp(rlimits[i].name, name) == 0)
			return rlimits[i].resource;
	return -1;
}

const char *oci_rlimit_name(int resource)
{
	for (size_t i = 0; i < ARRAY_SIZE(rlimits); i++)
		if (rlimits[i].resource == resource)
			return rlimits[i].name;
	return NULL;
}

/* ---- seccomp -------------------------------------------------------------- */

#define SECCOMP_ACTIONS(X)                                   \
	X("SCMP_ACT_KILL", OCI_SECCOMP_KILL)                 \
	X("SCMP_ACT_KILL_PROCESS", OCI_SECCOMP_KILL_PROCESS) \
	X("SCMP_ACT_KILL_THREAD", OCI_SECCOMP_KILL_THREAD)   \
	X("SCMP_ACT_TRAP", OCI_SECCOMP_TRAP)                 \
	X("SCMP_ACT_ERRNO", OCI_SECCOMP_ERRNO)               \
	X("SCMP_ACT_TRACE", OCI_SECCOMP_TRACE)               \
	X("SCMP_ACT_ALLOW", OCI_SECCOMP_ALLOW)               \
	X("SCMP_ACT_LOG", OCI_SECCOMP_LOG)                   \
	X("SCMP_ACT_NOTIFY", OCI_SECCOMP_NOTIFY)

#define SECCOMP_OPERATORS(X)          \
	X("SCMP_CMP_NE", SCMP_CMP_NE) \
	X("SCMP_CMP_LT", SCMP_CMP_LT) \
	X("SCMP_CMP_LE", SCMP_CMP_LE) \
	X("SCMP_CMP_EQ", SCMP_CMP_EQ) \
	X("SCMP_CMP_GE", SCMP_CMP_GE) \
	X("SCMP_CMP_GT", SCMP_CMP_GT) \
	X("SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ)

/* runtime-spec 1.2 lists these; each is a seccomp(2) SECCOMP_FILTER_FLAG_*. */
#define SECCOMP_FLAGS(X)                    \
	X("SECCOMP_FILTER_FLAG_TSYNC")      \
	X("SECCOMP_FILTER_FLAG_LOG")        \
	X("SECCOMP_FILTER_FLAG_SPEC_ALLOW") \
	X("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")

#define NAME_PAIR(n, v) { n, v },
#define NAME_ONLY(n, ...) n,

static const struct {
	const char *name;
	int value;
} seccomp_actions[] = { SECCOMP_ACTIONS(NAME_PAIR) },
  seccomp_ops[] = { SECCOMP_OPERATORS(NAME_PAIR) };

static const char *const seccomp_action_list[] = { SECCOMP_ACTIONS(NAME_ONLY) NULL };
static const char *const seccomp_op_list[] = { SECCOMP_OPERATORS(NAME_ONLY) NULL };
static const char *const seccomp_flag_list[] = { SECCOMP_FLAGS(NAME_ONLY) NULL };

/* Architectures: the spec's list; a name the installed libseccomp has no
 * SCMP_ARCH_* token for is known but unsupported (ok false). */
/* clang-format off */
#define ARCH(n) { "SCMP_ARCH_" #n, true, SCMP_ARCH_##n },
#define ARCH_MISSING(n) { "SCMP_ARCH_" #n, false, 0 },
static const struct {
	const char *name;
	bool ok;
	uint32_t token;
} seccomp_arches[] = {
	ARCH(X86) ARCH(X86_64) ARCH(X32) ARCH(ARM) ARCH(AARCH64) ARCH(MIPS) ARCH(MIPS64)
	ARCH(MIPS64N32) ARCH(MIPSEL) ARCH(MIPSEL64) ARCH(MIPSEL64N32) ARCH(PPC) ARCH(PPC64)
	ARCH(PPC64LE) ARCH(S390) ARCH(S390X) ARCH(PARISC) ARCH(PARISC64) ARCH(RISCV64)
#ifdef SCMP_ARCH_LOONGARCH64
	ARCH(LOONGARCH64)
#else
	ARCH_MISSING(LOONGARCH64)
#endif
#ifdef SCMP_ARCH_M68K
	ARCH(M68K)
#else
	ARCH_MISSING(M68K)
#endif
#ifdef SCMP_ARCH_SH
	ARCH(SH)
#else
	ARCH_MISSING(SH)
#endif
#ifdef SCMP_ARCH_SHEB
	ARCH(SHEB)
#else
	ARCH_MISSING(SHEB)
#endif
};

/* The supported ones, for `cell features`. */
#define ARCH_NAME(n) "SCMP_ARCH_" #n,
static const char *const seccomp_arch_list[] = {
	ARCH_NAME(X86) ARCH_NAME(X86_64) ARCH_NAME(X32) ARCH_NAME(ARM) ARCH_NAME(AARCH64)
	ARCH_NAME(MIPS) ARCH_NAME(MIPS64) ARCH_NAME(MIPS64N32) ARCH_NAME(MIPSEL)
	ARCH_NAME(MIPSEL64) ARCH_NAME(MIPSEL64N32) ARCH_NAME(PPC) ARCH_NAME(PPC64)
	ARCH_NAME(PPC64LE) ARCH_NAME(S390) ARCH_NAME(S390X) ARCH_NAME(PARISC)
	ARCH_NAME(PARISC64) ARCH_NAME(RISCV64)
#ifdef SCMP_ARCH_LOONGARCH64
	ARCH_NAME(LOONGARCH64)
#endif
#ifdef SCMP_ARCH_M68K
	ARCH_NAME(M68K)
#endif
#ifdef SCMP_ARCH_SH
	ARCH_NAME(SH)
#endif
#ifdef SCMP_ARCH_SHEB
	ARCH_NAME(SHEB)
#endif
	NULL
};
/* clang-format on */

int oci_seccomp_action_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_actions); i++)
		if (strcmp(seccomp_actions[i].name, name) == 0)
			return seccomp_actions[i].value;
	return -1;
}

int oci_seccomp_operator_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_ops); i++)
		if (strcmp(seccomp_ops[i].name, name) == 0)
			return seccomp_ops[i].value;
	return -1;
}

int oci_seccomp_arch_from_name(const char *name, uint32_t *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_arches); i++) {
		if (strcmp(seccomp_arches[i].name, name) != 0)
			continue;
		if (!seccomp_arches[i].ok)
			return -ENOTSUP;
		*ret = seccomp_arches[i].token;
		return 0;
	}
	return -ENOENT;
}

bool oci_seccomp_flag_known(const char *name)
{
	for (size_t i = 0; seccomp_flag_list[i]; i++)
		if (strcmp(seccomp_flag_list[i], name) == 0)
			return true;
	return false;
}

const char *const *oci_seccomp_action_names(void)
{
	return seccomp_action_list;
}

const char *const *oci_seccomp_arch_names(void)
{
	return seccomp_arch_list;
}

const char *const *oci_seccomp_operator_names(void)
{
	return seccomp_op_list;
}

const char *const *oci_seccomp_flag_names(void)
{
	return seccomp_flag_list;
}
