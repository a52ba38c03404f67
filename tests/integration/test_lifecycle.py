"""The OCI lifecycle through the runc command line: create, start, state,
kill, delete, run, list, and the spec's error cases."""
import json
import os
import signal
import subprocess
import time

from cellt import Skip  # noqa: F401


def test_run_true_exits_zero(t):
    b = t.bundle(["/bin/true"])
    r = t.run(b)
    assert r.rc == 0, r


def test_run_passes_exit_status(t):
    b = t.bundle(["/bin/sh", "-c", "exit 42"])
    r = t.run(b, check=False)
    assert r.rc == 42, r


def test_run_output_reaches_caller(t):
    b = t.bundle(["/bin/echo", "hello from cell"])
    assert t.run(b).out == "hello from cell\n"


def test_run_killed_by_signal_is_128_plus(t):
    # (The init ignores SIGKILL sent from inside its own PID namespace, as
    # every PID 1 does: the signal has to come from outside.)
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    p = t.popen("run", "--bundle", b, cid)
    t.wait_status(cid, "running")
    t.cell("kill", cid, "KILL")
    assert p.wait(timeout=10) == 137


def test_create_start_state_delete(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    pidfile = os.path.join(t.tmp, "pid")
    t.cell("create", "--bundle", b, "--pid-file", pidfile, cid)
    st = t.state(cid)
    assert st["status"] == "created", st
    assert st["id"] == cid and st["bundle"] == b
    assert st["pid"] == int(open(pidfile).read()), (st, open(pidfile).read())
    # The init waits: it has not exec'd sleep yet.
    assert "sleep" not in open(f"/proc/{st['pid']}/cmdline").read()
    t.cell("start", cid)
    t.wait_status(cid, "running")
    assert "sleep" in open(f"/proc/{st['pid']}/cmdline").read()
    t.cell("kill", cid, "KILL")
    t.wait_status(cid, "stopped")
    assert t.state(cid)["pid"] == 0
    t.cell("delete", cid)
    r = t.cell_fails("state", cid)
    assert "does not exist" in r.err, r


def test_state_json_shape(t):
    b = t.bundle(["/bin/sleep", "30"],
                 edit=lambda c: c.update(annotations={"org.example.key": "v1"}))
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    st = t.state(cid)
    for k in ("ociVersion", "id", "pid", "status", "bundle", "rootfs", "created"):
        assert k in st, st
    assert st["annotations"] == {"org.example.key": "v1"}
    assert st["rootfs"] == os.path.join(b, "rootfs")
    assert st["created"].endswith("Z") and "T" in st["created"]


def test_start_twice_fails(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    t.cell("create", "--bundle", b, cid)
    t.cell("start", cid)
    r = t.cell_fails("start", cid)
    assert "already running" in r.err, r
    assert r.rc == 1


def test_start_stopped_fails(t):
    b = t.bundle(["/bin/true"])
    cid = t.new_id()
    t.cell("create", "--bundle", b, cid)
    t.cell("start", cid)
    t.wait_status(cid, "stopped")
    r = t.cell_fails("start", cid)
    assert "stopped" in r.err, r


def test_delete_running_needs_force(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    r = t.cell_fails("delete", cid)
    assert "not stopped" in r.err and "running" in r.err, r
    assert t.state(cid)["status"] == "running"
    pid = t.state(cid)["pid"]
    t.cell("delete", "--force", cid)
    assert not os.path.exists(f"/proc/{pid}/cmdline") or \
        "sleep" not in open(f"/proc/{pid}/cmdline").read()


def test_kill_stopped_fails(t):
    b = t.bundle(["/bin/true"])
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    t.wait_status(cid, "stopped")
    r = t.cell_fails("kill", cid, "TERM")
    assert "not running" in r.err, r
    # containerd's way: kill --all after the init is gone is fine.
    t.cell("kill", "--all", cid, "KILL")


def test_unknown_id(t):
    for verb in (["state"], ["start"], ["kill"], ["delete"], ["pause"], ["resume"], ["ps"],
                 ["exec"]):
        args = verb + ["no-such-container"] + (["true"] if verb == ["exec"] else [])
        r = t.cell_fails(*args)
        assert "no-such-container" in r.err and "does not exist" in r.err, (verb, r)
        assert r.rc == 1


def test_duplicate_id(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    t.cell("create", "--bundle", b, cid)
    r = t.cell_fails("create", "--bundle", b, cid)
    assert "already exists" in r.err, r
    assert t.state(cid)["status"] == "created"


def test_bad_ids(t):
    b = t.bundle(["/bin/true"])
    for bad in ("../x", "a/b", "", ".."):
        r = t.cell_fails("create", "--bundle", b, bad)
        assert "id" in r.err, (bad, r)
    assert not os.path.exists(os.path.join(t.root, "..", "x"))


def test_kill_default_sigterm_and_named(t):
    b = t.bundle(["/bin/sh", "-c", "trap 'echo got-term; exit 3' TERM; "
                  "while true; do sleep 0.1; done"])
    cid = t.new_id()
    p = t.popen("run", "--bundle", b, cid, stdout=subprocess.PIPE, text=True)
    t.wait_status(cid, "running")
    time.sleep(0.3)
    t.cell("kill", cid)
    out, _ = p.communicate(timeout=10)
    assert p.returncode == 3 and "got-term" in out, (p.returncode, out)


def test_kill_by_number_and_sig_prefix(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    t.cell("kill", cid, "SIGKILL")
    t.wait_status(cid, "stopped")
    r = t.cell_fails("kill", cid, "NOSUCHSIG")
    assert "unknown signal" in r.err


def test_list_formats(t):
    b = t.bundle(["/bin/sleep", "30"])
    a, c = t.new_id(), t.new_id()
    t.cell("run", "-d", "--bundle", b, a)
    t.cell("create", "--bundle", b, c)
    ids = t.cell("list", "-q").out.split()
    assert sorted(ids) == sorted([a, c]), ids
    js = json.loads(t.cell("list", "--format", "json").out)
    by = {x["id"]: x["status"] for x in js}
    assert by == {a: "running", c: "created"}, by
    table = t.cell("list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert len(table) == 3


def test_ps_lists_container_processes(t):
    b = t.bundle(["/bin/sh", "-c", "sleep 30 & sleep 31; true"])
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    time.sleep(0.3)
    pids = json.loads(t.cell("ps", "--format", "json", cid).out)
    assert len(pids) == 3, pids
    assert t.state(cid)["pid"] in pids
    table = t.cell("ps", cid).out
    assert "sleep 30" in table and "sleep 31" in table, table


def test_pause_resume(t):
    b = t.bundle(["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; done"])
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    pid = t.state(cid)["pid"]
    t.cell("pause", cid)
    assert t.state(cid)["status"] == "paused"
    st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    # A frozen task sleeps in the freezer: not runnable, whatever it was doing.
    assert st in ("D", "S"), st
    r = t.cell_fails("pause", cid)
    assert "not running" in r.err
    t.cell("resume", cid)
    assert t.state(cid)["status"] == "running"
    r = t.cell_fails("resume", cid)
    assert "not paused" in r.err
    t.cell("pause", cid)
    t.cell("delete", "--force", cid)   # delete must thaw to kill


def test_state_after_init_dies(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    pid = t.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    t.wait_status(cid, "stopped")


def test_run_rootfs_and_command(t):
    b = t.bundle(["/bin/true"])
    cid = t.new_id()
    # --net none: tests never touch the machine's own network namespace.
    r = t.cell("run", "--net", "none", "--rootfs", os.path.join(b, "rootfs"), cid, "--",
               "/bin/sh", "-c", "echo hi; hostname")
    assert r.out == f"hi\n{cid}\n", r


def test_run_builtin_rootfs(t):
    cid = t.new_id()
    r = t.cell("run", "--net", "none", cid, "--", "/bin/sh", "-c",
               "echo $((6*7)); cat /etc/os-release")
    assert r.out.startswith("42\n") and "cell built-in busybox" in r.out, r
    # The shared image is read-only; /tmp is private and writable.
    cid2 = t.new_id()
    r = t.cell("run", "--net", "none", cid2, "--", "/bin/sh", "-c",
               "touch /x 2>&1; touch /tmp/y && echo tmp-ok")
    assert "Read-only file system" in r.out and "tmp-ok" in r.out, r


def test_version_and_features(t):
    v = t.cell("--version", root=False).out
    assert v.startswith("cell version ") and "spec: 1.2" in v, v
    f = json.loads(t.cell("features", root=False).out)
    assert "pid" in f["linux"]["namespaces"]
    assert "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    assert "SCMP_ACT_ERRNO" in f["linux"]["seccomp"]["actions"]
    assert "rbind" in f["mountOptions"]


def test_systemd_cgroup_flag_refused(t):
    b = t.bundle(["/bin/true"])
    r = t.cell_fails("--systemd-cgroup", "create", "--bundle", b, t.new_id())
    assert "--systemd-cgroup is not supported" in r.err, r


def test_log_json_has_error(t):
    log = os.path.join(t.tmp, "log.json")
    r = t.cell_fails("--log", log, "--log-format", "json", "state", "nope")
    lines = [json.loads(x) for x in open(log).read().splitlines()]
    assert lines[-1]["level"] == "error" and "nope" in lines[-1]["msg"], lines
    assert "does not exist" in r.err


def test_preserve_fds(t):
    b = t.bundle(["/bin/sh", "-c", "cat <&3"])
    cid = t.new_id()
    rfd, wfd = os.pipe()
    os.write(wfd, b"through fd 3\n")
    os.close(wfd)
    cp = subprocess.run([t.cell_bin, "--root", t.root, "run", "--preserve-fds", "1",
                         "--bundle", b, cid], pass_fds=(rfd,), capture_output=True, text=True,
                        preexec_fn=lambda: os.dup2(rfd, 3), timeout=30)
    os.close(rfd)
    assert cp.returncode == 0 and cp.stdout == "through fd 3\n", cp


def test_leaked_fds_are_closed(t):
    b = t.bundle(["/bin/sh", "-c", "ls /proc/self/fd | wc -l"])
    cid = t.new_id()
    rfd, wfd = os.pipe()
    cp = subprocess.run([t.cell_bin, "--root", t.root, "run", "--bundle", b, cid],
                        pass_fds=(rfd, wfd), capture_output=True, text=True, timeout=30)
    os.close(rfd)
    os.close(wfd)
    # 0, 1, 2 and the fd ls itself opens.
    assert cp.stdout.strip() == "4", cp
