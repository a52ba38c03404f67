"""cell killed with SIGKILL at awkward moments, and many cells at once on one
id: `state` stays truthful, a later command cleans up, nothing is left
(the harness checks mounts, cgroups, state and processes after each test)."""
import concurrent.futures
import os
import signal
import subprocess
import time


def blocking_hook(t, name, marker, seconds):
    path = os.path.join(t.tmp, name)
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\ntouch {marker}\nexec sleep {seconds}\n")
    os.chmod(path, 0o755)
    return path


def wait_for(path, timeout=20):
    end = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < end, f"{path} never appeared"
        time.sleep(0.05)


def children_named(name):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if open(f"/proc/{d}/comm").read().strip() == name:
                    out.append(int(d))
            except OSError:
                pass
    return out


def kill_hook_sleepers():
    # The hook outlives the cell that ran it (runc's hooks do too); stop
    # ours, recognisable by its unusual argument.
    for pid in children_named("sleep"):
        try:
            if open(f"/proc/{pid}/cmdline").read() == "sleep\x004242\x00":
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_sigkill_during_runtime_hook(t):
    marker = os.path.join(t.tmp, "in-hook")
    hook = blocking_hook(t, "block.sh", marker, 4242)
    b = t.bundle(["/bin/sleep", "30"], edit=lambda c: c.update(
        hooks={"createRuntime": [{"path": hook}]}))
    cid = t.new_id()
    p = t.popen("create", "--bundle", b, cid, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    t.on_cleanup(kill_hook_sleepers)
    wait_for(marker)
    # While create holds its lock in the middle of the hook: "creating".
    assert t.state(cid)["status"] == "creating"
    p.send_signal(signal.SIGKILL)
    p.wait()
    # The creator is gone: the half-made container is stopped, not creating.
    t.wait_status(cid, "stopped")
    assert t.cell_fails("start", cid).rc == 1
    t.cell("delete", cid)
    assert t.cell("state", cid, check=False).rc == 1


def test_sigkill_during_container_hook(t):
    marker = os.path.join(t.tmp, "in-hook")
    hook = blocking_hook(t, "block.sh", marker, 2)
    b = t.bundle(["/bin/sleep", "30"], edit=lambda c: c.update(
        hooks={"createContainer": [{"path": hook}]}))
    cid = t.new_id()
    p = t.popen("create", "--bundle", b, cid, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    wait_for(marker)
    p.send_signal(signal.SIGKILL)
    p.wait()
    t.wait_status(cid, "stopped")
    # The init noticed cell's end and gave up on its own.
    time.sleep(2.5)
    t.cell("delete", cid)


def test_sigkill_of_foreground_run(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    p = t.popen("run", "--bundle", b, cid, stdout=subprocess.DEVNULL)
    t.wait_status(cid, "running")
    pid = t.state(cid)["pid"]
    p.send_signal(signal.SIGKILL)
    p.wait()
    # The container outlives the cell that watched it, as with runc.
    assert t.state(cid)["status"] == "running" and t.state(cid)["pid"] == pid
    t.cell_fails("delete", cid)
    t.cell("delete", "--force", cid)


def test_concurrent_create_same_id(t):
    b = t.bundle(["/bin/sleep", "30"])
    cid = t.new_id()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: t.cell("create", "--bundle", b, cid, check=False),
                              range(8)))
    ok = [r for r in results if r.rc == 0]
    assert len(ok) == 1, results
    assert all("already exists" in r.err for r in results if r.rc != 0), results
    assert t.state(cid)["status"] == "created"
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda _: t.cell("delete", "--force", cid, check=False),
                              range(4)))
    assert sum(r.rc == 0 for r in results) >= 1, results
    assert all(r.rc == 0 or "does not exist" in r.err for r in results), results


def test_concurrent_lifecycles(t):
    b = t.bundle(["/bin/sh", "-c", "echo $$"])
    ids = [t.new_id() for _ in range(12)]
    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(lambda cid: t.cell("run", "--bundle", b, cid, check=False), ids))
    assert all(r.rc == 0 and r.out == "1\n" for r in results), results
    assert t.cell("list", "-q").out == ""
