/* timerfd: clock, remaining time and interval (fdinfo gives them relative),
 * and expirations not yet read (TFD_IOC_SET_TICKS puts them back). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

struct ck_file_timerfd {
	uint32_t id;
	uint32_t flags;
	int32_t clockid;
	uint32_t settime_flags;
	uint64_t ticks;
	uint64_t value_sec, value_nsec, interval_sec, interval_nsec;
};

static const struct img_field timerfd_fields[] = {
	IMG_U32(1, struct ck_file_timerfd, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_timerfd, flags, IMG_F_REQUIRED),
	IMG_I32(3, struct ck_file_timerfd, clockid, IMG_F_REQUIRED),
	IMG_U32(4, struct ck_file_timerfd, settime_flags, 0),
	IMG_U64(5, struct ck_file_timerfd, ticks, 0),
	IMG_U64(6, struct ck_file_timerfd, value_sec, 0),
	IMG_U64(7, struct ck_file_timerfd, value_nsec, 0),
	IMG_U64(8, struct ck_file_timerfd, interval_sec, 0),
	IMG_U64(9, struct ck_file_timerfd, interval_nsec, 0),
};
static const struct img_schema timerfd_schema =
	IMG_SCHEMA(CK_REC_FILE_TIMERFD, "file-timerfd", timerfd_fields, struct ck_file_timerfd);

static bool timerfd_match(const struct ck_fdinfo *fi)
{
	return !strcmp(fi->link, "anon_inode:[timerfd]");
}

static int pair(const char *v, uint64_t *a, uint64_t *b)
{
	unsigned long long x, y;
	if (!v || sscanf(v, "(%llu, %llu)", &x, &y) != 2)
		return -EINVAL;
	*a = x;
	*b = y;
	return 0;
}

static int timerfd_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	const char *clk = ck_fdinfo_get(fi->fdinfo, "clockid");
	const char *ticks = ck_fdinfo_get(fi->fdinfo, "ticks");
	const char *sf = ck_fdinfo_get(fi->fdinfo, "settime flags");
	struct ck_file_timerfd f = { .id = id, .flags = (uint32_t)fi->flags & O_NONBLOCK };
	if (!clk || !ticks || !sf ||
	    pair(ck_fdinfo_get(fi->fdinfo, "it_value"), &f.value_sec, &f.value_nsec) < 0 ||
	    pair(ck_fdinfo_get(fi->fdinfo, "it_interval"), &f.interval_sec, &f.interval_nsec) < 0)
		return cell_err(err, EINVAL, "timerfd fd %d: unexpected fdinfo", fi->fd);
	f.clockid = atoi(clk);
	f.ticks = strtoull(ticks, NULL, 10);
	if (f.ticks) {
		/* fdinfo counts one expiry for a periodic timer however many
		 * intervals passed; a read counts them all (and rearms).  Read
		 * through our copy, then give the count back to the file. */
		uint64_t n;
		if (read(fi->lfd, &n, 8) != 8 || ioctl(fi->lfd, TFD_IOC_SET_TICKS, &n) < 0)
			return cell_err_sys(err, "count the expirations of timerfd fd %d", fi->fd);
		f.ticks = n;
		/* The read moved the next expiry: read the time left again. */
		_cleanup_free_ char *again = NULL;
		char what[32];
		snprintf(what, sizeof(what), "fdinfo/%d", fi->fd);
		int r = ck_proc_read(fi->d->procfd, fi->task->pid, what, &again, NULL, err);
		if (r < 0)
			return r;
		if (pair(ck_fdinfo_get(again, "it_value"), &f.value_sec, &f.value_nsec) < 0)
			return cell_err(err, EINVAL, "timerfd fd %d: unexpected fdinfo", fi->fd);
	}
	/* A periodic timer is never disarmed by expiring. */
	if (!f.value_sec && !f.value_nsec && (f.interval_sec || f.interval_nsec))
		f.value_nsec = 1;
	f.settime_flags = (uint32_t)strtoul(sf, NULL, 8);
	return img_write(fi->d->core, &timerfd_schema, &f, err);
}

static int timerfd_validate(const struct ck_image *img, const struct ck_file *file,
			    struct cell_err **err)
{
	const struct ck_file_timerfd *f = file->obj;
	if (f->value_nsec >= 1000000000 || f->interval_nsec >= 1000000000)
		return cell_err(err, EINVAL, "timerfd file %u: nanoseconds out of range", f->id);
	return 0;
}

static int timerfd_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			   int *ret_fd, struct cell_err **err)
{
	const struct ck_file_timerfd *f = file->obj;
	int64_t fd;
	int k = ck_rsys(t, "timerfd_create", SYS_timerfd_create, (uint64_t)f->clockid,
			f->flags & O_NONBLOCK ? TFD_NONBLOCK : 0, 0, 0, 0, 0, &fd, err);
	if (k < 0)
		return k;
	/* The time left, relative: an absolute timer's deadline was printed
	 * relative to now too.  CANCEL_ON_SET only makes sense with ABSTIME. */
	if (f->value_sec || f->value_nsec) {
		uint64_t its[4] = { f->interval_sec, f->interval_nsec, f->value_sec, f->value_nsec };
		uint64_t a;
		k = ck_scratch_put(r, t, 0, its, sizeof(its), &a, err);
		if (k == 0)
			k = ck_rsys(t, "timerfd_settime", SYS_timerfd_settime, (uint64_t)fd, 0, a, 0,
				    0, 0, NULL, err);
	}
	if (k == 0 && f->ticks) {
		_cleanup_close_ int lfd = -1;
		k = ck_rtask_getfd(t, (int)fd, &lfd, err);
		if (k == 0 && ioctl(lfd, TFD_IOC_SET_TICKS, &f->ticks) < 0)
			k = cell_err_sys(err, "set %llu expirations of a timerfd",
					 (unsigned long long)f->ticks);
	}
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

static char *timerfd_describe(const struct ck_file *file)
{
	const struct ck_file_timerfd *f = file->obj;
	return xasprintf("timerfd clock=%d left=%llu.%09llus interval=%llu.%09llus ticks=%llu",
			 f->clockid, (unsigned long long)f->value_sec,
			 (unsigned long long)f->value_nsec, (unsigned long long)f->interval_sec,
			 (unsigned long long)f->interval_nsec, (unsigned long long)f->ticks);
}

const struct ck_file_ops ck_file_timerfd_ops = {
	.name = "timerfd",
	.rec_type = CK_REC_FILE_TIMERFD,
	.schema = &timerfd_schema,
	.match = timerfd_match,
	.dump = timerfd_dump,
	.validate = timerfd_validate,
	.restore = timerfd_restore,
	.describe = timerfd_describe,
};
