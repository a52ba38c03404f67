"""Resource allocation and tracking (issue 3): limits shown by their effect
inside the container, `update`, `stats`, `events`, and cleanup of cgroups.

The same tests run on cgroup v1, hybrid and v2 hosts: the few that look at
the cgroup tree itself ask cgroup_mode() which layout to expect."""
import json
import os
import signal
import subprocess
import time

from cellt import Skip

MiB = 1 << 20


def cgroup_mode():
    """"v2" when /sys/fs/cgroup is cgroup2, else "v1" (v1 or hybrid)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/sys/fs/cgroup":
                return "v2" if line.split(" - ")[1].startswith("cgroup2") else "v1"
    return "v1"


def cgroup_dirs(cid):
    """The container's cgroup directories on the host, any hierarchy."""
    found = []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(root, d) for d in dirs if d == cid]
    return found


def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_detached(t, args, flags=(), edit=None):
    b = t.bundle(args, edit=edit)
    cid = t.new_id()
    t.cell("run", "-d", *flags, "--bundle", b, cid)
    return cid


def stats_data(t, cid):
    line = t.cell("stats", "--no-stream", "--json", cid).out.strip()
    ev = json.loads(line)
    assert ev["type"] == "stats" and ev["id"] == cid, ev
    return ev["data"]


def go_file_mount(t):
    """A host directory bound at /go: the test releases the container by
    creating /go/go, so that a watcher can be ready first."""
    d = os.path.join(t.tmp, "go")
    os.makedirs(d, exist_ok=True)

    def edit(c):
        c["mounts"].append({"destination": "/go", "type": "bind", "source": d,
                            "options": ["bind", "rw"]})
    return d, edit


WAIT_GO = "while [ ! -e /go/go ]; do sleep 0.05; done; "


# -- allocation, shown by effect ----------------------------------------------

def test_cpus_limit_holds_a_busy_loop_near_its_share(t):
    cid = run_detached(t, ["/bin/sh", "-c", "while :; do :; done"], ["--cpus", "0.2"])
    pid = t.state(cid)["pid"]
    time.sleep(0.5)  # past the start, and any burst of the first period
    c0, w0 = proc_cpu_seconds(pid), time.monotonic()
    time.sleep(4)
    share = (proc_cpu_seconds(pid) - c0) / (time.monotonic() - w0)
    print(f"measured CPU share with --cpus 0.2: {share:.3f}")
    # The quota is a ceiling (0.2 plus tick rounding); below it only when
    # the 2-core machine is so busy that even 20% of a CPU is not free.
    assert 0.10 <= share <= 0.25, share
    data = stats_data(t, cid)
    assert data["cpu"]["throttling"]["throttledPeriods"] > 0, data["cpu"]
    pct = data["cpu"]["percent"]
    assert 8 <= pct <= 25, pct


def test_memory_limit_oom_kills_and_state_events_stats_say_so(t):
    d, edit = go_file_mount(t)
    cid = run_detached(t, ["/bin/sh", "-c", WAIT_GO + "exec /bin/probe alloc 512"],
                       ["--memory", "32M"], edit=edit)
    ev = t.popen("events", "--interval", "100ms", cid, stdout=subprocess.PIPE, text=True)
    first = ev.stdout.readline()  # the watch is registered before the first line
    assert json.loads(first)["type"] == "stats", first
    open(os.path.join(d, "go"), "w").close()
    out, _ = ev.communicate(timeout=30)
    types = [json.loads(line)["type"] for line in out.splitlines()]
    assert "oom" in types, out[-2000:]
    assert ev.returncode == 0
    t.wait_status(cid, "stopped")
    st = t.state(cid)
    assert st.get("oomKilled") is True and st["oomKills"] >= 1, st
    mem = stats_data(t, cid)["memory"]
    assert mem["oomKill"] >= 1, mem
    assert mem["usage"]["limit"] == 32 * MiB, mem
    assert mem["usage"]["max"] >= 30 * MiB, mem


def test_memory_limit_run_exit_status(t):
    b = t.bundle(["/bin/probe", "alloc", "512"])
    r = t.cell("run", "--memory", "32M", "--bundle", b, t.new_id(), check=False)
    assert r.rc == 137, r  # SIGKILL from the OOM killer
    b = t.bundle(["/bin/probe", "alloc", "16"])
    r = t.cell("run", "--memory", "32M", "--bundle", b, t.new_id())
    assert r.out.strip() == "ok", r


def test_pids_limit_stops_the_eleventh_process(t):
    # 10 tasks may exist: the init (the probe) and 9 children; the fork that
    # would make the 11th fails with EAGAIN.
    b = t.bundle(["/bin/probe", "fork", "20"])
    out = t.cell("run", "--pids-limit", "10", "--bundle", b, t.new_id()).out.split()
    assert out == ["forked", "9", "errno", "11"], out
    b = t.bundle(["/bin/probe", "fork", "20"])
    out = t.cell("run", "--bundle", b, t.new_id()).out.split()
    assert out == ["forked", "20"], out


def loop_device(t, size_mib=64):
    img = os.path.join(t.tmp, "loop.img")
    with open(img, "wb") as f:
        f.truncate(size_mib * MiB)
    r = subprocess.run(["losetup", "--find", "--show", img], capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip(f"losetup: {r.stderr.strip()}")
    dev = r.stdout.strip()
    t.on_cleanup(lambda: subprocess.run(["losetup", "-d", dev], check=True))
    st = os.stat(dev)
    return dev, os.major(st.st_rdev), os.minor(st.st_rdev)


def with_block_device(dev, major, minor):
    def edit(c):
        c["linux"]["devices"] = [{"type": "b", "path": dev, "major": major, "minor": minor}]
        c["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "b", "major": major, "minor": minor, "access": "rw"})
    return edit


def timed_write(dev, count):
    """A shell script writing count 64 KiB blocks to dev with O_DIRECT (the
    v1 throttle sees only I/O its cgroup submits), printing the seconds it
    took by the container's own clock."""
    return (f"s=$(cut -d' ' -f1 /proc/uptime); "
            f"dd if=/dev/zero of={dev} bs=64k count={count} oflag=direct 2>/dev/null; "
            f"e=$(cut -d' ' -f1 /proc/uptime); echo $s $e")


def seconds(out):
    s, e = out.split()
    return float(e) - float(s)


def test_write_throttle_on_loop_device(t):
    dev, major, minor = loop_device(t)
    edit = with_block_device(dev, major, minor)
    script = timed_write(dev, 48)  # 3 MiB
    limit = 1 * MiB
    b = t.bundle(["/bin/sh", "-c", script], edit=edit)
    cid = t.new_id()
    out = t.cell("run", "--keep", "--device-write-bps", f"{dev}:1M", "--bundle", b, cid).out
    rate = 3 * MiB / seconds(out)
    print(f"throttled write rate: {rate / MiB:.3f} MiB/s (limit 1 MiB/s)")
    # The throttle lets a slice through at once; over 3 MiB it holds the line.
    assert rate <= limit * 1.10, out
    # The same write without the limit is far faster: the limit did it.
    free_rate = 3 * MiB / max(seconds(t.run(t.bundle(["/bin/sh", "-c", script],
                                                       edit=edit)).out), 0.01)
    assert free_rate > 3 * limit, free_rate
    # And the first, kept container's stats count the bytes on that device.
    blk = stats_data(t, cid)["blkio"]["ioServiceBytesRecursive"]
    written = sum(e["value"] for e in blk
                  if e["major"] == major and e["minor"] == minor and e["op"] == "Write")
    assert written >= 3 * MiB, blk
    t.cell("delete", cid)


def test_denied_block_device_cannot_be_opened_by_root(t):
    dev, major, minor = loop_device(t, 8)

    def edit(c):
        with_block_device(dev, major, minor)(c)
        for s in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][s] += ["CAP_MKNOD", "CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"]
    # An sda-like node made inside: no rule allows 8:0, so root cannot open
    # it, for reading or writing; the loop device the spec allows opens.
    script = (f"id -u; mknod /dev/sda b 8 0 && /bin/probe open /dev/sda; "
              f"/bin/probe open /dev/sda w; /bin/probe open {dev} w")
    out = t.run(t.bundle(["/bin/sh", "-c", script], edit=edit)).out.split("\n")
    assert out[:4] == ["0", "errno 1", "errno 1", "ok"], out


# -- update ----------------------------------------------------------------------

def test_update_raises_and_lowers_memory_limit(t):
    cid = run_detached(t, ["/bin/sleep", "300"], ["--memory", "32M"])
    r = t.cell("exec", cid, "/bin/probe", "alloc", "48", check=False)
    assert r.rc == 137, r  # over 32M: OOM-killed
    t.cell("update", "--memory", "96M", cid)
    r = t.cell("exec", cid, "/bin/probe", "alloc", "48")
    assert r.out.strip() == "ok", r  # now it fits
    t.cell("update", "--memory", "16M", cid)
    r = t.cell("exec", cid, "/bin/probe", "alloc", "24", check=False)
    assert r.rc == 137, r  # lowered again: killed again
    assert stats_data(t, cid)["memory"]["usage"]["limit"] == 16 * MiB
    # The config copy in the state directory follows, for later commands.
    cfg = json.load(open(os.path.join(t.root, cid, "config.json")))
    assert cfg["linux"]["resources"]["memory"]["limit"] == 16 * MiB


def test_update_below_usage_is_refused_and_changes_nothing(t):
    cid = run_detached(t, ["/bin/probe", "alloc", "24", "hold"], ["--memory", "64M"])
    deadline = time.time() + 10
    while stats_data(t, cid)["memory"]["usage"]["usage"] < 24 * MiB:
        assert time.time() < deadline, "the probe did not allocate"
        time.sleep(0.1)
    r = t.cell_fails("update", "--memory", "8M", "--pids-limit", "5", cid)
    assert f'update container "{cid}"' in r.err and "memory.limit" in r.err, r
    assert "below" in r.err and "usage" in r.err, r
    data = stats_data(t, cid)
    assert data["memory"]["usage"]["limit"] == 64 * MiB, data["memory"]
    assert data["pids"]["limit"] == 0, data["pids"]  # not applied either
    assert t.state(cid)["status"] == "running"


def test_update_from_resources_file_and_stdin(t):
    cid = run_detached(t, ["/bin/sleep", "300"])
    f = os.path.join(t.tmp, "res.json")
    with open(f, "w") as fh:
        json.dump({"pids": {"limit": 7}, "cpu": {"quota": 30000, "period": 100000}}, fh)
    t.cell("update", "-r", f, cid)
    d = stats_data(t, cid)
    assert d["pids"]["limit"] == 7, d["pids"]
    t.cell("update", "-r", "-", cid, input='{"pids": {"limit": 9}}')
    assert stats_data(t, cid)["pids"]["limit"] == 9
    # Flags win over the file.
    t.cell("update", "-r", f, "--pids-limit", "11", cid)
    assert stats_data(t, cid)["pids"]["limit"] == 11
    with open(f, "w") as fh:
        fh.write('{"memory": {"limit": "lots"}}')
    r = t.cell_fails("update", "-r", f, cid)
    assert f"{f}: memory.limit: expected an integer" in r.err, r
    with open(f, "w") as fh:
        fh.write('{"devices": [{"allow": true, "access": "rwm"}]}')
    r = t.cell_fails("update", "-r", f, cid)
    assert "devices" in r.err and "cannot be updated" in r.err, r


def test_update_stopped_container_fails(t):
    b = t.bundle(["/bin/true"])
    cid = t.new_id()
    t.cell("run", "--keep", "--bundle", b, cid)
    r = t.cell_fails("update", "--memory", "64M", cid)
    assert "stopped" in r.err, r
    r = t.cell_fails("update", "--memory", "64M", "nonexistent-" + cid)
    assert "does not exist" in r.err, r
    t.cell("delete", cid)


# -- bad values: a clear error, nothing changed or left -------------------------------

def test_bad_resource_flags_name_the_flag_and_leave_nothing(t):
    cases = [
        (["--memory", "12QB"], "--memory 12QB: not a size"),
        (["--cpu-quota", "50000"], "--cpu-quota 50000: needs --cpu-period"),
        (["--cpuset-cpus", f"0-{os.cpu_count() + 3}"], "is not online on this machine"),
        (["--device-write-bps", "/dev/no-such-disk:1M"], "/dev/no-such-disk: No such file"),
        (["--device-read-iops", "/dev/null:10"], "/dev/null is not a block device"),
        (["--cpus", "1000"], "CPUs online"),
        (["--memory", "64M", "--memory-swap", "32M"], "--memory-swap"),
        (["--blkio-weight", "5"], "--blkio-weight 5"),
    ]
    for flags, want in cases:
        b = t.bundle(["/bin/true"])
        cid = t.new_id()
        r = t.cell_fails("run", *flags, "--bundle", b, cid)
        assert want in r.err, (flags, r)
        assert not os.path.exists(os.path.join(t.root, cid)), flags
        assert not cgroup_dirs(cid), (flags, cgroup_dirs(cid))
    # The same checks on update, and the running container keeps its limits.
    cid = run_detached(t, ["/bin/sleep", "300"], ["--memory", "64M", "--pids-limit", "50"])
    for flags, want in cases:
        r = t.cell_fails("update", *flags, cid)
        assert want in r.err, (flags, r)
    d = stats_data(t, cid)
    assert d["memory"]["usage"]["limit"] == 64 * MiB and d["pids"]["limit"] == 50, d


# -- stats and events --------------------------------------------------------------

def test_stats_of_several_and_all_containers(t):
    def edit(c):
        for s in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][s].append("CAP_NET_RAW")  # for ping
    ids = [run_detached(t, ["/bin/sh", "-c", "ping -c 3 -i 0.2 127.0.0.1 >/dev/null; "
                                             "exec sleep 300"], edit=edit) for _ in range(3)]
    time.sleep(1)
    lines = t.cell("stats", "--no-stream", "--json").out.splitlines()
    got = {json.loads(line)["id"]: json.loads(line) for line in lines}
    assert set(ids) <= set(got), (ids, list(got))
    for cid in ids:
        ev = got[cid]
        assert ev["status"] == "running", ev
        d = ev["data"]
        for k in ("cpu", "memory", "pids", "blkio", "hugetlb", "network_interfaces"):
            assert k in d, d
        assert d["pids"]["current"] >= 1 and d["memory"]["usage"]["usage"] > 0, d
        lo = [n for n in d["network_interfaces"] if n["Name"] == "lo"]
        # ping to itself: each packet leaves and enters lo in the container's netns
        assert lo and lo[0]["RxPackets"] >= 3 and lo[0]["TxBytes"] > 0, d["network_interfaces"]
    two = t.cell("stats", "--no-stream", "--json", ids[0], ids[2]).out.splitlines()
    assert [json.loads(x)["id"] for x in two] == [ids[0], ids[2]], two
    table = t.cell("stats", "--no-stream", ids[1]).out.splitlines()
    assert table[0].split()[:4] == ["ID", "STATUS", "CPU", "%"], table
    assert table[1].split()[:2] == [ids[1], "running"], table
    r = t.cell_fails("stats", "--no-stream", "no-such-container")
    assert "does not exist" in r.err, r


def test_stats_stream_reports_cpu_percent_over_each_interval(t):
    cid = run_detached(t, ["/bin/sh", "-c", "while :; do :; done"], ["--cpus", "0.5"])
    p = t.popen("stats", "--json", "--interval", "1s", cid, stdout=subprocess.PIPE, text=True)
    lines = [json.loads(p.stdout.readline()) for _ in range(4)]
    p.kill()
    p.wait()
    # Each interval holds 10 or 11 CFS periods of 50ms runtime: 50-55%,
    # plus sampling skew; lower only when the machine is very busy.
    pcts = [x["data"]["cpu"]["percent"] for x in lines[1:]]
    assert all(20 <= x <= 70 for x in pcts), pcts
    assert 30 <= sum(pcts) / len(pcts) <= 60, pcts
    # The stream ends by itself once its containers are gone.
    p = t.popen("stats", "--interval", "200ms", cid, stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    t.cell("delete", "--force", cid)
    assert p.wait(timeout=10) == 0


def test_events_stats_once_in_runc_format(t):
    cid = run_detached(t, ["/bin/sleep", "300"], ["--memory", "64M", "--pids-limit", "20"])
    lines = t.cell("events", "--stats", cid).out.splitlines()
    assert len(lines) == 1, lines
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid, ev
    d = ev["data"]
    assert set(d["cpu"]["usage"]) >= {"total", "kernel", "user"}, d["cpu"]
    assert set(d["cpu"]["throttling"]) >= {"periods", "throttledPeriods", "throttledTime"}
    assert d["memory"]["usage"]["limit"] == 64 * MiB and d["pids"]["limit"] == 20, d
    assert "ioServiceBytesRecursive" in d["blkio"] and "intel_rdt" in d, d
    t.cell("kill", cid, "KILL")
    t.wait_status(cid, "stopped")
    r = t.cell_fails("events", "--stats", cid)
    assert "is not running" in r.err, r
    r = t.cell_fails("events", cid)
    assert "is not running" in r.err, r
    r = t.cell_fails("events", "--interval", "0s", cid)
    assert "--interval 0s" in r.err, r


def test_events_stream_ends_when_the_container_exits(t):
    d, edit = go_file_mount(t)
    cid = run_detached(t, ["/bin/sh", "-c", WAIT_GO + "exit 0"], edit=edit)
    ev = t.popen("events", "--interval", "100ms", cid, stdout=subprocess.PIPE, text=True)
    ev.stdout.readline()
    open(os.path.join(d, "go"), "w").close()
    out, _ = ev.communicate(timeout=10)
    assert ev.returncode == 0
    assert all(json.loads(x)["type"] == "stats" for x in out.splitlines()), out


# -- cleanup -------------------------------------------------------------------------

def test_delete_removes_nested_cgroups(t):
    v2 = cgroup_mode() == "v2"

    def edit(c):
        for m in c["mounts"]:
            if m["destination"] == "/sys/fs/cgroup":
                m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    # The container makes cgroups of its own below its root and moves a
    # process into one of them.
    base = "/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/memory"
    script = (f"mkdir -p {base}/a/b; sleep 300 & echo $! > {base}/a/b/cgroup.procs; "
              f"exec sleep 300")
    cid = run_detached(t, ["/bin/sh", "-c", script], edit=edit)
    deadline = time.time() + 10
    nested = lambda: [d for d in cgroup_dirs(cid)  # noqa: E731
                      if os.path.isdir(os.path.join(d, "a", "b"))]
    while not nested():
        assert time.time() < deadline, cgroup_dirs(cid)
        time.sleep(0.1)
    inside = open(os.path.join(nested()[0], "a", "b", "cgroup.procs")).read().split()
    assert inside, "no process in the nested cgroup"
    t.cell("delete", "--force", cid)
    assert not cgroup_dirs(cid), cgroup_dirs(cid)


def test_sigkill_of_cell_mid_create_then_delete_leaves_nothing(t):
    hookpid = os.path.join(t.tmp, "hookpid")

    def edit(c):
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
            "sh", "-c", f"echo $$ > {hookpid}; exec sleep 60"]}]}
    b = t.bundle(["/bin/sleep", "300"], edit=edit)
    cid = t.new_id()
    p = t.popen("create", "--bundle", b, cid)
    deadline = time.time() + 10
    while not (os.path.exists(hookpid) and open(hookpid).read().strip()):
        assert time.time() < deadline, "the hook never ran"
        time.sleep(0.05)
    # create is inside the hook: the init is cloned and in its cgroup.
    assert cgroup_dirs(cid)
    p.send_signal(signal.SIGKILL)
    p.wait()
    os.kill(int(open(hookpid).read()), signal.SIGKILL)  # the orphaned hook
    st = t.state(cid)
    assert st["status"] == "stopped", st
    # Stopped, so runc's rule applies: delete needs no --force.
    t.h.reap_zombies()
    t.cell("delete", cid)
    assert not cgroup_dirs(cid), cgroup_dirs(cid)
    assert not os.path.exists(os.path.join(t.root, cid))
    r = t.cell_fails("state", cid)
    assert "does not exist" in r.err, r
