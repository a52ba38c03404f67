/* Files opened by path: regular files (also unlinked-but-open ones, whose
 * content travels in the image), directories, and the harmless character
 * devices (/dev/null and friends). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

#define REG_UNLINKED_MAX (512u * 1024)

struct ck_file_reg {
	uint32_t id;
	char *path;
	uint32_t flags; /* the open flags, O_CLOEXEC excluded (it is the fd's) */
	uint64_t pos;
	uint32_t mode;	/* st_mode: the type, and the permissions of unlinked files */
	uint64_t size;	/* regular files: checked at restore */
	bool unlinked;
	void *data; /* content of an unlinked file */
	size_t data_len;
	uint32_t rdev;
};

static const struct img_field reg_fields[] = {
	IMG_U32(1, struct ck_file_reg, id, IMG_F_REQUIRED),
	IMG_STR(2, struct ck_file_reg, path, CK_MAX_PATH, IMG_F_REQUIRED),
	IMG_U32(3, struct ck_file_reg, flags, IMG_F_REQUIRED),
	IMG_U64(4, struct ck_file_reg, pos, 0),
	IMG_U32(5, struct ck_file_reg, mode, IMG_F_REQUIRED),
	IMG_U64(6, struct ck_file_reg, size, 0),
	IMG_BOOL(7, struct ck_file_reg, unlinked, 0),
	IMG_BYTES(8, struct ck_file_reg, data, data_len, REG_UNLINKED_MAX, 0),
	IMG_U32(9, struct ck_file_reg, rdev, 0),
};
static const struct img_schema reg_schema =
	IMG_SCHEMA(CK_REC_FILE_REG, "file-reg", reg_fields, struct ck_file_reg);

/* Character devices that carry no state worth keeping. */
static bool plain_chr(dev_t rdev)
{
	return major(rdev) == 1 && (minor(rdev) == 3 || minor(rdev) == 5 || minor(rdev) == 7 ||
				    minor(rdev) == 8 || minor(rdev) == 9);
}

static bool reg_match(const struct ck_fdinfo *fi)
{
	if (fi->link[0] != '/')
		return false;
	if (cell_str_has_prefix(fi->link, "/memfd:") && fi->st.st_nlink == 0)
		return false;
	return S_ISREG(fi->st.st_mode) || S_ISDIR(fi->st.st_mode) ||
	       (S_ISCHR(fi->st.st_mode) && plain_chr(fi->st.st_rdev));
}

static int read_unlinked(struct ck_fdinfo *fi, struct ck_file_reg *f, struct cell_err **err)
{
	if ((uint64_t)fi->st.st_size > REG_UNLINKED_MAX)
		return cell_err(err, EFBIG, "unlinked file %s is %lld bytes, over the %u kept",
				fi->link, (long long)fi->st.st_size, REG_UNLINKED_MAX);
	f->data_len = (size_t)fi->st.st_size;
	f->data = xmalloc(f->data_len ? f->data_len : 1);
	ssize_t n = pread(fi->lfd, f->data, f->data_len, 0);
	if (n < 0 || (size_t)n != f->data_len)
		return cell_err(err, n < 0 ? errno : EIO, "read unlinked file %s", fi->link);
	return 0;
}

/* A process's own /proc/self/X reads back as /proc/PID/X, PID as its procfs
 * numbers it: restored under another pid, that path names another process
 * or none.  Kept as /proc/self/X, it opens the restored process's own.
 * NULL when the file is not one of the task's own procfs files. */
static char *proc_self_path(const struct ck_fdinfo *fi)
{
	struct statfs sf;
	if (!cell_str_has_prefix(fi->link, "/proc/") || fstatfs(fi->lfd, &sf) < 0 ||
	    sf.f_type != PROC_SUPER_MAGIC)
		return NULL;
	char *end;
	const char *n = fi->link + strlen("/proc/");
	long pid = strtol(n, &end, 10);
	if (end == n || *end != '/' || cell_str_has_prefix(end, "/task/"))
		return NULL;
	/* Our procfs numbers it as the host does; another (its PID
	 * namespace's) as its namespace does. */
	struct stat ours;
	bool host = stat("/proc", &ours) == 0 && ours.st_dev == fi->st.st_dev;
	if (pid != (host ? (long)fi->task->pid : (long)fi->task->vpid))
		return NULL;
	return xasprintf("/proc/self%s", end);
}

static int reg_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	char *self = proc_self_path(fi);
	_cleanup_free_ char *path = self ? self : xstrdup(fi->link);
	struct ck_file_reg f = {
		.id = id, .flags = (uint32_t)fi->flags & ~(uint32_t)O_CLOEXEC, .pos = fi->pos,
		.mode = fi->st.st_mode, .size = (uint64_t)fi->st.st_size,
		.rdev = (uint32_t)fi->st.st_rdev,
	};
	if (S_ISREG(fi->st.st_mode) && fi->st.st_nlink == 0) {
		f.unlinked = true;
		if (cell_str_has_suffix(path, " (deleted)"))
			path[strlen(path) - strlen(" (deleted)")] = '\0';
		int r = read_unlinked(fi, &f, err);
		if (r < 0) {
			free(f.data);
			return r;
		}
	}
	f.path = path;
	int r = img_write(fi->d->core, &reg_schema, &f, err);
	free(f.data);
	return r;
}

static int reg_validate(const struct ck_image *img, const struct ck_file *file,
			struct cell_err **err)
{
	const struct ck_file_reg *f = file->obj;
	if (f->path[0] != '/')
		return cell_err(err, EINVAL, "file %u: path \"%s\" is not absolute", f->id, f->path);
	if (f->unlinked && !S_ISREG(f->mode))
		return cell_err(err, EINVAL, "file %u: only regular files can be unlinked", f->id);
	if (f->pos > (uint64_t)INT64_MAX)
		return cell_err(err, EINVAL, "file %u: position %llu out of range", f->id,
				(unsigned long long)f->pos);
	return 0;
}

static int lseek_to(struct ck_rtask *t, int fd, uint64_t pos, struct cell_err **err)
{
	if (!pos)
		return 0;
	return ck_rsys(t, "lseek", SYS_lseek, (uint64_t)fd, pos, SEEK_SET, 0, 0, 0, NULL, err);
}

/* Recreate an unlinked file: create it under its old name, fill it, open
 * it with the original flags, and unlink it again. */
static int restore_unlinked(struct ck_restore *r, struct ck_rtask *t,
			    const struct ck_file_reg *f, int *ret_fd, struct cell_err **err)
{
	uint64_t a;
	int64_t wfd, fd;
	_cleanup_free_ char *path = xasprintf("%s", f->path);
	int k = ck_scratch_path(r, t, path, &a, err);
	if (k < 0)
		return k;
	k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a,
		    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, f->mode & 07777, 0, 0, &wfd, err);
	if (k < 0)
		return cell_err_wrap(err, "create unlinked file %s again", f->path);
	_cleanup_close_ int lfd = -1;
	k = ck_rtask_getfd(t, (int)wfd, &lfd, err);
	if (k == 0 && f->data_len && pwrite(lfd, f->data, f->data_len, 0) != (ssize_t)f->data_len)
		k = cell_err_sys(err, "write unlinked file %s", f->path);
	if (k == 0)
		k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a, f->flags, 0, 0, 0, &fd,
			    err);
	int64_t ignore;
	ck_rsys(t, "unlinkat", SYS_unlinkat, (uint64_t)AT_FDCWD, a, 0, 0, 0, 0, &ignore, NULL);
	ck_rsys(t, "close", SYS_close, (uint64_t)wfd, 0, 0, 0, 0, 0, NULL, NULL);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return lseek_to(t, (int)fd, f->pos, err);
}

static int reg_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
		       int *ret_fd, struct cell_err **err)
{
	const struct ck_file_reg *f = file->obj;
	if (f->unlinked)
		return restore_unlinked(r, t, f, ret_fd, err);
	uint64_t a;
	int64_t fd;
	int k = ck_scratch_path(r, t, f->path, &a, err);
	if (k < 0)
		return k;
	k = ck_rsys(t, "openat", SYS_openat, (uint64_t)AT_FDCWD, a, f->flags | O_NOCTTY, 0, 0, 0,
		    &fd, err);
	if (k < 0)
		return cell_err_wrap(err, "open %s", f->path);
	if (S_ISREG(f->mode)) {
		_cleanup_close_ int lfd = -1;
		struct stat st;
		k = ck_rtask_getfd(t, (int)fd, &lfd, err);
		if (k < 0)
			return k;
		if (fstat(lfd, &st) < 0)
			return cell_err_sys(err, "stat %s", f->path);
		if ((uint64_t)st.st_size != f->size)
			return cell_err(err, ESTALE, "%s is %lld bytes, it was %llu at checkpoint",
					f->path, (long long)st.st_size,
					(unsigned long long)f->size);
	}
	*ret_fd = (int)fd;
	return lseek_to(t, (int)fd, f->pos, err);
}

static char *reg_describe(const struct ck_file *file)
{
	const struct ck_file_reg *f = file->obj;
	const char *type = S_ISDIR(f->mode) ? "dir" : S_ISCHR(f->mode) ? "chr" : "reg";
	return xasprintf("%s %s%s flags=%#o pos=%llu", type, f->path,
			 f->unlinked ? " (unlinked)" : "", f->flags, (unsigned long long)f->pos);
}

const struct ck_file_ops ck_file_reg_ops = {
	.name = "reg",
	.rec_type = CK_REC_FILE_REG,
	.schema = &reg_schema,
	.match = reg_match,
	.dump = reg_dump,
	.validate = reg_validate,
	.restore = reg_restore,
	.describe = reg_describe,
};
