"""Checkpoint and restore through the command line (issue 5): real
containers go through `cell checkpoint` and come back with `cell restore`,
with the same PIDs and their counters going on; pre-dump and incremental
dumps; restore into another --root; bad images fail clearly and leave
nothing; real Debian programs; podman and containerd driving cell.

The containers write what they count into /data, a directory of the test
bind-mounted from the host, so the test reads it without entering them."""
import json
import os
import shutil
import subprocess
import tempfile
import time

from cellt import Skip


# -- helpers ------------------------------------------------------------------

def data_dir(t):
    d = tempfile.mkdtemp(prefix="data-", dir=t.tmp)
    os.chmod(d, 0o777)
    return d


def with_data(data, more=None):
    """A config edit: /data from the host, read-write."""
    def edit(cfg):
        cfg["mounts"].append({"destination": "/data", "type": "bind", "source": data,
                              "options": ["rbind", "rw"]})
        if more:
            more(cfg)
    return edit


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def read_int(path):
    v = read(path, "")
    return int(v) if v.isdigit() else -1


def wait_for(fn, what, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def ns_procs(t, cid, root=True):
    """{pid in the container: comm} of every process of a container."""
    pid = json.loads(t.cell("state", cid, root=root).out)["pid"]
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{d}/ns/pid") != ns:
                continue
            with open(f"/proc/{d}/status") as f:
                st = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
        except (OSError, ValueError):
            continue
        out[int(st["NSpid"].split()[-1])] = st["Name"]
    return out


def lasting(procs, comms=("sh",)):
    """The processes that live on (not the shell's short-lived children)."""
    return {p: c for p, c in procs.items() if c in comms}


def stable_procs(t, cid, comms=("sh",), root=True):
    """Processes of those names seen twice, 0.3 s apart: the lasting ones
    (a shell's child between fork and exec is an "sh" for a moment)."""
    a = lasting(ns_procs(t, cid, root=root), comms)
    time.sleep(0.3)
    b = lasting(ns_procs(t, cid, root=root), comms)
    return {p: c for p, c in a.items() if b.get(p) == c}


def checkpoint(t, cid, img, *flags, root=True):
    return t.cell("checkpoint", "--image-path", img, *flags, cid, root=root)


def restore(t, cid, img, *flags, root=True):
    return t.cell("restore", "-d", "--image-path", img, *flags, cid, root=root)


def stats(r):
    return json.loads(r.out.strip().splitlines()[-1])


COUNTER = ("echo $$ > /data/pid; (while true; do sleep 1; done) & echo $! > /data/bg; "
           "i=0; while true; do i=$((i+1)); echo $i >> /data/count; sleep 0.05; done")


def counts(data):
    """The numbers the counter wrote, whole lines only."""
    text = read_raw(f"{data}/count")
    return [int(x) for x in text[:text.rfind("\n") + 1].split()]


def read_raw(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def count(data):
    c = counts(data)
    return c[-1] if c else -1


def counter(t, cid=None, edit=None):
    """A busybox counter container, running; returns (id, data dir)."""
    data = data_dir(t)
    b = t.bundle(["sh", "-c", COUNTER], edit=with_data(data, edit))
    os.makedirs(os.path.join(b, "rootfs", "data"))  # (a user namespace could not)
    cid = cid or t.new_id("ck")
    t.cell("run", "-d", "--bundle", b, cid)
    wait_for(lambda: count(data) >= 5, "the counter to count")
    return cid, data


def assert_stopped_counting(data):
    c = count(data)
    time.sleep(0.3)
    assert count(data) == c, "the container still counts after its checkpoint"
    return c


def assert_counts_on(data, last):
    """The counter goes on from last (where it was at the checkpoint): one
    run of numbers from 1, never back to the start, none skipped or twice."""
    wait_for(lambda: count(data) > last + 3, "the restored counter to count")
    got = counts(data)
    assert got == list(range(1, len(got) + 1)), got[max(0, last - 5):last + 10]


def mtcounter_path(t):
    prog = os.path.join(t.h.build, "tests", "ckpt-mtcounter")
    if not os.path.exists(prog):
        raise Skip(f"{prog} is not built")
    return prog


def mt_state(data):
    """The line tests/apps/mtcounter.c keeps rewriting, or None."""
    s = read(f"{data}/state")
    try:
        return json.loads(s) if s else None
    except ValueError:  # read half-way through a rewrite
        return None


def mt_wait(data, rounds, what):
    return wait_for(lambda: (lambda s: s if s and s["round"] >= rounds else None)(
        mt_state(data)), what)


def mt_counter(t, threads=4, mib=8):
    """The multithreaded counter (static) in a busybox container."""
    prog = mtcounter_path(t)
    data = data_dir(t)
    b = t.bundle(["/bin/mtcounter", "/data", str(threads), str(mib)], edit=with_data(data))
    shutil.copy2(prog, os.path.join(b, "rootfs/bin/mtcounter"))
    cid = t.new_id("mt")
    t.cell("run", "-d", "--bundle", b, cid)
    return cid, data, mt_wait(data, 5, "the counter threads")


# -- the runtime: checkpoint, restore, the container around the tree --------

def test_checkpoint_restore_counter(t):
    cid, data = counter(t)
    before = stable_procs(t, cid)
    assert set(before) == {1, int(read(f"{data}/bg"))}, before
    old_pid = t.state(cid)["pid"]
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    # As runc: after a checkpoint without --leave-running the container is gone.
    assert "does not exist" in t.cell_fails("state", cid).err
    last = assert_stopped_counting(data)
    for f in ("inventory.img", "core.img", "pages.img", "config.json", "container.json"):
        assert os.path.exists(os.path.join(img, f)), f
    # No --bundle: the config the image holds.
    restore(t, cid, img)
    st = t.state(cid)
    assert st["status"] == "running" and st["pid"] != old_pid, st
    assert stable_procs(t, cid) == before
    assert_counts_on(data, last)
    # It is an ordinary container again: checkpoint it once more.
    img2 = os.path.join(t.tmp, "img2")
    checkpoint(t, cid, img2)
    last = assert_stopped_counting(data)
    restore(t, cid, img2)
    assert stable_procs(t, cid) == before
    assert_counts_on(data, last)
    t.cell("delete", "--force", cid)


def test_restore_in_foreground_waits_and_passes_status(t):
    data = data_dir(t)
    b = t.bundle(["sh", "-c", "i=0; while [ ! -e /data/stop ]; do i=$((i+1)); "
                  "echo $i > /data/count; sleep 0.05; done; exit 7"], edit=with_data(data))
    cid = t.new_id("ck")
    t.cell("run", "-d", "--bundle", b, cid)
    wait_for(lambda: read_int(f"{data}/count") >= 3, "the counter")
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    p = t.popen("restore", "--image-path", img, "--bundle", b, cid,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t.wait_status(cid, "running")
    open(f"{data}/stop", "w").close()
    assert p.wait(timeout=20) == 7, p.stderr.read()
    # Like run: the container is deleted once it has exited.
    assert "does not exist" in t.cell_fails("state", cid).err


def test_leave_running(t):
    # The multithreaded counter keeps its state file open at a fixed size:
    # a file the container changes after the checkpoint would fail the
    # restore (the engine checks the size of every file it reopens).
    cid, data, s0 = mt_counter(t, threads=2, mib=1)
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img, "--leave-running")
    after = mt_state(data)
    assert t.state(cid)["status"] == "running"
    mt_wait(data, after["round"] + 40, "the container to count on")
    t.cell("delete", "--force", cid)
    # What the killed counter wrote last (it may have counted on between
    # the wait above and the kill): the file keeps it until the restored
    # one writes.
    later = wait_for(lambda: mt_state(data), "the killed counter's last state")
    restore(t, cid, img)
    # Back to where it was at the checkpoint, not to where it got since.
    s = wait_for(lambda: (lambda x: x if x and x["round"] != later["round"] else None)(
        mt_state(data)), "the restored counter")
    assert s["tids"] == s0["tids"] and s["bad"] == 0, (s0, s)
    assert s0["round"] < s["round"] < later["round"], (s0, after, s, later)
    for a, b_, c in zip(s0["counts"], s["counts"], later["counts"]):
        assert a < b_ < c, (s0, s, later)


def test_predump_then_dump_with_parent(t):
    cid, data = counter(t)
    pre = os.path.join(t.tmp, "pre")
    img = os.path.join(t.tmp, "img")
    s = stats(checkpoint(t, cid, pre, "--pre-dump", "--print-stats"))
    assert s["pages_written"] > 0 and s["dirty_tracking"], s
    assert t.state(cid)["status"] == "running"
    time.sleep(0.2)
    # podman's spelling: the parent relative to the image directory.
    s = stats(checkpoint(t, cid, img, "--parent-path", "../pre", "--print-stats"))
    assert s["pages_skipped"] > 0, s
    last = assert_stopped_counting(data)
    r = t.cell("checkpoint", "--inspect", img)
    assert "with a parent image" in r.out, r.out
    restore(t, cid, img)
    assert_counts_on(data, last)
    # The dump cannot be restored without its parent.
    t.cell("delete", "--force", cid)
    shutil.rmtree(pre)
    r = t.cell_fails("restore", "-d", "--image-path", img, cid)
    assert "../pre" in r.err, r.err
    t.cell_fails("state", cid)


def test_restore_into_another_root(t):
    cid, data = counter(t)
    before = stable_procs(t, cid)
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    last = assert_stopped_counting(data)
    other = os.path.join(t.tmp, "other-root")
    t.on_cleanup(lambda: t.cell("delete", "--force", cid, root=other, check=False))
    restore(t, cid, img, root=other)
    assert json.loads(t.cell("state", cid, root=other).out)["status"] == "running"
    assert "does not exist" in t.cell_fails("state", cid).err
    assert stable_procs(t, cid, root=other) == before
    assert_counts_on(data, last)
    t.cell("delete", "--force", cid, root=other)
    assert not os.path.exists(os.path.join(other, cid))


def test_restore_keeps_cgroup_limits(t):
    def limits(cfg):
        cfg["linux"]["resources"].update(memory={"limit": 96 * 1024 * 1024},
                                         pids={"limit": 40})
    cid, data = counter(t, edit=limits)
    img = os.path.join(t.tmp, "img")
    # A limit changed by update is the one the container comes back with.
    t.cell("update", "--pids-limit", "33", cid)
    checkpoint(t, cid, img)
    restore(t, cid, img)
    pid = t.state(cid)["pid"]
    cg = dict(line.strip().split(":", 2)[1:] for line in open(f"/proc/{pid}/cgroup"))
    base = "/sys/fs/cgroup/unified" if "" in cg and len(cg) == 1 else "/sys/fs/cgroup"
    if "memory" in cg:
        assert read(f"{base}/memory{cg['memory']}/memory.limit_in_bytes") == str(96 << 20)
        assert read(f"{base}/pids{cg['pids']}/pids.max") == "33"
    else:
        assert read(f"{base}{cg['']}/memory.max") == str(96 << 20)
        assert read(f"{base}{cg['']}/pids.max") == "33"
    assert cid in cg.get("memory", cg.get("")), cg


def test_paused_container(t):
    # containerd pauses a task before it checkpoints it.
    cid, data = counter(t)
    t.cell("pause", cid)
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img, "--leave-running")
    assert t.state(cid)["status"] == "paused"
    last = assert_stopped_counting(data)
    img2 = os.path.join(t.tmp, "img2")
    checkpoint(t, cid, img2)
    t.cell_fails("state", cid)
    restore(t, cid, img2)
    assert t.state(cid)["status"] == "running"
    assert_counts_on(data, last)


def test_network_address_comes_back(t):
    import test_network as tn
    h = tn.Host(t)
    data = data_dir(t)
    b = tn.net_bundle(t, ["sh", "-c", "ip -4 -o addr show eth0 > /data/addr; "
                          "while true; do sleep 1; done"], network="default",
                      edit=with_data(data))
    cid = h.new_id("ckn")
    h.cell("run", "-d", "--bundle", b, cid)
    addr = wait_for(lambda: read(f"{data}/addr"), "the address").split()[3].split("/")[0]
    h.sh("busybox", "ping", "-c", "1", "-W", "2", addr)
    img = os.path.join(t.tmp, "img")
    h.cell("checkpoint", "--image-path", img, cid)
    assert json.loads(open(os.path.join(img, "container.json")).read())["network"] == \
        {"name": "default", "ip": addr}
    assert h.veths() == [] and h.leases()["default"] == [], h.leases()
    # Another container takes the next free address meanwhile: not this one.
    other = h.new_id("ckn")
    h.cell("run", "-d", "--bundle", tn.net_bundle(t, ["sleep", "60"], network="default"), other)
    h.cell("restore", "-d", "--image-path", img, cid)
    assert addr in h.leases()["default"], h.leases()
    h.sh("busybox", "ping", "-c", "1", "-W", "2", addr)
    st = json.loads(h.cell("state", cid).out)
    assert st["annotations"]["cell.ip"] == addr, st
    h.cell("delete", "--force", cid)
    h.cell("delete", "--force", other)
    h.assert_clean()


def test_user_namespace_container(t):
    def userns(cfg):
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    cid, data = counter(t, edit=userns)
    pid = t.state(cid)["pid"]
    uids = open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[:4]
    assert uids == ["101000"] * 4, uids
    before = stable_procs(t, cid)
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    last = assert_stopped_counting(data)
    restore(t, cid, img)
    pid = t.state(cid)["pid"]
    # Same user, inside the same kind of user namespace, same PIDs.
    assert open(f"/proc/{pid}/status").read().split("Uid:")[1].split()[:4] == uids
    assert open(f"/proc/{pid}/uid_map").read().split() == ["0", "100000", "65536"]
    assert stable_procs(t, cid) == before
    assert_counts_on(data, last)


def test_terminal_comes_back_on_a_new_console(t):
    from test_tty_exec import ConsoleSocket, read_until
    cs = ConsoleSocket(t)
    script = ("stty -echo; i=0; while read line; do i=$((i+1)); "
              "echo \"got $i: $line ($(stty size))\"; done")
    b = t.bundle(["/bin/sh", "-c", script],
                 edit=lambda c: c["process"].update(terminal=True, consoleSize={"height": 33,
                                                                               "width": 99}))
    cid = t.new_id("tty")
    t.cell("create", "--bundle", b, "--console-socket", cs.path, cid)
    master = cs.receive()
    t.on_cleanup(lambda: os.close(master))
    t.cell("start", cid)
    os.write(master, b"one\n")
    assert "got 1: one (33 99)" in read_until(master, "got 1"), "no answer before"
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    # The console's master is the caller's: restore makes a new terminal and
    # hands its master to --console-socket, as create does.
    r = t.cell_fails("restore", "-d", "--image-path", img, cid)
    assert "console" in r.err, r.err
    cs2 = ConsoleSocket(t)
    restore(t, cid, img, "--console-socket", cs2.path)
    master2 = cs2.receive()
    t.on_cleanup(lambda: os.close(master2))
    os.write(master2, b"two\n")
    # The shell goes on counting, on a terminal with the old one's size.
    assert "got 2: two (33 99)" in read_until(master2, "got 2"), "no answer after"


# -- bad input ----------------------------------------------------------------

def assert_nothing_left(t, cid):
    assert "does not exist" in t.cell_fails("state", cid).err
    assert not os.path.exists(os.path.join(t.root, cid))


def test_bad_images_fail_clearly_and_leave_nothing(t):
    cid, data = counter(t)
    good = os.path.join(t.tmp, "good")
    checkpoint(t, cid, good)

    def variant(name, mutate):
        d = os.path.join(t.tmp, name)
        shutil.copytree(good, d)
        mutate(d)
        return d

    def truncate(f, keep):
        def m(d):
            p = os.path.join(d, f)
            with open(p, "r+b") as fh:
                fh.truncate(int(os.path.getsize(p) * keep))
        return m

    def poke(f, at, data):
        def m(d):
            with open(os.path.join(d, f), "r+b") as fh:
                fh.seek(at)
                fh.write(data)
        return m

    # The first record's length (after the 16-byte file header), made huge;
    # and a field length inside it that runs past the record.
    huge_record = b"\xff\xff\xff\x7f"

    def write(f, text):
        def m(d):
            with open(os.path.join(d, f), "w") as fh:
                fh.write(text)
        return m

    def remove(f):
        return lambda d: os.remove(os.path.join(d, f))

    cases = [
        ("no-inventory", remove("inventory.img"), "no checkpoint image there"),
        ("short-pages", truncate("pages.img", 0.5), "pages.img"),
        ("short-core", truncate("core.img", 0.6), "core.img"),
        ("bad-magic", poke("core.img", 0, b"CELL-IMX"), "core.img"),
        ("huge-core-record", poke("core.img", 20, huge_record), "core.img"),
        ("bad-core-field", poke("core.img", 26, b"\xff\xff\xff\x00"), "core.img"),
        ("huge-pages-record", poke("pages.img", 20, huge_record), "pages.img"),
        ("bad-inventory", poke("inventory.img", 12, b"\x09\x00\x00\x00"), "inventory.img"),
        ("meta-type", write("container.json", '{"id": 5}'), "container.json: id"),
        ("meta-bundle", write("container.json", '{"id": "x", "bundle": "rel/dir"}'),
         "not an absolute path"),
        ("meta-stdio", write("container.json", '{"id": "x", "bundle": "/", "stdio": [7]}'),
         "stdio[0]"),
        ("meta-ip", write("container.json", '{"id": "x", "bundle": "/", "network": '
                          '{"name": "n", "ip": "10.0.0.999"}}'), "network.ip"),
        ("meta-huge", write("container.json", '{"id": "' + "x" * 70000 + '"}'),
         "container.json"),
        ("meta-junk", write("container.json", '{"id": "x"} trailing'), "not a JSON object"),
        ("no-meta", remove("container.json"), "give --bundle"),
        ("config-junk", write("config.json", "{ nope"), "config.json"),
    ]
    for name, mutate, want in cases:
        d = variant(name, mutate)
        r = t.cell_fails("restore", "-d", "--image-path", d, cid)
        assert want in r.err, (name, r.err)
        assert f'restore container "{cid}"' in r.err, (name, r.err)
        assert_nothing_left(t, cid)
    r = t.cell_fails("restore", "-d", "--image-path", os.path.join(t.tmp, "none"), cid)
    assert "no checkpoint image there" in r.err, r.err
    # The good image still works after all that.
    last = count(data)
    restore(t, cid, good)
    assert_counts_on(data, last)


def test_predump_image_is_refused_by_restore(t):
    cid, data = counter(t)
    pre = os.path.join(t.tmp, "pre")
    checkpoint(t, cid, pre, "--pre-dump")
    t.cell("delete", "--force", cid)
    b = t.bundle(["sh"], edit=with_data(data))
    r = t.cell_fails("restore", "-d", "--image-path", pre, "--bundle", b, cid)
    assert "pre-dump" in r.err, r.err
    assert_nothing_left(t, cid)


def test_checkpoint_errors(t):
    # What podman asks to learn whether the runtime checkpoints at all.
    assert t.cell("checkpoint", "--help").rc == 0
    for flag in ("--ext-unix-sk", "--shell-job", "--lazy-pages",
                 "--auto-dedup"):
        r = t.cell_fails("checkpoint", flag, "x")
        assert flag in r.err, r.err
    r = t.cell_fails("checkpoint", "--manage-cgroups-mode", "ignore", "x")
    assert "ignore" in r.err, r.err
    r = t.cell_fails("checkpoint", "--empty-ns", "pid", "x")
    assert "--empty-ns pid" in r.err, r.err
    r = t.cell_fails("checkpoint", "--image-path", os.path.join(t.tmp, "i"), "nosuch")
    assert 'container "nosuch" does not exist' in r.err, r.err
    # A created container has no tree to checkpoint yet.
    b = t.bundle(["sleep", "30"])
    cid = t.new_id()
    t.cell("create", "--bundle", b, cid)
    r = t.cell_fails("checkpoint", "--image-path", os.path.join(t.tmp, "i"), cid)
    assert "created" in r.err, r.err
    t.cell("delete", "--force", cid)
    # Without a PID namespace of its own there is no pid 1 to restore.
    def no_pidns(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                      if n["type"] != "pid"]
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", t.bundle(["sleep", "30"], edit=no_pidns), cid)
    r = t.cell_fails("checkpoint", "--image-path", os.path.join(t.tmp, "i"), cid)
    assert "PID namespace" in r.err, r.err
    assert t.state(cid)["status"] == "running"
    # An image directory that holds an image already is not overwritten.
    cid2, _ = counter(t)
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid2, img, "--leave-running")
    r = t.cell_fails("checkpoint", "--image-path", img, cid2)
    assert "already holds an image" in r.err, r.err
    assert os.path.exists(os.path.join(img, "container.json"))
    assert t.state(cid2)["status"] == "running"
    # Restore: refused options, an id in use.
    r = t.cell_fails("restore", "--lazy-pages", "--image-path", img, "y")
    assert "--lazy-pages" in r.err, r.err
    r = t.cell_fails("restore", "-d", "--image-path", img, cid2)
    assert "already exists" in r.err, r.err
    assert t.state(cid2)["status"] == "running"


def test_inspect(t):
    cid, _ = counter(t)
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img, "--leave-running")
    r = t.cell("checkpoint", "--inspect", img)
    assert "process 1 (sh)" in r.out and "full dump" in r.out, r.out
    j = json.loads(t.cell("checkpoint", "--inspect", img, "--json").out)
    assert j["processes"][0]["pid"] == 1 and j["processes"][0]["comm"] == "sh", j
    r = t.cell_fails("checkpoint", "--inspect", os.path.join(t.tmp, "none"))
    assert "none" in r.err, r.err


# -- real programs --------------------------------------------------------------

def debian_bundle(t, args, data, edit=None):
    """A root filesystem of Debian's own programs: the host's /usr, bound
    read-only, behind the usual merged-/usr links."""
    b = tempfile.mkdtemp(prefix="deb-", dir=t.tmp)
    os.chmod(b, 0o755)
    root = os.path.join(b, "rootfs")
    for d in ("usr", "etc", "proc", "dev", "sys", "tmp", "data", "root", "run"):
        os.makedirs(os.path.join(root, d))
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{link}", os.path.join(root, link))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\n")

    def ed(cfg):
        cfg["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                              "options": ["rbind", "ro"]})
        cfg["process"]["env"].append("HOME=/root")
        with_data(data, edit)(cfg)
    cfg = __import__("cellt").default_config(args)
    ed(cfg)
    t.write_config(b, cfg)
    return b


def test_multithreaded_counter(t):
    cid, data, s0 = mt_counter(t)
    assert s0["pid"] == 1 and len(set(s0["tids"])) == 4 and s0["bad"] == 0, s0
    img = os.path.join(t.tmp, "img")
    st = stats(checkpoint(t, cid, img, "--print-stats"))
    assert st["threads"] == 5 and st["pages_written"] >= 4 * 8 * 256, st
    at = mt_state(data)
    time.sleep(0.3)
    assert mt_state(data) == at, "still counting after the checkpoint"
    restore(t, cid, img)
    s1 = mt_wait(data, at["round"] + 5, "the restored counter")
    assert s1["pid"] == 1 and s1["tids"] == s0["tids"], (s0, s1)
    assert s1["bad"] == 0, s1
    for a, b_ in zip(at["counts"], s1["counts"]):
        assert a < b_ < a + 5000, (at, s1)


def test_shell_pipeline(t):
    data = data_dir(t)
    b = debian_bundle(t, ["/usr/bin/bash", "-c", "seq 1 100000000 | while read n; do "
                          "echo $n >> /data/log; sleep 0.02; done"], data)
    cid = t.new_id("pipe")
    t.cell("run", "-d", "--bundle", b, cid)

    def lines():
        return (read(f"{data}/log", "") or "").split()
    wait_for(lambda: len(lines()) >= 10, "the pipeline")
    before = stable_procs(t, cid, ("bash", "seq"))
    assert sorted(before.values()) == ["bash", "bash", "seq"], before
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    n = len(lines())
    restore(t, cid, img)
    assert stable_procs(t, cid, ("bash", "seq")) == before
    wait_for(lambda: len(lines()) >= n + 10, "the pipeline to go on")
    # The numbers seq had written ahead into the pipe came back with it:
    # the reader goes on with the next one, none lost, none twice.
    got = lines()
    assert got == [str(i) for i in range(1, len(got) + 1)], got[max(0, n - 5):n + 5]


def test_sqlite_writes_on(t):
    if not shutil.which("sqlite3"):
        raise Skip("sqlite3 is not installed (scripts/setup installs it)")
    data = data_dir(t)
    db = os.path.join(data, "db")
    subprocess.run(["sqlite3", db, "CREATE TABLE t(i INTEGER)"], check=True)
    os.chmod(db, 0o666)
    b = debian_bundle(t, ["/usr/bin/bash", "-c", "i=0; while true; do i=$((i+1)); "
                          "echo \"INSERT INTO t VALUES($i);\"; sleep 0.02; done | "
                          "sqlite3 -cmd '.timeout 5000' /data/db"], data)
    cid = t.new_id("sql")
    t.cell("run", "-d", "--bundle", b, cid)

    def query():
        r = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", db,
                            "SELECT count(*), count(DISTINCT i), min(i), max(i) FROM t"],
                           capture_output=True, text=True, check=True)
        return [int(x or 0) for x in r.stdout.strip().split("|")]
    wait_for(lambda: query()[0] >= 10, "rows")
    before = stable_procs(t, cid, ("bash", "sqlite3"))
    assert sorted(before.values()) == ["bash", "bash", "sqlite3"], before
    img = os.path.join(t.tmp, "img")
    checkpoint(t, cid, img)
    # (The database is not read between checkpoint and restore: a reader
    # would roll back the journal of the transaction the dump caught.)
    restore(t, cid, img)
    assert stable_procs(t, cid, ("bash", "sqlite3")) == before
    time.sleep(0.5)
    n0 = query()[0]
    q = wait_for(lambda: (lambda q: q if q[0] >= n0 + 10 else None)(query()), "more rows")
    count, distinct, lo, hi = q
    # Every row once, in order from 1: no restart, no loss, no repeat.
    assert count == distinct == hi and lo == 1, q


def test_python_http_server(t):
    import test_network as tn
    h = tn.Host(t)
    data = data_dir(t)
    with open(os.path.join(data, "hello.txt"), "w") as f:
        f.write("hello from a checkpointed server\n")
    b = debian_bundle(t, ["/usr/bin/python3", "-m", "http.server", "8000", "--directory",
                          "/data"], data,
                      edit=lambda c: c.setdefault("annotations", {}).update(
                          {"cell.network": "default"}))
    cid = h.new_id("py")
    h.cell("run", "-d", "--bundle", b, cid)
    ip = wait_for(lambda: next((f for f in h.leases().get("default", [])), None), "a lease")

    def get():
        r = h.sh("/usr/bin/python3", "-c", "import sys, urllib.request, time\n"
                 "for i in range(100):\n"
                 "    try:\n"
                 f"        print(urllib.request.urlopen('http://{ip}:8000/hello.txt', "
                 "timeout=2).read().decode(), end=''); sys.exit(0)\n"
                 "    except OSError: time.sleep(0.1)\n"
                 "sys.exit(1)", check=False)
        return r.stdout
    assert get() == "hello from a checkpointed server\n"
    pid_before = lasting(ns_procs(t, cid), ("python3",))
    img = os.path.join(t.tmp, "img")
    r = h.cell("checkpoint", "--image-path", img, cid, check=False)
    if r.rc != 0 and "socket" in r.err and ("not supported" in r.err or "unknown" in r.err):
        raise Skip("the engine does not checkpoint listening TCP sockets yet (the engine "
                   f"helper's work): {r.err.strip()}")
    assert r.rc == 0, r
    h.cell("restore", "-d", "--image-path", img, cid)
    assert lasting(ns_procs(t, cid), ("python3",)) == pid_before
    assert get() == "hello from a checkpointed server\n"
    h.cell("delete", "--force", cid)


# -- clients: podman and containerd drive cell's checkpoint and restore -------

def test_podman_checkpoint_restore(t):
    from test_clients import Podman, tarball
    pm = Podman(t)
    pm("import", tarball(t), "localhost/cellbb:test")
    # podman's defaults: its seccomp profile, no terminal.
    cid = pm("run", "-d", "--network", "none",
             "--name", "ck", "localhost/cellbb:test", "sh", "-c",
             "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done").stdout.strip()

    def logs():
        return [int(x) for x in pm("logs", "ck").stdout.split() if x.isdigit()]
    wait_for(lambda: len(logs()) >= 5, "podman's container to count")
    r = pm("container", "checkpoint", "ck", check=False)
    if r.returncode != 0 and "CRIU" in r.stderr:
        raise Skip(f"podman refuses checkpoints without a working criu: {r.stderr.strip()}")
    assert r.returncode == 0, r
    st = json.loads(pm("inspect", "ck").stdout)[0]["State"]
    assert st["Status"] == "exited" and st["Checkpointed"], st
    n = len(logs())
    pm("container", "restore", "ck")
    st = json.loads(pm("inspect", "ck").stdout)[0]["State"]
    assert st["Status"] == "running" and st["Restored"], st
    wait_for(lambda: len(logs()) >= n + 5, "the restored container to count")
    got = logs()
    # The counter went on from where it was: one sequence, no restart.
    assert got == list(range(1, len(got) + 1)), got
    # --leave-running (podman --keep-running / -R), then stop.
    pm("container", "checkpoint", "-R", "ck")
    assert json.loads(pm("inspect", "ck").stdout)[0]["State"]["Status"] == "running"
    pm("rm", "-f", "-t", "0", "ck")
    assert cid
    # With a terminal (conmon holds the console's master).
    pm("run", "-d", "-t", "--network", "none", "--name", "cktty", "localhost/cellbb:test",
       "sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done")

    def tlogs():
        return [int(x) for x in pm("logs", "cktty").stdout.split() if x.isdigit()]
    wait_for(lambda: len(tlogs()) >= 5, "the terminal container to count")
    pm("container", "checkpoint", "cktty")
    n = len(tlogs())
    pm("container", "restore", "cktty")
    wait_for(lambda: len(tlogs()) >= n + 5, "the restored terminal container to count")
    got = tlogs()
    assert got == list(range(1, len(got) + 1)), got
    pm("rm", "-f", "-t", "0", "cktty")


def test_containerd_task_checkpoint(t):
    from test_clients import Containerd, make_oci_archive
    cd = Containerd(t)
    tar = os.path.join(t.tmp, "image.tar")
    make_oci_archive(t, tar)
    cd.ctr("image", "import", "--no-unpack=false", "--snapshotter", "native", tar)
    data = data_dir(t)
    cd.ctr("run", "-d", "--snapshotter", "native", "--runc-binary", t.cell_bin,
           "--mount", f"type=bind,src={data},dst=/data,options=rbind:rw",
           "localhost/cellbb:test", "c1", "sh", "-c",
           "i=0; while true; do i=$((i+1)); echo $i > /data/count; sleep 0.05; done")
    wait_for(lambda: read_int(f"{data}/count") >= 5, "containerd's task to count")
    # containerd pauses the task, has the runtime checkpoint it (leaving it
    # running), and resumes it.
    work = os.path.join(t.tmp, "ctr-work")
    img = os.path.join(t.tmp, "ctr-img")
    cd.ctr("task", "checkpoint", "--image-path", img, "--work-path", work, "c1")
    assert os.path.exists(os.path.join(img, "inventory.img")), os.listdir(img)
    at = read_int(f"{data}/count")
    wait_for(lambda: read_int(f"{data}/count") > at + 5, "the task to count on")
    assert "RUNNING" in cd.ctr("task", "ls").stdout
    # Into the content store, and --exit: the task is gone afterwards.
    r = cd.ctr("task", "checkpoint", "--exit", "c1")
    assert "checkpoint/c1" in r.stdout, r
    wait_for(lambda: "RUNNING" not in cd.ctr("task", "ls").stdout, "the task to stop")
    assert_stopped_counting(data)
    cd.ctr("task", "delete", "c1")
    # A container checkpoint with its task and image, restored live: ctr
    # 1.6's whole round trip (containerd passes --file-locks here).
    data2 = data_dir(t)
    cd.ctr("run", "-d", "--snapshotter", "native", "--runc-binary", t.cell_bin,
           "--mount", f"type=bind,src={data2},dst=/data,options=rbind:rw",
           "--mount", f"type=bind,src={mtcounter_path(t)},dst=/mtcounter,options=rbind:ro",
           "localhost/cellbb:test", "c2", "/mtcounter", "/data", "2", "1")
    s0 = mt_wait(data2, 5, "the second task to count")
    cd.ctr("container", "checkpoint", "--task", "--image", "c2", "localhost/ck:1")
    after = mt_state(data2)
    later = mt_wait(data2, after["round"] + 40, "the task to count on")
    cd.ctr("task", "kill", "-s", "KILL", "c2")
    wait_for(lambda: "RUNNING" not in cd.ctr("task", "ls").stdout, "the task to stop")
    later = mt_state(data2)
    cd.ctr("task", "delete", "c2")
    cd.ctr("container", "delete", "c2")
    cd.ctr("container", "restore", "--live", "c2", "localhost/ck:1")
    s = wait_for(lambda: (lambda x: x if x and x["round"] != later["round"] else None)(
        mt_state(data2)), "the restored task to count")
    assert s["tids"] == s0["tids"] and s["bad"] == 0, (s0, s)
    assert s0["round"] < s["round"] < later["round"], (s0, after, s, later)
    assert "RUNNING" in cd.ctr("task", "ls").stdout
    cd.ctr("task", "kill", "-s", "KILL", "c2")
