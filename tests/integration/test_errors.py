"""Bad input: each error names the file and the JSON path (or the flag),
exits 1, and leaves nothing behind (the harness checks mounts, cgroups,
state and processes after every test)."""
import json
import os


def create_fails(t, b, *needles):
    cid = t.new_id()
    r = t.cell_fails("create", "--bundle", b, cid)
    assert r.rc == 1, r
    for n in needles:
        assert n in r.err, (n, r.err)
    assert t.cell("state", cid, check=False).rc == 1
    assert not os.path.exists(os.path.join(t.root, cid))
    return r


def raw_bundle(t, text):
    b = t.bundle(["/bin/true"])
    with open(os.path.join(b, "config.json"), "w") as f:
        f.write(text)
    return b


def test_invalid_json(t):
    b = raw_bundle(t, '{"ociVersion": "1.2.0",\n "process": {\n  "args": [,]}}')
    create_fails(t, b, "config.json", "line 3")


def test_missing_config(t):
    b = t.bundle(["/bin/true"])
    os.unlink(os.path.join(b, "config.json"))
    create_fails(t, b, "config.json", "No such file")


def test_wrong_type(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["process"]["user"].update(uid="root"))
    create_fails(t, b, "config.json", "process.user.uid")


def test_missing_required_field(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["process"].pop("args"))
    create_fails(t, b, "config.json", "process.args")


def test_missing_oci_version(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c.pop("ociVersion"))
    create_fails(t, b, "ociVersion")


def test_rootfs_missing(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["root"].update(path="nonexistent"))
    create_fails(t, b, "root.path", "nonexistent")


def test_unknown_namespace(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["linux"]["namespaces"].append({"type": "foo"}))
    create_fails(t, b, "linux.namespaces[6].type", "foo")


def test_unknown_capability(t):
    b = t.bundle(["/bin/true"],
                 edit=lambda c: c["process"]["capabilities"]["bounding"].append("CAP_FOO"))
    create_fails(t, b, "process.capabilities.bounding[3]", "CAP_FOO")


def test_relative_mount_destination(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["mounts"].append(
        {"destination": "tmp2", "type": "tmpfs", "source": "tmpfs"}))
    create_fails(t, b, "mounts[8].destination", "tmp2")


def test_missing_bind_source(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["mounts"].append(
        {"destination": "/x", "type": "bind", "source": "/nonexistent/src", "options": ["bind"]}))
    create_fails(t, b, "mounts[8]", "/nonexistent/src")


def test_unknown_syscall_in_seccomp(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["linux"].update(seccomp={
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getpid", "no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}))
    create_fails(t, b, "linux.seccomp.syscalls[0].names[1]", "no_such_syscall")


def test_missing_executable(t):
    b = t.bundle(["no-such-binary"])
    create_fails(t, b, "executable file not found", "no-such-binary")


def test_bad_namespace_path(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["linux"]["namespaces"].__setitem__(
        1, {"type": "network", "path": "/nonexistent/ns"}))
    create_fails(t, b, "linux.namespaces[1].path", "/nonexistent/ns")


def test_terminal_without_console_socket(t):
    b = t.bundle(["/bin/true"], edit=lambda c: c["process"].update(terminal=True))
    create_fails(t, b, "console-socket")


def test_bad_flags(t):
    r = t.cell_fails("create", "--preserve-fds", "x", "id1")
    assert "--preserve-fds" in r.err
    r = t.cell_fails("list", "--format", "xml")
    assert "--format" in r.err
    r = t.cell_fails("nosuchverb")
    assert "nosuchverb" in r.err
    r = t.cell_fails("--log-format", "yaml", "list")
    assert "--log-format" in r.err


def test_failure_after_clone_leaves_nothing(t):
    # The sysctl fails inside the init, after cgroups, namespaces and mounts
    # exist: create must unwind all of it.
    b = t.bundle(["/bin/true"],
                 edit=lambda c: c["linux"].update(sysctl={"kernel.no_such_knob": "1"}))
    create_fails(t, b, "linux.sysctl", "kernel.no_such_knob")


def test_init_failing_early_reports_why(t):
    # The init gives up before cell has placed it (its user cannot enter the
    # bundle): cell, writing to it, finds it gone, and reports what the init
    # said rather than "Broken pipe".
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b = t.bundle(["/bin/true"], edit=edit)
    os.chmod(b, 0o700)
    r = create_fails(t, b, "chdir to the bundle", "Permission denied")
    assert "Broken pipe" not in r.err, r.err


def test_spec_writes_default_and_refuses_overwrite(t):
    d = os.path.join(t.tmp, "specdir")
    os.makedirs(d)
    t.cell("spec", "--bundle", d, root=False)
    cfg = json.load(open(os.path.join(d, "config.json")))
    assert cfg["ociVersion"].startswith("1.") and cfg["process"]["args"]
    r = t.cell_fails("spec", "--bundle", d, root=False)
    assert "exists" in r.err
