/* The image loader against bad images: each case writes a small image with
 * the real writer, breaks one thing, and checks the error names it.  Two
 * cases go through ckpt_restore() with a waiting pid 1 in a new PID
 * namespace, and check that nothing is left running. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/util.h"
#include "ckpt/ckpt.h"
#include "ckpt/files/files.h"
#include "ckpt/image.h"
#include "t.h"

/* What a case may break. */
struct shape {
	uint32_t ntasks_claimed;
	uint64_t vma2_start; /* second VMA; overlaps the first when < 0x11000 */
	int32_t fd;
	uint32_t fd_file;
	uint32_t nthreads_claimed;
	uint32_t ppid2; /* 0: one task only */
	const char *vma_path;
	uint64_t page_addr;
	uint32_t page_pid;
	uint32_t seccomp_id; /* of the threads */
	int extra;	     /* a broken record of the new kinds: see extra_records() */
};

static struct shape good(void)
{
	return (struct shape){ .ntasks_claimed = 1, .vma2_start = 0x20000, .fd = 3, .fd_file = 7,
			       .nthreads_claimed = 1, .vma_path = NULL, .page_addr = 0x10000,
			       .page_pid = 1 };
}

static void task(struct img_writer *w, uint32_t pid, uint32_t ppid, const struct shape *s)
{
	struct ck_task t = { .pid = pid, .ppid = ppid, .pgid = 1, .sid = 1,
			     .nthreads = s->nthreads_claimed, .comm = "t" };
	struct ck_creds c = { .pid = pid };
	uint64_t auxv[2] = { 0, 0 };
	struct ck_mm mm = { .pid = pid, .auxv = auxv, .nauxv = 2 };
	struct ck_vma v1 = { .pid = pid, .start = 0x10000, .end = 0x12000, .prot = PROT_READ | PROT_WRITE,
			     .kind = CK_VMA_ANON };
	struct ck_vma v2 = { .pid = pid, .start = s->vma2_start, .end = s->vma2_start + 0x1000,
			     .prot = PROT_READ, .kind = s->vma_path ? CK_VMA_FILE : CK_VMA_ANON,
			     .path = (char *)s->vma_path };
	struct ck_thread th = { .pid = pid, .tid = pid, .seccomp_id = s->seccomp_id };
	struct ck_fd fd = { .pid = pid, .fd = s->fd, .file_id = s->fd_file };
	if (img_write(w, &ck_task_schema, &t, NULL) || img_write(w, &ck_creds_schema, &c, NULL) ||
	    img_write(w, &ck_mm_schema, &mm, NULL) || img_write(w, &ck_vma_schema, &v1, NULL) ||
	    img_write(w, &ck_vma_schema, &v2, NULL) || img_write(w, &ck_thread_schema, &th, NULL) ||
	    img_write(w, &ck_fd_schema, &fd, NULL))
		abort();
}

/* Set member `name` of a kind's struct through its schema: a u32, or a
 * pointer and its length (bytes, arrays). */
static void set_u32(const struct img_schema *rs, void *obj, const char *name, uint32_t v)
{
	for (size_t i = 0; i < rs->nfields; i++)
		if (!strcmp(rs->fields[i].name, name))
			*(uint32_t *)((char *)obj + rs->fields[i].off) = v;
}

static void set_ptr(const struct img_schema *rs, void *obj, const char *name, const void *p,
		    size_t len)
{
	for (size_t i = 0; i < rs->nfields; i++) {
		if (strcmp(rs->fields[i].name, name))
			continue;
		*(const void **)((char *)obj + rs->fields[i].off) = p;
		*(size_t *)((char *)obj + rs->fields[i].len_off) = len;
	}
}

/* Records of the kinds added with format 2, each broken in one way. */
static void extra_records(struct img_writer *w, int extra)
{
	static const uint8_t insn[8] = { 6, 0, 0, 0, 0, 0, 0xff, 0x7f }; /* ret ALLOW */
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	static const uint64_t opts[2] = { 999, 1 };
	struct ck_seccomp sc = { .id = 50, .parent = 5, .insns = (void *)insn, .insns_len = 8 };
	struct ck_file_data fd = { .id = 7, .stream = 0, .offset = 10, .data = "x", .len = 1 };
	const struct ck_file_ops *ops = ck_file_kind_by_rec(extra == 4 ? CK_REC_FILE_INET
									: CK_REC_FILE_TTY);
	_cleanup_free_ void *obj = xcalloc(1, ops->schema->size);
	int r = 0;
	switch (extra) {
	case 1: r = img_write(w, &ck_seccomp_schema, &sc, NULL); break;
	case 2: r = img_write(w, &ck_file_data_schema, &fd, NULL); break;
	case 4:
		set_u32(ops->schema, obj, "id", 60), set_u32(ops->schema, obj, "family", AF_INET);
		set_u32(ops->schema, obj, "type", SOCK_STREAM), set_u32(ops->schema, obj, "proto", 6);
		set_u32(ops->schema, obj, "state", 7);
		set_ptr(ops->schema, obj, "laddr", lo, 4), set_ptr(ops->schema, obj, "opts", opts, 2);
		r = img_write(w, ops->schema, obj, NULL);
		break;
	case 5:
		set_u32(ops->schema, obj, "id", 61), set_u32(ops->schema, obj, "type", 1);
		set_u32(ops->schema, obj, "index", 3);
		r = img_write(w, ops->schema, obj, NULL);
		break;
	}
	if (r < 0)
		abort();
}

/* inventory.img, core.img and pages.img of a shape, in a new directory. */
static char *make_image(const struct shape *s)
{
	char *dir = xstrdup("/tmp/ckpt-img-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct img_writer *w = NULL;
	struct ck_inventory inv = { .root_pid = 1, .ntasks = s->ntasks_claimed,
				    .page_size = 4096, .arch = "x86_64", .vdso_pages = 2,
				    .vvar_pages = 4, .vvar_vclock_pages = 2 };
	if (img_writer_create_at(dfd, "inventory.img", IMG_KIND_INVENTORY, &w, NULL) ||
	    img_write(w, &ck_inventory_schema, &inv, NULL) || img_writer_finish(w, NULL))
		abort();
	img_writer_free(w);
	if (img_writer_create_at(dfd, "core.img", IMG_KIND_CORE, &w, NULL))
		abort();
	task(w, 1, 0, s);
	if (s->ppid2)
		task(w, 2, s->ppid2, s);
	/* A file record of the reg kind, id 7, filled through its schema. */
	const struct img_schema *rs = ck_file_reg_ops.schema;
	_cleanup_free_ char *reg = xcalloc(1, rs->size);
	for (size_t i = 0; i < rs->nfields; i++) {
		const struct img_field *f = &rs->fields[i];
		if (!strcmp(f->name, "id"))
			*(uint32_t *)(reg + f->off) = 7;
		else if (!strcmp(f->name, "path"))
			*(const char **)(reg + f->off) = "/dev/null";
		else if (!strcmp(f->name, "flags"))
			*(uint32_t *)(reg + f->off) = O_RDWR;
		else if (!strcmp(f->name, "mode"))
			*(uint32_t *)(reg + f->off) = S_IFCHR | 0666;
	}
	if (img_write(w, rs, reg, NULL))
		abort();
	extra_records(w, s->extra);
	if (img_writer_finish(w, NULL))
		abort();
	img_writer_free(w);
	if (img_writer_create_at(dfd, "pages.img", IMG_KIND_PAGES, &w, NULL))
		abort();
	static char page[4096] = "page";
	struct iovec iov = { page, sizeof(page) };
	struct ck_pages pg = { .pid = s->page_pid, .addr = s->page_addr, .npages = 1 };
	if (img_write_bulk(w, &ck_pages_schema, &pg, CK_PAGES_DATA_TAG, &iov, 1, NULL) ||
	    img_writer_finish(w, NULL))
		abort();
	img_writer_free(w);
	close(dfd);
	return dir;
}

static void rm_image(char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	(void)!system(cmd);
	free(dir);
}

/* Load; NULL when it loads, else the error message (malloc'd). */
static char *load_error(const struct shape *s)
{
	char *dir = make_image(s);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct ck_image *img = NULL;
	struct cell_err *err = NULL;
	char *msg = NULL;
	if (ck_image_load(dfd, &img, &err) < 0)
		msg = xstrdup(err->msg);
	cell_err_free(err);
	ck_image_free(img);
	close(dfd);
	rm_image(dir);
	return msg;
}

static void good_image_loads(void)
{
	struct shape s = good();
	_cleanup_free_ char *e = load_error(&s);
	if (e)
		T_FAIL("%s", e);
	s.ppid2 = 1;
	s.ntasks_claimed = 2;
	free(e);
	e = load_error(&s);
	if (e)
		T_FAIL("two tasks: %s", e);
}

static void broken_images_are_refused(void)
{
	static const struct {
		const char *what, *msg;
	} cases[] = {
		{ "overlap", "overlaps the one before" },
		{ "fd range", "fd -1 out of range" },
		{ "fd file", "refers to missing file 99" },
		{ "threads", "1 thread records, 3 announced" },
		{ "count", "1 task records, the inventory says 5" },
		{ "parent", "parent 9 is not an earlier task" },
		{ "relative path", "without an absolute path" },
		{ "seccomp parent", "parent 5 unknown" },
		{ "file data gap", "1 bytes at 10 after 0" },
		{ "thread seccomp", "no seccomp filter 77" },
		{ "socket option", "socket option 999" },
		{ "pty slave alone", "pty 3 has no master" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct shape s = good();
		switch (i) {
		case 0: s.vma2_start = 0x11000; break;
		case 1: s.fd = -1; break;
		case 2: s.fd_file = 99; break;
		case 3: s.nthreads_claimed = 3; break;
		case 4: s.ntasks_claimed = 5; break;
		case 5: s.ppid2 = 9; s.ntasks_claimed = 2; break;
		case 6: s.vma_path = "lib.so"; break;
		case 7: s.extra = 1; break;
		case 8: s.extra = 2; break;
		case 9: s.seccomp_id = 77; break;
		case 10: s.extra = 4; break;
		case 11: s.extra = 5; break;
		}
		_cleanup_free_ char *e = load_error(&s);
		if (!e)
			T_FAIL("%s: accepted", cases[i].what);
		if (!strstr(e, cases[i].msg))
			T_FAIL("%s: \"%s\" lacks \"%s\"", cases[i].what, e, cases[i].msg);
	}
}

static int child_fd = -1;

static int restore_child(void)
{
	struct cell_err *err = NULL;
	ckpt_restore_child(child_fd, &err);
	_exit(err && err->errnum == ECANCELED ? 42 : 43);
}

/* Restore dir into a waiting pid 1; return ckpt_restore's result, the
 * message, and how pid 1 ended. */
static int try_restore(const char *dir, char **ret_msg, int *ret_status)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS, .exit_signal = SIGCHLD };
	child_fd = sv[1];
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0)
		restore_child();
	close(sv[1]);
	struct ckpt_restore_opts o = { .image_dir = dir, .init_pid = (pid_t)pid, .sync_fd = sv[0] };
	struct cell_err *err = NULL;
	int k = ckpt_restore(&o, NULL, &err);
	close(sv[0]);
	*ret_msg = err ? xstrdup(err->msg) : NULL;
	cell_err_free(err);
	waitpid((pid_t)pid, ret_status, 0);
	return k;
}

static void bad_pages_fail_before_touching_pid1(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	struct shape s = good();
	s.page_addr = 0x30000; /* in no mapping */
	char *dir = make_image(&s);
	_cleanup_free_ char *msg = NULL;
	int status;
	int k = try_restore(dir, &msg, &status);
	rm_image(dir);
	T_ASSERT(k < 0);
	T_ASSERT_CONTAINS(msg, "outside the private mappings of task 1");
	/* pid 1 was told and returned from ckpt_restore_child itself. */
	T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}

static void failure_mid_restore_kills_pid1(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	struct shape s = good();
	s.vma_path = "/nonexistent/lib.so"; /* valid image, fails at mmap time */
	char *dir = make_image(&s);
	_cleanup_free_ char *msg = NULL;
	int status;
	int k = try_restore(dir, &msg, &status);
	rm_image(dir);
	T_ASSERT(k < 0);
	T_ASSERT_CONTAINS(msg, "/nonexistent/lib.so");
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void truncated_core_is_refused(void)
{
	struct shape s = good();
	char *dir = make_image(&s);
	_cleanup_free_ char *path = xasprintf("%s/core.img", dir);
	struct stat st;
	T_ASSERT(stat(path, &st) == 0);
	T_ASSERT(truncate(path, st.st_size - 3) == 0);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct ck_image *img = NULL;
	struct cell_err *err = NULL;
	int k = ck_image_load(dfd, &img, &err);
	close(dfd);
	rm_image(dir);
	T_ASSERT(k < 0);
	T_ASSERT_CONTAINS(err->msg, "core.img");
	cell_err_free(err);
}

static void inspect_text_and_json(void)
{
	struct shape s = good();
	char *dir = make_image(&s);
	_cleanup_free_ char *text = NULL, *json = NULL;
	struct cell_err *err = NULL;
	int k1 = ckpt_inspect(dir, false, &text, &err);
	int k2 = ckpt_inspect(dir, true, &json, &err);
	rm_image(dir);
	T_ASSERT_INT(k1, 0);
	T_ASSERT_INT(k2, 0);
	T_ASSERT_CONTAINS(text, "1 process,");
	T_ASSERT_CONTAINS(text, "fd 3: chr /dev/null");
	struct json_object *o = json_tokener_parse(json);
	T_ASSERT(o != NULL);
	struct json_object *procs, *fds;
	T_ASSERT(json_object_object_get_ex(o, "processes", &procs));
	T_ASSERT_INT(json_object_array_length(procs), 1);
	T_ASSERT(json_object_object_get_ex(json_object_array_get_idx(procs, 0), "fds", &fds));
	T_ASSERT_STR(json_object_get_string(json_object_object_get(
			     json_object_array_get_idx(fds, 0), "kind")), "reg");
	json_object_put(o);
}

/* What the engine cannot restore it refuses to dump, naming the process,
 * the fd and what it is; the tree runs on untouched. */
static void unsupported_fd_is_refused(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	int ready[2];
	if (pipe(ready) < 0)
		abort();
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(ready[0]);
		/* A netlink socket: no kind of ours takes it. */
		int in = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		dup2(in, 7);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	char c;
	T_ASSERT(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	char dir[] = "/tmp/ckpt-refuse-XXXXXX";
	T_ASSERT(mkdtemp(dir) != NULL);
	struct ckpt_dump_opts o = { .root_pid = (pid_t)pid, .image_dir = dir };
	struct cell_err *err = NULL;
	int k = ckpt_dump(&o, NULL, &err);
	bool alive = kill((pid_t)pid, 0) == 0;
	kill((pid_t)pid, SIGKILL);
	waitpid((pid_t)pid, NULL, 0);
	rm_image(xstrdup(dir));
	_cleanup_free_ char *msg = xstrdup(err ? err->msg : "");
	cell_err_free(err);
	T_ASSERT(k < 0);
	T_ASSERT_CONTAINS(msg, "pid 1 in the tree");
	T_ASSERT_CONTAINS(msg, "fd 3 (socket:[");
	T_ASSERT_CONTAINS(msg, "this kind of file cannot be checkpointed");
	T_ASSERT(alive);
}

T_MAIN("ckpt-image", T_CASE(inspect_text_and_json), T_CASE(unsupported_fd_is_refused), T_CASE(good_image_loads), T_CASE(broken_images_are_refused),
       T_CASE(truncated_core_is_refused), T_CASE(bad_pages_fail_before_touching_pid1),
       T_CASE(failure_mid_restore_kills_pid1))
