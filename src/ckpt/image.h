/* The checkpoint image: the records of inventory.img, core.img and
 * pages.img (docs/image-format.md), and the in-memory model a restore or an
 * inspection loads them into.  Loading validates everything that can be
 * checked without the kernel: references between records, ranges, overlaps,
 * counts.  Nothing here runs a syscall on a process. */
#ifndef CELL_CKPT_IMAGE_H
#define CELL_CKPT_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "img/img.h"

/* Record types of a checkpoint (16..255; 1..15 belong to src/img). */
enum {
	CK_REC_INVENTORY = 16,
	CK_REC_TASK = 17,
	CK_REC_THREAD = 18,
	CK_REC_MM = 19,
	CK_REC_VMA = 20,
	CK_REC_SIGACTION = 21,
	CK_REC_RLIMIT = 22,
	CK_REC_ITIMER = 23,
	CK_REC_TIMER = 24,
	CK_REC_SIGINFO = 25,
	CK_REC_CREDS = 26,
	CK_REC_FD = 27,
	CK_REC_SHMEM = 28,
	CK_REC_TRACKER = 29,
	CK_REC_FILE_DATA = 30,
	CK_REC_SECCOMP = 31,
	/* 64..127: one record type per file kind, see files/files.h */
	CK_REC_FILE_FIRST = 64,
	CK_REC_FILE_LAST = 127,
	CK_REC_PAGES = 128,
	CK_REC_SHMEM_PAGES = 129,
};

/* Caps: what a loader accepts before it allocates. */
#define CK_MAX_TASKS 4096
#define CK_MAX_THREADS 4096 /* per task */
#define CK_MAX_VMAS 65536   /* per task */
#define CK_MAX_FDS 65536    /* per task */
#define CK_MAX_FILES 262144
#define CK_MAX_PATH 4096
#define CK_MAX_XSTATE 65536
#define CK_NSIG 64
#define CK_NRLIMIT 16
#define CK_TASK_SIZE 0x7ffffffff000ULL /* x86-64, 4-level paging */

enum {
	CK_INV_PREDUMP = 1 << 0, /* memory only; the tree kept running */
};

struct ck_inventory {
	uint32_t flags;
	uint32_t root_pid; /* in the tree's PID namespace: 1 */
	uint32_t ntasks;
	uint32_t page_size;
	char *engine;	 /* "cell 0.1.0" */
	char *kernel;	 /* uname release of the dumping host */
	char *arch;	 /* "x86_64" */
	char *parent;	 /* the parent image directory, as given at dump time */
	uint64_t created; /* unix seconds */
	uint32_t xsave_size;
	uint64_t xfeatures;
	uint32_t vdso_pages, vvar_pages, vvar_vclock_pages;
	uint64_t pages_written; /* pages stored in this image's pages.img */
	uint64_t pages_parent;	/* pages left in the parent image */
	char *netlock;		/* the network lock's nftables table, if one was taken */
};

enum {
	CK_TASK_SUBREAPER = 1 << 0,
	CK_TASK_NO_NEW_PRIVS = 1 << 1,
	CK_TASK_STOPPED = 1 << 2, /* was in group-stop */
};

struct ck_task {
	uint32_t pid, ppid, pgid, sid; /* in the tree's PID namespace; 0: outside it */
	uint32_t nthreads;
	uint32_t exit_signal;
	uint32_t flags;
	uint32_t personality;
	uint32_t umask;
	int32_t pdeathsig;
	int32_t dumpable;
	uint32_t thp_disabled;
	char *comm;
	char *cwd;
	char *root;
	uint64_t ctty;	/* the controlling terminal's device number at dump time, 0: none */
	uint32_t tpgid; /* its foreground process group, in the tree's namespace; 0: none */
};

struct ck_creds {
	uint32_t pid;
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint32_t *groups;
	size_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t securebits;
};

struct ck_mm {
	uint32_t pid;
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t *auxv;
	size_t nauxv;
	char *exe;
};

enum ck_vma_kind {
	CK_VMA_ANON = 1,     /* private or shared anonymous */
	CK_VMA_FILE = 2,     /* a file's mapping, private or shared */
	CK_VMA_VDSO = 3,
	CK_VMA_VVAR = 4,
	CK_VMA_VVAR_VCLOCK = 5,
	CK_VMA_SHMEM = 6,    /* shared anonymous memory or memfd: content in SHMEM_PAGES */
};

enum {
	CK_VMA_SHARED = 1 << 0,
	CK_VMA_GROWSDOWN = 1 << 1,
	CK_VMA_HEAP = 1 << 2,
	CK_VMA_STACK = 1 << 3,
	CK_VMA_DONTFORK = 1 << 4,
	CK_VMA_WIPEONFORK = 1 << 5,
	CK_VMA_DONTDUMP = 1 << 6,
	CK_VMA_HUGEPAGE = 1 << 7,
	CK_VMA_NOHUGEPAGE = 1 << 8,
	CK_VMA_MERGEABLE = 1 << 9,
	CK_VMA_LOCKED = 1 << 10,
	CK_VMA_NORESERVE = 1 << 11, /* no commit charge: sanitizer shadows, big reservations */
};

struct ck_vma {
	uint32_t pid;
	uint64_t start, end;
	uint32_t prot; /* PROT_* */
	uint32_t flags; /* CK_VMA_* */
	uint32_t kind;
	uint64_t pgoff;
	char *path;	/* CK_VMA_FILE */
	uint64_t dev, ino; /* CK_VMA_FILE: of the file at dump time, for a check */
	uint32_t shmem_id; /* CK_VMA_SHMEM */
};

/* struct user_regs_struct member by member, in the kernel's order. */
#define CK_GREGS(X) \
	X(r15) X(r14) X(r13) X(r12) X(rbp) X(rbx) X(r11) X(r10) X(r9) X(r8) X(rax) X(rcx) \
	X(rdx) X(rsi) X(rdi) X(orig_rax) X(rip) X(cs) X(eflags) X(rsp) X(ss) X(fs_base)   \
	X(gs_base) X(ds) X(es) X(fs) X(gs)

struct ck_regs {
#define CK_REG_MEMBER(r) uint64_t r;
	CK_GREGS(CK_REG_MEMBER)
#undef CK_REG_MEMBER
};

struct ck_thread {
	uint32_t pid, tid;
	struct ck_regs regs;
	void *xstate; /* the XSAVE area as PTRACE_GETREGSET NT_X86_XSTATE gives it */
	size_t xstate_len;
	uint64_t sigmask;
	uint64_t rseq_ptr;
	uint32_t rseq_len, rseq_sig;
	uint64_t clear_tid;
	uint64_t robust_list, robust_len;
	uint64_t ss_sp, ss_size;
	int32_t ss_flags;
	char *comm;
	uint32_t seccomp_id; /* the newest seccomp filter of the thread, 0: none */
};

/* A seccomp filter: one per distinct filter of the tree; a thread's chain
 * is its newest filter and the parents of that (seccomp.c). */
#define CK_SECCOMP_MAX_INSNS 4096 /* BPF_MAXINSNS */
#define CK_SECCOMP_MAX 1024	  /* filters in an image */

struct ck_seccomp {
	uint32_t id;
	uint32_t parent; /* the filter installed before it, 0: none */
	uint32_t flags;	 /* SECCOMP_FILTER_FLAG_LOG (2), nothing else */
	void *insns;	 /* struct sock_filter[], 8 bytes each, little-endian */
	size_t insns_len;
};

struct ck_sigaction {
	uint32_t pid, sig;
	uint64_t handler, flags, restorer, mask;
};

struct ck_rlimit {
	uint32_t pid, resource;
	uint64_t cur, max;
};

struct ck_itimer {
	uint32_t pid, which;
	uint64_t value_sec, value_usec, interval_sec, interval_usec;
};

struct ck_timer {
	uint32_t pid;
	int32_t id, clock, notify, signo;
	uint32_t notify_tid; /* SIGEV_THREAD_ID: the thread, in the tree's namespace */
	uint64_t sigval;
	uint64_t value_sec, value_nsec, interval_sec, interval_nsec;
};

struct ck_siginfo {
	uint32_t pid, tid; /* tid 0: pending for the whole process */
	void *info;	/* siginfo_t as the kernel lays it out: 128 bytes */
	size_t info_len;
};

struct ck_fd {
	uint32_t pid;
	int32_t fd;
	uint32_t file_id;
	bool cloexec;
};

/* A shared memory object (shared anonymous mapping, memfd): its pages are in
 * SHMEM_PAGES records, mapped by VMAs of one or more tasks. */
struct ck_shmem {
	uint32_t id;
	uint64_t size;
	uint64_t dev, ino; /* at dump time: the identity shared mappings had */
	char *name;	  /* memfd name, or NULL for anonymous shared memory */
	uint32_t seals;	  /* F_GET_SEALS of a memfd */
};

/* The dirty-page tracker a pre-dump left in a task (see predump.c). */
struct ck_tracker {
	uint32_t pid;
	int32_t fd; /* its number in the task */
	uint64_t ino;
};

enum {
	CK_PAGES_IN_PARENT = 1 << 0, /* no data: the pages are in the parent image */
};

struct ck_pages {
	uint32_t pid; /* or the shmem id for SHMEM_PAGES */
	uint64_t addr; /* or the offset in the object */
	uint32_t npages;
	uint32_t flags;
	const void *data;
	size_t len;
};

/* Bulk data of a file that does not fit its record (a TCP socket's
 * queues): FILE_DATA records, each a piece of one of the file's streams,
 * in order.  The loader joins them into ck_file.data[stream]. */
#define CK_FILE_STREAMS 2
#define CK_FILE_DATA_CHUNK (1u << 20) /* bytes per FILE_DATA record, at most */
#define CK_FILE_DATA_MAX (64u << 20)  /* bytes per stream, at most */

struct ck_file_data {
	uint32_t id;
	uint32_t stream;
	uint64_t offset;
	const void *data;
	size_t len;
};

struct ck_blob {
	uint8_t *data;
	size_t len;
};

/* A file-kind record decoded: the kind's own struct, found by its id. */
struct ck_file {
	uint32_t id;
	uint16_t rec_type;
	const struct ck_file_ops *ops;
	void *obj; /* the kind's struct, decoded by its schema */
	struct ck_blob data[CK_FILE_STREAMS];
};

struct ck_proc {
	struct ck_task task;
	struct ck_creds creds;
	struct ck_mm mm;
	bool have_creds, have_mm;
	struct ck_thread *threads;
	size_t nthreads;
	struct ck_vma *vmas;
	size_t nvmas;
	struct ck_sigaction sigactions[CK_NSIG];
	bool have_sigaction[CK_NSIG];
	struct ck_rlimit rlimits[CK_NRLIMIT];
	bool have_rlimit[CK_NRLIMIT];
	struct ck_itimer itimers[3];
	bool have_itimer[3];
	struct ck_timer *timers;
	size_t ntimers;
	struct ck_siginfo *sigs;
	size_t nsigs;
	struct ck_fd *fds;
	size_t nfds;
	struct ck_tracker tracker;
	bool have_tracker;
};

struct ck_image {
	struct ck_inventory inv;
	struct ck_proc *procs; /* parents before children; procs[0] is the root */
	size_t nprocs;
	struct ck_file *files;
	size_t nfiles;
	struct ck_shmem *shmems;
	size_t nshmems;
	struct ck_tracker *trackers; /* a pre-dump image's: it has no tasks */
	size_t ntrackers;
	struct ck_seccomp *seccomps;
	size_t nseccomps;
};

/* Schemas of the records above, for writers and readers. */
extern const struct img_schema ck_inventory_schema, ck_task_schema, ck_creds_schema,
	ck_mm_schema, ck_vma_schema, ck_thread_schema, ck_sigaction_schema, ck_rlimit_schema,
	ck_itimer_schema, ck_timer_schema, ck_siginfo_schema, ck_fd_schema, ck_shmem_schema,
	ck_tracker_schema, ck_pages_schema, ck_shmem_pages_schema, ck_file_data_schema,
	ck_seccomp_schema;
#define CK_PAGES_DATA_TAG 15

/* Load inventory.img and core.img from dirfd, validated.  Errors name the
 * file, the record and the field. */
int ck_image_load(int dirfd, struct ck_image **ret, struct cell_err **err);
/* Load core.img from an fd (the fuzzer's way in). */
int ck_image_load_core_fd(int fd, const struct ck_inventory *inv, struct ck_image **ret,
			  struct cell_err **err);
int ck_image_load_inventory(int dirfd, struct ck_inventory *ret, struct cell_err **err);
/* Cross-record validation, done by the loaders. */
int ck_image_check(const struct ck_image *img, struct cell_err **err);
void ck_image_free(struct ck_image *img);
void ck_image_freep(struct ck_image **img);
struct ck_proc *ck_image_proc(const struct ck_image *img, uint32_t pid);
const struct ck_file *ck_image_file(const struct ck_image *img, uint32_t id);
const struct ck_shmem *ck_image_shmem(const struct ck_image *img, uint32_t id);
const struct ck_seccomp *ck_image_seccomp(const struct ck_image *img, uint32_t id);

#define _cleanup_ck_image_ _cleanup_(ck_image_freep)

#endif
