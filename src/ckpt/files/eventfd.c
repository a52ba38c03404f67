/* eventfd: its counter and semaphore mode, from fdinfo. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

struct ck_file_eventfd {
	uint32_t id;
	uint32_t flags;
	uint64_t count;
	bool semaphore;
};

static const struct img_field eventfd_fields[] = {
	IMG_U32(1, struct ck_file_eventfd, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_eventfd, flags, IMG_F_REQUIRED),
	IMG_U64(3, struct ck_file_eventfd, count, 0),
	IMG_BOOL(4, struct ck_file_eventfd, semaphore, 0),
};
static const struct img_schema eventfd_schema =
	IMG_SCHEMA(CK_REC_FILE_EVENTFD, "file-eventfd", eventfd_fields, struct ck_file_eventfd);

static bool eventfd_match(const struct ck_fdinfo *fi)
{
	return !strcmp(fi->link, "anon_inode:[eventfd]");
}

static int eventfd_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	const char *count = ck_fdinfo_get(fi->fdinfo, "eventfd-count");
	const char *sem = ck_fdinfo_get(fi->fdinfo, "eventfd-semaphore");
	if (!count)
		return cell_err(err, EINVAL, "eventfd fd %d: no count in fdinfo", fi->fd);
	struct ck_file_eventfd f = { .id = id, .flags = (uint32_t)fi->flags & O_NONBLOCK,
				     .count = strtoull(count, NULL, 16),
				     .semaphore = sem && atoi(sem) == 1 };
	return img_write(fi->d->core, &eventfd_schema, &f, err);
}

static int eventfd_validate(const struct ck_image *img, const struct ck_file *file,
			    struct cell_err **err)
{
	const struct ck_file_eventfd *f = file->obj;
	if (f->count == UINT64_MAX)
		return cell_err(err, EINVAL, "eventfd file %u: count out of range", f->id);
	return 0;
}

static int eventfd_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			   int *ret_fd, struct cell_err **err)
{
	const struct ck_file_eventfd *f = file->obj;
	int64_t fd;
	int flags = (f->flags & O_NONBLOCK ? EFD_NONBLOCK : 0) | (f->semaphore ? EFD_SEMAPHORE : 0);
	int k = ck_rsys(t, "eventfd2", SYS_eventfd2, 0, (uint64_t)flags, 0, 0, 0, 0, &fd, err);
	if (k < 0)
		return k;
	if (f->count) {
		/* The counter is 64 bits; eventfd2 takes 32: write it in. */
		_cleanup_close_ int lfd = -1;
		k = ck_rtask_getfd(t, (int)fd, &lfd, err);
		if (k == 0 && write(lfd, &f->count, 8) != 8)
			k = cell_err_sys(err, "set the eventfd counter");
		if (k < 0)
			return k;
	}
	*ret_fd = (int)fd;
	return 0;
}

static char *eventfd_describe(const struct ck_file *file)
{
	const struct ck_file_eventfd *f = file->obj;
	return xasprintf("eventfd count=%llu%s%s", (unsigned long long)f->count,
			 f->semaphore ? " semaphore" : "", f->flags & O_NONBLOCK ? " nonblocking" : "");
}

const struct ck_file_ops ck_file_eventfd_ops = {
	.name = "eventfd",
	.rec_type = CK_REC_FILE_EVENTFD,
	.schema = &eventfd_schema,
	.match = eventfd_match,
	.dump = eventfd_dump,
	.validate = eventfd_validate,
	.restore = eventfd_restore,
	.describe = eventfd_describe,
};
