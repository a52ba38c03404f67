/* The fixture of the tests on this machine's real cgroups: a fresh cgroup
 * per case, children placed in it, and on scope exit, also when a check
 * failed, everything killed, reaped and removed. */
#ifndef CELL_TESTS_CGROUP_HOST_H
#define CELL_TESTS_CGROUP_HOST_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cgroup-fake.h"
#include "os/cgroup-stats.h"
#include "t.h"

struct host {
	struct cgroup *cg;
	char *path;
	char **dirs; /* to check that nothing is left */
	pid_t kids[8];
	size_t n_kids;
	struct cell_err *err;
};

static inline void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static inline void host_done(struct host *h)
{
	_cleanup_err_ struct cell_err *e = NULL;
	for (size_t i = 0; i < h->n_kids; i++)
		kill(h->kids[i], SIGKILL);
	if (h->cg) {
		cgroup_freeze(h->cg, false, &e);
		cgroup_kill_all(h->cg, SIGKILL, &e);
		/* grandchildren come to us (subreaper) */
		for (int i = 0; i < 200; i++) {
			_cleanup_free_ pid_t *p = NULL;
			size_t n = 0;
			reap_all();
			if (cgroup_pids(h->cg, &p, &n, &e) == 0 && n == 0)
				break;
			usleep(10000);
		}
		if (cgroup_destroy(h->cg, &e) < 0)
			fprintf(stderr, "cleanup: %s\n", e->msg);
	}
	for (size_t i = 0; i < h->n_kids; i++)
		waitpid(h->kids[i], NULL, 0);
	reap_all();
	cgroup_free(h->cg);
	cell_strv_free(h->dirs);
	free(h->path);
	cell_err_free(h->err);
}

static inline int host_init(struct host *h, const char *tag, bool absolute)
{
	*h = (struct host){ 0 };
	if (geteuid() != 0)
		return -EPERM;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	h->path = absolute ? xasprintf("/cell-test-%d/%s", (int)getpid(), tag)
			   : xasprintf("cell-test-%d-%s", (int)getpid(), tag);
	int r = cgroup_create(h->path, &h->cg, &h->err);
	if (r < 0)
		return r;
	h->dirs = cell_strv_dup(cgroup_dirs(h->cg));
	return 0;
}

#define HOST(tag, absolute)                                               \
	_cleanup_(host_done) struct host h;                               \
	do {                                                              \
		int r_ = host_init(&h, (tag), (absolute));                \
		if (r_ == -EPERM)                                         \
			T_SKIP("needs root");                             \
		if (r_ < 0)                                               \
			T_FAIL("create: %s", h.err ? h.err->msg : "?");   \
	} while (0)

/* Nothing of the cgroup or the test's parent directory remains. */
static inline bool gone(struct host *h)
{
	_cleanup_free_ char *top = xasprintf("cell-test-%d", (int)getpid());
	for (char **d = h->dirs; *d; d++) {
		if (access(*d, F_OK) == 0)
			return false;
		_cleanup_free_ char *up = cg_dirname(*d);
		if (strstr(up, top) && access(up, F_OK) == 0)
			return false;
	}
	return true;
}

#define DESTROY_AND_CHECK()                                              \
	do {                                                             \
		T_ASSERT_INT(cgroup_destroy(h.cg, &h.err), 0);           \
		T_ASSERT(gone(&h));                                      \
	} while (0)

/* Fork a child that waits until it is in the cgroup, then runs fn. */
static inline pid_t spawn_in(struct host *h, void (*fn)(void *), void *arg)
{
	int go[2];
	if (pipe(go) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(99);
		close(go[0]);
		fn(arg);
		_exit(0);
	}
	close(go[0]);
	if (pid < 0 || cgroup_enter(h->cg, pid, &h->err) < 0) {
		close(go[1]);
		if (pid > 0)
			kill(pid, SIGKILL), waitpid(pid, NULL, 0);
		return -1;
	}
	h->kids[h->n_kids++] = pid;
	(void)!write(go[1], "g", 1);
	close(go[1]);
	return pid;
}

static inline void sleep_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
}


/* dir/file of the v1 hierarchy with ctrl, NULL when none. */
static inline char *v1_file(struct host *h, const char *ctrl, const char *file)
{
	int i = cg_find_controller(h->cg->ctx, ctrl, NULL);
	return i < 0 ? NULL : fake_get(h->cg->dirs[i], file);
}

#endif
