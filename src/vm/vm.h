/* src/vm: cell's KVM monitor and its light guest.  The contract.
 *
 * Two kinds of guest run on the same monitor:
 *  - the light guest: a static x86-64 Linux program from a root directory,
 *    in guest ring 3 on a minimal "kernel" that is mostly data the monitor
 *    writes; its Linux system calls are served by the monitor against that
 *    root directory only (docs/vm.md);
 *  - a Linux kernel booted by the x86-64 boot protocol (vmlinux or bzImage),
 *    with a 16550 serial console.
 *
 * Nothing here prints or exits.  Errors follow src/base/err.h. */
#ifndef CELL_VM_VM_H
#define CELL_VM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

#define VM_DEFAULT_MEM (256ULL << 20)
/* The light guest's RAM bounds (launch.c checks they are the guest's own). */
#define VM_GUEST_MEM_MIN (16ULL << 20)
#define VM_GUEST_MEM_MAX (32ULL << 30)

/* A light-guest program: the library entry point for `cell vm run` and
 * `cell run --isolation vm`. */
#define VM_RLIMITS 16 /* RLIMIT_* below RLIM_NLIMITS */
#define VM_NOFILE_MAX (1 << 20) /* the light guest's fs.nr_open: RLIMIT_NOFILE's ceiling */

struct vm_guest_config {
	const char *rootfs;    /* the program's whole file system */
	char *const *argv;     /* argv[0]: absolute path in rootfs, or a name looked up in PATH */
	char *const *env;      /* "KEY=value"; NULL: empty */
	const char *cwd;       /* in rootfs; NULL: "/" */
	uint64_t mem_size;     /* guest RAM in bytes; 0: VM_DEFAULT_MEM */
	unsigned vcpus;        /* guest threads in guest code at once; 0: 1 */
	int stdio[3];          /* host fds given to the program as 0, 1, 2; -1: /dev/null.
				* vm_launch(): the monitor inherits them (fork); they may
				* be closed once it returns. */
	bool hugepages;        /* back guest RAM with transparent hugepages */
	uint32_t uid, gid;     /* what getuid()/getgid() report */
	const char *hostname;  /* uname()'s nodename; NULL: "cell" */
	/* process.rlimits: the program's limit of resource r (soft, hard) if
	 * bit r of rlimits_set; the others are the monitor's own. */
	uint32_t rlimits_set;
	uint64_t rlimits[VM_RLIMITS][2];
};

/* How a VM ended, as its caller should present it. */
struct vm_result {
	bool exited;       /* the program (guest init) exited with code */
	int code;
	int signal;        /* or was killed by this signal */
	bool core;         /* the signal's default action dumps core */
	bool vm_failed;    /* the VM itself failed (triple fault, KVM error) */
	char report[512];  /* what happened, when it was not a plain exit */
	unsigned oom_kills; /* guest processes killed for want of guest RAM */
};

/* A Linux kernel booted by the x86 boot protocol (vmlinux or bzImage). */
struct vm_linux_config {
	const char *kernel;    /* path of a vmlinux (ELF) or bzImage */
	const char *initrd;    /* NULL: none */
	const char *cmdline;   /* NULL: a serial console and a quiet default */
	uint64_t mem_size;     /* 0: VM_DEFAULT_MEM */
	unsigned vcpus;        /* 0: 1 */
	int console_fd;        /* where the serial console (COM1) writes */
	bool hugepages;        /* back guest RAM with 2 MiB hugetlbfs pages */
};

/* Boot it in the calling process until it powers off, reboots or fails. */
int vm_linux_run(const struct vm_linux_config *cfg, struct vm_result *ret, struct cell_err **err);

/* Run a light guest in the calling process until its first process exits.
 * ret is filled in on success (0); -errno when the VM could not start. */
int vm_guest_run(const struct vm_guest_config *cfg, struct vm_result *ret,
		 struct cell_err **err);

/* ---- the monitor process ----------------------------------------------------
 *
 * vm_launch() forks a monitor process for one VM.  The monitor
 *   - is in the VM's cgroup (CG_PARENT/ID; its vCPU threads in CG_PARENT/ID/vcpus),
 *   - has its own mount, PID, network, IPC and UTS namespaces, sees only the
 *     guest's root (bind-mounted nodev,nosuid) and /proc, has dropped every
 *     capability it does not need to serve file calls, and runs under a
 *     seccomp filter, all before the first KVM_RUN (unless .sandbox = false),
 *   - serves a control socket (ROOT/vm/ID/control.sock, one JSON request per
 *     connection: {"cmd":"pause"|"resume"|"stats"|"stop"|"signal","signal":N}),
 *   - forwards signals it receives to the guest's program.
 * Its record is ROOT/vm/ID/state.json, replaced atomically; a record whose
 * monitor is gone (even after kill -9) is reported as stopped and cleaned
 * up (cgroup, socket, record) by the next command that looks at it. */

enum vm_kind { VM_KIND_GUEST, VM_KIND_LINUX };

struct vm_launch {
	const char *root;            /* --root; state goes to ROOT/vm */
	const char *id;              /* NULL: generated */
	enum vm_kind kind;
	struct vm_guest_config guest;
	struct vm_linux_config linux_;
	bool detach;                 /* return once it runs; output to ROOT/vm/ID/console.log */
	bool no_sandbox;             /* skip namespaces, capability drop and seccomp */
	const char *cgroup_parent;   /* NULL: "/cell-vm" */
	/* For `cell run --isolation vm` (all optional, additive): */
	bool readonly_root;          /* light guest: its root read-only (root.readonly) */
	/* linux.resources: cpu.shares/quota/period to the vCPU threads' cgroup,
	 * cpu.cpus/mems (cpuset) to the VM's cgroup; the rest is not applied
	 * (memory is the guest's RAM size, chosen by the caller).  NULL: none. */
	const struct oci_resources *resources;
	const char *bundle;          /* recorded for `cell state` (absolute); NULL: none */
};

struct vm_instance;

/* Start the monitor; returns once the VM runs (its first KVM_RUN is done by
 * then, or about to be) or failed to start. */
int vm_launch(const struct vm_launch *l, struct vm_instance **ret, struct cell_err **err);
const char *vm_instance_id(const struct vm_instance *vi);
pid_t vm_instance_pid(const struct vm_instance *vi);
int vm_instance_pidfd(const struct vm_instance *vi);
/* After the monitor exited (the caller waited for the pidfd and reaped it,
 * with wait status wstatus): how the VM ended; its state and cgroup are
 * removed. */
int vm_instance_finish(struct vm_instance *vi, int wstatus, struct vm_result *ret,
		       struct cell_err **err);
/* Forget a detached VM (it keeps running). */
void vm_instance_free(struct vm_instance *vi);

struct vm_info {
	char *id;
	char *status;     /* "running", "paused", "stopped" */
	char *kind;       /* "guest" or "linux" */
	char *what;       /* the program, or the kernel */
	char *created;    /* RFC 3339 */
	pid_t pid;        /* the monitor */
	char *result;     /* for a stopped VM: how it ended, when known */
	char *bundle;     /* the OCI bundle it was run from; "" when none */
	char *rootfs;     /* the light guest's root; "" for a Linux guest */
	/* A light guest's OOM kills (vm_result.oom_kills, memory.oom_kill in
	 * the stats): a stopped VM's from its result, a running one's from
	 * its monitor (vm_info_get only; vm_list does not ask).  Valid when
	 * oom_kills_known. */
	unsigned oom_kills;
	bool oom_kills_known;
};

/* Every VM under root.  Stopped ones are listed once and cleaned up. */
int vm_list(const char *root, struct vm_info **ret, size_t *ret_n, struct cell_err **err);
void vm_info_free(struct vm_info *v, size_t n);
/* One VM, as vm_list() describes it, without cleaning up a stopped one
 * (`cell state`); -ENOENT with 'vm "ID" does not exist'. */
int vm_info_get(const char *root, const char *id, struct vm_info *ret, struct cell_err **err);
/* Ask the VM to stop (SIGTERM to the program, or power off), SIGKILL the
 * monitor after timeout_s, clean up. */
int vm_stop(const char *root, const char *id, int timeout_s, struct cell_err **err);
/* SIGKILL: end the monitor now and clean up; another signal: send it to the
 * guest's program. */
int vm_kill(const char *root, const char *id, int sig, struct cell_err **err);
/* One control request; the monitor's JSON answer in *ret. */
int vm_control(const char *root, const char *id, const char *request, char **ret,
	       struct cell_err **err);

#endif
