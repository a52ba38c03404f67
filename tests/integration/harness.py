#!/usr/bin/python3
"""Runs tests/integration/test_*.py: each test_NAME(t) function gets a
cellt.Fixture; prints "ok", "FAIL" or "skip" lines for tests/run to count.
After every test it checks that nothing was left behind: mounts, cgroups,
state, processes in other PID namespaces, links, nftables and leases in the
test network namespace, new entries in /tmp and /dev/shm."""
import argparse
import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cellt  # noqa: E402


class Harness:
    def __init__(self, build):
        self.build = build
        self.cell = os.path.join(build, "cell")
        self.probe = os.path.join(build, "tests", "probe")
        self.work = tempfile.mkdtemp(prefix="cell-harness-", dir="/tmp")
        self.rootfs = os.path.join(self.work, "rootfs")
        cellt.build_rootfs(self.rootfs, self.probe)
        self.pidns0 = None
        # The network namespace cell runs in during tests: nothing a test
        # does reaches the machine's own (see cellt.Fixture.cell_cmd).
        self.netns_name = f"cellt-{os.getpid()}"
        self.drop_stale_netns()
        subprocess.run(["ip", "netns", "add", self.netns_name], check=True)
        subprocess.run(["ip", "-n", self.netns_name, "link", "set", "lo", "up"], check=True)
        self.netns = f"/run/netns/{self.netns_name}"

    @staticmethod
    def drop_stale_netns():
        """The namespaces of harnesses that were killed before their close()."""
        for name in os.listdir("/run/netns") if os.path.isdir("/run/netns") else []:
            pid = name[len("cellt-"):]
            if name.startswith("cellt-") and pid.isdigit() and \
                    not os.path.exists(f"/proc/{pid}"):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.netns_name], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def netns_leaks(self, t):
        """Links, nftables tables and address leases a test left behind."""
        problems = []
        out = subprocess.run(["ip", "-n", self.netns_name, "-o", "link", "show"],
                             capture_output=True, text=True).stdout
        links = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
        if links != ["lo"]:
            problems.append(f"links left in the test network namespace: {links}")
            for link in links:
                if link != "lo":  # so the next test starts clean
                    subprocess.run(["ip", "-n", self.netns_name, "link", "del", link],
                                   capture_output=True)
        nft = subprocess.run(["nsenter", f"--net={self.netns}", "nft", "list", "tables"],
                             capture_output=True, text=True).stdout.strip()
        if nft:
            problems.append(f"nftables left in the test network namespace: {nft}")
            subprocess.run(["nsenter", f"--net={self.netns}", "nft", "flush", "ruleset"],
                           capture_output=True)
        net = os.path.join(t.root, ".net")
        for d in os.listdir(net) if os.path.isdir(net) else []:
            p = os.path.join(net, d)
            if os.path.isdir(p):
                left = [f for f in os.listdir(p) if not f.startswith(".")]
                if left:
                    problems.append(f"leases left in {p}: {left}")
        return problems

    def strays(self, t):
        """Processes this test left: in another PID namespace, and either
        descended from the harness or inside one of the test's cgroups.
        Other people's containers on the machine are none of our business."""
        mine = os.readlink("/proc/self/ns/pid")
        me = os.getpid()
        out = []
        for pid, ns in cellt.pid_namespaces().items():
            if ns == mine or pid in self.pidns0:
                continue
            if cellt.descends_from(pid, me) or cellt.in_cgroups_named(pid, t.ids):
                out.append(pid)
        return out

    @staticmethod
    def reap_zombies():
        """Reap children that are zombies (adopted container inits)."""
        me = os.getpid()
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == me:
                try:
                    os.waitpid(int(d), os.WNOHANG)
                except ChildProcessError:
                    pass

    def leaks(self, t):
        self.reap_zombies()
        problems = []
        for mp in cellt.mounts_under(t.tmp):  # t.root is inside it
            problems.append(f"mount left: {mp}")
        for cg in cellt.cgroups_named(set(t.ids)):
            problems.append(f"cgroup left: {cg}")
        # Parents a test's runtime made (/cell, containerd's /<namespace>,
        # podman's /libpod_parent) must go with their last child.
        for cg in sorted(cellt.top_cgroups() - self.top_cgroups0):
            problems.append(f"cgroup parent left: {cg}")
        if os.path.isdir(t.root):
            for cid in os.listdir(t.root):
                if cid in t.ids:
                    problems.append(f"state left: {os.path.join(t.root, cid)}")
        stray = self.strays(t)
        if stray:
            # Give dying containers a moment; then kill so the next test starts clean.
            time.sleep(0.3)
            self.reap_zombies()
            stray = self.strays(t)
            if stray:
                problems.append(f"processes left in other PID namespaces: {stray[:10]}")
                cellt.kill_pids(stray)
        return problems + self.netns_leaks(t)


# Scratch places a test (or a client it drives) could litter.  Clients' own
# long-lived state is not litter: podman's lock segment outlives every run.
SCRATCH = ("/tmp", "/dev/shm")
SCRATCH_KEEP = {"/dev/shm/libpod_lock"}


def scratch_entries():
    found = set()
    for d in SCRATCH:
        try:
            found.update(os.path.join(d, e) for e in os.listdir(d))
        except OSError:
            pass
    return found - SCRATCH_KEEP


def discover(filt):
    here = os.path.dirname(os.path.abspath(__file__))
    for fn in sorted(os.listdir(here)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(here, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(vars(mod)):
            if not name.startswith("test_") or not callable(getattr(mod, name)):
                continue
            full = f"{fn[5:-3]}/{name[5:]}"
            if filt and filt not in full:
                continue
            yield full, getattr(mod, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--filter")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("skip integration: needs root")
        return 0
    # Like conmon and containerd's shim, the harness is a subreaper: a
    # detached container's init becomes its child and is reaped here.
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # A timeout's SIGTERM must still run the cleanup below (the test
    # network namespace would outlive the harness otherwise).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    h = Harness(os.path.abspath(a.build))
    h.pidns0 = set(cellt.pid_namespaces())
    h.top_cgroups0 = cellt.top_cgroups()
    failed = 0
    try:
        for full, fn in discover(a.filter):
            t = cellt.Fixture(h, full)
            status, why = "ok", ""
            start = time.time()
            scratch0 = scratch_entries()
            try:
                fn(t)
            except cellt.Skip as e:
                status, why = "skip", str(e)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                status = "FAIL"
                tb = traceback.extract_tb(e.__traceback__)
                where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(tb)
                              if os.path.basename(f.filename).startswith("test_")), "")
                why = f"{where}: {type(e).__name__}: {e}".strip(": ")
            problems = t.teardown()
            problems += [f"{p} left" for p in sorted(scratch_entries() - scratch0)]
            if problems and status != "FAIL":
                status, why = "FAIL", "left behind: " + "; ".join(problems)
            took = time.time() - start
            if status == "ok":
                print(f"ok it/{full} ({took:.2f}s)", flush=True)
            elif status == "skip":
                print(f"skip it/{full}: {why}", flush=True)
            else:
                failed += 1
                print(f"FAIL it/{full}: {why[:2000]}", flush=True)
    finally:
        h.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
