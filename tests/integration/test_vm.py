"""The light guest against native runs: real programs (busybox-static, small
static C programs from tests/vm) run with `cell vm run` and with chroot, and
must print the same and exit the same way.  Needs /dev/kvm."""
import glob
import json
import os
import shutil
import signal
import subprocess
import time

import cellt

PROGS = ("memfill", "fault", "getpid-loop", "threads", "sites", "rlimits", "oom", "alarm")


def need_kvm():
    if not os.path.exists("/dev/kvm"):
        raise cellt.Skip("no /dev/kvm on this host")


def rootfs(t):
    """A private copy of the busybox root with the test programs and data."""
    need_kvm()
    r = os.path.join(t.tmp, "rootfs")
    if not os.path.isdir(r):
        subprocess.run(["cp", "-a", t.h.rootfs, r], check=True)
        for p in PROGS:
            shutil.copy2(os.path.join(t.h.build, "tests", "vm", "vm-" + p), os.path.join(r, "bin"))
        with open(os.path.join(r, "etc", "motd"), "w") as f:
            f.write("hello\nworld\nfoo bar\n")
        with open(os.path.join(r, "etc", "shadow"), "w") as f:
            f.write("guest-shadow\n")
        with open(os.path.join(r, "tmp", "data"), "wb") as f:
            f.write(os.urandom(3 << 20))
    return r


def monitor_pid(t, vid):
    with open(os.path.join(t.root, "vm", vid, "state.json")) as f:
        return json.load(f)["pid"]


def wait_reaped(t, pid, timeout=15):
    """A detached monitor, once stopped, is reparented to the subreaper (the
    harness, as conmon or a shim would be); reap it."""
    end = time.time() + timeout
    while time.time() < end and os.path.exists(f"/proc/{pid}"):
        t.h.reap_zombies()
        time.sleep(0.02)


def native(r, *argv, timeout=60, prefix=()):
    cp = subprocess.run([*prefix, "chroot", r] + list(argv), capture_output=True,
                        timeout=timeout)
    return cp.returncode, cp.stdout


def guest(t, r, *argv, timeout=60, opts=(), prefix=()):
    cmd = [*prefix, t.cell_bin, "--root", t.root, "vm", "run", *opts, "--rootfs", r,
           "--env", "PATH=/bin:/sbin:/usr/bin", "--env", "HOME=/root", "--"] + list(argv)
    cp = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return cp.returncode, cp.stdout, cp.stderr


def same(t, *argv, timeout=60):
    r = rootfs(t)
    nrc, nout = native(r, *argv, timeout=timeout)
    grc, gout, gerr = guest(t, r, *argv, timeout=timeout)
    assert (grc, gout) == (nrc, nout), \
        f"{argv}: native rc={nrc} out={nout[:300]!r}; vm rc={grc} out={gout[:300]!r} err={gerr[:500]!r}"
    return gout, gerr


def test_echo(t):
    same(t, "/bin/echo", "hello", "world")


def test_cat(t):
    out, _ = same(t, "/bin/cat", "/etc/motd")
    assert out == b"hello\nworld\nfoo bar\n"


def test_ls(t):
    same(t, "/bin/ls", "-la", "/etc")


def test_wc(t):
    same(t, "/bin/wc", "-l", "/etc/motd")


def test_sha256sum(t):
    out, _ = same(t, "/bin/sha256sum", "/tmp/data")
    import hashlib
    with open(os.path.join(rootfs(t), "tmp", "data"), "rb") as f:
        assert out.split()[0].decode() == hashlib.sha256(f.read()).hexdigest()


def test_memfill_100mib(t):
    out, _ = same(t, "/bin/vm-memfill", "100", timeout=120)
    assert b"100 MiB checksum" in out


def test_exit_codes(t):
    for code in (0, 1, 3, 77, 255):
        same(t, "/bin/sh", "-c", f"exit {code}")


def test_pipeline(t):
    out, _ = same(t, "/bin/sh", "-c", "ls / | wc -l")
    assert int(out) > 3


def test_shell_script(t):
    same(t, "/bin/sh", "-c",
         "for i in 1 2 3; do echo $i; done | sort -r; x=$(cat /etc/motd | wc -l); echo lines=$x;"
         " mkdir -p /tmp/d/e && cd /tmp/d/e && pwd && cd / && rm -r /tmp/d; seq 1 5000 | tail -1")


def test_threads(t):
    out, _ = same(t, "/bin/vm-threads")
    assert out == b"counter 100000\n"
    out, _ = same(t, "/bin/vm-threads", "exec", "/bin/echo")  # execve from a thread
    assert out == b"exec from a thread\n"


def test_killed_by_signal(t):
    same(t, "/bin/sh", "-c", "kill -TERM $$")
    same(t, "/bin/vm-fault", "term")
    same(t, "/bin/vm-fault", "abort")


def test_caught_signal(t):
    out, _ = same(t, "/bin/vm-fault", "catch")
    assert out == b"caught 11\n"


def test_memory_protection(t):
    same(t, "/bin/vm-fault", "munmap")
    same(t, "/bin/vm-fault", "mprotect")


def test_faults_end_only_their_vm(t):
    """Jumping to 0, executing garbage or data, hammering ports: the program
    dies as natively (same signal), with a clear report on stderr."""
    r = rootfs(t)
    for mode, sig, words in (("null", signal.SIGSEGV, "page fault"),
                             ("garbage", signal.SIGILL, "invalid opcode"),
                             ("data", signal.SIGSEGV, "page fault"),
                             ("ports", signal.SIGSEGV, "general protection")):
        nrc, _ = native(r, "/bin/vm-fault", mode)
        grc, _, gerr = guest(t, r, "/bin/vm-fault", mode)
        assert nrc == grc == -sig, f"{mode}: native {nrc}, vm {grc}"
        assert words in gerr.decode(), f"{mode}: report {gerr!r}"
    # and the host still runs VMs fine afterwards
    same(t, "/bin/echo", "still fine")


def sites_same(t, mode):
    """Native and VM output agree except on "bytes:" lines, which must show
    the syscall sites natively unpatched (0f 05) and patched in the VM."""
    r = rootfs(t)
    nrc, nout = native(r, "/bin/vm-sites", mode)
    grc, gout, gerr = guest(t, r, "/bin/vm-sites", mode)
    split = lambda out: ([l for l in out.decode().splitlines() if "bytes:" not in l],
                         [l for l in out.decode().splitlines() if "bytes:" in l])
    (nlines, nbytes), (glines, gbytes) = split(nout), split(gout)
    assert (nrc, nlines) == (grc, glines), f"{mode}: native {nrc} {nout!r}, vm {grc} {gout!r} {gerr!r}"
    assert nrc == 0, f"{mode}: {nout!r}"
    for n, g in zip(nbytes, gbytes):
        assert n.count("0f 05") == g.count("e6 e7") >= 1, f"{mode}: native {n!r}, vm {g!r}"
    assert len(nbytes) == len(gbytes)


def test_syscall_sites_straddling_boundaries(t):
    """Syscall instructions across a page and a cache line are patched too."""
    sites_same(t, "straddle")


def test_syscall_sites_and_fork(t):
    """Sites patched before fork (in copied frames) and after it (in frames
    the parent shares) work in both processes."""
    sites_same(t, "fork")


def test_port_io_is_sigsegv(t):
    """`in`/`out` on the monitor's syscall port outside a patched site is the
    SIGSEGV Linux gives, at the instruction."""
    sites_same(t, "out")


def test_patched_text_is_visible(t):
    """Documented difference: a program reading its own code sees e6 e7
    (out %al,$0xe7) where a syscall it made was."""
    sites_same(t, "readtext")


def test_unknown_syscall_enosys(t):
    out, _ = same(t, "/bin/vm-fault", "enosys")
    assert b"Function not implemented" in out


def test_paths_stay_in_root(t):
    """Nothing outside the root file system can be named: .., absolute and
    relative symlinks all resolve inside it."""
    r = rootfs(t)
    os.symlink("/etc/shadow", os.path.join(r, "tmp", "abs"))
    os.symlink("../../../../../../../../etc/shadow", os.path.join(r, "tmp", "rel"))
    os.symlink("/", os.path.join(r, "tmp", "up"))
    for path in ("/../../etc/shadow", "/tmp/abs", "/tmp/rel", "/tmp/up/../../etc/shadow"):
        rc, out, err = guest(t, r, "/bin/cat", path)
        assert rc == 0 and out == b"guest-shadow\n", f"{path}: rc={rc} out={out!r} err={err!r}"
    rc, out, _ = guest(t, r, "/bin/ls", "/tmp/up/../../../root")
    rc2, out2 = native(r, "/bin/ls", "/root")
    assert (rc, out) == (rc2, out2)


def test_two_vms_side_by_side(t):
    """Two VMs at once: one spins, one works; killing the spinner does not
    disturb the other."""
    r = rootfs(t)
    spin = t.new_id("vmspin")
    t.cell("vm", "run", "-d", "--name", spin, "--rootfs", r, "--", "/bin/sh", "-c",
           "while true; do :; done")
    pid = monitor_pid(t, spin)
    rc, out, err = guest(t, r, "/bin/vm-memfill", "32")
    assert rc == 0 and b"32 MiB checksum" in out, err
    t.cell("vm", "kill", spin)
    wait_reaped(t, pid)
    rc, out, err = guest(t, r, "/bin/sha256sum", "/tmp/data")
    assert rc == 0, err
    assert not os.path.exists(os.path.join(t.root, "vm", spin))


def test_signals_reach_the_program(t):
    """SIGTERM to `cell vm run` reaches the program; cell then dies of it."""
    r = rootfs(t)
    p = subprocess.Popen([t.cell_bin, "--root", t.root, "vm", "run", "--rootfs", r, "--",
                          "/bin/sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t._procs.append(p)
    vmdir = os.path.join(t.root, "vm")
    deadline = time.time() + 10
    while time.time() < deadline and not (os.path.isdir(vmdir) and os.listdir(vmdir)):
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == -signal.SIGTERM


def test_detached_lifecycle(t):
    r = rootfs(t)
    vid = t.new_id("vmd")
    out = t.cell("vm", "run", "-d", "--name", vid, "--rootfs", r, "--", "/bin/sh", "-c",
                 "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done").out
    assert out.strip() == vid
    listed = json.loads(t.cell("vm", "list", "--format", "json").out)
    assert [v["status"] for v in listed if v["id"] == vid] == ["running"]
    stats = json.loads(t.cell("vm", "stats", vid).out)
    for key in ("cpu_ns", "exits", "vcpus", "memory", "io", "guest"):
        assert key in stats, key
    assert stats["memory"]["touched"] > 0 and stats["guest"]["syscalls"] > 0
    t.cell("vm", "pause", vid)
    log = os.path.join(t.root, "vm", vid, "console.log")
    time.sleep(0.3)
    a = open(log).read()
    time.sleep(0.5)
    assert open(log).read() == a, "output while paused"
    t.cell("vm", "resume", vid)
    time.sleep(0.5)
    assert open(log).read() != a, "no output after resume"
    pid = monitor_pid(t, vid)
    t.cell("vm", "stop", vid)
    wait_reaped(t, pid)
    assert not os.path.exists(os.path.join(t.root, "vm", vid))


def test_dead_monitor_is_cleaned_up(t):
    r = rootfs(t)
    vid = t.new_id("vmk")
    t.cell("vm", "run", "-d", "--name", vid, "--rootfs", r, "--", "/bin/sleep", "60")
    pid = monitor_pid(t, vid)
    os.kill(pid, signal.SIGKILL)
    wait_reaped(t, pid)
    listed = json.loads(t.cell("vm", "list", "--format", "json").out)
    assert [v["status"] for v in listed if v["id"] == vid] == ["stopped"]
    assert not os.path.exists(os.path.join(t.root, "vm", vid))
    assert not cellt.cgroups_named({vid})


PF_USER_WORKER = 0x4000  # include/linux/sched.h: a kernel thread in a user process


def monitor_threads(pid):
    """The monitor's own threads: tid -> (name, whether it is in a vcpus
    cgroup).  Not the kernel's (KVM's kvm-nx-lpage-recovery, which the first
    KVM_RUN starts on a vCPU thread: it works for the guest)."""
    threads = {}
    for task in glob.glob(f"/proc/{pid}/task/*"):
        try:
            with open(f"{task}/stat") as f:
                flags = int(f.read().rsplit(")", 1)[1].split()[6])
            with open(f"{task}/comm") as f:
                name = f.read().strip()
            with open(f"{task}/cgroup") as f:
                paths = [line.rstrip("\n").split(":", 2)[2] for line in f]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that just ended
        if flags & PF_USER_WORKER:
            continue
        threads[int(os.path.basename(task))] = (name, any(p.endswith("/vcpus") for p in paths))
    return threads


def test_only_vcpu_threads_in_the_vcpus_cgroup(t):
    """The vcpus child cgroup (the guest's CPU quota and time) holds the
    vCPU threads, one per vCPU `cell vm stats` lists, and nothing else.  The
    VM's clock thread is the monitor's: in the VM's own cgroup whether a
    guest alarm or CPU limit started it (on the vCPU thread serving the
    call, whose cgroup a new thread inherits) or the monitor did at start-up
    (a CPU limit on cell itself)."""
    r = rootfs(t)
    for argv, prefix in ((["/bin/vm-alarm", "60"], ()),
                         (["/bin/sh", "-c", "ulimit -t 3600; sleep 60"], ()),
                         (["/bin/sleep", "60"], ("prlimit", "--cpu=3600"))):
        vid = t.new_id("vmc")
        cp = subprocess.run([*prefix, *t.cell_cmd(["vm", "run", "-d", "--name", vid,
                                                   "--rootfs", r, "--", *argv])],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        assert cp.returncode == 0, (argv, cp)
        pid = monitor_pid(t, vid)
        if not any(os.path.isdir(os.path.join(d, "vcpus")) for d in cellt.cgroups_named({vid})):
            t.cell("vm", "stop", vid)
            wait_reaped(t, pid)
            raise cellt.Skip("no vcpus cgroup on this host (no cpu controller)")
        # threads come and go while the guest starts: wait for it to settle
        deadline = time.time() + 15
        while True:
            threads = monitor_threads(pid)
            nvcpus = len(json.loads(t.cell("vm", "stats", vid).out)["vcpus"])
            in_vcpus = sorted(n for n, inside in threads.values() if inside)
            vcpus = sorted(n for n, _ in threads.values() if n.startswith("vcpu"))
            timers = [inside for n, inside in threads.values() if n == "lg-timer"]
            if (timers == [False] and in_vcpus == vcpus and len(vcpus) == nvcpus) or \
                    time.time() > deadline:
                break
            time.sleep(0.1)
        t.cell("vm", "stop", vid)
        wait_reaped(t, pid)
        assert timers == [False], (argv, "the clock thread is in the vcpus cgroup", threads)
        assert in_vcpus == vcpus and len(vcpus) == nvcpus, (argv, nvcpus, threads)
    assert not os.listdir(os.path.join(t.root, "vm"))


def test_bad_input(t):
    r = rootfs(t)
    e = t.cell_fails("vm", "run", "--rootfs", "/nonexistent", "--", "/bin/true").err
    assert "/nonexistent" in e
    e = t.cell_fails("vm", "run", "--rootfs", r, "--", "/bin/no-such-program").err
    assert "no-such-program" in e
    e = t.cell_fails("vm", "run", "--rootfs", r, "--memory", "1k", "--", "/bin/true").err
    assert "memory" in e
    e = t.cell_fails("vm", "stop", "no-such-vm").err
    assert "no-such-vm" in e
    assert not os.listdir(os.path.join(t.root, "vm"))


# The limits cell runs with: the guest inherits them as a native child would.
LIMITS = ("prlimit", "--nofile=32:4096", "--fsize=1048576", "--core=0:8192",
          "--stack=2097152", "--nproc=1")


def test_rlimits_inherited_and_enforced_like_native(t):
    """getrlimit/setrlimit, fork and execve inheritance, EMFILE, EFBIG and
    SIGXFSZ, RLIMIT_STACK, RLIMIT_AS/DATA ENOMEM, RLIMIT_NPROC (root is
    exempt), prlimit's rules: the same output and exit natively and in the
    guest, both started under the same limits."""
    r = rootfs(t)
    for args in (["show"], ["nofile"], ["fsize", "/tmp/rl-fsize"], ["as"], ["data"],
                 ["nproc"], ["set"], ["stack", "1024"], ["stack", "4096"]):
        argv = ["/bin/vm-rlimits", *args]
        nrc, nout = native(r, *argv, prefix=LIMITS)
        grc, gout, gerr = guest(t, r, *argv, prefix=LIMITS)
        assert (grc, gout) == (nrc, nout), \
            f"{args}: native rc={nrc} out={nout!r}; vm rc={grc} out={gout!r} err={gerr[:500]!r}"
    out = gout.decode()
    assert "4096 KiB of stack: signal 11" in out, out
    assert not os.path.exists(os.path.join(r, "tmp", "rl-fsize"))


def test_rlimit_raised_by_guest_root_never_loosens_the_monitors(t):
    """uid 0 in the guest raises a hard limit (root with CAP_SYS_RESOURCE);
    the monitor's own RLIMIT_FSIZE still holds for what it writes."""
    r = rootfs(t)
    rc, out, err = guest(t, r, "/bin/vm-rlimits", "raise", prefix=LIMITS)
    assert (rc, out) == (0, b"raise hard as uid 0: ok\nnofile 64 256\n"), (rc, out, err)
    rc, out, err = guest(t, r, "/bin/sh", "-c",
                         "ulimit -f unlimited && ulimit -f; "
                         "dd if=/dev/zero of=/tmp/big bs=1M count=2 2>&1 | head -1; "
                         "ls -l /tmp/big | awk '{print $5}'; rm /tmp/big",
                         prefix=("prlimit", "--fsize=1048576:1048576"))
    assert rc == 0 and out.decode().split("\n")[0] == "unlimited", (rc, out, err)
    assert b"File too large" in out and out.decode().split("\n")[2] == "1048576", (out, err)


def test_rlimit_cpu_signals_like_native(t):
    """RLIMIT_CPU: SIGXCPU at the soft limit for a loop without syscalls (the
    vCPU is kicked out of the guest) and for one making them, inherited by a
    child over fork and execve, for two threads spinning on two vCPUs (their
    time adds up); a SIGXCPU handler sees the soft limit moved a
    second on, then SIGKILL at the hard limit.  The same output and status
    natively and in the guest under `prlimit --cpu=1:2`.  cell's own hard
    limit bounds the whole VM: its processes are killed just before the host
    would kill the monitor (hence the report in the handler case)."""
    r = rootfs(t)
    lim = ("prlimit", "--cpu=1:2")
    for how, want in (("spin", -signal.SIGXCPU), ("syscalls", -signal.SIGXCPU), ("fork", 0),
                      ("threads", -signal.SIGXCPU), ("handler", -signal.SIGKILL)):
        argv = ["/bin/vm-rlimits", "cpu", how]
        nrc, nout = native(r, *argv, prefix=lim)
        grc, gout, gerr = guest(t, r, *argv, prefix=lim, opts=("--vcpus", "2"))
        assert (grc, gout) == (nrc, nout) and nrc == want, \
            f"{how}: native rc={nrc} out={nout!r}; vm rc={grc} out={gout!r} err={gerr[:500]!r}"
    assert gout.endswith(b"SIGXCPU 1, soft limit now 2\n"), gout
    assert b"RLIMIT_CPU hard limit 2 s" in gerr, gerr
    assert not os.listdir(os.path.join(t.root, "vm"))


def test_without_the_monitor_executable_cell_is_the_monitor(t):
    """A cell with no cell-vm-monitor beside it (nor in a build tree's
    src/vm) runs the monitor in its forked child itself: the same output,
    stderr and exit status as with the executable, the monitor is that cell
    (its /proc/PID/exe), and nothing is left: no state directory, no
    cgroup."""
    r = rootfs(t)
    d = os.path.join(t.tmp, "bare")
    os.makedirs(d)
    bare = os.path.join(d, "cell")
    shutil.copy2(t.cell_bin, bare)
    assert not glob.glob(os.path.join(d, "**", "cell-vm-monitor"), recursive=True)
    monitor = os.path.join(os.path.dirname(t.cell_bin), "src", "vm", "cell-vm-monitor")

    def run(cell, *argv, opts=()):
        cp = subprocess.run([cell, "--root", t.root, "vm", "run", *opts, "--rootfs", r,
                             "--env", "PATH=/bin", "--"] + list(argv),
                            capture_output=True, timeout=60)
        return cp.returncode, cp.stdout, cp.stderr

    for argv in (["/bin/sh", "-c", "echo out; echo err >&2; exit 3"],
                 ["/bin/vm-fault", "null"], ["/bin/vm-rlimits", "show"],
                 ["/bin/sh", "-c", "kill -TERM $$"]):
        want, got = run(t.cell_bin, *argv), run(bare, *argv)
        assert got == want, f"{argv}: with the monitor {want}, without {got}"
    assert got[0] == -signal.SIGTERM, got
    assert not os.listdir(os.path.join(t.root, "vm"))
    # detached: the monitor is the copied cell; stop cleans everything up
    vid = t.new_id("vmb")
    cp = subprocess.run([bare, "--root", t.root, "vm", "run", "-d", "--name", vid,
                         "--rootfs", r, "--", "/bin/sleep", "60"],
                        capture_output=True, timeout=60)
    assert cp.returncode == 0, cp
    pid = monitor_pid(t, vid)
    exe = os.stat(f"/proc/{pid}/exe")
    assert (exe.st_dev, exe.st_ino) == (os.stat(bare).st_dev, os.stat(bare).st_ino), pid
    if os.path.exists(monitor):
        m = os.stat(monitor)
        assert (exe.st_dev, exe.st_ino) != (m.st_dev, m.st_ino)
    assert json.loads(subprocess.run([bare, "--root", t.root, "vm", "stats", vid],
                                     capture_output=True, check=True).stdout)["kind"] == "guest"
    subprocess.run([bare, "--root", t.root, "vm", "stop", vid], check=True, timeout=60)
    wait_reaped(t, pid)
    assert not os.listdir(os.path.join(t.root, "vm"))
    assert not cellt.cgroups_named({vid}), cellt.cgroups_named({vid})
    assert not [g for g in glob.glob("/sys/fs/cgroup/*/cell-vm*/*") if vid in g]


def test_out_of_guest_memory_is_an_oom_kill(t):
    """Touching more than --memory: SIGKILL as from Linux's OOM killer (cell
    exits as a program killed by SIGKILL would), a clear report, and the
    VM's result and stats count the kill."""
    r = rootfs(t)
    rc, out, err = guest(t, r, "/bin/vm-oom", "512", opts=("--memory", "64M"), timeout=120)
    assert rc == -signal.SIGKILL, (rc, out, err)
    e = err.decode()
    assert "out of guest memory: killed pid 1 (vm-oom)" in e and "raise --memory" in e, e
    assert e.count("out of guest memory") == 1, e
    assert "Segmentation" not in e and "SIGSEGV" not in e, e
    # from a shell: 137, as for an OOM-killed program
    cp = subprocess.run(["/bin/sh", "-c", " ".join(
        [t.cell_bin, "--root", t.root, "vm", "run", "--memory", "64M", "--rootfs", r, "--",
         "/bin/vm-oom", "512"]) + "; echo status $?"], capture_output=True, timeout=120)
    assert cp.stdout.strip().endswith(b"status 137"), cp
    # a child is the biggest: it dies, its parent sees SIGKILL and goes on
    rc, out, err = guest(t, r, "/bin/sh", "-c", "/bin/vm-oom child 512; echo after $?",
                         opts=("--memory", "64M"), timeout=120)
    assert (rc, out) == (0, b"child: signal 9\nafter 0\n"), (rc, out, err)
    assert b"out of guest memory: killed pid 3 (vm-oom)" in err, err
    # mapping more than the address space may hold is still ENOMEM, no kill
    rc, out, err = guest(t, r, "/bin/vm-memfill", "1000000000", opts=("--memory", "64M"))
    assert rc == 1 and b"out of guest memory" not in err, (rc, out, err)
    # detached: stats while it runs, then the result
    vid = t.new_id("vmo")
    t.cell("vm", "run", "-d", "--name", vid, "--memory", "64M", "--rootfs", r, "--",
           "/bin/sh", "-c", "/bin/vm-oom child 512; sleep 30")
    pid = monitor_pid(t, vid)
    deadline = time.time() + 30
    while True:
        stats = json.loads(t.cell("vm", "stats", vid).out)
        if stats["memory"]["oom_kill"] == 1 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert stats["memory"]["oom_kill"] == 1, stats
    t.cell("vm", "stop", vid)
    wait_reaped(t, pid)
    vid = t.new_id("vmo")
    t.cell("vm", "run", "-d", "--name", vid, "--memory", "64M", "--rootfs", r, "--",
           "/bin/vm-oom", "512")
    pid = monitor_pid(t, vid)
    wait_reaped(t, pid, timeout=60)
    with open(os.path.join(t.root, "vm", vid, "result.json")) as f:
        res = json.load(f)
    assert res["signal"] == signal.SIGKILL and res["oom_kills"] == 1, res
    listed = json.loads(t.cell("vm", "list", "--format", "json").out)
    mine = [v for v in listed if v["id"] == vid]
    assert mine and "out of guest memory" in json.dumps(mine[0]), listed
    assert not os.path.exists(os.path.join(t.root, "vm", vid))
