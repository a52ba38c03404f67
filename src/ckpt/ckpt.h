/* Checkpoint/restore of a process tree: the engine's contract.
 *
 * The engine knows nothing of OCI or containers.  It dumps the tree rooted at
 * pid 1 of a PID namespace into an image directory (docs/image-format.md),
 * and brings such an image back in a fresh PID namespace with every PID and
 * TID preserved.  It works from outside the tree with ptrace, /proc,
 * pidfd_getfd and process_vm_readv/writev: no code is loaded into the tasks.
 *
 * What is restored: the process tree, sessions and process groups, threads;
 * registers with FPU/xsave state and fs/gs bases; every mapping (private and
 * shared, anonymous and file-backed, heap, stacks) at its address, with the
 * vDSO and its data pages moved back; brk and the other mm fields; rseq,
 * robust lists, clear_child_tid; signal handlers, masks, pending signals,
 * sigaltstack; itimers and POSIX timers; rlimits, umask, cwd, root,
 * personality, comm; credentials; seccomp filters; controlling terminals;
 * and the file descriptors of the kinds in src/ckpt/files/ (files/files.h
 * lists them: files, pipes and FIFOs, event/signal/timer fds, epoll,
 * inotify, memfds, unix sockets, TCP (listening and, with tcp_established,
 * established) and UDP sockets, ptys).  What cannot be restored is refused
 * at dump time with an error naming the process, fd and kind.
 *
 * Library code: nothing is printed.  A log of what was done goes to
 * WORK_DIR/dump.log or restore.log when a work dir is given. */
#ifndef CELL_CKPT_CKPT_H
#define CELL_CKPT_CKPT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

struct ckpt_stats {
	/* From the first seize until the tree runs again (the last detach)
	 * or, when it is killed, until the SIGKILL: the kernel's teardown of
	 * a dead tree is not counted. */
	uint64_t frozen_ns;
	uint64_t total_ns;
	uint64_t pages_written; /* pages stored in this image */
	uint64_t pages_skipped; /* pages left in the parent image (incremental) */
	uint64_t bytes_written;
	uint32_t tasks, threads, files;
	bool dirty_tracking;  /* a pre-dump armed (or used) uffd-wp tracking */
	/* An incremental dump's precopy round (ckpt_dump_opts.parent_dir),
	 * before the tree was stopped: pages it copied, and how long it took
	 * (counted in total_ns, not in frozen_ns). */
	uint64_t precopy_pages;
	uint64_t precopy_ns;
	/* Restore: pages (of pages_written) put into mappings without
	 * PROT_WRITE by making them writable meanwhile, as forced writes to
	 * /proc/PID/mem were refused (see CELL_CKPT_NO_FORCE below).  Dump:
	 * pages (of pages_written) read from mappings without PROT_READ by
	 * making them readable meanwhile, as forced reads were refused. */
	uint64_t pages_unprotected;
};

struct ckpt_dump_opts {
	/* pid 1 of the tree's PID namespace, as the caller sees it.  The
	 * caller must be in an ancestor PID namespace (the host's) with
	 * CAP_SYS_ADMIN and CAP_SYS_PTRACE, and no task of the tree may be
	 * traced by anyone else. */
	pid_t root_pid;
	/* An existing, empty directory for the image. */
	const char *image_dir;
	/* Where dump.log goes; NULL: no log. */
	const char *work_dir;
	/* A previous image of the same tree (pre-dump or dump), absolute or
	 * relative to image_dir: pages unchanged since then are stored as
	 * "in parent".  Needs the dirty tracking that pre-dump arms; without
	 * it every page is copied again.  With it, the pages written since
	 * the parent are first copied while the tree runs on, into
	 * image_dir/precopy (a pre-dump image, the parent's child), which
	 * becomes this image's parent: stopped, the tree only gives what it
	 * wrote during that round (Linux 6.10; before, no such round). */
	const char *parent_dir;
	/* Let the tree run on after the dump (default: it is killed once the
	 * image is complete). */
	bool leave_running;
	/* Copy memory only, while the tree runs on, and arm dirty tracking so
	 * that the next dump (parent_dir pointing here) copies only what
	 * changed.  Implies leave_running. */
	bool pre_dump;
	/* Dump established TCP connections (TCP_REPAIR); without it they are
	 * refused.  The engine locks the network meanwhile: see below. */
	bool tcp_established;
};

/* The network lock.  A dump of a tree with TCP sockets (established or
 * listening) first installs an nftables table in the tree's network
 * namespace that drops the packets of exactly those connections and new
 * SYNs to those ports; nothing else of the namespace is affected.  If the
 * tree runs on (leave_running, or a failure), the lock is removed before
 * ckpt_dump() returns.  If it was killed, the lock stays: the peers'
 * retransmissions must meet silence, not resets, until the connections are
 * restored; ckpt_restore() retakes it in pid 1's network namespace before
 * creating any socket and removes it just before the tree runs.  The
 * image names it (ckpt_inspect: "netlock").
 *
 * ckpt_net_lock() takes the lock of an image in a network namespace (an
 * fd of /proc/PID/ns/net or of a bound namespace file; -1: the caller's):
 * for a restore into a fresh namespace, before it gets its addresses.
 * ckpt_net_unlock() removes it, for an image that will not be restored.
 * Both do nothing for an image without a lock. */
int ckpt_net_lock(const char *image_dir, int netns_fd, struct cell_err **err);
int ckpt_net_unlock(const char *image_dir, int netns_fd, struct cell_err **err);

/* Pages of private mappings without PROT_READ (data made PROT_NONE, -w-,
 * --x) are read through /proc/PID/mem, which reads past the protection
 * (FOLL_FORCE).  A kernel that refuses that (CONFIG_PROC_MEM_NO_FORCE)
 * gets the other way: with the tree stopped, each such mapping with pages
 * to dump is given PROT_READ meanwhile (injected mprotect, the whole
 * mapping: nothing is split or charged), read with process_vm_readv, and
 * protected again before the tree runs or is killed, whatever happens;
 * the image and a tree left running see the protection it had.  While the
 * tree runs (pre_dump's copy, the precopy round of parent_dir) such pages
 * are not read: the stopped dump takes them.  The environment variable
 * CELL_CKPT_NO_FORCE=1 in the caller makes forced reads fail as that
 * kernel does (fault injection for tests and benchmarks), as it makes
 * ckpt_restore()'s forced writes fail.
 *
 * Dump the tree.  On failure nothing of the image is valid and the tree is
 * left running as it was (detached), unless it died under us.  -EAGAIN:
 * the tree was caught in a state that usually passes at once and is not
 * supported (a process exiting as it was stopped, a zombie its parent has
 * not reaped yet, a file lock held): a caller may empty the directory and
 * try again. */
int ckpt_dump(const struct ckpt_dump_opts *o, struct ckpt_stats *ret_stats,
	      struct cell_err **err);

/* Restore happens in two processes that cooperate:
 *
 *   - the new init: pid 1 of a fresh PID namespace, already placed where the
 *     tree lives (mount namespace and root, cgroups, network namespace, user
 *     namespace, and its session if the image's init led one).  It must be
 *     single-threaded and not traced.  It calls ckpt_restore_child(), which
 *     waits to be taken over; its memory, fds, credentials and registers are
 *     then replaced by the image's init, and the rest of the tree is forked
 *     from it with clone3(set_tid) so every PID comes back.  The fds it had
 *     are closed: pass nothing the restored tree should not see.
 *
 *   - the restorer: any process outside that PID namespace with
 *     CAP_SYS_ADMIN and CAP_SYS_PTRACE over it (usually the one that created
 *     pid 1).  It calls ckpt_restore() with pid 1's pid as it sees it; a
 *     tracer must live outside the tree, which is why restore is not done
 *     by pid 1 alone.
 *
 * ckpt_restore() returns once every task runs again.  On failure it kills
 * pid 1 (and with it the namespace), so no half-restored process is left;
 * the caller reaps pid 1 as usual.  The image is loaded and validated in
 * full before pid 1 is touched: a bad image fails without killing anything,
 * and ckpt_restore_child() then returns the error as well (fd EOF). */
/* A file pid 1 brings along instead of the image's: the image's file that
 * pid 1 had at image_fd (and every fd, in any process, sharing it) becomes
 * the file pid 1 holds at fd when ckpt_restore() starts.  For what the tree
 * shares with the outside, such as a container's stdio pipes, whose other
 * ends (conmon's, a shim's) no image can bring back.  Such an fd is not
 * closed with the others; left unused, it is closed at the end. */
struct ckpt_inherit_fd {
	int image_fd;
	int fd;
};

/* A file from outside the tree that the image names (ckpt_inspect lists
 * them as "external"), handed in by the caller as the file pid 1 holds at
 * fd when ckpt_restore() starts, like ckpt_inherit_fd.
 *
 * A terminal whose other end is not in the tree (a pty slave whose master
 * the runtime's caller holds: a container's console) is named "tty:N", N
 * its pty number at checkpoint; the key "tty" stands for any of them.  The
 * caller makes a new pty, keeps (or passes on) its master, and hands in the
 * slave; the restore gives it the image's termios and window size, and it
 * becomes the controlling terminal of the sessions that had the old one.
 * An image with an external file refuses to restore without it. */
struct ckpt_external_fd {
	const char *key;
	int fd;
};

struct ckpt_restore_opts {
	const char *image_dir;
	const char *work_dir; /* restore.log; NULL: no log */
	pid_t init_pid;	      /* pid 1 of the new namespace, as the caller sees it */
	int sync_fd;	      /* the caller's end of the socketpair pid 1 waits on, or -1 */
	bool tcp_established; /* allow restoring established TCP connections */
	const struct ckpt_inherit_fd *inherit; /* n_inherit of them; may be NULL */
	size_t n_inherit;
	const struct ckpt_external_fd *external; /* n_external of them; may be NULL */
	size_t n_external;
};

/* Pages of private mappings without PROT_WRITE (relro, patched text, data
 * made read-only or PROT_NONE) are written through /proc/PID/mem, which
 * writes past the protection (FOLL_FORCE) and leaves the mapping as it
 * was.  A kernel that refuses that (CONFIG_PROC_MEM_NO_FORCE) gets the
 * other way: each such mapping is made writable while its pages go in
 * (injected mprotect), then protected again; it ends up charged as commit,
 * as it was in the process dumped.  The environment variable
 * CELL_CKPT_NO_FORCE=1 in the restorer makes the forced writes fail as
 * that kernel does (fault injection for tests and benchmarks). */
int ckpt_restore(const struct ckpt_restore_opts *o, struct ckpt_stats *ret_stats,
		 struct cell_err **err);

/* In pid 1: wait on fd (the other end of the restorer's sync_fd) to be
 * taken over.  It first says so on fd, and ckpt_restore() waits for that
 * before it touches pid 1: whatever pid 1 did before (entering namespaces,
 * opening a terminal to hand in) is done.  Returns only if the restore
 * failed before pid 1 was replaced: -ECANCELED with the restorer's message
 * when it sent one. */
int ckpt_restore_child(int fd, struct cell_err **err);

/* Describe an image: a text summary (json=false) or a JSON object with the
 * tree, threads, memory, files and sizes.  *ret is malloc'd. */
int ckpt_inspect(const char *image_dir, bool json, char **ret, struct cell_err **err);

#endif
