/* Guest path resolution: everything is a string relative to the root fd. */
#include "vm/guest/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"

int lg_path_arg(struct lg_task *t, uint64_t va, char *out, bool allow_empty)
{
	int n = lg_strncpy_from(t->mm, out, va, LG_PATH_MAX);
	if (n < 0)
		return n;
	if (n == 0 && !allow_empty)
		return -ENOENT;
	return n;
}

int lg_path_abs(struct lg_task *t, int dirfd, const char *path, char *out)
{
	size_t plen = strlen(path);
	if (plen >= LG_PATH_MAX)
		return -ENAMETOOLONG;
	if (path[0] == '/') {
		memcpy(out, path, plen + 1);
		return 0;
	}
	const char *base;
	struct lg_file *f = NULL;
	if (dirfd == AT_FDCWD) {
		base = t->fs->cwd;
	} else {
		f = lg_fd_get(t->files, dirfd);
		if (!f)
			return -EBADF;
		if (f->kind != LG_FILE_DIR || !f->path) {
			lg_file_put(f);
			return -ENOTDIR;
		}
		base = f->path;
	}
	int n = snprintf(out, LG_PATH_MAX, "%s%s%s", base,
			 base[strlen(base) - 1] == '/' ? "" : "/", path);
	lg_file_put(f);
	if (n < 0 || n >= LG_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int lg_path_open(struct lg_task *t, int dirfd, const char *path, int flags, mode_t mode,
		 uint64_t resolve, int *ret_fd)
{
	char abs[LG_PATH_MAX];
	int r = lg_path_abs(t, dirfd, path, abs);
	if (r < 0)
		return r;
	struct open_how how = {
		.flags = (uint64_t)(unsigned)flags | O_CLOEXEC,
		.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
		.resolve = resolve | RESOLVE_IN_ROOT,
	};
	int fd = (int)syscall(SYS_openat2, t->lg->root_fd, abs, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int lg_path_parent(struct lg_task *t, int dirfd, const char *path, int *ret_dirfd, char *name)
{
	char abs[LG_PATH_MAX];
	if (path[0] == '\0')
		return -ENOENT;
	int r = lg_path_abs(t, dirfd, path, abs);
	if (r < 0)
		return r;
	size_t len = strlen(abs);
	while (len > 1 && abs[len - 1] == '/')
		abs[--len] = '\0';
	char *slash = strrchr(abs, '/');
	const char *last = slash + 1;
	if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
		return -EINVAL;
	if (strlen(last) >= LG_NAME_MAX)
		return -ENAMETOOLONG;
	strcpy(name, last);
	if (slash == abs)
		slash[1] = '\0';
	else
		*slash = '\0';
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT,
	};
	int fd = (int)syscall(SYS_openat2, t->lg->root_fd, abs, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	*ret_dirfd = fd;
	return 0;
}

void lg_fd_path(int hostfd, char out[32])
{
	snprintf(out, 32, "/proc/self/fd/%d", hostfd);
}

int lg_path_of_fd(struct lg *lg, int hostfd, char *out)
{
	char link[32], buf[LG_PATH_MAX];
	lg_fd_path(hostfd, link);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	size_t rl = strlen(lg->root_host);
	if (strcmp(lg->root_host, "/") == 0) {
		snprintf(out, LG_PATH_MAX, "%s", buf);
		return 0;
	}
	if (strncmp(buf, lg->root_host, rl) != 0 || (buf[rl] != '/' && buf[rl] != '\0'))
		return -ENOENT;
	snprintf(out, LG_PATH_MAX, "%s", buf[rl] ? buf + rl : "/");
	return 0;
}
