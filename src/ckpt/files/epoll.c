/* epoll: the interest list (target fd, events, data) from fdinfo.  The
 * targets are registered again once every fd of the task is in place
 * (restore_late), under their own numbers, which is how the kernel keys
 * them for later EPOLL_CTL_MOD/DEL. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

#define EPOLL_MAX_ITEMS 65536

struct ck_file_epoll {
	uint32_t id;
	uint32_t *tfd;
	size_t ntfd;
	uint32_t *events;
	size_t nevents;
	uint64_t *data;
	size_t ndata;
};

static const struct img_field epoll_fields[] = {
	IMG_U32(1, struct ck_file_epoll, id, IMG_F_REQUIRED),
	IMG_U32V(2, struct ck_file_epoll, tfd, ntfd, EPOLL_MAX_ITEMS, 0),
	IMG_U32V(3, struct ck_file_epoll, events, nevents, EPOLL_MAX_ITEMS, 0),
	IMG_U64V(4, struct ck_file_epoll, data, ndata, EPOLL_MAX_ITEMS, 0),
};
static const struct img_schema epoll_schema =
	IMG_SCHEMA(CK_REC_FILE_EPOLL, "file-epoll", epoll_fields, struct ck_file_epoll);

static bool epoll_match(const struct ck_fdinfo *fi)
{
	return !strcmp(fi->link, "anon_inode:[eventpoll]");
}

/* The registration must be by a number that still leads to the same file,
 * or the restore could not key it the same way. */
static int check_target(struct ck_fdinfo *fi, uint32_t tfd, uint64_t ino, struct cell_err **err)
{
	int lfd = (int)syscall(SYS_pidfd_getfd, fi->task->pidfd, (int)tfd, 0);
	struct stat st;
	bool same = lfd >= 0 && fstat(lfd, &st) == 0 && st.st_ino == ino;
	if (lfd >= 0)
		close(lfd);
	if (!same)
		return cell_err(err, EOPNOTSUPP, "epoll fd %d watches fd %u, which was closed or "
				"reused since", fi->fd, tfd);
	return 0;
}

static int epoll_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	struct ck_file_epoll f = { .id = id };
	int r = 0;
	for (const char *p = strstr(fi->fdinfo, "tfd:"); p && r == 0; p = strstr(p + 1, "\ntfd:")) {
		unsigned tfd;
		unsigned ev;
		unsigned long long data, ino;
		if (*p == '\n')
			p++;
		if (sscanf(p, "tfd: %u events: %x data: %llx pos:%*u ino:%llx", &tfd, &ev, &data,
			   &ino) != 4) {
			r = cell_err(err, EINVAL, "epoll fd %d: unexpected fdinfo", fi->fd);
			break;
		}
		if (f.ntfd >= EPOLL_MAX_ITEMS) {
			r = cell_err(err, E2BIG, "epoll fd %d: too many items", fi->fd);
			break;
		}
		r = check_target(fi, tfd, ino, err);
		f.tfd = xrealloc(f.tfd, (f.ntfd + 1) * sizeof(*f.tfd));
		f.events = xrealloc(f.events, (f.ntfd + 1) * sizeof(*f.events));
		f.data = xrealloc(f.data, (f.ntfd + 1) * sizeof(*f.data));
		f.tfd[f.ntfd] = tfd;
		f.events[f.ntfd] = ev;
		f.data[f.ntfd++] = data;
	}
	f.nevents = f.ndata = f.ntfd;
	if (r == 0)
		r = img_write(fi->d->core, &epoll_schema, &f, err);
	free(f.tfd);
	free(f.events);
	free(f.data);
	return r;
}

static int epoll_validate(const struct ck_image *img, const struct ck_file *file,
			  struct cell_err **err)
{
	const struct ck_file_epoll *f = file->obj;
	if (f->nevents != f->ntfd || f->ndata != f->ntfd)
		return cell_err(err, EINVAL, "epoll file %u: %zu targets, %zu events, %zu data",
				f->id, f->ntfd, f->nevents, f->ndata);
	return 0;
}

static int epoll_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			 int *ret_fd, struct cell_err **err)
{
	int64_t fd;
	int k = ck_rsys(t, "epoll_create1", SYS_epoll_create1, 0, 0, 0, 0, 0, 0, &fd, err);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

static int epoll_restore_late(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			      int fd, struct cell_err **err)
{
	const struct ck_file_epoll *f = file->obj;
	for (size_t i = 0; i < f->ntfd; i++) {
		uint8_t ev[12]; /* struct epoll_event is packed on x86-64 */
		memcpy(ev, &f->events[i], 4);
		memcpy(ev + 4, &f->data[i], 8);
		uint64_t a;
		int k = ck_scratch_put(r, t, 0, ev, sizeof(ev), &a, err);
		if (k == 0)
			k = ck_rsys(t, "epoll_ctl", SYS_epoll_ctl, (uint64_t)fd, EPOLL_CTL_ADD,
				    f->tfd[i], a, 0, 0, NULL, err);
		if (k < 0)
			return cell_err_wrap(err, "epoll fd %d: watch fd %u", fd, f->tfd[i]);
	}
	return 0;
}

static char *epoll_describe(const struct ck_file *file)
{
	const struct ck_file_epoll *f = file->obj;
	char *s = xasprintf("epoll watching %zu fd%s", f->ntfd, f->ntfd == 1 ? "" : "s");
	for (size_t i = 0; i < f->ntfd && i < 8; i++) {
		char *n = xasprintf("%s%s%u", s, i ? "," : ": ", f->tfd[i]);
		free(s);
		s = n;
	}
	return s;
}

const struct ck_file_ops ck_file_epoll_ops = {
	.name = "epoll",
	.rec_type = CK_REC_FILE_EPOLL,
	.schema = &epoll_schema,
	.match = epoll_match,
	.dump = epoll_dump,
	.validate = epoll_validate,
	.restore = epoll_restore,
	.restore_late = epoll_restore_late,
	.describe = epoll_describe,
};
