"""The integration-test fixture: real containers from a busybox-static root
filesystem, driven through the cell binary, with a leak check after each test.

A test is a function test_NAME(t) in tests/integration/test_*.py; t is a
Fixture.  Raise Skip("why") to skip.  Plain `assert` fails the test.
"""
import copy
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

BUSYBOX = "/bin/busybox"


class Skip(Exception):
    pass


def default_config(args=None):
    """What `runc spec` writes, minus the terminal: the baseline tests edit."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    return {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args or ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TERM=xterm"],
            "cwd": "/",
            "capabilities": {k: list(caps) for k in
                             ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "cell-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


def build_rootfs(dest, probe):
    """A busybox-static root filesystem with the probe in /bin."""
    os.makedirs(dest)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp",
              "root", "var", "run", "home"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    shutil.copy2(BUSYBOX, os.path.join(dest, "bin/busybox"))
    shutil.copy2(probe, os.path.join(dest, "bin/probe"))
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        p = os.path.join(dest, "bin", a)
        if not os.path.exists(p):
            os.symlink("busybox", p)
    with open(os.path.join(dest, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
                "tester:x:1000:1000:tester:/home:/bin/sh\n")
    with open(os.path.join(dest, "etc/group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\ntester:x:1000:\nextra:x:2000:tester\n")
    os.chmod(os.path.join(dest, "tmp"), 0o1777)


class Result:
    def __init__(self, cp):
        self.rc = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr

    def __repr__(self):
        return f"<rc={self.rc} out={self.out!r} err={self.err!r}>"


class Fixture:
    def __init__(self, harness, name):
        self.h = harness
        self.name = name
        self.cell_bin = harness.cell
        self.tmp = tempfile.mkdtemp(prefix="cell-it-", dir="/tmp")
        # A user namespace's root must be able to reach the bundle.
        os.chmod(self.tmp, 0o755)
        self.root = os.path.join(self.tmp, "state")
        # cell runs in the harness's own network namespace (a stand-in host),
        # never in the machine's: `run ID -- CMD` joins the default network,
        # which makes a bridge and nftables rules wherever cell runs.
        self.netns = getattr(harness, "netns", None)
        self.ids = []
        self._procs = []
        self._n = 0
        self._cleanups = []

    # -- running cell ---------------------------------------------------------
    def cell_cmd(self, args, root=True, netns=None):
        """The command line running cell with args, in network namespace
        netns (a path; default: the harness's)."""
        ns = netns or self.netns
        return (["nsenter", f"--net={ns}"] if ns else []) + [self.cell_bin] + \
            (["--root", self.root] if root is True else ["--root", root] if root else []) + \
            [str(a) for a in args]

    def cell(self, *args, check=True, input=None, timeout=60, root=True, env=None, cwd=None,
             netns=None):
        """Run cell.  Output goes through files, not pipes: create and run -d
        hand their stdio to the container (as runc does), so a pipe would
        stay open as long as the container runs."""
        cmd = self.cell_cmd(args, root=root, netns=netns)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            cp = subprocess.run(cmd, input=input.encode() if input else None,
                                stdin=None if input else subprocess.DEVNULL, stdout=out,
                                stderr=err, timeout=timeout, env=env, cwd=cwd)
            out.seek(0)
            err.seek(0)
            cp.stdout = out.read().decode(errors="replace")
            cp.stderr = err.read().decode(errors="replace")
        r = Result(cp)
        if check and r.rc != 0:
            raise AssertionError(f"{' '.join(cmd)} failed: {r}")
        return r

    def cell_fails(self, *args, **kw):
        r = self.cell(*args, check=False, **kw)
        assert r.rc != 0, f"cell {' '.join(map(str, args))} should have failed: {r}"
        return r

    def popen(self, *args, root=True, netns=None, **kw):
        cmd = self.cell_cmd(args, root=root, netns=netns)
        p = subprocess.Popen(cmd, **kw)
        self._procs.append(p)
        return p

    # -- bundles -------------------------------------------------------------
    def new_id(self, stem=None):
        self._n += 1
        cid = f"{stem or 'c'}-{os.getpid()}-{self._n}"
        self.ids.append(cid)
        return cid

    def bundle(self, args=None, config=None, edit=None, rootfs_copy=False):
        """A bundle dir with its own rootfs (hard links to the base, so cheap)
        and a config.json from default_config() passed through edit(cfg)."""
        self._n += 1
        b = os.path.join(self.tmp, f"bundle{self._n}")
        os.makedirs(b)
        rootfs = os.path.join(b, "rootfs")
        if rootfs_copy:
            shutil.copytree(self.h.rootfs, rootfs, symlinks=True)
        else:
            subprocess.run(["cp", "-al", self.h.rootfs, rootfs], check=True)
        cfg = copy.deepcopy(config) if config else default_config(args)
        if args is not None:
            cfg["process"]["args"] = args
        if edit:
            # An edit may return a replacement config; anything else it
            # returns (dict.pop's value, say) is not one.
            r = edit(cfg)
            if isinstance(r, dict) and "ociVersion" in r:
                cfg = r
        self.write_config(b, cfg)
        return b

    @staticmethod
    def default_cfg(bundle):
        with open(os.path.join(bundle, "config.json")) as f:
            return json.load(f)

    @staticmethod
    def write_config(bundle, cfg):
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)

    def run(self, bundle, cid=None, check=True, **kw):
        cid = cid or self.new_id()
        return self.cell("run", "--bundle", bundle, cid, check=check, **kw)

    def state(self, cid):
        return json.loads(self.cell("state", cid).out)

    def wait_status(self, cid, status, timeout=10):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            r = self.cell("state", cid, check=False)
            if r.rc == 0:
                last = json.loads(r.out)["status"]
                if last == status:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{cid}: status {last}, expected {status}")

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    # -- teardown and leak check ---------------------------------------------
    def teardown(self):
        problems = []
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report, keep cleaning
                problems.append(f"cleanup: {e}")
        for cid in self.ids:
            if self.cell("delete", "--force", cid, check=False).rc != 0:
                # A killed process that the harness adopted stays a zombie
                # (and, on cgroup v1, keeps its cgroup busy) until reaped,
                # as conmon or containerd's shim would have done at once.
                self.h.reap_zombies()
                self.cell("delete", "--force", cid, check=False)
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        # Networks the test's containers used leave with the test.
        if os.path.isdir(os.path.join(self.root, ".net")):
            ls = self.cell("network", "ls", "-q", check=False)
            for name in ls.out.split() if ls.rc == 0 else []:
                r = self.cell("network", "rm", name, check=False)
                if r.rc != 0:
                    problems.append(f"network rm {name}: {r.err.strip()}")
        problems += self.h.leaks(self)
        unmount_under(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems


def mounts_under(path):
    """Mount points at or below path, deepest first (mountinfo escapes
    spaces and such as octal)."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return sorted(found, key=lambda m: m.count("/"), reverse=True)


def unmount_under(path):
    """Detach every mount at or below path. `umount -R` is not enough: it
    refuses a path that is not itself a mount point, and a runtime's mounts
    (a shim's rootfs) sit below plain directories; an rmtree through one
    would delete the files it shows."""
    for mp in mounts_under(path):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def pid_namespaces():
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            out[int(d)] = os.readlink(f"/proc/{d}/ns/pid")
        except OSError:
            pass
    return out


def cgroups_named(names):
    """cgroup directories, on any hierarchy, whose name is one of names."""
    found = []
    for root, dirs, _files in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            if d in names:
                found.append(os.path.join(root, d))
    return found


def top_cgroups():
    """Directories at the top of every cgroup hierarchy."""
    out = set()
    base = "/sys/fs/cgroup"
    hiers = [base] if os.path.exists(f"{base}/cgroup.controllers") else \
        [os.path.join(base, h) for h in os.listdir(base)]
    for h in hiers:
        if os.path.islink(h) or not os.path.isdir(h):
            continue
        for d in os.listdir(h):
            if os.path.isdir(os.path.join(h, d)):
                out.add(os.path.join(h, d))
    return out


def descends_from(pid, ancestor):
    for _ in range(64):
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid <= 1:
            return False
    return False


def in_cgroups_named(pid, names):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            paths = [l.split(":", 2)[2].strip() for l in f]
    except OSError:
        return False
    return any(p.rstrip("/").rsplit("/", 1)[-1] in names for p in paths)


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
