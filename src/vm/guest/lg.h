/* The light guest's "kernel": the state the monitor keeps for a static Linux
 * program running in guest ring 3.  Internal to src/vm/guest.
 *
 * Threads and processes
 *   Every guest thread (struct lg_task) runs on its own worker: a host thread
 *   that owns a vCPU.  A syscall is served in that host thread, so a guest
 *   read() that blocks blocks only its worker.  Workers are pooled: a task
 *   that exits gives its worker (and vCPU) to the next one created.  At most
 *   cfg.vcpus tasks execute guest code at once (struct lg_cpus, a fair
 *   ticket gate around KVM_RUN).
 *
 * Locking, outermost first
 *   mm->lock (rwlock; writers change mappings)  ->  lg->lock (tasks, pids,
 *   signals, frames, page-table chunks)  ->  files->lock.
 *   Guest memory is one fixed host mapping, so a racing unmap never makes
 *   the monitor touch host memory it does not own; it can only read stale
 *   guest data. */
#ifndef CELL_VM_GUEST_LG_H
#define CELL_VM_GUEST_LG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "vm/kvm.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

struct lg;
struct lg_task;
struct lg_proc;
struct lg_futex_waiter;

/* ---- frames.c: data frames and page-table chunks ------------------------- */

struct lg_frames {
	uint64_t first, end; /* frame numbers of data RAM: [first, end) */
	uint16_t *ref;       /* per frame; 0 = free.  Indexed by pfn - first */
	uint64_t cursor;     /* next-fit search start */
	uint64_t nfree;
};

struct lg_ptchunk {
	uint8_t *host;   /* LG_PT_CHUNK_SIZE bytes */
	uint32_t next;   /* frames handed out since the last flush */
	uint32_t live;   /* of those, not yet freed */
};

struct lg_ptpool {
	struct lg_ptchunk *chunks;
	unsigned n;
	unsigned current; /* the chunk frames come from */
};

int lg_frames_init(struct lg *lg, struct cell_err **err);
void lg_frames_fini(struct lg *lg);
/* A zeroed data frame (its GPA), or -ENOMEM.  Takes lg->lock. */
int lg_frame_alloc(struct lg *lg, uint64_t *ret_gpa);
void lg_frame_get(struct lg *lg, uint64_t gpa);
/* Drop references to frames; the last reference frees the frame (its host
 * pages are discarded, which also drops every shadow mapping of it).
 * A frame that stays referenced elsewhere but left this mapping has its
 * shadow mappings dropped too (lg_frame_zap). */
void lg_frame_put(struct lg *lg, uint64_t gpa);
/* The same for many frames (gpas is reordered).  zap_shared: frames that
 * stay referenced are zapped; an address space being torn down skips that
 * (its page tables are never walked again before their chunk is flushed). */
void lg_frame_put_many(struct lg *lg, uint64_t *gpas, size_t n, bool zap_shared);
unsigned lg_frame_refs(struct lg *lg, uint64_t gpa);
/* Make every vCPU forget cached translations to this frame (the next
 * access walks the guest page tables again). */
void lg_frame_zap(struct lg *lg, uint64_t gpa);
void lg_frame_zap_many(struct lg *lg, uint64_t *gpas, size_t n); /* gpas is reordered */
/* Host address of a data frame GPA, NULL if gpa is not data RAM. */
uint8_t *lg_frame_host(struct lg *lg, uint64_t gpa);

int lg_pt_alloc(struct lg *lg, uint64_t *ret_gpa);
void lg_pt_free(struct lg *lg, uint64_t gpa);
/* Host address of a page-table frame, NULL if gpa is not one. */
uint64_t *lg_pt_host(struct lg *lg, uint64_t gpa);

/* ---- mm.c: address spaces ------------------------------------------------ */

#define LG_VMA_SHARED 0x1u /* MAP_SHARED: fork shares the frames */
#define LG_VMA_STACK 0x2u  /* the main stack: grows down on faults */
#define LG_VMA_LAZY 0x4u   /* frames on first touch (MAP_NORESERVE, stack) */

struct lg_vma {
	uint64_t start, end; /* page-aligned, end exclusive */
	uint32_t prot;       /* PROT_READ | PROT_WRITE | PROT_EXEC */
	uint32_t flags;      /* LG_VMA_* */
};

struct lg_mm {
	struct lg *lg;
	int refs;                /* tasks using it (threads, vfork children) */
	pthread_rwlock_t lock;
	uint64_t pml4;           /* GPA of the root, in a page-table chunk */
	uint64_t *pts;           /* every page-table frame, for teardown */
	size_t npts, cappts;
	struct lg_vma *vmas;     /* sorted, disjoint */
	size_t nvmas, capvmas;
	uint64_t brk_start, brk; /* the heap: [brk_start, brk) */
	uint64_t brk_max;
	uint64_t mmap_top;       /* mmap() without a hint searches down from here */
	uint64_t stack_top, stack_limit;
	uint64_t pages;          /* present user pages */
	uint64_t id;             /* unique in the VM (caches key on it, not on the pointer) */
	uint64_t map_gen;        /* bumped when a mapping goes or changes (atomic) */
	uint64_t arg_start, arg_end, env_start, env_end;
};

int lg_mm_new(struct lg *lg, struct lg_mm **ret);
void lg_mm_put(struct lg_mm *mm);
/* A copy for fork: private writable pages are copied, read-only and shared
 * ones are shared.  Caller holds mm->lock for reading. */
int lg_mm_fork(struct lg_mm *mm, struct lg_mm **ret);

/* Map [start, start+len) (page-aligned) with prot; replaces what was there.
 * Without LG_VMA_LAZY every page gets a zeroed frame now. */
int lg_mm_map(struct lg_mm *mm, uint64_t start, uint64_t len, uint32_t prot, uint32_t flags);
int lg_mm_unmap(struct lg_mm *mm, uint64_t start, uint64_t len);
int lg_mm_protect(struct lg_mm *mm, uint64_t start, uint64_t len, uint32_t prot);
/* Discard the contents of private anonymous pages (MADV_DONTNEED). */
int lg_mm_discard(struct lg_mm *mm, uint64_t start, uint64_t len);
/* mremap's move: the frames of [from, from+len) now back [to, to+len),
 * which must be a fresh mapping (lg_mm_map with LG_VMA_LAZY); the old
 * range is unmapped. */
int lg_mm_move(struct lg_mm *mm, uint64_t from, uint64_t to, uint64_t len);
/* A free range of len bytes for mmap(): near hint if it is free, else
 * searching down from mmap_top.  0 if none. */
uint64_t lg_mm_find_free(struct lg_mm *mm, uint64_t len, uint64_t hint);
const struct lg_vma *lg_mm_find_vma(struct lg_mm *mm, uint64_t va);
/* A page fault at va: populate it if a lazy mapping or the stack covers it.
 * 0 when the access may be retried; -EFAULT (no mapping) or -EACCES. */
int lg_mm_fault(struct lg_mm *mm, uint64_t va, bool write, bool exec);
/* The GPA behind va for an access by the monitor on the program's behalf,
 * with the program's permissions (write needs PROT_WRITE).  Faults in lazy
 * pages.  -EFAULT when the program itself could not make that access. */
int lg_mm_translate(struct lg_mm *mm, uint64_t va, bool write, uint64_t *ret_gpa);

/* ---- uaccess.c: the monitor reading and writing program memory ----------- */
/* All take mm->lock for reading themselves; -EFAULT on any bad byte. */
int lg_copy_from(struct lg_mm *mm, void *dst, uint64_t va, size_t len);
int lg_copy_to(struct lg_mm *mm, uint64_t va, const void *src, size_t len);
/* A NUL-terminated string of at most max bytes including the NUL:
 * its length, -EFAULT, or -ENAMETOOLONG. */
int lg_strncpy_from(struct lg_mm *mm, char *dst, uint64_t va, size_t max);
/* Host iovecs covering [va, va+len) for direct I/O: -EFAULT if not all of
 * it is accessible; at most maxiov entries (the rest is left out). */
struct iovec;
int lg_user_iov(struct lg_mm *mm, uint64_t va, size_t len, bool write, struct iovec *iov,
		unsigned maxiov, unsigned *ret_n, size_t *ret_len);
/* Writes without the program's permission checks, for the loader (the
 * target must be mapped). */
int lg_poke(struct lg_mm *mm, uint64_t va, const void *src, size_t len);

/* The GPA behind va if the program may execute it (present, user, not NX). */
int lg_mm_exec_gpa(struct lg_mm *mm, uint64_t va, uint64_t *ret_gpa);

/* ---- sites.c: patched syscall sites (the fast syscall path) --------------- */

struct lg_sites {
	pthread_rwlock_t lock;    /* inside mm->lock and lg->lock */
	uint64_t *table;          /* open addressing: GPA of a site's first byte, 0 = empty */
	size_t cap, n;
	uint64_t *frame_bits;     /* per data frame: carries sites */
};

int lg_sites_init(struct lg *lg);
void lg_sites_fini(struct lg *lg);
/* A syscall came through LSTAR with RCX = x: make the site at x-2 exit
 * directly from now on (if it can be patched safely). */
void lg_sites_patch(struct lg_task *t, uint64_t x);
/* Is the `out` at site a patched syscall site of this program? */
bool lg_sites_lookup(struct lg_task *t, uint64_t site);
/* Frame bookkeeping: a copy carries its sites, a freed frame loses them. */
void lg_sites_frame_copied(struct lg *lg, uint64_t from, uint64_t to);
void lg_sites_frame_freed(struct lg *lg, uint64_t gpa);

/* ---- files.c: fd tables ----------------------------------------------------- */

enum lg_file_kind { LG_FILE_REG, LG_FILE_DIR, LG_FILE_POLL, LG_FILE_SOCK, LG_FILE_OTHER };

struct lg_file {
	int refs;
	int hostfd;
	enum lg_file_kind kind;
	uint32_t flags;   /* status flags as F_GETFL shows them (O_ACCMODE, O_APPEND, O_NONBLOCK) */
	char *path;       /* absolute path in the guest; NULL for pipes and inherited fds */
	uint64_t io_bytes;
};

struct lg_fdent {
	struct lg_file *file;
	bool cloexec;
};

struct lg_files {
	int refs;
	pthread_mutex_t lock;
	struct lg_fdent *fd;
	int nfd;
};

/* The most fds a guest process may have: RLIMIT_NOFILE's ceiling, as
 * Linux's fs.nr_open (whose default it is).  The soft limit is checked
 * by the callers of lg_fd_install (lg_rlimit_nofile). */
#define LG_NOFILE_MAX VM_NOFILE_MAX
#define LG_FD_SETSIZE 1024 /* select(2)'s sets: glibc's FD_SETSIZE */

struct lg_file *lg_file_new(int hostfd, enum lg_file_kind kind, uint32_t flags, const char *path);
struct lg_file *lg_file_get(struct lg_file *f);
void lg_file_put(struct lg_file *f);
enum lg_file_kind lg_file_kind_of(int hostfd);

struct lg_files *lg_files_new(void);
struct lg_files *lg_files_dup(struct lg_files *f);
void lg_files_put(struct lg_files *f);
/* Install f (a reference is taken) at the lowest fd >= min below limit
 * (RLIMIT_NOFILE); -EMFILE. */
int lg_fd_install(struct lg_files *fs, struct lg_file *f, int min, bool cloexec, unsigned limit);
/* Install at exactly fd, closing what was there. */
int lg_fd_install_at(struct lg_files *fs, struct lg_file *f, int fd, bool cloexec);
/* A new reference to fd's file, or NULL (EBADF). */
struct lg_file *lg_fd_get(struct lg_files *fs, int fd);
int lg_fd_close(struct lg_files *fs, int fd);
int lg_fd_cloexec(struct lg_files *fs, int fd, int set); /* set<0: query */
void lg_fd_close_on_exec(struct lg_files *fs);

/* ---- signals ------------------------------------------------------------- */

#define LG_NSIG 64
typedef uint64_t lg_sigset_t; /* bit (sig - 1), as the kernel's sigset */

struct lg_sigaction {
	uint64_t handler; /* SIG_DFL 0, SIG_IGN 1, or an address */
	uint64_t flags;
	uint64_t restorer;
	lg_sigset_t mask;
};

struct lg_sighand {
	int refs;
	struct lg_sigaction action[LG_NSIG];
};

struct lg_siginfo { /* the fields cell fills in; written out as a 128-byte siginfo_t */
	int signo, code, errnum;
	int pid;
	uint32_t uid;
	int status;
	uint64_t addr;
	int trapno;
};

struct lg_sigpending {
	lg_sigset_t set;
	struct lg_siginfo info[LG_NSIG];
};

/* ---- tasks --------------------------------------------------------------- */

enum lg_proc_state { LG_PROC_ALIVE, LG_PROC_ZOMBIE };

#define LG_NRLIMITS 16 /* RLIM_NLIMITS */

struct lg_fs { /* cwd and umask, shared with CLONE_FS */
	int refs;
	char *cwd; /* absolute, normalised */
	uint32_t umask;
};

struct lg_proc {
	int pid, pgid, sid;
	struct lg_proc *parent;
	struct lg_proc *children, *sibling;
	struct lg_task *threads;
	int nthreads;
	enum lg_proc_state state;
	int wait_status;       /* as wait4 reports it */
	bool exiting;          /* exit_group or a fatal signal is underway */
	int exit_code;         /* for exit_group: the status every thread leaves with */
	struct lg_sigpending shared_pending;
	struct lg_sighand *sighand;
	char comm[16];
	char *exe;             /* path of the program, for reports */
	char fault[256];       /* the last hardware fault, for the report if it kills */
	int fault_sig;
	uint64_t start_ns;
	uint64_t utime_ns, stime_ns;  /* of exited threads */
	uint64_t cutime_ns, cstime_ns;
	bool vfork_done;
	int exit_signal;       /* sent to the parent at death (SIGCHLD, or clone's choice) */
	uint64_t alarm_ns, alarm_interval_ns; /* ITIMER_REAL: monotonic deadline, period */
	int pdeath_sig;
	uint64_t rlim[LG_NRLIMITS][2]; /* RLIMIT_*: soft, hard (rlimit.c; lg->lock) */
	bool oom_killed;       /* chosen by the OOM killer (oom.c), dying */
	uint64_t cpu_next_ns;  /* RLIMIT_CPU: its next threshold (CPU ns; 0: not checked yet) */
	uint32_t uid, gid;     /* real = effective = saved: the light guest keeps one */
};

/* Why a worker left KVM_RUN for a syscall or an exception: the program's
 * registers as the handler may change them (committed on return). */
struct lg_uctx {
	struct kvm_regs r;     /* rip/rflags/rsp are the program's */
	bool in_syscall;       /* r.rax is the result; orig_rax the number (for restarts) */
	bool user_mode;        /* the exit came from ring 3 (a patched site): no segments to restore */
	uint64_t orig_rax;
	bool noreturn;         /* the handler set every register (execve, sigreturn) */
	bool reload_cr3;       /* execve: a new address space */
};

struct lg_worker;

struct lg_task {
	struct lg *lg;
	int tid;
	struct lg_proc *proc;
	struct lg_task *next_thread;
	struct lg_mm *mm;
	struct lg_files *files;
	struct lg_fs *fs;
	struct lg_worker *worker;
	struct lg_uctx *uctx;      /* during a syscall or an exception */
	struct kvm_regs start_regs;   /* where a new task starts */
	uint64_t fs_base;
	bool fs_base_dirty;
	void *fpu;                 /* struct kvm_xsave / kvm_fpu to load at start, or NULL */
	bool fpu_is_xsave;
	lg_sigset_t blocked;
	lg_sigset_t saved_blocked;  /* rt_sigsuspend / ppoll restore this after the handler */
	bool restore_blocked;
	struct lg_sigpending pending;
	uint64_t altstack_sp, altstack_size;
	int altstack_flags;
	uint64_t clear_child_tid;
	struct lg_proc *vfork_parent_proc;
	struct lg_task *vfork_parent;
	bool exit_requested; /* exit(): leave after this syscall */
	bool exited;         /* lg_task_exit() ran */
	int exit_code;       /* for exit(): the thread's own */
	uint64_t gs_base;
	uint64_t syscalls;
	uint64_t site_cache[4];    /* syscall sites this task used lately (guest/sites.c) */
	uint64_t site_cache_mm, site_cache_gen; /* ... valid for this mm id and map_gen */
	uint64_t last_fault;   /* a #PF the monitor resolved, to catch one that never resolves */
	unsigned fault_repeat;
	/* CPU time (pool.c; lg->lock): the worker thread's CPU clock when the
	 * task started on it; counted while cpu_on.  cpu_idle: in
	 * lg_task_sleep, using none (the RLIMIT_CPU timer skips it). */
	uint64_t cpu0;
	bool cpu_on, cpu_idle;
};

/* ---- the VM --------------------------------------------------------------- */

struct lg_cpus { /* at most n tasks in KVM_RUN, first come first served */
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned free;
	uint64_t next_ticket, serving;
};

struct lg_worker {
	struct lg *lg;
	struct vcpu *vcpu;
	unsigned slot;             /* CPU area */
	pthread_t thread;
	bool started;
	struct lg_task *task;      /* running now, or NULL when idle */
	pthread_cond_t wake;
	struct lg_worker *next_idle;
	bool first_syscall_seen;
	bool in_guest;             /* inside vcpu_run (for the scheduler's kicks) */
	bool quit;
};

struct lg_stats {
	uint64_t syscalls;
	uint64_t exceptions;
	uint64_t page_faults;
	uint64_t read_bytes, write_bytes;
	uint64_t forks, execs;
	uint64_t pt_flushes;
	uint64_t oom_kills;   /* processes the OOM killer killed (oom.c; lg->lock) */
};

/* What the embedding monitor wants done in its threads (cgroups), each
 * called by the thread itself.  enter_thread: in each vCPU thread.
 * helper_thread: in each helper thread of the monitor's own (the timer),
 * which a vCPU thread may have started (a guest alarm): it undoes what
 * that thread inherited.  Either may be NULL. */
struct lg_hooks {
	void (*enter_thread)(void *ctx, pid_t tid);
	void (*helper_thread)(void *ctx, pid_t tid);
	void *ctx;
};

struct lg {
	struct kvm_vm *kvm;
	struct vm_guest_config cfg;   /* copied; strings owned by the caller */
	struct lg_hooks cfg_hooks;
	int root_fd;               /* O_PATH of the root directory */
	char *root_host;           /* its host path, to turn /proc/self/fd links into guest paths */
	int null_fd, zero_fd, urandom_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;          /* task state changes (exit, stop, resume) */
	pthread_mutex_t futex_lock;   /* outside mm->lock: futex waiters read program memory */
	struct lg_futex_waiter *futex_waiters;
	struct lg_frames frames;
	struct lg_sites sites;
	uint64_t mm_ids;              /* the last lg_mm id handed out */
	struct lg_ptpool ptpool;
	struct lg_cpus cpus;
	struct lg_worker **workers;
	unsigned nworkers;
	struct lg_worker *idle;
	struct lg_proc **procs;       /* by pid, up to maxpid */
	int maxpid, next_pid, nprocs;
	struct lg_proc *init;
	bool done;                    /* init is gone: every task is being killed */
	int nrunning;                 /* tasks on workers */
	bool paused;
	bool osxsave;
	bool syscall_cpl0;            /* hardware virtualisation: the trampoline runs in ring 0 */
	int fatal;                    /* a VM-level failure (-errno); report in fatal_msg */
	char fatal_msg[512];
	struct vm_result result;
	uint64_t unknown_logged[8];   /* syscalls reported once */
	struct lg_stats stats;
	uint64_t start_ns;
	pthread_t timer;
	bool timer_running;
	uint64_t timer_next_ns;       /* when the timer thread wakes next (0: not planned) */
	/* RLIMIT_CPU (rlimit.c; lg->lock): some process has a finite limit,
	 * or the monitor has a finite hard limit of its own (host_cpu_ns,
	 * the CPU time at which the VM's processes are killed before the
	 * host kills the monitor); set once, never cleared. */
	bool cpu_watch;
	uint64_t host_cpu_ns;
};

/* ---- lg.c: the VM's life ------------------------------------------------- */
int lg_create(const struct vm_guest_config *cfg, const struct lg_hooks *hooks, struct lg **ret,
	      struct cell_err **err);
/* Load and start the first program. */
int lg_start(struct lg *lg, struct cell_err **err);
/* Until the first program has exited and every task is gone. */
void lg_wait(struct lg *lg, struct vm_result *ret);
void lg_destroy(struct lg *lg);
/* A signal from outside (the monitor's caller) to the first program. */
void lg_signal_init(struct lg *lg, int sig);
/* Where the root is as /proc/self/fd links show it (after a pivot). */
void lg_set_root_host(struct lg *lg, const char *path);

/* ---- task.c ------------------------------------------------------------- */
struct lg_task *lg_task_alloc(struct lg *lg);
int lg_pid_alloc(struct lg *lg, struct lg_proc *p);
struct lg_proc *lg_proc_find(struct lg *lg, int pid);
/* Start t on a worker (reusing an idle one). */
int lg_task_start(struct lg *lg, struct lg_task *t, struct cell_err **err);
/* A worker (its vCPU and thread) made ahead, idle in the pool for the next
 * lg_task_start(): lg_start() makes the first while it loads the program. */
int lg_worker_prestart(struct lg *lg, struct cell_err **err);
/* The task leaves: for the last thread the process becomes a zombie,
 * its parent gets SIGCHLD, its children go to init. */
void lg_task_exit(struct lg_task *t);
void lg_task_free(struct lg_task *t);
/* CPU time as the guest sees it (times, getrusage, the CPU clocks,
 * RLIMIT_CPU): the time the task's worker thread ran for it, guest code
 * and the monitor serving its calls alike.  A process's adds its exited
 * threads'.  lg->lock held (pool.c). */
uint64_t lg_task_cpu_ns_locked(const struct lg_task *t);
uint64_t lg_proc_cpu_ns_locked(const struct lg_proc *p);
/* Unlink a reaped zombie from its parent and the pid table.  lg->lock held. */
void lg_proc_free_locked(struct lg *lg, struct lg_proc *p);
/* Queue a signal; kicks the task that will take it.  lg->lock held. */
void lg_signal_proc_locked(struct lg_proc *p, const struct lg_siginfo *info);
void lg_signal_task_locked(struct lg_task *t, const struct lg_siginfo *info);
/* Kill every process (init went away or the VM is stopping). */
void lg_kill_all_locked(struct lg *lg, int sig);
void lg_task_kick(struct lg_task *t);
/* Wait for fds / a timeout / a kick, with the worker's CPU token released.
 * Returns >0 ready, 0 timeout, -EINTR kicked. */
struct pollfd;
int lg_task_sleep(struct lg_task *t, struct pollfd *fds, unsigned n, int64_t timeout_ns);
bool lg_signal_pending(struct lg_task *t); /* a signal that needs attention now */

/* ---- worker.c ------------------------------------------------------------ */
int lg_cpus_init(struct lg_cpus *c, unsigned n);
void lg_cpus_acquire(struct lg *lg, struct lg_cpus *c);
void lg_cpus_release(struct lg_cpus *c);
int lg_worker_get(struct lg *lg, struct lg_worker **ret, struct cell_err **err);
/* Put t's start state (registers, segments, FPU, MSRs) into w's vCPU. */
int lg_worker_load(struct lg_worker *w, struct lg_task *t, struct cell_err **err);
/* Run t on w until it exits (the worker thread's loop body). */
void lg_worker_run_task(struct lg_worker *w, struct lg_task *t);
/* After execve (cr3) or arch_prctl (FS base). */
int lg_worker_reload(struct lg_worker *w, struct lg_task *t, bool cr3, struct cell_err **err);
void lg_workers_stop(struct lg *lg);
/* Stop the whole VM with a report (triple fault, KVM error...). */
void lg_fatal(struct lg *lg, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- timer.c: SIGALRM for alarm()/setitimer(), RLIMIT_CPU checks -------- */
/* Start the timer thread if it is not running (0 or -EAGAIN). */
long lg_timer_start(struct lg *lg);
void lg_timer_stop(struct lg *lg);

/* ---- rlimit.c: per-process resource limits ------------------------------- */
/* The first process's limits: the monitor's own (as a native child would
 * inherit them), then what cfg.rlimits sets.  Guest limits are the
 * monitor's bookkeeping only: setrlimit in the guest never changes the
 * monitor's, so a guest can never loosen what the host enforces on it.
 * The monitor raises its own soft RLIMIT_NOFILE and RLIMIT_CPU to their
 * hard limits (no privilege needed) and notes its hard RLIMIT_CPU
 * (lg->host_cpu_ns); lg->cpu_watch says whether CPU time is checked. */
void lg_rlimits_init(struct lg *lg, uint64_t rlim[LG_NRLIMITS][2]);
/* RLIMIT_CPU, as Linux's check_process_timers: SIGKILL at the hard limit,
 * SIGXCPU at the soft one (which then moves on a second, so the next
 * comes a second later).  Also kills every process just before the
 * monitor's own hard limit would have the host kill the monitor.  Called
 * by the timer thread; the wall-clock ns until the next check is due (0:
 * none while every limited process sleeps; a task that wakes up calls
 * lg_rlimit_cpu_wake_locked).  lg->lock held. */
uint64_t lg_rlimit_cpu_check_locked(struct lg *lg);
/* t slept (used no CPU) and runs again: make sure the timer checks its
 * process (and the monitor's own limit) in time.  lg->lock held. */
void lg_rlimit_cpu_wake_locked(struct lg_task *t);
/* A soft limit of t's process (RLIM_INFINITY: none). */
uint64_t lg_rlimit(const struct lg_task *t, unsigned res);
unsigned lg_rlimit_nofile(const struct lg_task *t);
/* RLIMIT_FSIZE for a write of a regular file at off (-1: the file
 * position, or its end with O_APPEND): how many bytes may go (*max), or
 * -EFBIG with SIGXFSZ queued, as Linux's generic_write_check_limits. */
struct lg_file;
long lg_rlimit_fsize(struct lg_task *t, const struct lg_file *f, int64_t off, uint64_t *max);
/* A file growing to size (ftruncate, fallocate): 0 or -EFBIG + SIGXFSZ. */
long lg_rlimit_fsize_to(struct lg_task *t, uint64_t size);
/* RLIMIT_NPROC before a new task of t's uid: 0 or -EAGAIN (uid 0 is
 * exempt, as Linux's INIT_USER).  lg->lock held. */
int lg_rlimit_nproc_locked(struct lg_task *t);
/* RLIMIT_AS and RLIMIT_DATA before the address space grows by len bytes
 * of a mapping with prot/flags (LG_VMA_*), [start, start+len) replacing
 * what is there: 0 or -ENOMEM (Linux's may_expand_vm).  mm->lock held. */
int lg_rlimit_may_expand(struct lg_task *t, uint64_t start, uint64_t len, uint32_t prot,
			 uint32_t flags);
/* RLIMIT_DATA before mprotect makes private pages of [start, start+len)
 * writable (they become data): 0 or -ENOMEM (mprotect_fixup). */
int lg_rlimit_may_protect(struct lg_task *t, uint64_t start, uint64_t len, uint32_t prot);
/* The main stack's growth limit for exec from RLIMIT_STACK. */
uint64_t lg_rlimit_stack_size(uint64_t rlim);

/* ---- oom.c: out of guest memory -------------------------------------------- */
/* No frame for a fault of a process using mm: kill the largest process
 * with SIGKILL (once; it frees its frames as it dies) and log it.  True
 * when the caller should wait a moment and retry (another process is
 * dying), false when its own process is the victim (fail the access). */
bool lg_oom(struct lg *lg, struct lg_mm *mm);
/* The same from a task: waits out another victim's death itself. */
bool lg_oom_task(struct lg_task *t);

/* ---- sys-futex.c ---------------------------------------------------------- */
long lg_futex_wake(struct lg *lg, struct lg_mm *mm, uint64_t uaddr, int n, uint32_t bitset);

/* ---- signal.c ------------------------------------------------------------ */
/* Before returning to the program: deliver the first deliverable signal
 * (run its handler, or apply the default action).  May end the task. */
void lg_signal_deliver(struct lg_task *t);
long lg_signal_sigreturn(struct lg_task *t);
bool lg_sig_is_fatal_default(int sig);
/* A hardware exception in ring 3 becomes this signal (SIGSEGV...). */
void lg_signal_from_exception(struct lg_task *t, unsigned vector, uint64_t err, uint64_t cr2);

/* ---- syscall.c ----------------------------------------------------------- */
/* Serve the syscall in t->uctx (rax = number).  Sets rax, or rewrites the
 * whole context (execve, rt_sigreturn) and sets uctx->noreturn. */
void lg_syscall(struct lg_task *t);

/* Restart codes, as Linux's (kernel-internal, never seen by the program). */
#define LG_ERESTARTSYS 512
#define LG_ERESTARTNOINTR 513
#define LG_ERESTARTNOHAND 514

#endif
