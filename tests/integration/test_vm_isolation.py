"""`cell run --isolation vm`: an OCI bundle's process in a light-guest
microVM, against the same bundle run as a container.  Needs /dev/kvm."""
import glob
import json
import os
import shutil
import signal
import subprocess
import time

import cellt

ANN = "run.cell.isolation"


def need_kvm():
    if not os.path.exists("/dev/kvm"):
        raise cellt.Skip("no /dev/kvm on this host")


def bundle(t, args, edit=None, extra=()):
    """A busybox bundle; extra: programs from the build's tests/vm copied in."""
    need_kvm()
    b = t.bundle(args=args, edit=edit)
    for p in extra:
        dst = os.path.join(b, "rootfs", "bin", p)
        os.unlink(dst) if os.path.lexists(dst) else None
        shutil.copy2(os.path.join(t.h.build, "tests", "vm", p), dst)
    return b


def vm_run(t, b, *opts, check=False, timeout=60):
    vid = t.new_id("vmi")
    return vid, t.cell("run", "--isolation", "vm", *opts, "--bundle", b, vid, check=check,
                       timeout=timeout)


def in_vm_probe():
    """Prints where it runs: a container has /proc, the light guest none."""
    return ["sh", "-c", "if test -e /proc/self/status; then echo container; else echo vm; fi"]


def nothing_left(t, vid):
    vmdir = os.path.join(t.root, "vm", vid)
    assert not os.path.exists(vmdir), f"{vmdir} left"
    assert not os.path.exists(os.path.join(t.root, vid)), "container state left"
    assert not cellt.cgroups_named({vid}), cellt.cgroups_named({vid})


def wait_gone(t, vid, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        t.h.reap_zombies()
        if not os.path.exists(os.path.join(t.root, "vm", vid)):
            return
        t.cell("vm", "list", check=False)  # notices a dead monitor and cleans up
        time.sleep(0.05)
    raise AssertionError(f"vm {vid} still there")


def test_echo_and_exit_codes_match_container(t):
    for args in (["echo", "hello", "world"], ["sh", "-c", "echo out; echo err >&2; exit 3"],
                 ["sh", "-c", "exit 0"], ["false"]):
        b = bundle(t, args)
        c = t.run(b, check=False)
        vid, v = vm_run(t, b)
        assert (v.rc, v.out, v.err) == (c.rc, c.out, c.err), f"{args}: container {c}, vm {v}"
        nothing_left(t, vid)


def test_process_fields_honoured(t):
    def edit(cfg):
        p = cfg["process"]
        p["env"] = ["PATH=/bin:/usr/bin", "FOO=bar baz"]
        p["cwd"] = "/tmp"
        cfg["hostname"] = "guesthost"
    b = bundle(t, ["sh", "-c", 'echo "$FOO|$(pwd)|$(hostname)|$1|$#"', "zero", "a b"], edit)
    vid, v = vm_run(t, b)
    assert v.rc == 0 and v.out == "bar baz|/tmp|guesthost|a b|1\n", v
    # user: the first process's identity is the config's
    b = bundle(t, ["id", "-u"], lambda c: c["process"].update(user={"uid": 1000, "gid": 1000}))
    vid, v = vm_run(t, b)
    assert v.rc == 0 and v.out == "1000\n", v
    b = bundle(t, ["id", "-g"], lambda c: c["process"].update(user={"uid": 1000, "gid": 2000}))
    vid, v = vm_run(t, b)
    assert v.rc == 0 and v.out == "2000\n", v
    # a forked child keeps its parent's identity (the shell forks id)
    b = bundle(t, ["sh", "-c", "/bin/id -u; /bin/id -g"],
               lambda c: c["process"].update(user={"uid": 1000, "gid": 2000}))
    vid, v = vm_run(t, b)
    assert v.rc == 0 and v.out == "1000\n2000\n", v
    assert in_vm_probe()  # and it really ran in a VM:
    vid, v = vm_run(t, bundle(t, in_vm_probe()))
    assert v.out == "vm\n", v


def test_generated_config(t):
    need_kvm()
    vid = t.new_id("vmg")
    r = t.cell("run", "--isolation", "vm", "--rootfs", t.h.rootfs, vid, "--", "sh", "-c",
               "echo generated; exit 5", check=False)
    assert (r.rc, r.out) == (5, "generated\n"), r
    nothing_left(t, vid)


def test_readonly_root(t):
    b = bundle(t, ["sh", "-c", "touch /written && echo wrote"])
    vid, v = vm_run(t, b)  # default_config(): root.readonly true
    assert v.rc != 0 and "Read-only" in v.err, v
    assert not os.path.exists(os.path.join(b, "rootfs", "written"))
    b = bundle(t, ["sh", "-c", "touch /written && echo wrote"],
               lambda c: c["root"].update(readonly=False))
    vid, v = vm_run(t, b)
    assert v.rc == 0 and v.out == "wrote\n", v
    assert os.path.exists(os.path.join(b, "rootfs", "written"))


def test_signal_reaches_the_program(t):
    b = bundle(t, ["sleep", "30"])
    vid = t.new_id("vms")
    p = t.popen("run", "--isolation", "vm", "--bundle", b, vid, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
    end = time.time() + 10
    while time.time() < end and not os.path.exists(os.path.join(t.root, "vm", vid, "state.json")):
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=15) == 128 + signal.SIGTERM  # as `cell run` for a container
    nothing_left(t, vid)


def test_detached_visible_and_controllable(t):
    b = bundle(t, ["sh", "-c", "while true; do echo tick; sleep 0.1; done"])
    vid, r = vm_run(t, b, "-d", check=True)
    assert r.out == ""
    vms = json.loads(t.cell("vm", "list", "--format", "json").out)
    assert [v["status"] for v in vms if v["id"] == vid] == ["running"], vms
    st = t.state(vid)
    assert st["status"] == "running" and st["id"] == vid and st["pid"] > 0, st
    assert st["bundle"] == os.path.realpath(b) and st["annotations"][ANN] == "vm", st
    assert st["rootfs"] == os.path.join(os.path.realpath(b), "rootfs"), st
    listed = json.loads(t.cell("list", "--format", "json").out)
    assert [c["status"] for c in listed if c["id"] == vid] == ["running"], listed
    assert vid in t.cell("list", "-q").out.split()
    assert "vm" not in t.cell("list", "-q").out.split()  # ROOT/vm is no container
    e = t.cell_fails("delete", vid).err
    assert "running" in e, e
    # a container cannot take the id
    e = t.cell_fails("run", "--bundle", b, vid).err
    assert "already exists" in e, e
    t.cell("vm", "stop", vid)
    wait_gone(t, vid)
    nothing_left(t, vid)

    # the runtime's verbs: kill with a signal, state says stopped, delete
    vid2, _ = vm_run(t, bundle(t, ["sleep", "60"]), "-d", check=True)
    pid = t.state(vid2)["pid"]
    t.cell("kill", vid2, "TERM")
    end = time.time() + 15
    while time.time() < end and os.path.exists(f"/proc/{pid}"):
        t.h.reap_zombies()
        time.sleep(0.05)
    assert t.state(vid2)["status"] == "stopped"
    t.cell("delete", vid2)
    nothing_left(t, vid2)
    t.cell_fails("state", vid2)

    # KILL too: the program dies, the record stays for state and delete
    vid4, _ = vm_run(t, bundle(t, ["sleep", "60"]), "-d", check=True)
    pid = t.state(vid4)["pid"]
    t.cell("kill", vid4, "KILL")
    end = time.time() + 15
    while time.time() < end and os.path.exists(f"/proc/{pid}"):
        t.h.reap_zombies()
        time.sleep(0.05)
    assert t.state(vid4)["status"] == "stopped"
    t.cell("delete", vid4)
    nothing_left(t, vid4)

    # delete --force of a running one
    vid3, _ = vm_run(t, bundle(t, ["sleep", "60"]), "-d", check=True)
    t.cell("delete", "--force", vid3)
    t.h.reap_zombies()
    nothing_left(t, vid3)


def test_annotation_chooses(t):
    b = bundle(t, in_vm_probe(), lambda c: c.setdefault("annotations", {}).update({ANN: "vm"}))
    cid = t.new_id("vma")
    r = t.cell("run", "--bundle", b, cid)
    assert r.out == "vm\n", r
    nothing_left(t, cid)
    b = bundle(t, in_vm_probe(),
               lambda c: c.setdefault("annotations", {}).update({ANN: "container"}))
    r = t.run(b)
    assert r.out == "container\n", r
    # the flag wins over the annotation
    vid, r = vm_run(t, b)
    assert r.out == "vm\n", r
    # create/start makes containers only: refused, not silently a container
    b = bundle(t, ["true"], lambda c: c.setdefault("annotations", {}).update({ANN: "vm"}))
    cid = t.new_id("vma")
    e = t.cell_fails("create", "--bundle", b, cid).err
    assert ANN in e and "cell run" in e, e
    nothing_left(t, cid)
    b = bundle(t, ["true"], lambda c: c.setdefault("annotations", {}).update({ANN: "qemu"}))
    cid = t.new_id("vma")
    e = t.cell_fails("run", "--bundle", b, cid).err
    assert ANN in e and "qemu" in e, e
    nothing_left(t, cid)


def test_bad_input_refused_clearly(t):
    need_kvm()
    cases = [
        (lambda c: c["process"].update(terminal=True), "process.terminal"),
        (lambda c: c["root"].update(path="no-such-root"), "root.path"),
        (lambda c: c["process"].update(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 64,
                                                  "hard": 32}]), "process.rlimits[0]"),
        (lambda c: c["process"].update(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 64,
                                                  "hard": 1 << 30}]), "process.rlimits[0]"),
        (lambda c: c["mounts"].append({"destination": "/data", "type": "bind",
                                       "source": "/tmp", "options": ["rbind"]}), "mounts["),
        (lambda c: c["linux"].update(resources={"memory": {"limit": 1 << 20}}),
         "linux.resources.memory.limit"),
        (lambda c: c["process"]["user"].update(additionalGids=[5]),
         "process.user.additionalGids"),
        (lambda c: c.update(hooks={"prestart": [{"path": "/bin/true"}]}), "hooks.prestart"),
        (lambda c: [n.update(path="/proc/self/ns/net") for n in c["linux"]["namespaces"]
                    if n["type"] == "network"], "linux.namespaces[1].path"),
        (lambda c: c["process"].pop("args"), "process"),
    ]
    for edit, words in cases:
        b = bundle(t, ["true"], edit)
        vid, r = vm_run(t, b)
        assert r.rc != 0 and words in r.err, f"{words}: {r}"
        nothing_left(t, vid)
    # dynamically linked: the guest's own error, naming the program
    b = bundle(t, ["/bin/dyn"])
    shutil.copy2("/usr/bin/true", os.path.join(b, "rootfs", "bin", "dyn"))
    vid, r = vm_run(t, b)
    assert r.rc != 0 and "static" in r.err and "dyn" in r.err, r
    nothing_left(t, vid)
    # the flag's value
    vid = t.new_id("vmb")
    r = t.cell_fails("run", "--isolation", "foo", "--bundle", b, vid)
    assert "--isolation" in r.err and "foo" in r.err, r
    nothing_left(t, vid)
    # what the light guest has no use for
    for opt in ("--tty", "--keep"):
        vid = t.new_id("vmb")
        r = t.cell_fails("run", "--isolation", "vm", opt, "--bundle", b, vid)
        assert opt in r.err, r
        nothing_left(t, vid)
    vid = t.new_id("vmb")
    r = t.cell_fails("run", "--isolation", "vm", "-p", "8080:80", "--bundle", b, vid)
    assert "network" in r.err, r
    nothing_left(t, vid)
    assert not os.listdir(os.path.join(t.root, "vm")) if os.path.isdir(
        os.path.join(t.root, "vm")) else True


def test_rlimits_honoured_as_in_a_container(t):
    """process.rlimits reach the guest and are enforced there as a container
    enforces them: limits seen, EMFILE, EFBIG + SIGXFSZ, and RLIMIT_NPROC
    for a user other than root."""
    rl = [{"type": "RLIMIT_NOFILE", "soft": 32, "hard": 64},
          {"type": "RLIMIT_FSIZE", "soft": 1 << 20, "hard": 1 << 20},
          {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
          {"type": "RLIMIT_NPROC", "soft": 1, "hard": 1}]

    def edit(c):
        c["process"]["rlimits"] = rl
        c["process"]["user"] = {"uid": 54321, "gid": 54321}
        c["root"]["readonly"] = False
    for args in (["show"], ["nofile"], ["fsize", "/tmp/rl-fsize"], ["nproc"]):
        b = bundle(t, ["/bin/vm-rlimits", *args], edit, extra=("vm-rlimits",))
        c = t.run(b, check=False)
        vid, v = vm_run(t, b)
        assert (v.rc, v.out) == (c.rc, c.out), f"{args}: container {c}, vm {v}"
        nothing_left(t, vid)
    assert "fork: Resource temporarily unavailable" in v.out, v
    vid, v = vm_run(t, bundle(t, ["/bin/vm-rlimits", "show"], edit, extra=("vm-rlimits",)))
    assert "start nofile 32 64\n" in v.out and "start fsize 1048576 1048576\n" in v.out, v


def test_rlimit_cpu_as_in_a_container(t):
    """process.rlimits RLIMIT_CPU 1:2 (cell itself unlimited): the guest's
    own limit.  A program that catches SIGXCPU sees it at the soft limit and
    dies of SIGKILL at the hard one, as in a container.  A spinning program
    dies of SIGXCPU: as a native process, not as a container's pid 1, which
    the kernel spares a default-action signal it sends itself (the light
    guest does not make its first program unkillable)."""
    rl = [{"type": "RLIMIT_CPU", "soft": 1, "hard": 2}]
    edit = lambda c: c["process"].update(rlimits=rl)  # noqa: E731
    b = bundle(t, ["/bin/vm-rlimits", "cpu", "handler"], edit, extra=("vm-rlimits",))
    c = t.run(b, check=False)
    vid, v = vm_run(t, b)
    assert (v.rc, v.out, v.err) == (c.rc, c.out, c.err) and c.rc == 128 + signal.SIGKILL, \
        f"container {c}, vm {v}"
    assert v.out.endswith("SIGXCPU 1, soft limit now 2\n"), v
    nothing_left(t, vid)
    b = bundle(t, ["/bin/vm-rlimits", "cpu", "spin"], edit, extra=("vm-rlimits",))
    vid, v = vm_run(t, b)
    assert (v.rc, v.out, v.err) == (128 + signal.SIGXCPU, "cpu spin\n", ""), v
    nothing_left(t, vid)


def vm_cgroup_file(vid, sub, name):
    for d in cellt.cgroups_named({vid}):
        f = os.path.join(d, sub, name)
        if os.path.exists(f):
            return open(f).read().strip()
    return None


def test_memory_limit_is_guest_ram(t):
    lim = 32 << 20
    res = lambda c: c["linux"].update(resources={"memory": {"limit": lim}})  # noqa: E731
    vid, r = vm_run(t, bundle(t, ["vm-memfill", "8"], res, extra=["vm-memfill"]))
    assert r.rc == 0 and "8 MiB checksum" in r.out, r
    # beyond guest RAM: the OOM killer's SIGKILL, as a container's would be
    vid, r = vm_run(t, bundle(t, ["vm-memfill", "64"], res, extra=["vm-memfill"]))
    assert r.rc == 128 + signal.SIGKILL and "out of guest memory" in r.err, r
    nothing_left(t, vid)
    # the monitor's cgroup: guest RAM + max(RAM/8, 64 MiB)
    vid, _ = vm_run(t, bundle(t, ["sleep", "60"], res), "-d", check=True)
    mem = vm_cgroup_file(vid, "", "memory.limit_in_bytes") or vm_cgroup_file(vid, "", "memory.max")
    assert mem is not None and int(mem) == lim + (64 << 20), mem
    t.cell("delete", "--force", vid)
    t.h.reap_zombies()
    nothing_left(t, vid)


OOM_ANN = "run.cell.vm.oom_kills"


def wait_monitor_gone(t, pid, timeout=60):
    end = time.time() + timeout
    while time.time() < end and os.path.exists(f"/proc/{pid}"):
        t.h.reap_zombies()
        time.sleep(0.05)


def test_state_counts_guest_oom_kills(t):
    """`cell state` shows the guest's OOM kills as the annotation
    run.cell.vm.oom_kills, beside the OCI fields (which keep their shape):
    a running VM's from its monitor, a stopped one's from its result; for
    `cell run --isolation vm -d` and `cell vm run -d` alike."""
    res = lambda c: c["linux"].update(resources={"memory": {"limit": 64 << 20}})  # noqa: E731
    b = bundle(t, ["sh", "-c", "vm-oom child 512; sleep 60"], res, extra=["vm-oom"])
    vid, _ = vm_run(t, b, "-d", check=True, timeout=120)
    end = time.time() + 60
    st = t.state(vid)
    while st["annotations"].get(OOM_ANN) != "1" and time.time() < end:
        time.sleep(0.1)
        st = t.state(vid)
    assert st["annotations"] == {ANN: "vm", OOM_ANN: "1"}, st
    assert st["status"] == "running" and st["pid"] > 0 and st["id"] == vid, st
    assert set(st) == {"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created",
                       "owner", "annotations"}, st
    pid = st["pid"]
    t.cell("kill", vid, "KILL")
    wait_monitor_gone(t, pid)
    st = t.state(vid)
    assert st["status"] == "stopped" and st["annotations"][OOM_ANN] == "1", st
    t.cell("delete", vid)
    nothing_left(t, vid)

    # `cell vm run -d`: the first program itself is the victim
    root = os.path.join(b, "rootfs")
    vid = t.new_id("vmo")
    t.cell("vm", "run", "-d", "--name", vid, "--memory", "64M", "--rootfs", root, "--",
           "/bin/vm-oom", "512")
    with open(os.path.join(t.root, "vm", vid, "state.json")) as f:
        pid = json.load(f)["pid"]
    wait_monitor_gone(t, pid)
    st = t.state(vid)
    assert st["status"] == "stopped" and st["pid"] == 0, st
    assert st["annotations"] == {ANN: "vm", OOM_ANN: "1"}, st
    t.cell("delete", vid)
    nothing_left(t, vid)

    # none: the count is 0, running and stopped
    vid, _ = vm_run(t, bundle(t, ["sleep", "60"]), "-d", check=True)
    st = t.state(vid)
    assert st["annotations"] == {ANN: "vm", OOM_ANN: "0"}, st
    t.cell("kill", vid, "KILL")
    wait_monitor_gone(t, st["pid"])
    assert t.state(vid)["annotations"][OOM_ANN] == "0"
    t.cell("delete", vid)
    nothing_left(t, vid)


def test_cpu_limits_reach_vcpu_threads(t):
    def res(c):
        c["linux"].update(resources={"cpu": {"quota": 50000, "period": 100000, "shares": 512}})
    vid, _ = vm_run(t, bundle(t, ["sleep", "60"], res), "-d", check=True)
    quota = vm_cgroup_file(vid, "vcpus", "cpu.cfs_quota_us")
    shares = vm_cgroup_file(vid, "vcpus", "cpu.shares")
    if quota is None:  # cgroup v2
        assert vm_cgroup_file(vid, "vcpus", "cpu.max") == "50000 100000"
    else:
        assert (quota, shares) == ("50000", "512"), (quota, shares)
    t.cell("delete", "--force", vid)
    t.h.reap_zombies()
    nothing_left(t, vid)


def test_vm_cgroup_only_where_set_or_counted(t):
    """A VM's cgroup is made in the hierarchies whose controllers limit or
    hold it: memory, devices, pids, cpu, cpuacct (and the named and v2 ones);
    cpuset only where the bundle chose CPUs, never freezer nor blkio."""
    def hiers(vid):
        return {d.split("/")[4] for d in cellt.cgroups_named({vid})}

    v1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    if not v1:
        raise cellt.Skip("pure cgroup v2 host: one hierarchy, nothing to leave out")
    vid, _ = vm_run(t, bundle(t, ["sleep", "60"]), "-d", check=True)
    made = hiers(vid)
    for h in ("memory", "devices", "pids", "cpu", "cpuacct"):
        assert h in made or not os.path.isdir(f"/sys/fs/cgroup/{h}"), (h, made)
    for h in ("freezer", "blkio", "cpuset"):
        assert h not in made, (h, made)
    t.cell("delete", "--force", vid)
    t.h.reap_zombies()
    nothing_left(t, vid)

    cpu = sorted(os.sched_getaffinity(0))[0]
    res = lambda c: c["linux"].update(resources={"cpu": {"cpus": str(cpu)}})  # noqa: E731
    vid, _ = vm_run(t, bundle(t, ["sleep", "60"], res), "-d", check=True)
    assert "cpuset" in hiers(vid), hiers(vid)
    assert vm_cgroup_file(vid, "", "cpuset.cpus") == str(cpu)
    t.cell("delete", "--force", vid)
    t.h.reap_zombies()
    nothing_left(t, vid)
