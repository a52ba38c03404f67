/* Open files and fd tables of the light guest.  A guest fd names a struct
 * lg_file (shared by dup() and fork() as an open file description is); the
 * file owns one host fd.  Pipes, FIFOs, terminals and sockets get a
 * non-blocking host fd and the guest's blocking is done with ppoll(), so a
 * signal can always interrupt a waiting syscall. */
#include "vm/guest/lg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

struct lg_file *lg_file_new(int hostfd, enum lg_file_kind kind, uint32_t flags, const char *path)
{
	struct lg_file *f = xcalloc(1, sizeof(*f));
	f->refs = 1;
	f->hostfd = hostfd;
	f->kind = kind;
	f->flags = flags;
	f->path = path ? xstrdup(path) : NULL;
	return f;
}

struct lg_file *lg_file_get(struct lg_file *f)
{
	if (f)
		__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
	return f;
}

void lg_file_put(struct lg_file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (f->hostfd >= 0)
		close(f->hostfd);
	free(f->path);
	free(f);
}

enum lg_file_kind lg_file_kind_of(int hostfd)
{
	struct stat st;
	if (fstat(hostfd, &st) < 0)
		return LG_FILE_OTHER;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return LG_FILE_REG;
	case S_IFDIR:
		return LG_FILE_DIR;
	case S_IFIFO:
	case S_IFCHR:
		return LG_FILE_POLL;
	case S_IFSOCK:
		return LG_FILE_SOCK;
	default:
		return LG_FILE_OTHER;
	}
}

struct lg_files *lg_files_new(void)
{
	struct lg_files *fs = xcalloc(1, sizeof(*fs));
	fs->refs = 1;
	pthread_mutex_init(&fs->lock, NULL);
	return fs;
}

struct lg_files *lg_files_dup(struct lg_files *src)
{
	struct lg_files *fs = lg_files_new();
	pthread_mutex_lock(&src->lock);
	fs->nfd = src->nfd;
	fs->fd = xcalloc(fs->nfd ? (size_t)fs->nfd : 1, sizeof(*fs->fd));
	for (int i = 0; i < src->nfd; i++) {
		fs->fd[i] = src->fd[i];
		lg_file_get(fs->fd[i].file);
	}
	pthread_mutex_unlock(&src->lock);
	return fs;
}

void lg_files_put(struct lg_files *fs)
{
	if (!fs || __atomic_sub_fetch(&fs->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (int i = 0; i < fs->nfd; i++)
		lg_file_put(fs->fd[i].file);
	pthread_mutex_destroy(&fs->lock);
	free(fs->fd);
	free(fs);
}

static void grow(struct lg_files *fs, int fd)
{
	if (fd < fs->nfd)
		return;
	int n = fs->nfd ? fs->nfd : 16;
	while (n <= fd)
		n *= 2;
	if (n > LG_NOFILE_MAX)
		n = LG_NOFILE_MAX;
	fs->fd = xrealloc(fs->fd, (size_t)n * sizeof(*fs->fd));
	memset(fs->fd + fs->nfd, 0, (size_t)(n - fs->nfd) * sizeof(*fs->fd));
	fs->nfd = n;
}

int lg_fd_install(struct lg_files *fs, struct lg_file *f, int min, bool cloexec, unsigned limit)
{
	if (limit > LG_NOFILE_MAX)
		limit = LG_NOFILE_MAX;
	if (min < 0)
		return -EINVAL;
	if ((unsigned)min >= limit)
		return -EMFILE;
	pthread_mutex_lock(&fs->lock);
	int fd = min;
	while (fd < fs->nfd && fs->fd[fd].file)
		fd++;
	if ((unsigned)fd >= limit) {
		pthread_mutex_unlock(&fs->lock);
		return -EMFILE;
	}
	grow(fs, fd);
	fs->fd[fd] = (struct lg_fdent){ .file = lg_file_get(f), .cloexec = cloexec };
	pthread_mutex_unlock(&fs->lock);
	return fd;
}

int lg_fd_install_at(struct lg_files *fs, struct lg_file *f, int fd, bool cloexec)
{
	if (fd < 0 || fd >= LG_NOFILE_MAX)
		return -EBADF;
	pthread_mutex_lock(&fs->lock);
	grow(fs, fd);
	struct lg_file *old = fs->fd[fd].file;
	fs->fd[fd] = (struct lg_fdent){ .file = lg_file_get(f), .cloexec = cloexec };
	pthread_mutex_unlock(&fs->lock);
	lg_file_put(old);
	return fd;
}

struct lg_file *lg_fd_get(struct lg_files *fs, int fd)
{
	struct lg_file *f = NULL;
	pthread_mutex_lock(&fs->lock);
	if (fd >= 0 && fd < fs->nfd)
		f = lg_file_get(fs->fd[fd].file);
	pthread_mutex_unlock(&fs->lock);
	return f;
}

int lg_fd_close(struct lg_files *fs, int fd)
{
	pthread_mutex_lock(&fs->lock);
	if (fd < 0 || fd >= fs->nfd || !fs->fd[fd].file) {
		pthread_mutex_unlock(&fs->lock);
		return -EBADF;
	}
	struct lg_file *f = fs->fd[fd].file;
	fs->fd[fd] = (struct lg_fdent){ 0 };
	pthread_mutex_unlock(&fs->lock);
	lg_file_put(f);
	return 0;
}

int lg_fd_cloexec(struct lg_files *fs, int fd, int set)
{
	pthread_mutex_lock(&fs->lock);
	int r;
	if (fd < 0 || fd >= fs->nfd || !fs->fd[fd].file) {
		r = -EBADF;
	} else {
		if (set >= 0)
			fs->fd[fd].cloexec = set;
		r = fs->fd[fd].cloexec;
	}
	pthread_mutex_unlock(&fs->lock);
	return r;
}

void lg_fd_close_on_exec(struct lg_files *fs)
{
	pthread_mutex_lock(&fs->lock);
	for (int i = 0; i < fs->nfd; i++)
		if (fs->fd[i].file && fs->fd[i].cloexec) {
			lg_file_put(fs->fd[i].file);
			fs->fd[i] = (struct lg_fdent){ 0 };
		}
	pthread_mutex_unlock(&fs->lock);
}
