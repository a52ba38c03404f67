#include "container/builtin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

extern const unsigned char cell_busybox_start[];
extern const unsigned char cell_busybox_end[];

static const char *const dirs[] = { "bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc",
				    "sys", "dev", "tmp", "root", "home", "var", "run" };

static const struct {
	const char *path, *text;
} files[] = {
	{ "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" },
	{ "etc/group", "root:x:0:\nnogroup:x:65534:\n" },
	{ "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n" },
	{ "etc/os-release", "NAME=\"cell built-in busybox\"\nID=cell-busybox\n" },
};

/* Ask the unpacked busybox for its applets and link each into bin/. */
static int link_applets(int dirfd, const char *dir, struct cell_err **err)
{
	_cleanup_free_ char *bb = xasprintf("%s/bin/busybox", dir);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return cell_err_sys(err, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execl(bb, "busybox", "--list", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	_cleanup_fclose_ FILE *f = fdopen(fds[0], "r");
	char name[128];
	while (f && fgets(name, sizeof(name), f)) {
		name[strcspn(name, "\n")] = '\0';
		if (!*name || strchr(name, '/') || strcmp(name, "busybox") == 0)
			continue;
		_cleanup_free_ char *link = xasprintf("bin/%s", name);
		(void)!symlinkat("busybox", dirfd, link);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	if (status != 0)
		return cell_err(err, 0, "unpack the built-in rootfs: busybox --list failed");
	return 0;
}

static int unpack(const char *dir, struct cell_err **err)
{
	if (mkdir(dir, 0755) < 0)
		return cell_err_sys(err, "mkdir %s", dir);
	_cleanup_close_ int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return cell_err_sys(err, "open %s", dir);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdirat(d, dirs[i], strcmp(dirs[i], "tmp") == 0 ? 01777 : 0755) < 0)
			return cell_err_sys(err, "mkdir %s/%s", dir, dirs[i]);
	fchmodat(d, "tmp", 01777, 0);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int r = cell_write_file_atomic_at(d, files[i].path, files[i].text,
						  strlen(files[i].text), 0644, err);
		if (r < 0)
			return r;
	}
	_cleanup_close_ int bb = openat(d, "bin/busybox", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (bb < 0)
		return cell_err_sys(err, "create %s/bin/busybox", dir);
	size_t len = (size_t)(cell_busybox_end - cell_busybox_start);
	int r = cell_write_all(bb, cell_busybox_start, len);
	if (r < 0)
		return cell_err(err, -r, "write %s/bin/busybox", dir);
	close(TAKE_FD(bb));
	return link_applets(d, dir, err);
}

static void remove_tree(const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

int builtin_rootfs(const char *root, char **ret, struct cell_err **err)
{
	size_t len = (size_t)(cell_busybox_end - cell_busybox_start);
	/* Named by size, so a cell built with another busybox unpacks its own. */
	_cleanup_free_ char *images = xasprintf("%s/.images", root);
	_cleanup_free_ char *dir = xasprintf("%s/busybox-%zu", images, len);
	struct stat st;
	if (stat(dir, &st) == 0) {
		*ret = TAKE_PTR(dir);
		return 0;
	}
	int r = cell_mkdir_p(images, 0700, err);
	if (r < 0)
		return r;
	/* Unpack beside it and rename: concurrent runs race harmlessly. */
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", dir, (int)getpid());
	r = unpack(tmp, err);
	if (r == 0 && rename(tmp, dir) < 0 && errno != ENOTEMPTY && errno != EEXIST)
		r = cell_err_sys(err, "rename %s", tmp);
	if (r < 0 || stat(tmp, &st) == 0)
		remove_tree(tmp);
	if (r < 0)
		return cell_err_wrap(err, "built-in rootfs");
	*ret = TAKE_PTR(dir);
	return 0;
}
