#!/usr/bin/python3
"""Runs tests/integration/test_*.py: each test_NAME(t) function gets a
cellt.Fixture; prints "ok", "FAIL" or "skip" lines for tests/run to count.
After every test it checks that nothing was left behind: mounts, cgroups,
state, processes in other PID namespaces."""
import argparse
import ctypes
import importlib.util
import os
import shutil
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
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                if mp.startswith(t.tmp) or mp.startswith(t.root):
                    problems.append(f"mount left: {mp}")
        for cg in cellt.cgroups_named(set(t.ids)):
            problems.append(f"cgroup left: {cg}")
        if os.path.isdir(t.root):
            for cid in os.listdir(t.root):
                if cid in t.ids:
                    problems.append(f"state left: {os.path.join(t.root, cid)}")
        mine = os.readlink("/proc/self/ns/pid")
        now = cellt.pid_namespaces()
        stray = [p for p, ns in now.items() if ns != mine and p not in self.pidns0]
        if stray:
            # Give dying containers a moment; then kill so the next test starts clean.
            time.sleep(0.3)
            self.reap_zombies()
            now = cellt.pid_namespaces()
            stray = [p for p, ns in now.items() if ns != mine and p not in self.pidns0]
            if stray:
                problems.append(f"processes left in other PID namespaces: {stray[:10]}")
                cellt.kill_pids(stray)
        return problems


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
    h = Harness(os.path.abspath(a.build))
    h.pidns0 = set(cellt.pid_namespaces())
    failed = 0
    try:
        for full, fn in discover(a.filter):
            t = cellt.Fixture(h, full)
            status, why = "ok", ""
            start = time.time()
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
        shutil.rmtree(h.work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
