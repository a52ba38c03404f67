/* Memfds held as fds (mapped or not).  The memfd's content is a shared
 * memory object of the image (SHMEM and its SHMEM_PAGES, dumped once
 * however many fds and mappings it has, seals included); this record is
 * one open file description of it: access mode and position.
 *
 * Restore: the object's memfd in the task (ck_shmem_fd), reopened through
 * /proc/self/fd for a description of its own with the image's flags, so
 * fds that did not share a description do not share one now. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

struct ck_file_memfd {
	uint32_t id;
	uint32_t shmem_id;
	uint32_t flags; /* access mode, O_APPEND */
	uint64_t pos;
};

static const struct img_field memfd_fields[] = {
	IMG_U32(1, struct ck_file_memfd, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_memfd, shmem_id, IMG_F_REQUIRED),
	IMG_U32(3, struct ck_file_memfd, flags, IMG_F_REQUIRED),
	IMG_U64(4, struct ck_file_memfd, pos, 0),
};
static const struct img_schema memfd_schema =
	IMG_SCHEMA(CK_REC_FILE_MEMFD, "file-memfd", memfd_fields, struct ck_file_memfd);

uint32_t ck_memfd_shmem(const struct ck_file *f)
{
	return f->rec_type == CK_REC_FILE_MEMFD ? ((const struct ck_file_memfd *)f->obj)->shmem_id
						 : 0;
}

static bool memfd_match(const struct ck_fdinfo *fi)
{
	return S_ISREG(fi->st.st_mode) && fi->st.st_nlink == 0 &&
	       cell_str_has_prefix(fi->link, "/memfd:");
}

static int memfd_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	char path[64];
	/* A reader of our own: the fd may be write-only. */
	snprintf(path, sizeof(path), "%d/fd/%d", fi->task->pid, fi->fd);
	_cleanup_close_ int rfd = openat(fi->d->procfd, path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return cell_err_sys(err, "open /proc/%s", path);
	struct ck_file_memfd f = { .id = id, .pos = fi->pos,
				   .flags = (uint32_t)fi->flags & (O_ACCMODE | O_APPEND) };
	int r = ck_dump_shmem(fi->d, rfd, &fi->st, fi->link, &f.shmem_id, err);
	if (r == 0)
		r = img_write(fi->d->core, &memfd_schema, &f, err);
	return r;
}

static int memfd_validate(const struct ck_image *img, const struct ck_file *file,
			  struct cell_err **err)
{
	const struct ck_file_memfd *f = file->obj;
	if (!ck_image_shmem(img, f->shmem_id))
		return cell_err(err, EINVAL, "memfd file %u: no shared memory %u", f->id,
				f->shmem_id);
	if ((f->flags & O_ACCMODE) == 3 || (f->flags & ~(uint32_t)(O_ACCMODE | O_APPEND)))
		return cell_err(err, EINVAL, "memfd file %u: flags %#x", f->id, f->flags);
	return 0;
}

static int memfd_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			 int *ret_fd, struct cell_err **err)
{
	const struct ck_file_memfd *f = file->obj;
	int sfd;
	int k = ck_shmem_fd(r, t, f->shmem_id, &sfd, err);
	if (k < 0)
		return k;
	char path[64];
	uint64_t a;
	int64_t fd;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", sfd);
	k = ck_scratch_path(r, t, path, &a, err);
	if (k == 0)
		k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a, f->flags | O_CLOEXEC, 0, 0,
			    0, &fd, err);
	if (k < 0)
		return cell_err_wrap(err, "reopen memfd (is /proc mounted in the tree?)");
	if (f->pos)
		k = ck_rsys(t, "lseek", SYS_lseek, (uint64_t)fd, f->pos, SEEK_SET, 0, 0, 0, NULL, err);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

static char *memfd_describe(const struct ck_file *file)
{
	const struct ck_file_memfd *f = file->obj;
	return xasprintf("memfd of shared memory %u, %s, at %llu", f->shmem_id,
			 (f->flags & O_ACCMODE) == O_RDONLY ? "read" : (f->flags & O_ACCMODE) == O_WRONLY
			 ? "write" : "read-write", (unsigned long long)f->pos);
}

const struct ck_file_ops ck_file_memfd_ops = {
	.name = "memfd",
	.rec_type = CK_REC_FILE_MEMFD,
	.schema = &memfd_schema,
	.match = memfd_match,
	.dump = memfd_dump,
	.validate = memfd_validate,
	.restore = memfd_restore,
	.describe = memfd_describe,
};
