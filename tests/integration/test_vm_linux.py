"""The Linux boot path: Debian's kernel (scripts/vm-kernel fetches it into a
cache, never into /boot) booted by the x86 boot protocol on cell's monitor
prints its banner on the 16550 console.  On this PVM host the guest's ring 0
is emulated, so the test stops at the banner."""
import json
import os
import select
import signal
import subprocess
import time

import cellt

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def kernel(bzimage=False):
    if not os.path.exists("/dev/kvm"):
        raise cellt.Skip("no /dev/kvm on this host")
    if os.environ.get("CELL_TEST_KERNEL") and not bzimage:
        return os.environ["CELL_TEST_KERNEL"]
    cp = subprocess.run([os.path.join(TOP, "scripts", "vm-kernel")] + (["--bzimage"] if bzimage else []),
                        capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        raise cellt.Skip(f"no Debian kernel: {cp.stderr.strip()}")
    return cp.stdout.strip()


def read_until(p, needle, timeout):
    buf = b""
    end = time.time() + timeout
    while time.time() < end and needle not in buf:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
    return buf


def test_banner_on_serial_console(t):
    k = kernel()
    vid = t.new_id("vmlinux")
    p = subprocess.Popen([t.cell_bin, "--root", t.root, "vm", "run", "--name", vid, "--kernel", k,
                          "--memory", "512M"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t._procs.append(p)
    out = read_until(p, b"Linux version", 180)
    assert b"Linux version" in out, f"no banner; console: {out[-2000:]!r}"
    if b"BIOS-e820" not in out:
        out += read_until(p, b"BIOS-e820", 60)
    assert b"BIOS-e820" in out
    stats = json.loads(t.cell("vm", "stats", vid).out)
    assert stats["kind"] == "linux" and stats["io"]["serial_tx_bytes"] > 0
    p.send_signal(signal.SIGTERM)  # forwarded: stops the VM
    assert p.wait(timeout=30) == 0
    assert not os.path.exists(os.path.join(t.root, "vm", vid))


def test_bzimage_loads_and_runs(t):
    """A bzImage is loaded at 1 MiB and entered at its 64-bit entry; its
    decompressor then runs (slowly, here) until stopped."""
    k = kernel(bzimage=True)
    vid = t.new_id("vmbz")
    t.cell("vm", "run", "-d", "--name", vid, "--kernel", k, "--memory", "256M")
    time.sleep(1)
    listed = json.loads(t.cell("vm", "list", "--format", "json").out)
    assert [v["status"] for v in listed if v["id"] == vid] == ["running"]
    pid = [v["pid"] for v in listed if v["id"] == vid][0]
    t.cell("vm", "stop", vid)
    end = time.time() + 15
    while time.time() < end and os.path.exists(f"/proc/{pid}"):
        t.h.reap_zombies()
        time.sleep(0.02)
    assert not os.path.exists(os.path.join(t.root, "vm", vid))


def test_bad_kernel(t):
    if not os.path.exists("/dev/kvm"):
        raise cellt.Skip("no /dev/kvm on this host")
    bad = os.path.join(t.tmp, "notakernel")
    with open(bad, "w") as f:
        f.write("hello\n" * 100)
    e = t.cell_fails("vm", "run", "--kernel", bad).err
    assert "notakernel" in e and "bzImage" in e
    assert not os.listdir(os.path.join(t.root, "vm"))
