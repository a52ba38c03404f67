/* Shared inside src/ckpt only: the dump and restore contexts and the
 * phases that operate on them. */
#ifndef CELL_CKPT_INTERNAL_H
#define CELL_CKPT_INTERNAL_H

#include <stdio.h>
#include <sys/stat.h>
#include <sys/user.h>

#include "ckpt/ckpt.h"
#include "ckpt/image.h"
#include "ckpt/proc.h"
#include "ckpt/ptrace.h"
#include "img/img.h"

/* ---- logging ---------------------------------------------------------- */

struct ck_log {
	FILE *f;
	uint64_t t0;
};

int ck_log_open(struct ck_log *l, const char *work_dir, const char *name, struct cell_err **err);
void ck_log_close(struct ck_log *l);
void ck_logf(struct ck_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- forced /proc/PID/mem access (force.c) ----------------------------- */

/* CELL_CKPT_NO_FORCE set (and not "0"): forced access is refused as a
 * CONFIG_PROC_MEM_NO_FORCE kernel refuses it (ckpt.h).  Read once by
 * ckpt_dump() and once by ckpt_restore(). */
bool ck_no_force_knob(void);
/* "r-x" for prot; buf is returned. */
const char *ck_prot_str(uint32_t prot, char buf[4]);
/* "a forced ACCESS of /proc/PID/mem was refused (strerror(e)[, knob])". */
const char *ck_unforced_why(const char *access, int e, bool knob, char *buf, size_t n);

/* ---- dump ------------------------------------------------------------- */

struct ck_dthread {
	struct ck_thr thr;
	uint32_t vtid;
	/* As seized, syscall restart state included: put back on detach, and
	 * dumped (with the rseq fix-up) as they are, since a restore sets them
	 * in the same kind of stop (ck_thr_park). */
	struct user_regs_struct regs;
	struct user_regs_struct fixed;
};

struct ck_dtask {
	pid_t pid; /* host */
	uint32_t vpid;
	struct ck_dthread *threads;
	size_t nthreads;
	size_t parent; /* index in ck_dump.tasks; (size_t)-1 for the root */
	uint64_t scratch; /* injected scratch page, 0 when none */
	int pidfd;
	bool stopped; /* in group-stop when seized */
	/* Dirty tracking (predump.c): the userfaultfd a pre-dump left in the
	 * task, as its number there and our copy; -1 when untracked. */
	int tracker_fd, uffd;
	/* Pre-dump: ranges to copy once the tree runs again. */
	struct ck_run *plan;
	size_t nplan;
	/* dump-unprot.c: mappings given PROT_READ meanwhile, whose protection
	 * is due back, and the scratch page of the batches that do it (0 when
	 * none is mapped). */
	struct ck_unprot *unprot;
	size_t nunprot;
	uint64_t unprot_scratch;
};

/* A mapping without PROT_READ made readable for its pages: its range and
 * the protection it had (and gets back). */
struct ck_unprot {
	uint64_t start, end;
	uint32_t prot;
};

struct ck_run {
	uint64_t addr, npages;
	bool forced; /* no PROT_READ: through /proc/PID/mem */
};

/* A file description already dumped, to find sharing (kcmp). */
struct ck_dfile {
	pid_t pid;
	int fd;
	uint64_t dev, ino;
	uint32_t id;
};

struct ck_parent_index;
struct ck_dseccomp;
struct ck_pw;
struct ck_nft;
struct ck_precopy;

struct ck_dump {
	const struct ckpt_dump_opts *o;
	struct ck_log log;
	int procfd;
	int dirfd;
	struct img_writer *core, *pages, *inv;
	struct ck_dtask *tasks;
	size_t ntasks;
	struct ck_dfile *files;
	size_t nfiles;
	uint32_t next_id;
	struct ck_shmem *shmems; /* shared memory objects seen */
	size_t nshmems;
	struct ck_parent_index *parent; /* incremental: the parent's pages */
	struct ck_tracker *trackers;	/* incremental: left by the parent pre-dump */
	size_t ntrackers;
	struct ckpt_stats *stats;
	struct ck_pw *pw; /* writes pages.img on a thread of its own */
	uint64_t vdso_pages, vvar_pages, vclock_pages;
	int hostroot;  /* the caller's root, for helpers that need its files (nft) */
	char *netlock; /* the network lock's table, once taken */
	struct ck_nft *nft; /* nftables helper, started early when the tree may need a lock */
	int *socks;    /* TCP sockets put in repair mode (our copies) */
	size_t nsocks;
	struct ck_dseccomp *seccomps; /* seccomp filters written so far */
	size_t nseccomps;
	uint64_t killed_ns; /* when the tree was sent SIGKILL, if it was */
	/* PAGEMAP_SCAN's written-only fast path reads swap and migration
	 * entries right (Linux 6.10, commit "fs/proc/task_mmu: Fix uffd-wp
	 * confusion in pagemap_scan_pmd_entry()"): dump-mm.c may use it. */
	bool fast_scan;
	/* precopy.c: a round of copying while the tree runs, before it is
	 * stopped (pages written are write-protected again as they are
	 * found, and reads may fail as the tree changes its mappings). */
	bool live;
	/* The parent as the inventory names it: o->parent_dir, or the
	 * precopy round's image once there is one. */
	const char *parent_name;
	struct ck_precopy *precopy;
	/* Pages of private mappings without PROT_READ: read by a forced read
	 * of /proc/PID/mem until one is refused (force_refused, force_errno);
	 * from then on, with the tree stopped, their mappings are made
	 * readable meanwhile (dump-unprot.c).  sim_no_force: CELL_CKPT_NO_FORCE
	 * (ckpt.h), read once by ckpt_dump(): forced reads are refused as by
	 * a kernel built with CONFIG_PROC_MEM_NO_FORCE. */
	bool sim_no_force;
	bool force_refused;
	int force_errno;
	uint64_t unread_pages, unread_ns; /* their count and time spent (for the log) */
	uint64_t unprot_vmas, unprot_ns;  /* mappings made readable, and the time of that */
};

/* Per fd, what the dumper learnt before handing it to the kind. */
struct ck_fdinfo {
	struct ck_dump *d;
	struct ck_dtask *task;
	int fd;
	int lfd; /* the dumper's copy, from pidfd_getfd */
	struct stat st;
	char *link; /* readlink of /proc/PID/fd/N */
	uint64_t pos;
	int flags;
	char *fdinfo; /* /proc/PID/fdinfo/N, whole */
};

int ck_dump_tree(struct ck_dump *d, struct cell_err **err);	/* seize, collect */
/* dump.c: core.img and pages.img (with the page writer), and at the end
 * inventory.img. */
int ck_dump_open_writers(struct ck_dump *d, struct cell_err **err);
int ck_dump_write_inventory(struct ck_dump *d, struct cell_err **err);
int ck_dump_task(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_dump_threads(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_dump_signals(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_dump_mm(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_dump_fds(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_dump_list_fds(struct ck_dump *d, pid_t pid, int **ret, size_t *ret_n,
		     struct cell_err **err);
/* net.c: the network lock, before the fds are dumped; after the dump, the
 * repaired sockets and the lock are let go (or kept, if the tree died). */
int ck_dump_netlock(struct ck_dump *d, struct cell_err **err);
/* Before the tree is stopped: start the nftables helper if the tree's
 * network namespace has TCP sockets, so the lock costs little frozen time. */
void ck_dump_nft_prepare(struct ck_dump *d);
int ck_dump_keep_socket(struct ck_dump *d, int s, struct cell_err **err);
void ck_dump_net_release(struct ck_dump *d, bool killed);
int ck_dump_finish_tasks(struct ck_dump *d, bool kill_tree, struct cell_err **err);
int ck_dump_find_vdso(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
/* Pre-dump: arm (or re-arm) tracking and plan the copy; the copy itself. */
int ck_predump_task(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_predump_copy(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
/* precopy.c: before an incremental dump stops the tree, one more round of
 * copying the pages written since the parent, while it runs, into the
 * image's "precopy" directory, which becomes the dump's parent: the
 * stopped tree then only has to give what was written in the last few
 * milliseconds.  Nothing is done (0) without trackers to take over.
 * ck_precopy_end(): after the dump, ok or not; on failure the tracked
 * pages are all marked written again (the parent the caller named stays
 * a valid parent) and the directory goes away. */
int ck_precopy(struct ck_dump *d, struct cell_err **err);
void ck_precopy_end(struct ck_dump *d, bool ok);
/* Incremental dump: take over the tracker a pre-dump left in t. */
int ck_tracker_adopt(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_tracker_drop(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
int ck_load_trackers(int basefd, const char *path, struct ck_tracker **ret, size_t *ret_n,
		     struct cell_err **err);
int ck_dump_posix_timers(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err);
/* seccomp.c: the chain of thread tid (its status' Seccomp mode), stored
 * once per distinct chain; *ret_id its newest filter, 0 for none. */
int ck_dump_seccomp(struct ck_dump *d, pid_t tid, int mode, uint32_t *ret_id,
		    struct cell_err **err);
void ck_dump_seccomp_free(struct ck_dump *d);
/* Inject a syscall into the task's main thread. */
int ck_dsys(struct ck_dtask *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	    uint64_t a3, int64_t *ret, struct cell_err **err);
uint32_t ck_dump_new_id(struct ck_dump *d);
/* The shmem id of the shared memory object (memfd, shared anonymous memory)
 * behind fd, a readable fd of it; the object and its pages are dumped the
 * first time. */
int ck_dump_shmem(struct ck_dump *d, int fd, const struct stat *st, const char *name,
		  uint32_t *ret, struct cell_err **err);


/* ---- restore ---------------------------------------------------------- */

#define CK_SCRATCH_SIZE (64 * 1024)
/* The scratch page starts with `syscall; int3` (ck_rsys); a batch loop
 * (batch.h) goes at this offset, its table and data after it. */
#define CK_SCRATCH_BATCH 64
#define CK_SHM_VIA_FILE (-2)

struct ck_rthread {
	struct ck_thr thr;
	const struct ck_thread *img;
};

struct ck_rtask {
	struct ck_proc *p;
	pid_t pid; /* host */
	struct ck_rthread *threads; /* [0]: the main thread */
	size_t nthreads;
	int *file_fd; /* per image file index: where it lives in this task, or -1 */
	int *shm_fd;  /* per image shmem index: its memfd in this task, or -1 */
	int max_fd;   /* highest fd number of the image for this task */
	int next_tmp;
	bool batch_code; /* the batch loop is in its scratch page */
	bool ro_open;	 /* its CK_RO_FILL mappings are writable for their pages */
};

/* Per VMA of an image process, for the pages of mappings without
 * PROT_WRITE (restore-pages.c). */
enum {
	CK_RO_FILL = 1 << 0, /* private, without PROT_WRITE, and pages.img has pages for it */
	CK_RO_OPEN = 1 << 1, /* made writable for them; its protection is due back */
};

struct ck_restore {
	const struct ckpt_restore_opts *o;
	struct ck_log log;
	int dirfd;
	struct ck_image *img;
	struct ck_rtask *tasks; /* parallel to img->procs */
	size_t ntasks;
	uint64_t scratch; /* same address in every task */
	uint64_t park;	  /* where the vDSO waits while the layout is rebuilt */
	struct ckpt_stats *stats;
	uint64_t vdso_len, vvar_len, vclock_len; /* of this kernel */
	struct ck_parent_index *parent; /* pages kept in parent images */
	uint8_t *buf;			/* for pages read from a parent */
	/* For each image file: the task that created it (index), or -1. */
	ssize_t *file_home;
	/* For each shmem object: the task that created it, or -1 (none yet),
	 * or CK_SHM_VIA_FILE; and the restorer's own fd of it (for filling). */
	ssize_t *shm_home;
	int *shm_lfd;
	struct ck_nft *nft; /* nftables helper in pid 1's network namespace */
	/* Pages of mappings without PROT_WRITE: CK_RO_* per VMA, per image
	 * process (parallel to img->procs; NULL for a process without any).
	 * They go through a forced write to /proc/PID/mem until one is
	 * refused (force_refused, force_errno); from then on their mappings
	 * are made writable meanwhile.  sim_no_force: CELL_CKPT_NO_FORCE
	 * (ckpt.h), read once by ckpt_restore(): forced writes are refused as
	 * by a kernel built with CONFIG_PROC_MEM_NO_FORCE. */
	uint8_t **ro;
	bool sim_no_force;
	bool force_refused;
	int force_errno;
	uint64_t ro_pages, ro_ns; /* their count, and the time spent on them (for the log) */
};

/* Inject into the task's main thread / a given thread. */
int ck_rsys(struct ck_rtask *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	    uint64_t a3, uint64_t a4, uint64_t a5, int64_t *ret, struct cell_err **err);
/* Copy bytes into the task's scratch area at offset off; returns the address. */
int ck_scratch_put(struct ck_restore *r, struct ck_rtask *t, size_t off, const void *p, size_t n,
		   uint64_t *ret_addr, struct cell_err **err);

/* Write a path into the task's scratch area for an injected syscall. */
int ck_scratch_path(struct ck_restore *r, struct ck_rtask *t, const char *path,
		    uint64_t *ret_addr, struct cell_err **err);
/* The restorer's own copy of fd in task t (pidfd_getfd), for configuring. */
int ck_rtask_getfd(struct ck_rtask *t, int fd, int *ret, struct cell_err **err);
/* Record that image file id already exists as fd in task t (made as a side
 * effect, like the other end of a pipe): it is not created again. */
void ck_restore_stash(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int fd);

int ck_restore_tree(struct ck_restore *r, struct cell_err **err);
/* Also marks the VMAs that get pages and lack PROT_WRITE (r->ro). */
int ck_pages_precheck(struct ck_restore *r, struct cell_err **err);
void ck_pages_free(struct ck_restore *r);
/* The memfd standing for shared memory object id, in task t. */
int ck_shmem_fd(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int *ret,
		struct cell_err **err);
/* Close t's memfds of shared memory objects: the fd tables are about to be
 * rebuilt.  Objects made so far are found again through the memfd files
 * of the image that stand for them. */
int ck_shmem_forget(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_files(struct ck_restore *r, struct cell_err **err);
/* File id in task t, made (or taken from the task that has it) if t has
 * it not yet; a number of t's that goes away with the others not in the
 * image's table.  For kinds that need another file (a pty slave its
 * master). */
int ck_restore_obtain(struct ck_restore *r, struct ck_rtask *t, uint32_t id, int *ret_fd,
		      struct cell_err **err);
/* Controlling terminals and their foreground groups (files/tty.c). */
int ck_restore_ctty(struct ck_restore *r, struct cell_err **err);
/* The kinds' checks before anything is touched, and their last step
 * before the tree runs (files/files.h: precheck, restore_final). */
int ck_restore_files_precheck(struct ck_restore *r, struct cell_err **err);
int ck_restore_files_final(struct ck_restore *r, struct cell_err **err);
int ck_restore_netlock(struct ck_restore *r, bool lock, struct cell_err **err);
int ck_restore_mm(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_pages(struct ck_restore *r, struct cell_err **err);
int ck_restore_mm_finish(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_task_state(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_threads(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_creds(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_seccomp(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);
int ck_restore_regs(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err);

#endif
