/* A light-guest VM from start to end: the VM and its sys area, the first
 * process (guest pid 1), waiting for it, and the report. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "vm/arch/x86/boot64.h"
#include "vm/arch/x86/cpuid.h"
#include "vm/arch/x86/layout.h"
#include "vm/guest/exec.h"
#include "vm/guest/path.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int open_dev(const char *path, int flags, struct cell_err **err)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "open %s", path);
	return fd;
}

static int lg_init(struct lg *lg, const struct vm_guest_config *cfg, struct cell_err **err)
{
	lg->cfg = *cfg;
	lg->root_fd = lg->null_fd = lg->zero_fd = lg->urandom_fd = -1;
	pthread_mutex_init(&lg->lock, NULL);
	pthread_mutex_init(&lg->futex_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lg->cond, &ca);
	pthread_condattr_destroy(&ca);
	lg->workers = xcalloc(LG_MAX_VCPUS, sizeof(*lg->workers));
	lg->next_pid = 1;
	lg->start_ns = cell_now_ns();

	uint64_t mem = cfg->mem_size ? cfg->mem_size : VM_DEFAULT_MEM;
	if (mem < LG_RAM_MIN || mem > LG_RAM_MAX)
		return cell_err(err, 0, "memory size %llu bytes: must be between %llu MiB and %llu GiB",
				(unsigned long long)mem, LG_RAM_MIN >> 20, LG_RAM_MAX >> 30);
	mem = (mem + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	int r = kvm_vm_create(&lg->kvm, err);
	if (r < 0 || (r = kvm_vm_alloc_ram(lg->kvm, mem, false, err)) < 0)
		return r;
	if (cfg->hugepages)
		madvise(lg->kvm->ram, mem, MADV_HUGEPAGE);
	if ((r = kvm_vm_set_slot(lg->kvm, LG_SLOT_RAM, 0, lg->kvm->ram, mem, err)) < 0)
		return r;
	lg_sys_build(lg->kvm->ram);
	if ((r = lg_frames_init(lg, err)) < 0)
		return r;
	lg_sites_init(lg);
	lg_cpus_init(&lg->cpus, cfg->vcpus ? cfg->vcpus : 1);
	lg->osxsave = x86_cpuid_has_xsave(lg->kvm);

	lg->root_fd = open(cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (lg->root_fd < 0)
		return cell_err_sys(err, "root file system %s", cfg->rootfs);
	/* The sandbox's root is reached through a /proc/self/fd path that
	 * realpath() cannot name from the old root; the monitor sets the path
	 * once it has pivoted (lg_set_root_host).  root_fd is what counts. */
	char real[PATH_MAX];
	lg->root_host = xstrdup(realpath(cfg->rootfs, real) ? real : cfg->rootfs);
	if ((lg->null_fd = open_dev("/dev/null", O_RDWR, err)) < 0 ||
	    (lg->zero_fd = open_dev("/dev/zero", O_RDWR, err)) < 0 ||
	    (lg->urandom_fd = open_dev("/dev/urandom", O_RDONLY, err)) < 0)
		return -EIO;
	vcpu_kick_setup();
	return 0;
}

/* The program's stdio: pipes and terminals are reopened so that their host
 * fds can be non-blocking without touching the caller's open file. */
static struct lg_file *stdio_file(struct lg *lg, int fd)
{
	if (fd < 0)
		return lg_file_new(fcntl(lg->null_fd, F_DUPFD_CLOEXEC, 0), LG_FILE_POLL, O_RDWR, NULL);
	int fl = fcntl(fd, F_GETFL);
	uint32_t gflags = fl < 0 ? O_RDWR : (uint32_t)(fl & (O_ACCMODE | O_APPEND));
	enum lg_file_kind kind = lg_file_kind_of(fd);
	if (kind == LG_FILE_POLL) {
		char p[32];
		lg_fd_path(fd, p);
		int nfd = open(p, (int)(gflags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (nfd >= 0)
			return lg_file_new(nfd, LG_FILE_POLL, gflags, NULL);
		kind = LG_FILE_OTHER; /* blocking I/O then */
	}
	return lg_file_new(fcntl(fd, F_DUPFD_CLOEXEC, 0), kind, gflags, NULL);
}

static void init_files(struct lg *lg, struct lg_files *files)
{
	struct lg_file *f[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < i; j++)
			if (lg->cfg.stdio[i] >= 0 && lg->cfg.stdio[i] == lg->cfg.stdio[j])
				f[i] = lg_file_get(f[j]);
		if (!f[i])
			f[i] = stdio_file(lg, lg->cfg.stdio[i]);
		lg_fd_install_at(files, f[i], i, false);
	}
	for (int i = 0; i < 3; i++)
		lg_file_put(f[i]);
}

static const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

/* argv[0] as execvp would find it, in the guest's root. */
static int find_program(struct lg_task *t, const char *name, char *out, struct cell_err **err)
{
	if (strchr(name, '/')) {
		snprintf(out, LG_PATH_MAX, "%s", name);
		return 0;
	}
	const char *path = env_get(t->lg->cfg.env, "PATH");
	_cleanup_free_ char *dirs = xstrdup(path ? path : DEFAULT_PATH);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, LG_PATH_MAX, "%s/%s", d, name);
		int fd;
		if (lg_path_open(t, AT_FDCWD, out, O_PATH, 0, 0, &fd) == 0) {
			struct stat st;
			bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
			close(fd);
			if (ok)
				return 0;
		}
	}
	return cell_err(err, ENOENT, "%s: not found in PATH of the root file system", name);
}

static void *prestart_main(void *arg)
{
	_cleanup_err_ struct cell_err *err = NULL;
	if (lg_worker_prestart(arg, &err) < 0)
		cell_debug("light guest: vCPU ahead of the program: %s", err->msg);
	return NULL;
}

static int make_init(struct lg *lg, struct cell_err **err)
{
	struct lg_proc *p = xcalloc(1, sizeof(*p));
	struct lg_task *t = lg_task_alloc(lg);
	p->pid = lg_pid_alloc(lg, p);
	p->pgid = p->sid = p->pid;
	p->exit_signal = SIGCHLD;
	p->start_ns = cell_now_ns();
	p->uid = lg->cfg.uid;
	p->gid = lg->cfg.gid;
	lg_rlimits_init(lg, p->rlim);
	p->sighand = xcalloc(1, sizeof(*p->sighand));
	p->sighand->refs = 1;
	p->threads = t;
	p->nthreads = 1;
	t->proc = p;
	t->tid = p->pid;
	lg->init = p;
	t->fs = xcalloc(1, sizeof(*t->fs));
	t->fs->refs = 1;
	t->fs->cwd = xstrdup(lg->cfg.cwd ? lg->cfg.cwd : "/");
	t->fs->umask = 022;
	t->files = lg_files_new();
	init_files(lg, t->files);
	if (lg->cfg.cwd) {
		int fd;
		int r = lg_path_open(t, AT_FDCWD, lg->cfg.cwd, O_PATH | O_DIRECTORY, 0, 0, &fd);
		if (r < 0)
			return cell_err(err, -r, "working directory %s", lg->cfg.cwd);
		close(fd);
	}
	char path[LG_PATH_MAX];
	struct lg_image img;
	/* The first vCPU (KVM_CREATE_VCPU, its thread) is made on a second
	 * core while this one loads the program: ~0.4 ms each here.  Both run
	 * sandboxed already (monitor.c), and nothing runs guest code before
	 * lg_task_start() below.  If it fails, lg_task_start() tries again. */
	pthread_t pre;
	bool pre_on = pthread_create(&pre, NULL, prestart_main, lg) == 0;
	int r = find_program(t, lg->cfg.argv[0], path, err);
	if (r == 0)
		r = lg_exec_prepare(t, path, lg->cfg.argv, lg->cfg.env, &img, err);
	if (pre_on)
		pthread_join(pre, NULL);
	if (r < 0)
		return r;
	t->mm = img.mm;
	t->start_regs.rip = img.entry;
	t->start_regs.rsp = img.sp;
	t->start_regs.rflags = 0x202;
	memcpy(p->comm, img.comm, sizeof(p->comm));
	p->exe = img.exe;
	if (lg->cpu_watch && lg_timer_start(lg) < 0)
		return cell_err(err, EAGAIN, "light guest: starting the RLIMIT_CPU timer thread");
	return lg_task_start(lg, t, err);
}

static void lg_free(struct lg *lg)
{
	if (lg->timer_running)
		lg_timer_stop(lg);
	lg_workers_stop(lg);
	for (int pid = 1; pid < lg->maxpid; pid++) {
		struct lg_proc *p = lg->procs[pid];
		if (!p || p->pid != pid)
			continue;
		for (struct lg_task *t = p->threads, *n; t; t = n) { /* never started */
			n = t->next_thread;
			lg_task_free(t);
		}
		if (p->sighand && --p->sighand->refs == 0)
			free(p->sighand);
		free(p->exe);
		free(p);
	}
	free(lg->procs);
	free(lg->workers);
	if (lg->sites.frame_bits)
		lg_sites_fini(lg);
	lg_frames_fini(lg);
	for (int *fd = &lg->root_fd; fd <= &lg->urandom_fd; fd++)
		if (*fd >= 0)
			close(*fd);
	free(lg->root_host);
	kvm_vm_free(lg->kvm);
	pthread_mutex_destroy(&lg->lock);
	pthread_mutex_destroy(&lg->futex_lock);
	pthread_cond_destroy(&lg->cond);
	free(lg);
}

int lg_create(const struct vm_guest_config *cfg, const struct lg_hooks *hooks, struct lg **ret,
	      struct cell_err **err)
{
	if (!cfg->rootfs || !cfg->argv || !cfg->argv[0])
		return cell_err(err, EINVAL, "light guest: a root file system and a program are needed");
	struct lg *lg = xcalloc(1, sizeof(*lg));
	if (hooks)
		lg->cfg_hooks = *hooks;
	int r = lg_init(lg, cfg, err);
	if (r < 0) {
		lg_free(lg);
		return r;
	}
	*ret = lg;
	return 0;
}

int lg_start(struct lg *lg, struct cell_err **err)
{
	pthread_mutex_lock(&lg->lock);
	pthread_mutex_unlock(&lg->lock);
	int r = make_init(lg, err);
	if (r < 0) {
		/* Nothing ran: make lg_wait() return at once. */
		pthread_mutex_lock(&lg->lock);
		lg->done = true;
		pthread_mutex_unlock(&lg->lock);
	}
	return r;
}

void lg_wait(struct lg *lg, struct vm_result *ret)
{
	pthread_mutex_lock(&lg->lock);
	while (!(lg->done && lg->nrunning == 0))
		pthread_cond_wait(&lg->cond, &lg->lock);
	*ret = lg->result;
	if (lg->fatal) {
		ret->vm_failed = true;
		snprintf(ret->report, sizeof(ret->report), "%s", lg->fatal_msg);
	}
	pthread_mutex_unlock(&lg->lock);
}

void lg_signal_init(struct lg *lg, int sig)
{
	struct lg_siginfo si = { .signo = sig, .code = 0 /* SI_USER */ };
	/* What a terminal sends goes to the whole foreground process group,
	 * as the tty driver would: the program and the children it waits for. */
	bool tty = sig == SIGINT || sig == SIGQUIT || sig == SIGHUP || sig == SIGWINCH;
	pthread_mutex_lock(&lg->lock);
	struct lg_proc *init = lg->init;
	if (init && init->state == LG_PROC_ALIVE) {
		lg_signal_proc_locked(init, &si);
		for (int pid = 1; tty && pid < lg->maxpid; pid++) {
			struct lg_proc *p = lg->procs[pid];
			if (p && p != init && p->pid == pid && p->pgid == init->pgid &&
			    p->state == LG_PROC_ALIVE)
				lg_signal_proc_locked(p, &si);
		}
	}
	pthread_mutex_unlock(&lg->lock);
}

void lg_set_root_host(struct lg *lg, const char *path)
{
	free(lg->root_host);
	lg->root_host = xstrdup(path);
}

void lg_destroy(struct lg *lg)
{
	if (lg)
		lg_free(lg);
}

int vm_guest_run(const struct vm_guest_config *cfg, struct vm_result *ret, struct cell_err **err)
{
	struct lg *lg = NULL; /* gcc -O3 cannot see lg_create() sets it on success */
	int r = lg_create(cfg, NULL, &lg, err);
	if (r < 0)
		return r;
	if ((r = lg_start(lg, err)) == 0)
		lg_wait(lg, ret);
	lg_destroy(lg);
	return r;
}
