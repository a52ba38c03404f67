/* The resource layer on this machine's real cgroups, part one: a cgroup's
 * life and its processes (pids limit, freezer, signals, removal, placement
 * of processes and single threads). */
#include <pthread.h>
#include <sys/syscall.h>

#include "cgroup-host.h"

static void host_mode(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	enum cgroup_mode mode;
	_cleanup_err_ struct cell_err *err = NULL;
	T_ASSERT_INT(cgroup_host_mode(&mode, &err), 0);
	bool v1 = access("/sys/fs/cgroup/memory/memory.stat", F_OK) == 0;
	bool v2root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
	bool unified = access("/sys/fs/cgroup/unified/cgroup.controllers", F_OK) == 0;
	T_ASSERT_INT(mode, v2root ? CGROUP_MODE_V2 : unified && v1 ? CGROUP_MODE_HYBRID
								  : CGROUP_MODE_V1);
}

/* ---- pids ----------------------------------------------------------- */

struct forker {
	int out;
};

/* Fork until it fails; report how many worked and the errno. */
static void fork_until_fail(void *arg)
{
	struct forker *f = arg;
	int made = 0, e = 0;
	for (int i = 0; i < 50; i++) {
		pid_t p = fork();
		if (p == 0) {
			for (;;)
				pause();
		}
		if (p < 0) {
			e = errno;
			break;
		}
		made++;
	}
	int msg[2] = { made, e };
	(void)!write(f->out, msg, sizeof(msg));
	for (;;)
		pause();
}

static void pids_limit_stops_the_11th_task(void)
{
	HOST("pids", true);
	struct oci_resources r = { .pids = { true, 10 } };
	T_ASSERT_INT(cgroup_apply(h.cg, &r, &h.err), 0);
	int p[2];
	T_ASSERT(pipe(p) == 0);
	struct forker f = { p[1] };
	T_ASSERT(spawn_in(&h, fork_until_fail, &f) > 0);
	int msg[2] = { -1, -1 };
	T_ASSERT(read(p[0], msg, sizeof(msg)) == sizeof(msg));
	close(p[0]), close(p[1]);
	/* the child and 9 forks make 10 tasks; the next fork fails */
	T_ASSERT_INT(msg[0], 9);
	T_ASSERT_INT(msg[1], EAGAIN);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n;
	T_ASSERT_INT(cgroup_pids(h.cg, &pids, &n, &h.err), 0);
	T_ASSERT_INT(n, 10);
	struct cgroup_stats st;
	T_ASSERT_INT(cgroup_stats(h.cg, &st, &h.err), 0);
	cgroup_stats_release(&st);
	T_ASSERT(st.has_pids);
	T_ASSERT_INT(st.pids.current, 10);
	T_ASSERT_INT(st.pids.limit, 10);
	/* kill_all takes the whole tree */
	T_ASSERT_INT(cgroup_kill_all(h.cg, SIGKILL, &h.err), 0);
	waitpid(h.kids[0], NULL, 0);
	h.n_kids = 0;
	for (int i = 0; i < 300; i++) {
		reap_all();
		free(pids);
		pids = NULL;
		T_ASSERT_INT(cgroup_pids(h.cg, &pids, &n, &h.err), 0);
		if (n == 0)
			break;
		usleep(10000);
	}
	T_ASSERT_INT(n, 0);
	DESTROY_AND_CHECK();
}

/* ---- freezer and signals ------------------------------------------------ */

static void spin(void *arg)
{
	volatile uint64_t *counter = arg;
	for (;;)
		(*counter)++;
}

static void freeze_thaw(void)
{
	HOST("freeze", true);
	volatile uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(counter != MAP_FAILED);
	T_ASSERT(spawn_in(&h, spin, (void *)counter) > 0);
	while (*counter == 0)
		usleep(1000);
	T_ASSERT_INT(cgroup_freeze(h.cg, true, &h.err), 0);
	bool frozen = false;
	T_ASSERT_INT(cgroup_is_frozen(h.cg, &frozen, &h.err), 0);
	T_ASSERT(frozen);
	uint64_t a = *counter;
	usleep(100000);
	T_ASSERT(*counter == a);
	T_ASSERT_INT(cgroup_freeze(h.cg, false, &h.err), 0);
	T_ASSERT_INT(cgroup_is_frozen(h.cg, &frozen, &h.err), 0);
	T_ASSERT(!frozen);
	for (int i = 0; i < 1000 && *counter == a; i++)
		usleep(1000);
	T_ASSERT(*counter != a);
	munmap((void *)counter, 4096);
}

struct family {
	bool ignore_term;
	int out;
};

static void family(void *arg)
{
	struct family *f = arg;
	if (f->ignore_term)
		signal(SIGTERM, SIG_IGN);
	for (int i = 0; i < 3; i++)
		if (fork() == 0)
			for (;;)
				pause();
	(void)!write(f->out, "k", 1);
	for (;;)
		pause();
}

static size_t count_after(struct host *h, int ms)
{
	_cleanup_err_ struct cell_err *e = NULL;
	size_t n = 99;
	for (int i = 0; i < ms / 10; i++) {
		_cleanup_free_ pid_t *p = NULL;
		reap_all();
		if (cgroup_pids(h->cg, &p, &n, &e) < 0 || n == 0)
			break;
		usleep(10000);
	}
	return n;
}

static void kill_all_sigterm_then_sigkill(void)
{
	HOST("kill", true);
	int p[2];
	T_ASSERT(pipe(p) == 0);
	struct family f = { false, p[1] };
	char c;
	T_ASSERT(spawn_in(&h, family, &f) > 0);
	T_ASSERT(read(p[0], &c, 1) == 1);
	T_ASSERT_INT(cgroup_kill_all(h.cg, SIGTERM, &h.err), 0);
	waitpid(h.kids[0], NULL, 0);
	h.n_kids = 0;
	T_ASSERT_INT(count_after(&h, 2000), 0);

	/* children that ignore SIGTERM survive it, not SIGKILL */
	f.ignore_term = true;
	T_ASSERT(spawn_in(&h, family, &f) > 0);
	T_ASSERT(read(p[0], &c, 1) == 1);
	close(p[0]), close(p[1]);
	T_ASSERT_INT(cgroup_kill_all(h.cg, SIGTERM, &h.err), 0);
	T_ASSERT_INT(count_after(&h, 200), 4);
	bool frozen = true;
	T_ASSERT_INT(cgroup_is_frozen(h.cg, &frozen, &h.err), 0);
	T_ASSERT(!frozen); /* thawed again after signalling */
	/* every task is also in the v2 cgroup here: cgroup.kill does it */
	struct cgroup_ctx *ctx = h.cg->ctx;
	ctx->journal_on = true;
	int r = cgroup_kill_all(h.cg, SIGKILL, &h.err);
	ctx->journal_on = false;
	bool used_kill = false;
	for (char **j = ctx->journal; j && *j; j++)
		used_kill |= cell_str_has_suffix(*j, "/cgroup.kill=1");
	journal_reset(ctx);
	T_ASSERT_INT(r, 0);
	waitpid(h.kids[0], NULL, 0);
	h.n_kids = 0;
	T_ASSERT_INT(count_after(&h, 2000), 0);
	if (ctx->unified >= 0 && cg_exists(h.cg->dirs[ctx->unified], "cgroup.kill"))
		T_ASSERT(used_kill);
	DESTROY_AND_CHECK();
}

/* ---- destroy -------------------------------------------------------------- */

struct nested {
	struct host *h;
	int out;
};

static void make_nested(void *arg)
{
	struct nested *n = arg;
	struct host *h = n->h;
	char buf[24];
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	for (char **d = h->dirs; *d; d++) {
		_cleanup_free_ char *a = xasprintf("%s/sub/a", *d), *b = xasprintf("%s/sub2", *d);
		_cleanup_err_ struct cell_err *e = NULL;
		if (cell_mkdir_p(a, 0755, &e) < 0 || cell_mkdir_p(b, 0755, &e) < 0)
			_exit(3);
	}
	/* move into sub/a where that needs no setup (not cpuset) */
	int i = cg_find_controller(h->cg->ctx, "pids", "pids");
	if (i >= 0) {
		_cleanup_free_ char *a = xasprintf("%s/sub/a", h->dirs[i]);
		_cleanup_err_ struct cell_err *e = NULL;
		if (cg_write(h->cg->ctx, a, "cgroup.procs", buf, &e) < 0)
			_exit(4);
	}
	(void)!write(n->out, "n", 1);
	for (;;)
		pause();
}

static void destroy_nested_and_busy(void)
{
	HOST("nested", true);
	int p[2];
	T_ASSERT(pipe(p) == 0);
	struct nested nest = { &h, p[1] };
	pid_t pid = spawn_in(&h, make_nested, &nest);
	T_ASSERT(pid > 0);
	char c;
	T_ASSERT(read(p[0], &c, 1) == 1);
	close(p[0]), close(p[1]);
	/* busy in a nested cgroup: refused, all still there */
	T_ASSERT_INT(cgroup_destroy(h.cg, &h.err), -EBUSY);
	_cleanup_free_ char *want = xasprintf("still has 1 process (pid %d)", (int)pid);
	T_ASSERT_CONTAINS(h.err->msg, want);
	for (char **d = h.dirs; *d; d++) {
		_cleanup_free_ char *a = xasprintf("%s/sub/a", *d);
		T_ASSERT(access(a, F_OK) == 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	h.n_kids = 0;
	DESTROY_AND_CHECK();
}

/* ---- placement ------------------------------------------------------------- */

static void of_pid_matches(void)
{
	HOST("ofpid", false);
	pid_t pid = spawn_in(&h, sleep_forever, NULL);
	T_ASSERT(pid > 0);
	_cleanup_(cgroup_freep) struct cgroup *of = NULL;
	T_ASSERT_INT(cgroup_of_pid(pid, &of, &h.err), 0);
	for (size_t i = 0; i < h.cg->ctx->n_hier; i++)
		T_ASSERT_STR(cgroup_dirs(of)[i], h.dirs[i]);
	/* the name: v2 path on hybrid and v2 hosts (absolute there) */
	if (h.cg->ctx->unified >= 0)
		T_ASSERT(cell_str_has_suffix(cgroup_path(of), h.path));
}

struct threads {
	int out;
};

static void *thread_main(void *arg)
{
	struct threads *t = arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	(void)!write(t->out, &tid, sizeof(tid));
	for (;;)
		pause();
	return NULL;
}

static void two_threads(void *arg)
{
	pthread_t th;
	if (pthread_create(&th, NULL, thread_main, arg) != 0)
		_exit(5);
	for (;;)
		pause();
}

static bool task_in(pid_t pid, pid_t tid, const char *needle)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/task/%d/cgroup", (int)pid, (int)tid), *s = NULL;
	_cleanup_err_ struct cell_err *e = NULL;
	return cell_read_file(path, 1 << 16, &s, NULL, &e) == 0 && strstr(s, needle);
}

/* vCPU threads: one thread of a process into a child cgroup. */
static void thread_placement(void)
{
	HOST("threads", true);
	int p[2];
	T_ASSERT(pipe(p) == 0);
	struct threads t = { p[1] };
	pid_t pid = spawn_in(&h, two_threads, &t);
	T_ASSERT(pid > 0);
	pid_t tid;
	T_ASSERT(read(p[0], &tid, sizeof(tid)) == sizeof(tid));
	close(p[0]), close(p[1]);
	_cleanup_(cgroup_freep) struct cgroup *vcpu = NULL;
	T_ASSERT_INT(cgroup_create_threaded(h.cg, "vcpu0", &vcpu, &h.err), 0);
	T_ASSERT_INT(cgroup_enter_thread(vcpu, tid, &h.err), 0);
	T_ASSERT(task_in(pid, tid, "/vcpu0\n"));
	T_ASSERT(!task_in(pid, pid, "/vcpu0\n"));
	struct cgroup_ctx *ctx = h.cg->ctx;
	int cpu = cg_find_controller(ctx, "cpu", "cpu");
	if (cpu >= 0 && !ctx->hier[cpu].v2) {
		_cleanup_free_ char *line = xasprintf(":%s:%s/vcpu0\n",
						      ctx->hier[cpu].controllers[0], h.path);
		T_ASSERT(task_in(pid, tid, line));
	}
	if (ctx->unified >= 0) {
		/* the v2 side is threaded and holds the thread too */
		_cleanup_free_ char *type = fake_get(vcpu->dirs[ctx->unified], "cgroup.type");
		T_ASSERT_STR(type, "threaded");
		_cleanup_free_ char *v2line = xasprintf("0::%s/vcpu0\n", h.path);
		T_ASSERT(task_in(pid, tid, v2line));
	}
	/* CPU limits on the thread's cgroup */
	struct oci_resources r = { 0 };
	r.cpu.has_quota = true, r.cpu.quota = 20000;
	r.cpu.has_period = true, r.cpu.period = 100000;
	T_ASSERT_INT(cgroup_apply(vcpu, &r, &h.err), 0);
}

/* What the runtime does: resolve, record the directories, make; a later
 * command reopens from the record (relative paths would resolve against
 * its own cgroup) and removes everything. */
static void ledger_round_trip(void)
{
	if (geteuid() != 0)
		T_SKIP("needs root");
	_cleanup_err_ struct cell_err *err = NULL;
	_cleanup_free_ char *path = xasprintf("cell-test-%d-ledger/c", (int)getpid());
	_cleanup_(cgroup_freep) struct cgroup *cg = NULL, *again = NULL;
	T_ASSERT_INT(cgroup_resolve(path, &cg, &err), 0);
	_cleanup_strv_ char **rec = cell_strv_dup(cgroup_dirs(cg));
	T_ASSERT_INT(cgroup_make(cg, &err), 0);
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	int r = cgroup_enter(cg, pid, &err);
	int r2 = r < 0 ? r : cgroup_open_dirs(rec, &again, &err);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r3 = r2 < 0 ? r2 : cgroup_pids(again, &pids, &n, &err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	int d = again ? cgroup_destroy(again, &err) : -1;
	/* the parent made for it goes with the creating object */
	_cleanup_err_ struct cell_err *e2 = NULL;
	int d2 = cgroup_destroy(cg, &e2);
	T_ASSERT_INT(r, 0);
	T_ASSERT_INT(r2, 0);
	T_ASSERT_INT(r3, 0);
	T_ASSERT(n == 1 && pids[0] == pid);
	T_ASSERT_INT(d, 0);
	T_ASSERT_INT(d2, 0);
	for (char **dir = rec; *dir; dir++) {
		_cleanup_free_ char *up = cg_dirname(*dir);
		T_ASSERT(access(*dir, F_OK) < 0 && access(up, F_OK) < 0);
	}
}

T_MAIN("cgroup-host", T_CASE(ledger_round_trip), T_CASE(host_mode), T_CASE(pids_limit_stops_the_11th_task),
       T_CASE(freeze_thaw), T_CASE(kill_all_sigterm_then_sigkill),
       T_CASE(destroy_nested_and_busy), T_CASE(of_pid_matches), T_CASE(thread_placement))
