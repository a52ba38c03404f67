#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"
#include "state/state.h"
#include "t.h"

static char root[64];

static void make_root(void)
{
	snprintf(root, sizeof(root), "/tmp/cell-state-test.XXXXXX");
	if (!mkdtemp(root))
		abort();
}

static void remove_root(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		abort();
}

static void ids(void)
{
	struct cell_err *err = NULL;
	T_ASSERT_INT(state_check_id("web-1_a.b+c", &err), 0);
	T_ASSERT(state_check_id("../x", &err) < 0);
	T_ASSERT_CONTAINS(err->msg, "\"../x\"");
	T_ASSERT(state_check_id("a/b", &err) < 0);
	T_ASSERT(state_check_id("..", &err) < 0);
	T_ASSERT(state_check_id("", &err) < 0);
	T_ASSERT(state_check_id("a b", &err) < 0);
	cell_err_free(err);
}

static void create_twice_and_open(void)
{
	make_root();
	struct cell_err *err = NULL;
	struct state_dir a, b;
	T_ASSERT_INT(state_dir_create(root, "c1", &a, &err), 0);
	T_ASSERT_INT(state_dir_create(root, "c1", &b, &err), -EEXIST);
	T_ASSERT_CONTAINS(err->msg, "container \"c1\" already exists");
	T_ASSERT_INT(state_dir_open(root, "nope", false, &b, &err), -ENOENT);
	T_ASSERT_CONTAINS(err->msg, "container \"nope\" does not exist");
	T_ASSERT_INT(state_dir_open(root, "c1", false, &b, &err), 0);
	/* create holds the lock: another opener cannot take it. */
	T_ASSERT_INT(state_dir_try_lock(&b), -EWOULDBLOCK);
	state_dir_close(&a);
	T_ASSERT_INT(state_dir_try_lock(&b), 0);
	T_ASSERT_INT(state_dir_remove(&b, &err), 0);
	state_dir_close(&b);
	struct stat st;
	T_ASSERT(stat(root, &st) == 0);
	cell_err_free(err);
	remove_root();
}

static void record_round_trip(void)
{
	make_root();
	struct cell_err *err = NULL;
	struct state_dir d;
	T_ASSERT_INT(state_dir_create(root, "c2", &d, &err), 0);
	struct oci_kv ann[] = { { "k\"ey", "va\nlue" } };
	struct state_record rec = { .id = "c2", .phase = STATE_PHASE_CREATED, .bundle = "/b",
				    .rootfs = "/b/rootfs", .created = "2026-11-30T00:00:00Z",
				    .owner = "", .pid = 1234, .pid_start = 987654321,
				    .cgroup = "/cell/c2", .own_userns = true, .own_pidns = true,
				    .annotations = ann, .n_annotations = 1 };
	T_ASSERT_INT(state_record_write(&d, &rec, &err), 0);
	struct state_record got = { 0 };
	T_ASSERT_INT(state_record_read(&d, &got, &err), 0);
	T_ASSERT_STR(got.id, "c2");
	T_ASSERT_INT(got.phase, STATE_PHASE_CREATED);
	T_ASSERT_STR(got.rootfs, "/b/rootfs");
	T_ASSERT_INT(got.pid, 1234);
	T_ASSERT(got.pid_start == 987654321);
	T_ASSERT(got.own_userns && got.own_pidns);
	T_ASSERT_INT(got.n_annotations, 1);
	T_ASSERT_STR(got.annotations[0].key, "k\"ey");
	T_ASSERT_STR(got.annotations[0].value, "va\nlue");
	state_record_clear(&got);
	state_dir_close(&d);
	remove_root();
}

static void corrupt_record(void)
{
	make_root();
	struct cell_err *err = NULL;
	struct state_dir d;
	T_ASSERT_INT(state_dir_create(root, "c3", &d, &err), 0);
	T_ASSERT_INT(cell_write_file_atomic_at(d.fd, "state.json", "{not json", 9, 0600, &err), 0);
	struct state_record got = { 0 };
	T_ASSERT_INT(state_record_read(&d, &got, &err), -EIO);
	T_ASSERT_CONTAINS(err->msg, "corrupt state record");
	cell_err_free(err);
	state_dir_close(&d);
	remove_root();
}

static void ledger_escapes(void)
{
	make_root();
	struct cell_err *err = NULL;
	struct state_dir d;
	T_ASSERT_INT(state_dir_create(root, "c4", &d, &err), 0);
	char *a1[] = { "/sys/fs/cgroup/cpu/with space", "100%", "", "tab\there", NULL };
	char *a2[] = { "x", NULL };
	T_ASSERT_INT(ledger_append(&d, "cgroup", a1, &err), 0);
	T_ASSERT_INT(ledger_append(&d, "veth", a2, &err), 0);
	struct ledger_entry *e = NULL;
	size_t n = 0;
	T_ASSERT_INT(ledger_read(&d, &e, &n, &err), 0);
	T_ASSERT_INT(n, 2);
	T_ASSERT_STR(e[0].kind, "cgroup");
	T_ASSERT_INT(cell_strv_len(e[0].args), 4);
	T_ASSERT_STR(e[0].args[0], "/sys/fs/cgroup/cpu/with space");
	T_ASSERT_STR(e[0].args[1], "100%");
	T_ASSERT_STR(e[0].args[2], "");
	T_ASSERT_STR(e[0].args[3], "tab\there");
	T_ASSERT_STR(e[1].kind, "veth");
	ledger_free(e, n);
	state_dir_close(&d);
	remove_root();
}

static void list_skips_hidden_and_files(void)
{
	make_root();
	struct cell_err *err = NULL;
	char p[128];
	snprintf(p, sizeof(p), "%s/.images", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/b", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/a", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/file", root);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	char **ids = NULL;
	T_ASSERT_INT(state_list_ids(root, &ids, &err), 0);
	T_ASSERT_INT(cell_strv_len(ids), 2);
	T_ASSERT_STR(ids[0], "a");
	T_ASSERT_STR(ids[1], "b");
	cell_strv_free(ids);
	T_ASSERT_INT(state_list_ids("/nonexistent/cell-root", &ids, &err), 0);
	T_ASSERT_INT(cell_strv_len(ids), 0);
	cell_strv_free(ids);
	remove_root();
}

T_MAIN("state", T_CASE(ids), T_CASE(create_twice_and_open), T_CASE(record_round_trip),
       T_CASE(corrupt_record), T_CASE(ledger_escapes), T_CASE(list_skips_hidden_and_files))
