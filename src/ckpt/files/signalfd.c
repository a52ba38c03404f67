/* signalfd: its signal mask, from fdinfo. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include "base/util.h"
#include "ckpt/files/files.h"

struct ck_file_signalfd {
	uint32_t id;
	uint32_t flags;
	uint64_t sigmask;
};

static const struct img_field signalfd_fields[] = {
	IMG_U32(1, struct ck_file_signalfd, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_signalfd, flags, IMG_F_REQUIRED),
	IMG_U64(3, struct ck_file_signalfd, sigmask, IMG_F_REQUIRED),
};
static const struct img_schema signalfd_schema =
	IMG_SCHEMA(CK_REC_FILE_SIGNALFD, "file-signalfd", signalfd_fields,
		   struct ck_file_signalfd);

static bool signalfd_match(const struct ck_fdinfo *fi)
{
	return !strcmp(fi->link, "anon_inode:[signalfd]");
}

static int signalfd_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	const char *mask = ck_fdinfo_get(fi->fdinfo, "sigmask");
	if (!mask)
		return cell_err(err, EINVAL, "signalfd fd %d: no mask in fdinfo", fi->fd);
	struct ck_file_signalfd f = { .id = id, .flags = (uint32_t)fi->flags & O_NONBLOCK,
				      .sigmask = strtoull(mask, NULL, 16) };
	return img_write(fi->d->core, &signalfd_schema, &f, err);
}

static int signalfd_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			    int *ret_fd, struct cell_err **err)
{
	const struct ck_file_signalfd *f = file->obj;
	uint64_t a;
	int64_t fd;
	int k = ck_scratch_put(r, t, 0, &f->sigmask, 8, &a, err);
	if (k == 0)
		k = ck_rsys(t, "signalfd4", SYS_signalfd4, (uint64_t)-1, a, 8,
			    f->flags & O_NONBLOCK ? SFD_NONBLOCK : 0, 0, 0, &fd, err);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

static char *signalfd_describe(const struct ck_file *file)
{
	const struct ck_file_signalfd *f = file->obj;
	return xasprintf("signalfd mask=%#llx", (unsigned long long)f->sigmask);
}

const struct ck_file_ops ck_file_signalfd_ops = {
	.name = "signalfd",
	.rec_type = CK_REC_FILE_SIGNALFD,
	.schema = &signalfd_schema,
	.match = signalfd_match,
	.dump = signalfd_dump,
	.restore = signalfd_restore,
	.describe = signalfd_describe,
};
