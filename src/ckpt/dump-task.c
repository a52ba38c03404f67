/* Per-process state: the task record (tree position, umask, personality,
 * cwd, root, prctl bits), credentials, mm fields, signal handlers, timers,
 * rlimits.  Whatever has no outside getter is read by injected syscalls
 * into a scratch page mapped for the purpose and unmapped after. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

int ck_dsys(struct ck_dtask *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	    uint64_t a3, int64_t *ret, struct cell_err **err)
{
	return ck_sys(&t->threads[0].thr, name, nr, a0, a1, a2, a3, 0, 0, ret, err);
}

static int prctl_int(struct ck_dtask *t, int op, int32_t *ret, struct cell_err **err)
{
	int r = ck_dsys(t, "prctl", SYS_prctl, (uint64_t)op, t->scratch, 0, 0, NULL, err);
	if (r == 0)
		r = ck_mem_read(t->pid, t->scratch, ret, sizeof(*ret), err);
	return r;
}

static int dump_task_record(struct ck_dump *d, struct ck_dtask *t, struct ck_pstatus *st,
			    struct cell_err **err)
{
	struct ck_pstat ps;
	int r = ck_proc_stat(d->procfd, t->pid, &ps, err);
	if (r < 0)
		return r;
	struct ck_task k = {
		.pid = t->vpid, .ppid = t->parent == (size_t)-1 ? 0 : d->tasks[t->parent].vpid,
		.pgid = (uint32_t)st->ns_pgid, .sid = (uint32_t)st->ns_sid,
		.nthreads = (uint32_t)t->nthreads, .exit_signal = ps.exit_signal,
		.umask = st->umask,
	};
	if (st->no_new_privs)
		k.flags |= CK_TASK_NO_NEW_PRIVS;
	_cleanup_free_ char *comm = NULL, *pers = NULL, *cwd = NULL, *root = NULL;
	r = ck_proc_read(d->procfd, t->pid, "comm", &comm, NULL, err);
	if (r == 0)
		r = ck_proc_read(d->procfd, t->pid, "personality", &pers, NULL, err);
	if (r == 0)
		r = ck_proc_readlink(d->procfd, t->pid, "cwd", &cwd, err);
	if (r == 0)
		r = ck_proc_readlink(d->procfd, t->pid, "root", &root, err);
	int32_t v = 0;
	if (r == 0)
		r = prctl_int(t, PR_GET_PDEATHSIG, &k.pdeathsig, err);
	if (r == 0)
		r = prctl_int(t, PR_GET_CHILD_SUBREAPER, &v, err);
	int64_t dumpable = 0, thp = 0;
	if (r == 0)
		r = ck_dsys(t, "prctl", SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, &dumpable, err);
	if (r == 0)
		r = ck_dsys(t, "prctl", SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, &thp, err);
	if (r < 0)
		return r;
	if (v)
		k.flags |= CK_TASK_SUBREAPER;
	k.dumpable = (int32_t)dumpable;
	k.thp_disabled = (uint32_t)thp;
	comm[strcspn(comm, "\n")] = '\0';
	k.comm = comm;
	k.personality = (uint32_t)strtoul(pers, NULL, 16);
	k.cwd = cwd;
	k.root = root;
	if (cell_str_has_suffix(cwd, " (deleted)"))
		return cell_err(err, ENOENT, "process %d: its cwd %s was removed", t->pid, cwd);
	return img_write(d->core, &ck_task_schema, &k, err);
}

static int dump_creds(struct ck_dump *d, struct ck_dtask *t, struct ck_pstatus *st,
		      struct cell_err **err)
{
	int64_t sb = 0;
	int r = ck_dsys(t, "prctl", SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, &sb, err);
	if (r < 0)
		return r;
	struct ck_creds c = {
		.pid = t->vpid, .uid = st->uid[0], .euid = st->uid[1], .suid = st->uid[2],
		.fsuid = st->uid[3], .gid = st->gid[0], .egid = st->gid[1], .sgid = st->gid[2],
		.fsgid = st->gid[3], .groups = st->groups, .ngroups = st->ngroups,
		.cap_inh = st->cap_inh, .cap_prm = st->cap_prm, .cap_eff = st->cap_eff,
		.cap_bnd = st->cap_bnd, .cap_amb = st->cap_amb, .securebits = (uint32_t)sb,
	};
	return img_write(d->core, &ck_creds_schema, &c, err);
}

static int dump_mm_fields(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	struct ck_pstat ps;
	int r = ck_proc_stat(d->procfd, t->pid, &ps, err);
	if (r < 0)
		return r;
	int64_t brk;
	r = ck_dsys(t, "brk", SYS_brk, 0, 0, 0, 0, &brk, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *auxv = NULL, *exe = NULL;
	size_t alen;
	r = ck_proc_read(d->procfd, t->pid, "auxv", &auxv, &alen, err);
	if (r == 0)
		r = ck_proc_readlink(d->procfd, t->pid, "exe", &exe, err);
	if (r < 0)
		return r;
	struct ck_mm mm = {
		.pid = t->vpid, .start_code = ps.start_code, .end_code = ps.end_code,
		.start_data = ps.start_data, .end_data = ps.end_data, .start_brk = ps.start_brk,
		.brk = (uint64_t)brk, .start_stack = ps.start_stack, .arg_start = ps.arg_start,
		.arg_end = ps.arg_end, .env_start = ps.env_start, .env_end = ps.env_end,
		.auxv = (uint64_t *)auxv, .nauxv = alen / 8, .exe = exe,
	};
	if (mm.nauxv > 128)
		return cell_err(err, E2BIG, "process %d: auxv of %zu words", t->pid, mm.nauxv);
	return img_write(d->core, &ck_mm_schema, &mm, err);
}

static int dump_sigactions(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	for (int sig = 1; sig <= CK_NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		uint64_t sa[4]; /* the kernel's: handler, flags, restorer, mask */
		int r = ck_dsys(t, "rt_sigaction", SYS_rt_sigaction, (uint64_t)sig, 0, t->scratch, 8,
				NULL, err);
		if (r == 0)
			r = ck_mem_read(t->pid, t->scratch, sa, sizeof(sa), err);
		if (r < 0)
			return r;
		if (sa[0] == (uint64_t)(uintptr_t)SIG_DFL && sa[1] == 0 && sa[3] == 0)
			continue;
		struct ck_sigaction a = { .pid = t->vpid, .sig = (uint32_t)sig, .handler = sa[0],
					  .flags = sa[1], .restorer = sa[2], .mask = sa[3] };
		r = img_write(d->core, &ck_sigaction_schema, &a, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int dump_limits(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	/* Asked by the process itself: from outside, prlimit on a task of
	 * another uid needs CAP_SYS_RESOURCE. */
	for (uint32_t res = 0; res < RLIM_NLIMITS && res < CK_NRLIMIT; res++) {
		uint64_t rl[2];
		int r = ck_dsys(t, "prlimit64", SYS_prlimit64, 0, res, 0, t->scratch, NULL, err);
		if (r == 0)
			r = ck_mem_read(t->pid, t->scratch, rl, sizeof(rl), err);
		if (r < 0)
			return r;
		struct ck_rlimit l = { .pid = t->vpid, .resource = res, .cur = rl[0], .max = rl[1] };
		r = img_write(d->core, &ck_rlimit_schema, &l, err);
		if (r < 0)
			return r;
	}
	for (uint32_t which = 0; which < 3; which++) {
		uint64_t it[4]; /* interval sec, usec, value sec, usec */
		int r = ck_dsys(t, "getitimer", SYS_getitimer, which, t->scratch, 0, 0, NULL, err);
		if (r == 0)
			r = ck_mem_read(t->pid, t->scratch, it, sizeof(it), err);
		if (r < 0)
			return r;
		if (!it[0] && !it[1] && !it[2] && !it[3])
			continue;
		struct ck_itimer i = { .pid = t->vpid, .which = which, .interval_sec = it[0],
				       .interval_usec = it[1], .value_sec = it[2],
				       .value_usec = it[3] };
		r = img_write(d->core, &ck_itimer_schema, &i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int ck_dump_task(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	char path[32];
	snprintf(path, sizeof(path), "%d", t->pid);
	struct ck_pstatus st;
	int r = ck_proc_status(d->procfd, path, &st, err);
	if (r < 0)
		return r;
	if (st.seccomp != 0) {
		ck_pstatus_free(&st);
		return cell_err(err, EOPNOTSUPP, "process %d has a seccomp filter: not supported yet",
				t->pid);
	}
	int64_t scratch;
	r = ck_dsys(t, "mmap", SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, &scratch, err);
	if (r < 0) {
		ck_pstatus_free(&st);
		return r;
	}
	t->scratch = (uint64_t)scratch;
	r = dump_task_record(d, t, &st, err);
	if (r == 0)
		r = dump_creds(d, t, &st, err);
	ck_pstatus_free(&st);
	if (r == 0)
		r = dump_mm_fields(d, t, err);
	if (r == 0)
		r = dump_sigactions(d, t, err);
	if (r == 0)
		r = dump_limits(d, t, err);
	if (r == 0)
		r = ck_dump_posix_timers(d, t, err);
	if (r == 0)
		r = ck_dump_threads(d, t, err);
	int u = ck_dsys(t, "munmap", SYS_munmap, t->scratch, 4096, 0, 0, NULL, r < 0 ? NULL : err);
	t->scratch = 0;
	if (r == 0)
		r = u;
	ck_logf(&d->log, "process %d: state dumped", t->pid);
	if (r == 0)
		r = ck_tracker_adopt(d, t, err);
	if (r == 0)
		r = ck_dump_mm(d, t, err);
	ck_logf(&d->log, "process %d: memory dumped", t->pid);
	if (r == 0)
		r = ck_dump_fds(d, t, err);
	if (r == 0)
		r = ck_tracker_drop(d, t, err);
	return r < 0 ? cell_err_wrap(err, "process %d (pid %u in the tree)", t->pid, t->vpid) : 0;
}
