#include "container/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/util.h"

int inroot_open(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* The parent directory of path inside root (created), and its last name. */
static int open_parent(int rootfd, const char *path, mode_t mode, char **ret_name)
{
	_cleanup_free_ char *copy = xstrdup(path);
	size_t len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	char *slash = strrchr(copy, '/');
	const char *name = slash ? slash + 1 : copy;
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	*ret_name = xstrdup(name);
	if (!slash || slash == copy)
		return inroot_open(rootfd, "/", O_PATH | O_DIRECTORY);
	*slash = '\0';
	return inroot_mkdir_p(rootfd, copy, mode);
}

int inroot_mkdir_p(int rootfd, const char *path, mode_t mode)
{
	int fd = inroot_open(rootfd, path, O_PATH | O_DIRECTORY);
	if (fd != -ENOENT)
		return fd;
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int parent = open_parent(rootfd, path, mode, &name);
	if (parent < 0)
		return parent;
	/* A dangling symlink named like the directory gives EEXIST here and
	 * ENOENT on the reopen: refuse rather than follow it anywhere. */
	if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
		return -errno;
	return inroot_open(rootfd, path, O_PATH | O_DIRECTORY);
}

int inroot_mkfile(int rootfd, const char *path, mode_t mode)
{
	int fd = inroot_open(rootfd, path, O_PATH);
	if (fd != -ENOENT)
		return fd;
	_cleanup_free_ char *name = NULL;
	_cleanup_close_ int parent = open_parent(rootfd, path, 0755, &name);
	if (parent < 0)
		return parent;
	_cleanup_close_ int dirfd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	int f = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (f < 0 && errno != EEXIST)
		return -errno;
	if (f >= 0)
		close(f);
	return inroot_open(rootfd, path, O_PATH);
}

const char *fd_path(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}
