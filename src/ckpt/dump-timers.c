/* POSIX timers: /proc/PID/timers names them and how they notify; the time
 * left comes from timer_gettime injected into the process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "ckpt/batch.h"
#include "ckpt/internal.h"

static uint32_t vtid_of(const struct ck_dtask *t, pid_t host)
{
	for (size_t i = 0; i < t->nthreads; i++)
		if (t->threads[i].thr.tid == host)
			return t->threads[i].vtid;
	return 0;
}

static int parse_notify(const struct ck_dtask *t, const char *v, struct ck_timer *tm,
			struct cell_err **err)
{
	char how[16] = "";
	int who = 0;
	if (sscanf(v, "%15[a-z]/%*[a-z].%d", how, &who) < 1)
		return cell_err(err, EINVAL, "/proc/%d/timers: notify \"%s\"", t->pid, v);
	if (!strcmp(how, "none")) {
		tm->notify = SIGEV_NONE;
	} else if (!strcmp(how, "signal")) {
		tm->notify = SIGEV_SIGNAL;
	} else if (!strcmp(how, "thread")) {
		tm->notify = SIGEV_THREAD_ID;
		tm->notify_tid = vtid_of(t, who);
		if (!tm->notify_tid)
			return cell_err(err, EOPNOTSUPP, "timer %d of %d notifies thread %d outside it",
					tm->id, t->pid, who);
	} else {
		return cell_err(err, EINVAL, "/proc/%d/timers: notify \"%s\"", t->pid, v);
	}
	return 0;
}

static int finish_timer(struct ck_dump *d, struct ck_dtask *t, struct ck_timer *tm,
			struct cell_err **err)
{
	uint64_t its[4]; /* interval sec, nsec; value sec, nsec */
	int r = ck_dsys(t, "timer_gettime", SYS_timer_gettime, (uint64_t)tm->id,
			t->scratch + CK_SCRATCH_IO, 0, 0, NULL, err);
	if (r == 0)
		r = ck_mem_read(t->pid, t->scratch + CK_SCRATCH_IO, its, sizeof(its), err);
	if (r < 0)
		return r;
	tm->interval_sec = its[0];
	tm->interval_nsec = its[1];
	tm->value_sec = its[2];
	tm->value_nsec = its[3];
	return img_write(d->core, &ck_timer_schema, tm, err);
}

int ck_dump_posix_timers(struct ck_dump *d, struct ck_dtask *t, struct cell_err **err)
{
	_cleanup_free_ char *buf = NULL;
	int r = ck_proc_read(d->procfd, t->pid, "timers", &buf, NULL, err);
	if (r < 0)
		return r;
	struct ck_timer tm = { 0 };
	bool open = false;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "ID: ", 4)) {
			if (open && (r = finish_timer(d, t, &tm, err)) < 0)
				return r;
			tm = (struct ck_timer){ .pid = t->vpid, .id = atoi(line + 4) };
			open = true;
		} else if (!strncmp(line, "signal: ", 8)) {
			char *slash;
			tm.signo = (int32_t)strtol(line + 8, &slash, 10);
			if (*slash == '/')
				tm.sigval = strtoull(slash + 1, NULL, 16);
		} else if (!strncmp(line, "notify: ", 8)) {
			if ((r = parse_notify(t, line + 8, &tm, err)) < 0)
				return r;
		} else if (!strncmp(line, "ClockID: ", 9)) {
			tm.clock = atoi(line + 9);
		}
	}
	return open ? finish_timer(d, t, &tm, err) : 0;
}
