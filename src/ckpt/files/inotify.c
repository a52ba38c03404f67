/* Inotify instances with their watches.  A watch is known to the kernel by
 * inode only; fdinfo gives a file handle for it, which open_by_handle_at
 * (on a mount of the same filesystem, from the tree's mountinfo) turns back
 * into a path in the tree's root.  The restore adds the watches again by
 * path, in the order of their watch descriptors, and makes each get its old
 * number: the kernel hands out numbers in increasing order, so a watch that
 * comes back too low is removed and added again until it matches.
 *
 * Events already queued but not read are lost (the log says how many bytes
 * of them); a watched file that was removed is refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/files/files.h"

#define INOTIFY_WATCHES_MAX 8192
#define INOTIFY_PATHS_MAX (1u << 20)
#define WD_CHASE_MAX 65536 /* re-adds to reach a watch's number */
#define IN_RESTORE_MASK (IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK | IN_ONLYDIR)

struct ck_file_inotify {
	uint32_t id;
	uint32_t flags; /* O_NONBLOCK */
	uint32_t *wd;
	size_t nwd;
	uint32_t *mask;
	size_t nmask;
	void *paths; /* one NUL-terminated path per watch, in wd order */
	size_t paths_len;
};

static const struct img_field inotify_fields[] = {
	IMG_U32(1, struct ck_file_inotify, id, IMG_F_REQUIRED),
	IMG_U32(2, struct ck_file_inotify, flags, 0),
	IMG_U32V(3, struct ck_file_inotify, wd, nwd, INOTIFY_WATCHES_MAX, 0),
	IMG_U32V(4, struct ck_file_inotify, mask, nmask, INOTIFY_WATCHES_MAX, 0),
	IMG_BYTES(5, struct ck_file_inotify, paths, paths_len, INOTIFY_PATHS_MAX, 0),
};
static const struct img_schema inotify_schema =
	IMG_SCHEMA(CK_REC_FILE_INOTIFY, "file-inotify", inotify_fields, struct ck_file_inotify);

static bool inotify_match(const struct ck_fdinfo *fi)
{
	return !strcmp(fi->link, "anon_inode:inotify");
}

/* A mount point (in the dumper's root: the tree's) of device major:minor,
 * preferring one that shows the filesystem's root. */
static int mount_of(unsigned maj, unsigned min, int *ret, struct cell_err **err)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return cell_err_sys(err, "open /proc/self/mountinfo");
	char line[4096], best[4096] = "";
	while (fgets(line, sizeof(line), f)) {
		unsigned a, b;
		char root[4096], mnt[4096];
		if (sscanf(line, "%*u %*u %u:%u %4095s %4095s", &a, &b, root, mnt) != 4 || a != maj ||
		    b != min)
			continue;
		if (!best[0] || !strcmp(root, "/"))
			snprintf(best, sizeof(best), "%s", mnt);
		if (!strcmp(root, "/"))
			break;
	}
	if (!best[0])
		return cell_err(err, ENOENT, "no mount of device %u:%u in the tree", maj, min);
	int fd = open(best, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* not O_PATH: the kernel refuses it */
	if (fd < 0)
		return cell_err_sys(err, "open mount %s", best);
	*ret = fd;
	return 0;
}

static int hex_bytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* One "inotify wd:..." line of fdinfo: the watch's number, mask and path. */
static int watch_path(struct ck_fdinfo *fi, const char *line, uint32_t *wd, uint32_t *mask,
		      char **ret, struct cell_err **err)
{
	unsigned sdev, hbytes;
	int htype;
	char hex[300];
	if (sscanf(line, "inotify wd:%x ino:%*x sdev:%x mask:%x ignored_mask:%*x fhandle-bytes:%x "
		   "fhandle-type:%x f_handle:%299s", wd, &sdev, mask, &hbytes, &htype, hex) != 6 ||
	    hbytes > 128 || strlen(hex) != 2 * hbytes)
		return cell_err(err, EINVAL, "fdinfo: cannot read %.80s", line);
	struct { struct file_handle h; uint8_t b[128]; } fh = { .h = { .handle_bytes = hbytes,
								       .handle_type = htype } };
	if (hex_bytes(hex, fh.h.f_handle, hbytes) < 0)
		return cell_err(err, EINVAL, "fdinfo: bad handle in %.80s", line);
	_cleanup_close_ int mfd = -1;
	int r = mount_of(sdev >> 20, sdev & 0xfffff, &mfd, err);
	if (r < 0)
		return cell_err_wrap(err, "watch %u", *wd);
	_cleanup_close_ int fd = open_by_handle_at(mfd, &fh.h, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return cell_err_sys(err, "watch %u: open by handle", *wd);
	char what[64];
	snprintf(what, sizeof(what), "self/fd/%d", fd);
	char path[CK_MAX_PATH + 1];
	ssize_t n = readlinkat(fi->d->procfd, what, path, sizeof(path) - 1);
	if (n <= 0 || path[0] != '/')
		return cell_err(err, EOPNOTSUPP, "watch %u: its file has no path in the tree", *wd);
	path[n] = '\0';
	if (cell_str_has_suffix(path, " (deleted)"))
		return cell_err(err, EOPNOTSUPP, "watch %u: %s", *wd, path);
	*ret = xstrdup(path);
	return 0;
}

struct watch {
	uint32_t wd, mask;
	char *path;
};

static int by_wd(const void *a, const void *b)
{
	const struct watch *x = a, *y = b;
	return x->wd < y->wd ? -1 : x->wd > y->wd;
}

/* The watches of fdinfo (the kernel lists them newest first), by number. */
static int collect(struct ck_fdinfo *fi, struct watch **ret, size_t *ret_n, struct cell_err **err)
{
	struct watch *w = NULL;
	size_t n = 0;
	int r = 0;
	for (const char *p = fi->fdinfo; r == 0 && p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (strncmp(p, "inotify ", 8) != 0)
			continue;
		if (n >= INOTIFY_WATCHES_MAX) {
			r = cell_err(err, E2BIG, "over %u watches", INOTIFY_WATCHES_MAX);
			break;
		}
		w = xrealloc(w, (n + 1) * sizeof(*w));
		w[n].path = NULL;
		r = watch_path(fi, p, &w[n].wd, &w[n].mask, &w[n].path, err);
		n++;
	}
	if (n)
		qsort(w, n, sizeof(*w), by_wd);
	*ret = w;
	*ret_n = n;
	return r;
}

static int inotify_dump(struct ck_fdinfo *fi, uint32_t id, struct cell_err **err)
{
	struct ck_file_inotify f = { .id = id, .flags = (uint32_t)fi->flags & O_NONBLOCK };
	struct watch *w = NULL;
	size_t n = 0;
	int r = collect(fi, &w, &n, err);
	f.wd = xcalloc(n ? n : 1, sizeof(*f.wd));
	f.mask = xcalloc(n ? n : 1, sizeof(*f.mask));
	for (size_t i = 0; r == 0 && i < n; i++) {
		size_t len = strlen(w[i].path) + 1;
		if (f.paths_len + len > INOTIFY_PATHS_MAX) {
			r = cell_err(err, E2BIG, "watched paths over %u bytes", INOTIFY_PATHS_MAX);
			break;
		}
		f.wd[f.nwd++] = w[i].wd;
		f.mask[f.nmask++] = w[i].mask;
		f.paths = xrealloc(f.paths, f.paths_len + len);
		memcpy((char *)f.paths + f.paths_len, w[i].path, len);
		f.paths_len += len;
	}
	for (size_t i = 0; i < n; i++)
		free(w[i].path);
	free(w);
	int queued = 0;
	if (r == 0 && ioctl(fi->lfd, FIONREAD, &queued) == 0 && queued > 0)
		ck_logf(&fi->d->log, "process %d fd %d: %d bytes of inotify events not read are "
			"dropped", fi->task->pid, fi->fd, queued);
	if (r == 0)
		r = img_write(fi->d->core, &inotify_schema, &f, err);
	free(f.wd);
	free(f.mask);
	free(f.paths);
	return r;
}

/* The i-th path of f (validated: there are nwd of them). */
static const char *nth_path(const struct ck_file_inotify *f, size_t i)
{
	const char *p = f->paths;
	while (i--)
		p += strlen(p) + 1;
	return p;
}

static int inotify_validate(const struct ck_image *img, const struct ck_file *file,
			    struct cell_err **err)
{
	const struct ck_file_inotify *f = file->obj;
	(void)img;
	if (f->nwd != f->nmask)
		return cell_err(err, EINVAL, "inotify file %u: %zu watches, %zu masks", f->id, f->nwd,
				f->nmask);
	size_t n = 0;
	const char *p = f->paths;
	for (size_t off = 0; off < f->paths_len; n++) {
		const char *end = memchr(p + off, '\0', f->paths_len - off);
		if (!end || p[off] != '/' || (size_t)(end - (p + off)) > CK_MAX_PATH)
			return cell_err(err, EINVAL, "inotify file %u: path %zu", f->id, n);
		off = (size_t)(end - p) + 1;
	}
	if (n != f->nwd)
		return cell_err(err, EINVAL, "inotify file %u: %zu paths for %zu watches", f->id, n,
				f->nwd);
	for (size_t i = 0; i < f->nwd; i++)
		if (f->wd[i] == 0 || f->wd[i] > INT32_MAX || (i && f->wd[i] <= f->wd[i - 1]) ||
		    !(f->mask[i] & IN_ALL_EVENTS))
			return cell_err(err, EINVAL, "inotify file %u: watch %u (mask %#x)", f->id,
					f->wd[i], f->mask[i]);
	return 0;
}

static int add_watch(struct ck_restore *r, struct ck_rtask *t, int fd, uint32_t want,
		     uint32_t mask, const char *path, struct cell_err **err)
{
	uint64_t a;
	int k = ck_scratch_path(r, t, path, &a, err);
	for (int i = 0; k == 0 && i < WD_CHASE_MAX; i++) {
		int64_t wd;
		k = ck_rsys(t, "inotify_add_watch", SYS_inotify_add_watch, (uint64_t)fd, a,
			    (mask & IN_RESTORE_MASK) | IN_DONT_FOLLOW, 0, 0, 0, &wd, err);
		if (k < 0 || (uint64_t)wd == want)
			return k < 0 ? cell_err_wrap(err, "watch %s", path) : 0;
		if ((uint64_t)wd > want)
			break;
		k = ck_rsys(t, "inotify_rm_watch", SYS_inotify_rm_watch, (uint64_t)fd, (uint64_t)wd,
			    0, 0, 0, 0, NULL, err);
	}
	return k < 0 ? k : cell_err(err, EBUSY, "watch %s: number %u cannot be had again", path,
				    want);
}

/* Removing the watches that came back too low queued IN_IGNORED events:
 * they are ours, not the program's. */
static int drain(struct ck_rtask *t, int fd, struct cell_err **err)
{
	_cleanup_close_ int lfd = -1;
	int k = ck_rtask_getfd(t, fd, &lfd, err);
	int queued = 0;
	while (k == 0 && ioctl(lfd, FIONREAD, &queued) == 0 && queued > 0) {
		char buf[4096];
		if (read(lfd, buf, (size_t)queued < sizeof(buf) ? (size_t)queued : sizeof(buf)) <= 0)
			return cell_err_sys(err, "drain our inotify events");
	}
	return k;
}

static int inotify_restore(struct ck_restore *r, struct ck_rtask *t, const struct ck_file *file,
			   int *ret_fd, struct cell_err **err)
{
	const struct ck_file_inotify *f = file->obj;
	int64_t fd;
	int k = ck_rsys(t, "inotify_init1", SYS_inotify_init1,
			IN_CLOEXEC | (f->flags & O_NONBLOCK ? IN_NONBLOCK : 0), 0, 0, 0, 0, 0, &fd,
			err);
	for (size_t i = 0; k == 0 && i < f->nwd; i++)
		k = add_watch(r, t, (int)fd, f->wd[i], f->mask[i], nth_path(f, i), err);
	if (k == 0)
		k = drain(t, (int)fd, err);
	if (k < 0)
		return k;
	*ret_fd = (int)fd;
	return 0;
}

static char *inotify_describe(const struct ck_file *file)
{
	const struct ck_file_inotify *f = file->obj;
	return xasprintf("inotify, %zu watches%s%s", f->nwd, f->nwd ? ", first on " : "",
			 f->nwd ? (const char *)f->paths : "");
}

const struct ck_file_ops ck_file_inotify_ops = {
	.name = "inotify",
	.rec_type = CK_REC_FILE_INOTIFY,
	.schema = &inotify_schema,
	.match = inotify_match,
	.dump = inotify_dump,
	.validate = inotify_validate,
	.restore = inotify_restore,
	.describe = inotify_describe,
};
