/* Handing the monitor to its own small executable (cell-vm-monitor): after
 * the fork, the child writes what monitor_main() needs into a memfd (a
 * plain length-prefixed blob) and execs the helper, which reads it back.
 * The fds it names (stdio, state directory, sync, status, log) keep their
 * numbers across the exec.  See docs/vm.md, "The monitor's executable". */
#include "vm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"

#define BLOB_MAGIC 0x63766d31u /* "cvm1" */
#define BLOB_MAX (16u << 20)
#define NONE UINT32_MAX        /* a NULL string or string vector */

/* ---- writing (the forked child, before exec) ------------------------------ */

struct wbuf {
	char *p;
	size_t n, cap;
};

static void put(struct wbuf *b, const void *v, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void put_u32(struct wbuf *b, uint32_t v) { put(b, &v, sizeof(v)); }
static void put_u64(struct wbuf *b, uint64_t v) { put(b, &v, sizeof(v)); }
static void put_int(struct wbuf *b, int v) { put_u32(b, (uint32_t)v); }

static void put_str(struct wbuf *b, const char *s)
{
	if (!s) {
		put_u32(b, NONE);
		return;
	}
	uint32_t n = (uint32_t)strlen(s);
	put_u32(b, n);
	put(b, s, n);
}

static void put_strv(struct wbuf *b, char *const *v)
{
	uint32_t n = 0;
	while (v && v[n])
		n++;
	put_u32(b, v ? n : NONE);
	for (uint32_t i = 0; i < n; i++)
		put_str(b, v[i]);
}

/* The fd survives the exec with its number. */
static void keep_fd(int fd)
{
	int f = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
	if (f >= 0 && (f & FD_CLOEXEC))
		fcntl(fd, F_SETFD, f & ~FD_CLOEXEC);
}

static void pack(struct wbuf *b, const struct monitor_args *a)
{
	const struct vm_launch *l = a->l;
	const struct vm_guest_config *g = &l->guest;
	const struct vm_linux_config *x = &l->linux_;
	int log_fd;
	enum cell_log_format fmt;
	enum cell_log_level min;
	cell_log_get(&log_fd, &fmt, &min);
	put_u32(b, BLOB_MAGIC);
	put_u32(b, l->kind), put_u32(b, l->detach), put_u32(b, l->no_sandbox);
	put_str(b, g->rootfs), put_strv(b, g->argv), put_strv(b, g->env), put_str(b, g->cwd);
	put_u64(b, g->mem_size), put_u32(b, g->vcpus);
	for (int i = 0; i < 3; i++)
		put_int(b, g->stdio[i]), keep_fd(g->stdio[i]);
	put_u32(b, g->hugepages), put_u32(b, g->uid), put_u32(b, g->gid), put_str(b, g->hostname);
	put_u32(b, g->rlimits_set), put(b, g->rlimits, sizeof(g->rlimits));
	put_str(b, x->kernel), put_str(b, x->initrd), put_str(b, x->cmdline);
	put_u64(b, x->mem_size), put_u32(b, x->vcpus), put_int(b, x->console_fd);
	put_u32(b, x->hugepages);
	keep_fd(x->console_fd);
	put_int(b, a->dir->fd), put_str(b, a->dir->path), put_str(b, a->dir->id);
	put_strv(b, a->cg_dirs);
	put_int(b, a->sync_fd), put_int(b, a->status_fd);
	put_int(b, log_fd), put_u32(b, fmt), put_u32(b, min);
	keep_fd(a->dir->fd), keep_fd(a->sync_fd), keep_fd(a->status_fd), keep_fd(log_fd);
}

int monitor_exe_open(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	/* Installed: beside cell.  A build tree: cell at its top. */
	static const char *const where[] = { "%s/cell-vm-monitor", "%s/src/vm/cell-vm-monitor" };
	for (size_t i = 0; i < ARRAY_SIZE(where); i++) {
		_cleanup_free_ char *p = xasprintf(where[i], self);
		int fd = open(p, O_PATH | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

void monitor_exec(int exe_fd, const struct monitor_args *a)
{
	struct wbuf b = { 0 };
	pack(&b, a);
	int fd = (int)syscall(SYS_memfd_create, "cell-vm-monitor-args", 0);
	if (fd < 0 || cell_write_all(fd, b.p, b.n) < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		free(b.p);
		if (fd >= 0)
			close(fd);
		return;
	}
	free(b.p);
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", fd);
	char *const argv[] = { "cell-vm-monitor", arg, NULL };
	extern char **environ;
	syscall(SYS_execveat, exe_fd, "", argv, environ, AT_EMPTY_PATH);
	close(fd); /* the caller runs the monitor in this process instead */
}

/* ---- reading (cell-vm-monitor) ------------------------------------------------ */

struct rbuf {
	const char *p;
	size_t n, off;
	bool bad;
};

static void get(struct rbuf *b, void *v, size_t n)
{
	if (b->bad || n > b->n - b->off) {
		b->bad = true;
		memset(v, 0, n);
		return;
	}
	memcpy(v, b->p + b->off, n);
	b->off += n;
}

static uint32_t get_u32(struct rbuf *b)
{
	uint32_t v;
	get(b, &v, sizeof(v));
	return v;
}

static uint64_t get_u64(struct rbuf *b)
{
	uint64_t v;
	get(b, &v, sizeof(v));
	return v;
}

static int get_int(struct rbuf *b) { return (int)get_u32(b); }

static char *get_str(struct rbuf *b)
{
	uint32_t n = get_u32(b);
	if (n == NONE || b->bad)
		return NULL;
	if (n > b->n - b->off) {
		b->bad = true;
		return NULL;
	}
	char *s = xmalloc((size_t)n + 1);
	get(b, s, n);
	s[n] = '\0';
	return s;
}

static char **get_strv(struct rbuf *b)
{
	uint32_t n = get_u32(b);
	if (n == NONE || b->bad)
		return NULL;
	if (n > (b->n - b->off) / sizeof(uint32_t)) {
		b->bad = true;
		return NULL;
	}
	char **v = xcalloc((size_t)n + 1, sizeof(*v));
	for (uint32_t i = 0; i < n; i++)
		if (!(v[i] = get_str(b)))
			b->bad = true;
	return v;
}

static void unpack(struct rbuf *b, struct vm_launch *l, struct state_dir *dir, char ***cg_dirs,
		   struct monitor_args *a)
{
	struct vm_guest_config *g = &l->guest;
	struct vm_linux_config *x = &l->linux_;
	if (get_u32(b) != BLOB_MAGIC)
		b->bad = true;
	l->kind = get_u32(b), l->detach = get_u32(b), l->no_sandbox = get_u32(b);
	g->rootfs = get_str(b), g->argv = get_strv(b), g->env = get_strv(b), g->cwd = get_str(b);
	g->mem_size = get_u64(b), g->vcpus = get_u32(b);
	for (int i = 0; i < 3; i++)
		g->stdio[i] = get_int(b);
	g->hugepages = get_u32(b), g->uid = get_u32(b), g->gid = get_u32(b), g->hostname = get_str(b);
	g->rlimits_set = get_u32(b), get(b, g->rlimits, sizeof(g->rlimits));
	x->kernel = get_str(b), x->initrd = get_str(b), x->cmdline = get_str(b);
	x->mem_size = get_u64(b), x->vcpus = get_u32(b), x->console_fd = get_int(b);
	x->hugepages = get_u32(b);
	dir->fd = get_int(b), dir->path = get_str(b), dir->id = get_str(b);
	*cg_dirs = get_strv(b);
	a->sync_fd = get_int(b), a->status_fd = get_int(b);
	int log_fd = get_int(b);
	enum cell_log_format fmt = get_u32(b);
	enum cell_log_level min = get_u32(b);
	cell_log_setup(log_fd, fmt, min);
}

int monitor_exec_main(int argc, char **argv)
{
	int fd = argc == 2 ? atoi(argv[1]) : -1;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > BLOB_MAX) {
		fprintf(stderr, "cell-vm-monitor: run by cell only (no arguments blob)\n");
		return 1;
	}
	size_t n = (size_t)st.st_size;
	_cleanup_free_ char *blob = xmalloc(n);
	if (cell_read_all(fd, blob, n) < 0) {
		fprintf(stderr, "cell-vm-monitor: run by cell only (no arguments blob)\n");
		return 1;
	}
	close(fd);
	static struct vm_launch l;
	static struct state_dir dir;
	char **cg_dirs = NULL;
	struct monitor_args a = { .l = &l, .dir = &dir };
	struct rbuf b = { .p = blob, .n = n };
	unpack(&b, &l, &dir, &cg_dirs, &a);
	if (b.bad || b.off != n || !dir.path || a.status_fd < 0) {
		fprintf(stderr, "cell-vm-monitor: a malformed arguments blob\n");
		return 1;
	}
	a.cg_dirs = cg_dirs;
	monitor_main(&a);
}
