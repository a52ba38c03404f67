"""cell spec: writes runc's starter config.json, never over an existing one,
and what it writes runs as it is (terminal aside: tests have no tty)."""
import json
import os


def test_spec_writes_default(t):
    d = os.path.join(t.tmp, "b1")
    os.makedirs(d)
    t.cell("spec", cwd=d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["process"]["terminal"] is True
    assert cfg["process"]["args"] == ["sh"]
    assert cfg["root"] == {"path": "rootfs", "readonly": True}
    types = [n["type"] for n in cfg["linux"]["namespaces"]]
    assert {"pid", "network", "ipc", "uts", "mount"} <= set(types)
    assert "user" not in types


def test_spec_refuses_overwrite(t):
    d = os.path.join(t.tmp, "b2")
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write("mine")
    r = t.cell_fails("spec", "--bundle", d)
    assert r.rc == 1, r
    assert "File config.json exists. Remove it first" in r.err, r.err
    with open(os.path.join(d, "config.json")) as f:
        assert f.read() == "mine"


def test_spec_bad_bundle(t):
    r = t.cell_fails("spec", "-b", os.path.join(t.tmp, "nonexistent"))
    assert "nonexistent" in r.err and "No such file" in r.err, r.err


def test_spec_rootless(t):
    d = os.path.join(t.tmp, "b3")
    os.makedirs(d)
    t.cell("spec", "--rootless", "--bundle", d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    types = [n["type"] for n in cfg["linux"]["namespaces"]]
    assert "user" in types and "network" not in types
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    assert cfg["linux"]["gidMappings"] == [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    assert "resources" not in cfg["linux"]
    dests = [m["destination"] for m in cfg["mounts"]]
    assert "/sys/fs/cgroup" not in dests
    sys_mount = [m for m in cfg["mounts"] if m["destination"] == "/sys"][0]
    assert "rbind" in sys_mount["options"]
    assert not any(o.startswith("gid=") for m in cfg["mounts"] for o in m.get("options", []))


def test_spec_default_runs(t):
    b = t.bundle(["/bin/true"])
    os.unlink(os.path.join(b, "config.json"))
    t.cell("spec", "--bundle", b)
    cfg = t.default_cfg(b)
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/sh", "-c", "test \"$(hostname)\" = cell && echo ok"]
    t.write_config(b, cfg)
    r = t.run(b)
    assert r.rc == 0 and r.out.strip() == "ok", r
