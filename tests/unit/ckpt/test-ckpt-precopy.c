/* The precopy round of an incremental dump (src/ckpt/precopy.c): the pages
 * written since the parent pre-dump are copied while the tree runs, into
 * IMAGE/precopy, which becomes the dump's parent; and a dump that fails
 * after that round gives the write-protection back, so that the caller's
 * parent still tells every page written since it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "ckpt/ckpt.h"
#include "t.h"

#define PAGES 1024 /* as tests/ckpt/precopy-tree.c */
#define HOT 256	   /* pages 0..HOT-1 are rewritten on 'w' */

struct tree {
	pid_t pid;
	int cmd, ack;
};

static int tree_start(struct tree *t)
{
	int c[2], a[2];
	if (pipe(c) < 0 || pipe(a) < 0)
		return -1;
	struct clone_args ca = { .flags = CLONE_NEWPID | CLONE_NEWNS, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid == 0) {
		close(c[1]), close(a[0]);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		char cs[16], as[16];
		snprintf(cs, sizeof(cs), "%d", c[0]);
		snprintf(as, sizeof(as), "%d", a[1]);
		execl(PRECOPY_TREE, "precopy-tree", cs, as, (char *)NULL);
		_exit(127);
	}
	close(c[0]), close(a[1]);
	*t = (struct tree){ .pid = (pid_t)pid, .cmd = c[1], .ack = a[0] };
	char x;
	return pid > 0 && read(t->ack, &x, 1) == 1 ? 0 : -1;
}

static bool tree_do(struct tree *t, char c)
{
	char x;
	return write(t->cmd, &c, 1) == 1 && read(t->ack, &x, 1) == 1 && x == c;
}

static void tree_stop(struct tree *t)
{
	kill(t->pid, SIGKILL);
	waitpid(t->pid, NULL, 0);
	close(t->cmd), close(t->ack);
}

static int dump(struct tree *t, const char *dir, const char *parent, bool pre,
		struct ckpt_stats *st, char **ret_msg)
{
	mkdir(dir, 0700);
	struct ckpt_dump_opts o = { .root_pid = t->pid, .image_dir = dir, .parent_dir = parent,
				    .pre_dump = pre, .leave_running = true };
	struct cell_err *err = NULL;
	int k = ckpt_dump(&o, st, &err);
	if (ret_msg)
		*ret_msg = xstrdup(err ? err->msg : "");
	cell_err_free(err);
	return k;
}

static bool exists(const char *dir, const char *name)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void rm_rf(const char *dir)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd)) {
	}
}

/* The round needs PAGEMAP_SCAN's written-only path as fixed in 6.10. */
static bool have_round(void)
{
	struct utsname u;
	int a = 0, b = 0;
	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &a, &b) == 2 &&
	       (a > 6 || (a == 6 && b >= 10));
}

static void failed_dump_gives_back_write_protection(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	if (!have_round())
		T_SKIP("no precopy round before Linux 6.10");
	char work[] = "/tmp/ckpt-precopy-XXXXXX";
	T_ASSERT(mkdtemp(work) != NULL);
	_cleanup_free_ char *pre = xasprintf("%s/pre", work), *bad = xasprintf("%s/bad", work),
			    *img = xasprintf("%s/img", work), *msg = NULL;
	struct tree t;
	T_ASSERT(tree_start(&t) == 0);
	struct ckpt_stats a = { 0 }, b = { 0 }, c = { 0 };
	int k1 = dump(&t, pre, NULL, true, &a, NULL);
	bool w = tree_do(&t, 'w'), n = tree_do(&t, 'n');
	/* Its precopy round takes the HOT pages, then the fds are refused. */
	int k2 = dump(&t, bad, "../pre", false, &b, &msg);
	bool gone = !exists(bad, "precopy");
	bool cl = tree_do(&t, 'c');
	int k3 = dump(&t, img, "../pre", false, &c, NULL);
	bool chain = exists(img, "precopy/inventory.img") && exists(img, "precopy/pages.img");
	tree_stop(&t);
	rm_rf(work);
	T_ASSERT(k1 == 0 && w && n && cl);
	T_ASSERT(a.dirty_tracking);
	T_ASSERT(k2 < 0);
	T_ASSERT_CONTAINS(msg, "this kind of file cannot be checkpointed");
	T_ASSERT(gone);
	T_ASSERT_INT(k3, 0);
	T_ASSERT(chain);
	/* Written after the pre-dump: stored again, by the round or the
	 * dump, although the failed attempt had protected them once. */
	T_ASSERT(c.precopy_pages + c.pages_written >= HOT);
	T_ASSERT(c.pages_skipped >= PAGES - HOT);
}

/* A tree that writes nothing between rounds: the round finds little, the
 * stopped tree gives only what changed during it. */
static void round_copies_what_was_written(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	if (!have_round())
		T_SKIP("no precopy round before Linux 6.10");
	char work[] = "/tmp/ckpt-precopy-XXXXXX";
	T_ASSERT(mkdtemp(work) != NULL);
	_cleanup_free_ char *pre = xasprintf("%s/pre", work), *img = xasprintf("%s/img", work);
	struct tree t;
	T_ASSERT(tree_start(&t) == 0);
	struct ckpt_stats a = { 0 }, c = { 0 };
	int k1 = dump(&t, pre, NULL, true, &a, NULL);
	bool w = tree_do(&t, 'w');
	int k2 = dump(&t, img, "../pre", false, &c, NULL);
	bool chain = exists(img, "precopy/inventory.img");
	tree_stop(&t);
	rm_rf(work);
	T_ASSERT(k1 == 0 && w);
	T_ASSERT_INT(k2, 0);
	T_ASSERT(chain);
	T_ASSERT(c.precopy_pages >= HOT);
	/* The tree was blocked in read() meanwhile: a few stack pages at most. */
	T_ASSERT(c.pages_written < HOT / 4);
	T_ASSERT(c.pages_skipped >= PAGES);
}

T_MAIN("ckpt-precopy", T_CASE(round_copies_what_was_written),
       T_CASE(failed_dump_gives_back_write_protection))
