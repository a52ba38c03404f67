"""What a container gets: namespaces, root filesystem, devices, paths.
Each assertion reads the kernel's answer from inside the container."""
import os
import shlex
import subprocess

from cellt import Skip


def probe(t, *args, edit=None, check=True):
    b = t.bundle(["/bin/probe"] + list(args), edit=edit)
    r = t.run(b, check=check)
    return r.out.strip() if check else r


def sh(t, script, edit=None, check=True):
    b = t.bundle(["/bin/sh", "-c", script], edit=edit)
    r = t.run(b, check=check)
    return r.out if check else r


def test_pid_namespace(t):
    out = sh(t, "echo $$; ps -o pid= | sort -n | tail -1; ps -o pid= | wc -l")
    lines = out.splitlines()
    assert lines[0] == "1", out
    # Only the few processes of this shell's pipelines, numbered from 1.
    assert int(lines[1]) < 10 and int(lines[2]) <= 5, out


def test_hostname_and_domainname(t):
    def edit(c):
        c["hostname"] = "box1"
        c["domainname"] = "example.test"
    assert probe(t, "hostname", edit=edit) == "box1"
    assert probe(t, "domainname", edit=edit) == "example.test"
    assert os.uname().nodename != "box1"


def test_mount_namespace_and_pivot(t):
    out = sh(t, "cat /proc/self/mountinfo")
    mps = [l.split()[4] for l in out.splitlines()]
    assert "/" in mps and "/proc" in mps and "/dev/pts" in mps, mps
    assert not any(m.startswith(t.tmp) for m in mps), mps
    # The host's root is gone, not merely hidden: nothing is mounted at a
    # host path, and the old root is not reachable.
    assert "/work" not in mps and not any(m.startswith("/tmp/cell-") for m in mps), mps


def test_ipc_namespace(t):
    host = subprocess.run(["readlink", "/proc/self/ns/ipc"], capture_output=True,
                          text=True).stdout.strip()
    inside = sh(t, "readlink /proc/self/ns/ipc").strip()
    assert inside != host and inside.startswith("ipc:["), inside


def test_network_namespace_loopback_only(t):
    out = sh(t, "ls /sys/class/net; cat /sys/class/net/lo/operstate")
    names = out.split()
    assert names[:-1] == ["lo"], out


def test_cgroup_namespace_root(t):
    out = sh(t, "cat /proc/self/cgroup")
    for line in out.splitlines():
        assert line.split(":", 2)[2] == "/", out


def test_user_namespace_uid_map(t):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        # sysfs needs a network namespace owned by the user namespace: drop it to
        # exercise the bind fallback too.
    b = t.bundle(["/bin/sh", "-c", "cat /proc/self/uid_map; id -u; sleep 5"], edit=edit,
                 rootfs_copy=True)
    subprocess.run(["chown", "-R", "100000:100000", os.path.join(b, "rootfs")], check=True)
    cid = t.new_id()
    p = t.popen("run", "--bundle", b, cid, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
    t.wait_status(cid, "running")
    pid = t.state(cid)["pid"]
    host_uid = [l for l in open(f"/proc/{pid}/status") if l.startswith("Uid:")][0].split()[1]
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, (out, err)
    lines = out.split("\n")
    assert lines[0].split() == ["0", "100000", "65536"], out
    assert lines[1] == "0", out
    assert host_uid == "100000", host_uid


def test_time_namespace_offsets(t):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "time"})
        c["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    up = float(sh(t, "cut -d' ' -f1 /proc/uptime", edit=edit))
    host = float(open("/proc/uptime").read().split()[0])
    assert up - host > 86400 * 364, (up, host)


def test_join_namespace_by_path(t):
    # A holder container with its own uts namespace; a second joins it.
    hb = t.bundle(["/bin/sleep", "30"], edit=lambda c: c.update(hostname="shared-uts"))
    holder = t.new_id()
    t.cell("run", "-d", "--bundle", hb, holder)
    pid = t.state(holder)["pid"]

    def edit(c):
        c.pop("hostname")
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "uts"]
        c["linux"]["namespaces"].append({"type": "uts", "path": f"/proc/{pid}/ns/uts"})
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
        c["linux"]["namespaces"].append({"type": "network", "path": f"/proc/{pid}/ns/net"})
    out = sh(t, "hostname; readlink /proc/self/ns/net", edit=edit).split()
    assert out[0] == "shared-uts", out
    assert out[1] == os.readlink(f"/proc/{pid}/ns/net"), out


def test_readonly_root(t):
    r = sh(t, "touch /newfile 2>&1; echo rc=$?")
    assert "Read-only file system" in r and "rc=1" in r, r
    r = sh(t, "touch /newfile && echo ok", edit=lambda c: c["root"].update(readonly=False))
    assert r.strip() == "ok"


def test_masked_paths(t):
    files = [p for p in ("/proc/timer_list", "/proc/keys", "/proc/sched_debug", "/proc/kcore")
             if os.path.exists(p)]
    assert files and os.path.isdir("/sys/firmware")
    out = sh(t, f"cat {files[0]} | wc -c; ls /sys/firmware | wc -l; "
                f"grep -c ' {files[0]} ' /proc/self/mountinfo")
    size, entries, mounted = out.split()
    assert size == "0" and entries == "0" and mounted == "1", out


def test_readonly_paths(t):
    out = sh(t, "(echo 1 > /proc/sys/kernel/domainname) 2>&1; echo rc=$?")
    assert "Read-only file system" in out and "rc=1" in out, out


def test_default_devices_and_links(t):
    out = sh(t, "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; "
                "for l in fd stdin ptmx; do readlink /dev/$l; done; head -c 4 /dev/zero | wc -c")
    assert out.count("crw-rw-rw-") == 6, out
    assert "/proc/self/fd\n/proc/self/fd/0\npts/ptmx\n4\n" in out, out


def test_configured_device(t):
    def edit(c):
        c["linux"]["devices"] = [{"type": "c", "path": "/dev/mynull", "major": 1, "minor": 3,
                                  "fileMode": 0o600, "uid": 0, "gid": 0}]
        c["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"})
    out = sh(t, "ls -l /dev/mynull; echo x > /dev/mynull && echo written", edit=edit)
    assert out.startswith("crw-------") and "written" in out, out


def test_bind_mounts_with_options(t):
    src = os.path.join(t.tmp, "shared")
    os.makedirs(src)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("from host\n")

    def edit(c):
        c["mounts"].append({"destination": "/data", "type": "bind", "source": src,
                            "options": ["rbind", "ro", "nosuid"]})
        c["mounts"].append({"destination": "/rw/data", "type": "bind", "source": src,
                            "options": ["bind"]})
        c["mounts"].append({"destination": "/single", "type": "bind",
                            "source": os.path.join(src, "f"), "options": ["bind", "ro"]})
    out = sh(t, "cat /data/f /single; touch /data/x 2>&1; echo w >> /rw/data/f; "
                "grep ' /data ' /proc/self/mountinfo", edit=edit)
    assert out.count("from host") == 2 and "Read-only file system" in out, out
    assert " ro," in out and "nosuid" in out, out
    assert open(os.path.join(src, "f")).read() == "from host\nw\n"


def test_relative_bind_source_is_bundle_relative(t):
    def edit(c):
        c["mounts"].append({"destination": "/cfg", "type": "bind", "source": "config.json",
                            "options": ["bind", "ro"]})
    out = sh(t, "head -c 1 /cfg", edit=edit)
    assert out == "{", out


def test_tmpfs_with_size_and_mode(t):
    def edit(c):
        c["mounts"].append({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                            "options": ["size=1m", "mode=700", "noexec"]})
    out = sh(t, "stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo; "
                "dd if=/dev/zero of=/scratch/x bs=1k count=2048 2>&1 | grep -c 'No space'",
             edit=edit)
    assert out.startswith("700\n") and "noexec" in out and "size=1024k" in out, out
    assert out.endswith("1\n"), out


def test_symlink_destination_stays_inside(t):
    b = t.bundle(["/bin/sh", "-c", "cat /escape/marker 2>/dev/null; ls /hostroot | head -3"],
                 rootfs_copy=True)
    os.symlink("/", os.path.join(b, "rootfs", "hostroot"))
    os.symlink("../../../../../../../../" + t.tmp.lstrip("/"),
               os.path.join(b, "rootfs", "escape"))
    with open(os.path.join(t.tmp, "marker"), "w") as f:
        f.write("HOST SECRET")
    cfg = t.default_cfg(b)
    cfg["mounts"].append({"destination": "/escape/m", "type": "tmpfs", "source": "tmpfs"})
    t.write_config(b, cfg)
    r = t.run(b, check=False)
    assert "HOST SECRET" not in r.out
    # Whatever happened to the mount, it did not happen on the host.
    assert not os.path.exists(os.path.join(t.tmp, "m"))
    with open("/proc/self/mountinfo") as f:
        assert os.path.join(t.tmp, "m") not in f.read()


def test_cgroup_mount(t):
    out = sh(t, "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null "
                "|| cat /sys/fs/cgroup/pids.max")
    assert "max" in out, out


def test_sysctl(t):
    def edit(c):
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}
    out = sh(t, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax", edit=edit)
    assert out.split() == ["1", "123456789"], out
    assert open("/proc/sys/kernel/shmmax").read().strip() != "123456789"


def test_no_pivot(t):
    b = t.bundle(["/bin/sh", "-c", "ls /; echo ok"])
    cid = t.new_id()
    r = t.cell("run", "--no-pivot", "--bundle", b, cid)
    assert r.out.endswith("ok\n") and "bin" in r.out, r


def test_rootfs_propagation_private(t):
    out = sh(t, "awk '$5 == \"/\"' /proc/self/mountinfo",
             edit=lambda c: c["linux"].update(rootfsPropagation="private"))
    assert "shared:" not in out and "master:" not in out, out


def userns_edit(c):
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def test_new_user_namespace_joining_network(t):
    # A Kubernetes pod with user namespaces: the pod's network namespace
    # (here a holder container's) is joined, everything else is new.
    hb = t.bundle(["/bin/sleep", "30"])
    holder = t.new_id()
    t.cell("run", "-d", "--bundle", hb, holder)
    hpid = t.state(holder)["pid"]

    def edit(c):
        userns_edit(c)
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
        c["linux"]["namespaces"].append({"type": "network", "path": f"/proc/{hpid}/ns/net"})
        # sysfs cannot be mounted without a network namespace of our own.
        c["mounts"] = [m for m in c["mounts"] if m["type"] != "sysfs"]
    b = t.bundle(["/bin/sh", "-c", "echo $$; cat /proc/self/uid_map; readlink /proc/self/ns/net"],
                 edit=edit, rootfs_copy=True)
    subprocess.run(["chown", "-R", "100000:100000", os.path.join(b, "rootfs")], check=True)
    out = t.run(b).out.split("\n")
    assert out[0] == "1", out
    assert out[1].split() == ["0", "100000", "65536"], out
    assert out[2] == os.readlink(f"/proc/{hpid}/ns/net"), out


def userns_holder(t):
    """A detached container in a user namespace of its own (root is host
    uid 100000), for others to join: its pid."""
    hb = t.bundle(["/bin/sleep", "30"], edit=userns_edit, rootfs_copy=True)
    subprocess.run(["chown", "-R", "100000:100000", os.path.join(hb, "rootfs")], check=True)
    holder = t.new_id()
    t.cell("run", "-d", "--bundle", hb, holder)
    return holder, t.state(holder)["pid"]


def joining_bundle(t, hpid, args, hostname=None):
    """A bundle joining hpid's user and network namespaces, with new mount,
    pid, uts and ipc ones inside them: cell starts it in two stages."""
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                    if n["type"] not in ("network", "cgroup")]
        c["linux"]["namespaces"] += [{"type": "user", "path": f"/proc/{hpid}/ns/user"},
                                     {"type": "network", "path": f"/proc/{hpid}/ns/net"}]
        c["mounts"] = [m for m in c["mounts"] if m["type"] not in ("sysfs", "cgroup")]
        if hostname:
            c["hostname"] = hostname
    b = t.bundle(args, edit=edit, rootfs_copy=True)
    subprocess.run(["chown", "-R", "100000:100000", os.path.join(b, "rootfs")], check=True)
    return b


def test_joined_user_namespace_with_new_namespaces(t):
    _, hpid = userns_holder(t)
    b = joining_bundle(t, hpid, ["/bin/sh", "-c",
                                 "echo $$; hostname; readlink /proc/self/ns/user; id -u"],
                       hostname="inner")
    out = t.run(b).out.split("\n")
    assert out[0] == "1" and out[1] == "inner", out
    assert out[2] == os.readlink(f"/proc/{hpid}/ns/user") and out[3] == "0", out


def init_cgroups(t, cid):
    """The init's cgroup on each hierarchy, as /proc/PID/cgroup names it."""
    with open(f"/proc/{t.state(cid)['pid']}/cgroup") as f:
        return {l.split(":", 2)[1]: l.split(":", 2)[2].strip() for l in f}


def test_init_is_in_its_cgroup_on_every_hierarchy(t):
    # One stage (the holder), and two (a joined user namespace with new
    # namespaces goes through an intermediate process): the init is where
    # its record says, on every v1 hierarchy and in v2, not in cell's own.
    holder, hpid = userns_holder(t)
    two = t.new_id()
    t.cell("run", "-d", "--bundle", joining_bundle(t, hpid, ["/bin/sleep", "30"]), two)
    with open("/proc/self/cgroup") as f:
        hierarchies = {l.split(":", 2)[1] for l in f}
    for cid in (holder, two):
        cgs = init_cgroups(t, cid)
        assert set(cgs) == hierarchies, cgs
        wrong = {h: p for h, p in cgs.items() if not p.endswith(f"/{cid}")}
        assert not wrong, (cid, cgs)


def test_init_and_exec_placed_on_a_pure_v2_host(t):
    # Most hosts are cgroup v2 only; this one is hybrid.  In a mount
    # namespace of the test's own, /sys/fs/cgroup is the v2 hierarchy alone
    # (the machine's mounts are untouched), and cell sees a pure v2 host:
    # the init is born in its cgroup (one stage) or inherits it from the
    # intermediate (two), and so is an exec'd process.
    _, hpid = userns_holder(t)  # on the host: it only lends its namespaces
    two_b = joining_bundle(t, hpid, ["/bin/sleep", "30"])
    one_b = t.bundle(["/bin/sleep", "30"])
    two, one = t.new_id(), t.new_id()

    def cell(*args):
        return " ".join(shlex.quote(a) for a in t.cell_cmd(list(args)))
    script = f"""set -eu
umount -R -l /sys/fs/cgroup
mount -t cgroup2 none /sys/fs/cgroup
# Deleted here: their records name this namespace's cgroup paths.
trap 'for id in {one} {two}; do {cell("delete", "--force")} $id; done' EXIT
{cell("run", "-d", "--bundle", two_b, two)} </dev/null >/dev/null
{cell("run", "-d", "--bundle", one_b, one)} </dev/null >/dev/null
for id in {two} {one}; do
    pid=$({cell("state")} $id | sed -n 's/.*"pid": *\\([0-9]*\\).*/\\1/p')
    echo "$id $(grep '^0::' /proc/$pid/cgroup)"
done
echo "exec $({cell("exec", one, "cat", "/proc/self/cgroup")} </dev/null | tr '\\n' ' ')"
"""
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)
    got = dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)
    assert "exec" in got, r.stdout
    for cid in (two, one):
        assert got[cid] == f"0::/cell/{cid}", (cid, got)
    # The exec'd process sees its v2 cgroup as the root of the container's
    # cgroup namespace: it is in the container's cgroup, not above it.
    assert "0::/" in got["exec"].split(), got
