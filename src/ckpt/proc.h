/* Reading /proc/PID/... of a task being dumped.  All paths are relative to
 * a /proc fd, so the dumper may have changed its root to the tree's. */
#ifndef CELL_CKPT_PROC_H
#define CELL_CKPT_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct ck_pstatus {
	char state;
	pid_t ns_pid, ns_tgid, ns_pgid, ns_sid; /* innermost namespace: the tree's */
	int ns_depth;				/* entries in NSpid */
	pid_t ppid;				/* in the reader's namespace */
	pid_t tracer;
	uint32_t uid[4], gid[4];
	uint32_t *groups;
	size_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	bool no_new_privs;
	int seccomp;
	uint32_t umask;
	int threads;
	uint64_t sig_blk, sig_pnd, shd_pnd;
};

struct ck_pstat {
	char state;
	uint32_t exit_signal;
	uint32_t tty_nr; /* the controlling terminal, encoded as the kernel's new_encode_dev */
	int32_t tpgid;	 /* its foreground group, in the reader's PID namespace; -1: none */
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
};

struct ck_pvma {
	uint64_t start, end;
	uint32_t prot;
	bool shared;
	uint64_t pgoff;
	uint64_t dev, ino;
	char *name; /* the maps column: a path, "[heap]", or NULL */
	uint32_t vmflags; /* CK_VMA_* bits decoded from VmFlags */
	bool growsdown;
	bool uffd_wp; /* "uw": registered with a userfaultfd for write-protect */
};

/* path is relative to procfd, e.g. "1234" or "1234/task/1236". */
int ck_proc_status(int procfd, const char *path, struct ck_pstatus *ret, struct cell_err **err);
void ck_pstatus_free(struct ck_pstatus *s);
int ck_proc_stat(int procfd, pid_t pid, struct ck_pstat *ret, struct cell_err **err);
/* Thread ids of pid (host numbers), sorted, leader first. */
int ck_proc_threads(int procfd, pid_t pid, pid_t **ret, size_t *ret_n, struct cell_err **err);
/* Children of every thread of pid. */
int ck_proc_children(int procfd, pid_t pid, pid_t **ret, size_t *ret_n, struct cell_err **err);
int ck_proc_vmas(int procfd, pid_t pid, struct ck_pvma **ret, size_t *ret_n,
		 struct cell_err **err);
/* The same from /proc/PID/maps: no VmFlags (vmflags, growsdown, uffd_wp are
 * 0), but no walk of the page tables either, which smaps does for its
 * counters (about 17 ms per GiB mapped here). */
int ck_proc_maps(int procfd, pid_t pid, struct ck_pvma **ret, size_t *ret_n,
		 struct cell_err **err);
void ck_pvmas_free(struct ck_pvma *v, size_t n);
/* readlinkat(procfd, "PID/<what>"), malloc'd. */
int ck_proc_readlink(int procfd, pid_t pid, const char *what, char **ret, struct cell_err **err);
/* Read a small /proc file of pid ("comm", "personality"...), NUL-terminated. */
int ck_proc_read(int procfd, pid_t pid, const char *what, char **ret, size_t *ret_len,
		 struct cell_err **err);

#endif
