/* Per-process state after the memory: signal handlers, timers, limits,
 * umask, personality, cwd and root, a few prctl bits. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/internal.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#define PR_TIMER_CREATE_RESTORE_IDS_OFF 0
#define PR_TIMER_CREATE_RESTORE_IDS_ON 1
#endif

static int set_sigactions(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (int sig = 1; sig <= CK_NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		const struct ck_sigaction *a = &t->p->sigactions[sig - 1];
		uint64_t sa[4] = { (uint64_t)(uintptr_t)SIG_IGN, 0, 0, 0 }, addr;
		/* Ignoring first drops whatever the caller's pid 1 had pending. */
		int k = ck_scratch_put(r, t, 0, sa, sizeof(sa), &addr, err);
		if (k == 0)
			k = ck_rsys(t, "rt_sigaction", SYS_rt_sigaction, (uint64_t)sig, addr, 0, 8, 0,
				    0, NULL, err);
		if (t->p->have_sigaction[sig - 1]) {
			uint64_t v[4] = { a->handler, a->flags, a->restorer, a->mask };
			memcpy(sa, v, sizeof(sa));
		} else {
			sa[0] = (uint64_t)(uintptr_t)SIG_DFL;
		}
		if (k == 0)
			k = ck_scratch_put(r, t, 0, sa, sizeof(sa), &addr, err);
		if (k == 0)
			k = ck_rsys(t, "rt_sigaction", SYS_rt_sigaction, (uint64_t)sig, addr, 0, 8, 0,
				    0, NULL, err);
		if (k < 0)
			return cell_err_wrap(err, "signal %d", sig);
	}
	return 0;
}

static int set_itimers(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (uint32_t w = 0; w < 3; w++) {
		const struct ck_itimer *i = &t->p->itimers[w];
		uint64_t v[4] = { 0 }, a;
		if (t->p->have_itimer[w]) {
			uint64_t x[4] = { i->interval_sec, i->interval_usec, i->value_sec,
					  i->value_usec };
			memcpy(v, x, sizeof(v));
		}
		int k = ck_scratch_put(r, t, 0, v, sizeof(v), &a, err);
		if (k == 0)
			k = ck_rsys(t, "setitimer", SYS_setitimer, w, a, 0, 0, 0, 0, NULL, err);
		if (k < 0)
			return k;
	}
	return 0;
}

/* POSIX timers come back with their ids (PR_TIMER_CREATE_RESTORE_IDS,
 * Linux 6.15), armed with the time they had left. */
static int set_timers(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	if (!t->p->ntimers)
		return 0;
	int k = ck_rsys(t, "prctl(PR_TIMER_CREATE_RESTORE_IDS)", SYS_prctl,
			PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0, 0, NULL,
			err);
	if (k < 0)
		return cell_err_wrap(err, "POSIX timers need Linux 6.15 to keep their ids");
	for (size_t i = 0; k == 0 && i < t->p->ntimers; i++) {
		const struct ck_timer *tm = &t->p->timers[i];
		/* struct sigevent: sigval, signo, notify, thread id */
		uint8_t sev[64] = { 0 };
		memcpy(sev, &tm->sigval, 8);
		memcpy(sev + 8, &tm->signo, 4);
		memcpy(sev + 12, &tm->notify, 4);
		memcpy(sev + 16, &tm->notify_tid, 4);
		int32_t id = tm->id;
		uint64_t a_sev, a_id, a_its;
		uint64_t its[4] = { tm->interval_sec, tm->interval_nsec, tm->value_sec,
				    tm->value_nsec };
		k = ck_scratch_put(r, t, 0, sev, sizeof(sev), &a_sev, err);
		if (k == 0)
			k = ck_scratch_put(r, t, 64, &id, sizeof(id), &a_id, err);
		if (k == 0)
			k = ck_scratch_put(r, t, 128, its, sizeof(its), &a_its, err);
		if (k == 0)
			k = ck_rsys(t, "timer_create", SYS_timer_create, (uint64_t)tm->clock, a_sev,
				    a_id, 0, 0, 0, NULL, err);
		if (k == 0 && (tm->value_sec || tm->value_nsec))
			k = ck_rsys(t, "timer_settime", SYS_timer_settime, (uint64_t)tm->id, 0, a_its,
				    0, 0, 0, NULL, err);
	}
	if (k == 0)
		k = ck_rsys(t, "prctl", SYS_prctl, PR_TIMER_CREATE_RESTORE_IDS,
			    PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0, 0, NULL, err);
	return k;
}

/* Set by the process itself, while it is still root: raising a hard limit
 * above what the caller's pid 1 had needs CAP_SYS_RESOURCE. */
static int set_rlimits(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	for (uint32_t res = 0; res < CK_NRLIMIT && res < RLIM_NLIMITS; res++) {
		if (!t->p->have_rlimit[res])
			continue;
		uint64_t want[2] = { t->p->rlimits[res].cur, t->p->rlimits[res].max }, a;
		int k = ck_scratch_put(r, t, 0, want, sizeof(want), &a, err);
		if (k == 0)
			k = ck_rsys(t, "prlimit64", SYS_prlimit64, 0, res, a, 0, 0, 0, NULL, err);
		if (k < 0)
			return cell_err_wrap(err, "rlimit %u to %llu/%llu", res,
					     (unsigned long long)want[0], (unsigned long long)want[1]);
	}
	return 0;
}

static int set_fs(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	const struct ck_task *k = &t->p->task;
	uint64_t a;
	int e = 0;
	if (k->cwd) {
		e = ck_scratch_path(r, t, k->cwd, &a, err);
		if (e == 0)
			e = ck_rsys(t, "chdir", SYS_chdir, a, 0, 0, 0, 0, 0, NULL, err);
		if (e < 0)
			return cell_err_wrap(err, "cwd %s", k->cwd);
	}
	if (k->root && strcmp(k->root, "/") != 0) {
		e = ck_scratch_path(r, t, k->root, &a, err);
		if (e == 0)
			e = ck_rsys(t, "chroot", SYS_chroot, a, 0, 0, 0, 0, 0, NULL, err);
		if (e < 0)
			return cell_err_wrap(err, "root %s", k->root);
	}
	return 0;
}

int ck_restore_task_state(struct ck_restore *r, struct ck_rtask *t, struct cell_err **err)
{
	const struct ck_task *k = &t->p->task;
	int e = set_sigactions(r, t, err);
	if (e == 0)
		e = set_itimers(r, t, err);
	if (e == 0)
		e = set_timers(r, t, err);
	if (e == 0)
		e = set_rlimits(r, t, err);
	if (e == 0)
		e = set_fs(r, t, err);
	if (e == 0)
		e = ck_rsys(t, "umask", SYS_umask, k->umask, 0, 0, 0, 0, 0, NULL, err);
	if (e == 0)
		e = ck_rsys(t, "personality", SYS_personality, k->personality, 0, 0, 0, 0, 0, NULL,
			    err);
	if (e == 0 && (k->flags & CK_TASK_SUBREAPER))
		e = ck_rsys(t, "prctl", SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0, NULL, err);
	if (e == 0 && k->thp_disabled)
		e = ck_rsys(t, "prctl", SYS_prctl, PR_SET_THP_DISABLE, 1, 0, 0, 0, 0, NULL, err);
	return e;
}
