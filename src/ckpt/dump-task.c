/* Per-process state: the task record (tree position, umask, personality,
 * cwd, root, prctl bits), credentials, mm fields, signal handlers, timers,
 * rlimits.  Whatever has no outside getter is read by injected syscalls,
 * in one batch (batch.h), into a scratch page mapped for the purpose and
 * unmapped after. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/batch.h"
#include "ckpt/internal.h"

int ck_dsys(struct ck_dtask *t, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
	    uint64_t a3, int64_t *ret, struct cell_err **err)
{
	return ck_sys(&t->threads[0].thr, name, nr, a0, a1, a2, a3, 0, 0, ret, err);
}

/* Everything a process can tell only about itself, asked in one batch of
 * injected syscalls (batch.h). */
struct probe {
	int32_t pdeathsig, subreaper;
	int64_t dumpable, thp, securebits, brk;
	uint64_t sa[CK_NSIG + 1][4]; /* the kernel's: handler, flags, restorer, mask */
	uint64_t rl[CK_NRLIMIT][2];
	uint64_t it[3][4]; /* interval sec, usec, value sec, usec */
};

static int probe(struct ck_dtask *t, struct probe *p, struct cell_err **err)
{
	struct ck_batch *b = xmalloc(sizeof(*b));
	ck_batch_init(b, t->scratch);
	uint64_t a_pd = ck_batch_data(b, 4), a_sr = ck_batch_data(b, 4);
	uint64_t a_sa = ck_batch_data(b, sizeof(p->sa)), a_rl = ck_batch_data(b, sizeof(p->rl));
	uint64_t a_it = ck_batch_data(b, sizeof(p->it));
	ck_batch_add(b, "prctl(PR_GET_PDEATHSIG)", SYS_prctl, PR_GET_PDEATHSIG, a_pd, 0, 0, 0, 0);
	ck_batch_add(b, "prctl(PR_GET_CHILD_SUBREAPER)", SYS_prctl, PR_GET_CHILD_SUBREAPER, a_sr, 0,
		     0, 0, 0);
	size_t i_dump = ck_batch_add(b, "prctl", SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
	size_t i_thp = ck_batch_add(b, "prctl", SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0, 0);
	size_t i_sb = ck_batch_add(b, "prctl", SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
	size_t i_brk = ck_batch_add(b, "brk", SYS_brk, 0, 0, 0, 0, 0, 0);
	for (int sig = 1; sig <= CK_NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			ck_batch_add(b, "rt_sigaction", SYS_rt_sigaction, (uint64_t)sig, 0,
				     a_sa + (uint64_t)sig * 32, 8, 0, 0);
	/* Asked by the process itself: from outside, prlimit on a task of
	 * another uid needs CAP_SYS_RESOURCE. */
	for (uint32_t res = 0; res < RLIM_NLIMITS && res < CK_NRLIMIT; res++)
		ck_batch_add(b, "prlimit64", SYS_prlimit64, 0, res, 0, a_rl + res * 16, 0, 0);
	for (uint32_t w = 0; w < 3; w++)
		ck_batch_add(b, "getitimer", SYS_getitimer, w, a_it + w * 32, 0, 0, 0, 0);
	uint8_t *out = xmalloc(b->data);
	int r = ck_batch_run(b, &t->threads[0].thr, t->pid, out, b->data, err);
	if (r == 0)
		r = ck_batch_check(b, t->pid, err);
	if (r == 0) {
		memcpy(&p->pdeathsig, out + (a_pd - a_pd), 4);
		memcpy(&p->subreaper, out + (a_sr - a_pd), 4);
		memcpy(p->sa, out + (a_sa - a_pd), sizeof(p->sa));
		memcpy(p->rl, out + (a_rl - a_pd), sizeof(p->rl));
		memcpy(p->it, out + (a_it - a_pd), sizeof(p->it));
		p->dumpable = ck_batch_ret(b, i_dump);
		p->thp = ck_batch_ret(b, i_thp);
		p->securebits = ck_batch_ret(b, i_sb);
		p->brk = ck_batch_ret(b, i_brk);
	}
	free(out);
	free(b);
	return r;
}

static int dump_task_record(struct ck_dump *d, struct ck_dtask *t, struct ck_pstatus *st,
			    const struct probe *pr, struct cell_err **err)
{
	struct ck_pstat ps;
	int r = ck_proc_stat(d->procfd, t->pid, &ps, err);
	if (r < 0)
		return r;
	struct ck_task k = {
		.pid = t->vpid, .ppid = t->parent == (size_t)-1 ? 0 : d->tasks[t->parent].vpid,
		.pgid = (uint32_t)st->ns_pgid, .sid = (uint32_t)st->ns_sid,
		.nthreads = (uint32_t)t->nthreads, .exit_signal = ps.exit_signal,
		.umask = st->umask, .pdeathsig = pr->pdeathsig, .dumpable = (int32_t)pr->dumpable,
		.thp_disabled = (uint32_t)pr->thp,
	};
	if (st->no_new_privs)
		k.flags |= CK_TASK_NO_NEW_PRIVS;
	if (pr->subreaper)
		k.flags |= CK_TASK_SUBREAPER;
	_cleanup_free_ char *comm = NULL, *pers = NULL, *cwd = NULL, *root = NULL;
	r = ck_proc_read(d->procfd, t->pid, "comm", &comm, NULL, err);
	if (r == 0)
		r = ck_proc_read(d->procfd, t->pid, "personality", &pers, NULL, err);
	if (r == 0)
		r = ck_proc_readlink(d->procfd, t->pid, "cwd", &cwd, err);
	if (r == 0)
		r = ck_proc_readlink(d->procfd, t->pid, "root", &root, err);
	if (r < 0)
		return r;
	comm[strcspn(comm, "\n")] = '\0';
	k.comm = comm;
	k.personality = (uint32_t)strtoul(pers, NULL, 16);
	k.cwd = cwd;
	k.root = root;
	/* proc(5): tty_nr is new_encode_dev()'s; tpgid a pid as we see it. */
	if (ps.tty_nr) {
		unsigned maj = (ps.tty_nr >> 8) & 0xfff, min = (ps.tty_nr & 0xff) |
							  ((ps.tty_nr >> 12) & 0xfff00);
		k.ctty = makedev(maj, min);
	}
	for (size_t i = 0; ps.tpgid > 0 && i < d->ntasks; i++)
		if (d->tasks[i].pid == ps.tpgid)
			k.tpgid = d->tasks[i].vpid;
	if (cell_str_has_suffix(cwd, " (deleted)"))
		return cell_err(err, ENOENT, "process %d: its cwd %s was removed", t->pid, cwd);
	return img_write(d->core, &ck_task_schema, &k, err);
}

/* /proc/PID/status gives ids as we (the initial user namespace) see them;
 * the restore sets them from inside the tree's user namespace.  uid_map
 * lines are "inside outside count" (user_namespaces(7)), outside ours. */
static int to_tree_ids(struct ck_dump *d, struct ck_dtask *t, const char *map, uint32_t *ids,
		       size_t n, struct cell_err **err)
{
	_cleanup_free_ char *text = NULL;
	int r = ck_proc_read(d->procfd, t->pid, map, &text, NULL, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		unsigned long long in, out, count;
		bool mapped = false;
		for (const char *line = text; line && *line && !mapped; line = strchr(line, '\n')) {
			line += *line == '\n';
			if (sscanf(line, "%llu %llu %llu", &in, &out, &count) == 3 && ids[i] >= out &&
			    ids[i] - out < count) {
				ids[i] = (uint32_t)(ids[i] - out + in);
				mapped = true;
			}
		}
		if (!mapped)
			return cell_err(err, EOVERFLOW, "process %d: id %u has no mapping in %s", t->pid,
					ids[i], map);
	}
	return 0;
}

static int dump_creds(struct ck_dump *d, struct ck_dtask *t, struct ck_pstatus *st,
		      const struct probe *pr, struct cell_err **err)
{
	int r = to_tree_ids(d, t, "uid_map", st->uid, 4, err);
	if (r == 0)
		r = to_tree_ids(d, t, "gid_map", st->gid, 4, err);
	if (r == 0)
		r = to_tree_ids(d, t, "gid_map", st->groups, st->ngroups, err);
	if (r < 0)
		return r;
	struct ck_creds c = {
		.pid = t->vpid, .uid = st->uid[0], .euid = st->uid[1], .suid = st->uid[2],
		.fsuid = st->uid[3], .gid = st->gid[0], .egid = st->gid[1], .sgid = st->gid[2],
		.fsgid = st->gid[3], .groups = st->groups, .ngroups = st->ngroups,
		.cap_inh = st->cap_inh, .cap_prm = st->cap_prm, .cap_eff = st->cap_eff,
		.cap_bnd = st->cap_bnd, .cap_amb = st->cap_amb,
		.securebits = (uint32_t)pr->securebits,
	};
	return img_write(d->core, &ck_creds_schema, &c, err);
}

static int dump_mm_fields(struct ck_dump *d, struct ck_dtask *t, const struct probe *pr,
			  struct cell_err **err)
{
	struct ck_pstat ps;
	int r = ck_proc_stat(d->procfd, t->pid, &ps, err);
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
		.brk = (uint64_t)pr->brk, .start_stack = ps.start_stack, .arg_start = ps.arg_start,
		.arg_end = ps.arg_end, .env_start = ps.env_start, .env_end = ps.env_end,
		.auxv = (uint64_t *)auxv, .nauxv = alen / 8, .exe = exe,
	};
	if (mm.nauxv > 128)
		return cell_err(err, E2BIG, "process %d: auxv of %zu words", t->pid, mm.nauxv);
	return img_write(d->core, &ck_mm_schema, &mm, err);
}

static int dump_sigactions(struct ck_dump *d, struct ck_dtask *t, const struct probe *pr,
			   struct cell_err **err)
{
	for (int sig = 1; sig <= CK_NSIG; sig++) {
		const uint64_t *sa = pr->sa[sig];
		if (sig == SIGKILL || sig == SIGSTOP ||
		    (sa[0] == (uint64_t)(uintptr_t)SIG_DFL && sa[1] == 0 && sa[3] == 0))
			continue;
		struct ck_sigaction a = { .pid = t->vpid, .sig = (uint32_t)sig, .handler = sa[0],
					  .flags = sa[1], .restorer = sa[2], .mask = sa[3] };
		int r = img_write(d->core, &ck_sigaction_schema, &a, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int dump_limits(struct ck_dump *d, struct ck_dtask *t, const struct probe *pr,
		       struct cell_err **err)
{
	for (uint32_t res = 0; res < RLIM_NLIMITS && res < CK_NRLIMIT; res++) {
		struct ck_rlimit l = { .pid = t->vpid, .resource = res, .cur = pr->rl[res][0],
				       .max = pr->rl[res][1] };
		int r = img_write(d->core, &ck_rlimit_schema, &l, err);
		if (r < 0)
			return r;
	}
	for (uint32_t which = 0; which < 3; which++) {
		const uint64_t *it = pr->it[which];
		if (!it[0] && !it[1] && !it[2] && !it[3])
			continue;
		struct ck_itimer i = { .pid = t->vpid, .which = which, .interval_sec = it[0],
				       .interval_usec = it[1], .value_sec = it[2],
				       .value_usec = it[3] };
		int r = img_write(d->core, &ck_itimer_schema, &i, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The scratch page for injected syscalls: the batch loop at its start. */
static int map_scratch(struct ck_dtask *t, struct cell_err **err)
{
	int64_t scratch;
	int r = ck_dsys(t, "mmap", SYS_mmap, 0, CK_BATCH_SCRATCH,
			PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, &scratch, err);
	if (r == 0)
		r = ck_mem_write(t->pid, (uint64_t)scratch, ck_batch_code, sizeof(ck_batch_code), err);
	if (r == 0)
		t->scratch = (uint64_t)scratch;
	return r;
}

static int dump_state(struct ck_dump *d, struct ck_dtask *t, struct ck_pstatus *st,
		      struct cell_err **err)
{
	struct probe *pr = xcalloc(1, sizeof(*pr));
	int r = probe(t, pr, err);
	if (r == 0)
		r = dump_task_record(d, t, st, pr, err);
	if (r == 0)
		r = dump_creds(d, t, st, pr, err);
	if (r == 0)
		r = dump_mm_fields(d, t, pr, err);
	if (r == 0)
		r = dump_sigactions(d, t, pr, err);
	if (r == 0)
		r = dump_limits(d, t, pr, err);
	free(pr);
	return r;
}

int ck_dump_task(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	char path[32];
	snprintf(path, sizeof(path), "%d", t->pid);
	struct ck_pstatus st;
	int r = ck_proc_status(d->procfd, path, &st, err);
	if (r < 0)
		return r;
	r = map_scratch(t, err);
	if (r == 0)
		r = dump_state(d, t, &st, err);
	ck_pstatus_free(&st);
	if (r == 0)
		r = ck_dump_posix_timers(d, t, err);
	if (r == 0)
		r = ck_dump_threads(d, t, err);
	if (t->scratch) {
		int u = ck_dsys(t, "munmap", SYS_munmap, t->scratch, CK_BATCH_SCRATCH, 0, 0, NULL,
				r < 0 ? NULL : err);
		t->scratch = 0;
		if (r == 0)
			r = u;
	}
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
