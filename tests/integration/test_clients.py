"""Real clients drive cell as their OCI runtime: podman (through conmon) and
containerd (through its runc shim, with cell as the runtime binary).
Each gets its own storage, state and config in the test's directory."""
import json
import os
import resource
import shutil
import socket
import subprocess
import time

from cellt import Skip, unmount_under


def tarball(t):
    tar = os.path.join(t.tmp, "rootfs.tar")
    subprocess.run(["tar", "-C", t.h.rootfs, "-cf", tar, "."], check=True)
    return tar


class Podman:
    def __init__(self, t):
        if not shutil.which("podman"):
            raise Skip("podman is not installed (scripts/setup installs it)")
        self.t = t
        d = os.path.join(t.tmp, "podman")
        _, nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        conf = os.path.join(d, "containers.conf")
        os.makedirs(d)
        # podman asks for RLIMIT_NOFILE 1048576 by default; a host whose
        # runtime cannot raise hard limits (no CAP_SYS_RESOURCE here) needs
        # a default within reach, for runc as for cell.
        with open(conf, "w") as f:
            f.write(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", '
                    '"nproc=4096:4096"]\n'
                    '[engine]\nlock_type = "file"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=conf)
        self.base = ["podman", "--root", f"{d}/storage", "--runroot", f"{d}/run",
                     "--tmpdir", f"{d}/tmp", "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--runtime", t.cell_bin]
        t.on_cleanup(self.cleanup)

    def __call__(self, *args, check=True, timeout=90):
        cp = subprocess.run(self.base + list(args), capture_output=True, text=True,
                            timeout=timeout, env=self.env, stdin=subprocess.DEVNULL)
        if check and cp.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: rc={cp.returncode} "
                                 f"out={cp.stdout!r} err={cp.stderr!r}")
        return cp

    def cleanup(self):
        self("rm", "-a", "-f", "-t", "0", check=False)
        # podman puts conmon in a cgroup of its own making and leaves it;
        # it empties once the last conmon has exited.
        end = time.time() + 10
        for cg in ("libpod_parent/conmon", "libpod_parent"):
            for h in os.listdir("/sys/fs/cgroup"):
                p = os.path.join("/sys/fs/cgroup", h, cg)
                while os.path.isdir(p):
                    try:
                        os.rmdir(p)
                    except OSError:
                        if time.time() > end:
                            break
                        time.sleep(0.1)


def test_podman_run_exec_logs_stop_rm(t):
    pm = Podman(t)
    pm("import", tarball(t), "localhost/cellbb:test")
    r = pm("run", "--rm", "--network", "none", "localhost/cellbb:test", "sh", "-c",
           "echo hello from podman; echo $$; cat /proc/self/status | grep NoNewPrivs")
    assert r.stdout.startswith("hello from podman\n1\n"), r

    cid = pm("run", "-d", "--network", "none", "--name", "web", "localhost/cellbb:test", "sh",
             "-c", "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"
             ).stdout.strip()
    assert len(cid) == 64, cid
    st = json.loads(pm("inspect", "web").stdout)[0]["State"]
    assert st["Status"] == "running", st
    # podman hands cell the state root and calls `cell state`; both agree.
    r = pm("exec", "web", "sh", "-c", "echo in-exec; ps -o pid,comm")
    assert "in-exec" in r.stdout and "sleep" in r.stdout, r
    r = pm("exec", "-t", "web", "tty")
    assert r.stdout.startswith("/dev/pts/"), r
    pm("stop", "-t", "10", "web")
    st = json.loads(pm("inspect", "web").stdout)[0]["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 0, st
    logs = pm("logs", "web").stdout
    assert logs.split() == ["started", "bye"], logs
    pm("rm", "web")
    assert "web" not in pm("ps", "-a", "--format", "{{.Names}}").stdout


def test_podman_kill_and_exit_code(t):
    pm = Podman(t)
    pm("import", tarball(t), "localhost/cellbb:test")
    r = pm("run", "--network", "none", "--name", "ex", "localhost/cellbb:test", "sh", "-c",
           "exit 7", check=False)
    assert r.returncode == 7, r
    pm("run", "-d", "--network", "none", "--name", "k", "localhost/cellbb:test", "sleep", "60")
    pm("kill", "k")
    end = time.time() + 20
    while time.time() < end:
        st = json.loads(pm("inspect", "k").stdout)[0]["State"]
        if st["Status"] == "exited":
            break
        time.sleep(0.2)
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st


class Containerd:
    """A containerd of the test's own: config, root, state and socket in the
    test directory, the runc shim, cell as the runtime binary."""

    def __init__(self, t):
        for b in ("containerd", "ctr", "containerd-shim-runc-v2"):
            if not shutil.which(b):
                raise Skip(f"{b} is not installed (scripts/setup installs containerd)")
        self.t = t
        d = os.path.join(t.tmp, "containerd")
        os.makedirs(d)
        self.sock = os.path.join(d, "c.sock")
        cfg = os.path.join(d, "config.toml")
        with open(cfg, "w") as f:
            f.write(f'version = 2\nroot = "{d}/root"\nstate = "{d}/state"\n'
                    f'[grpc]\n  address = "{self.sock}"\n'
                    '[plugins."io.containerd.grpc.v1.cri"]\n  disable_apparmor = true\n'
                    f'[plugins."io.containerd.runtime.v1.linux"]\n  runtime = "{t.cell_bin}"\n')
        # containerd 1.6 keeps shim sockets and fifos under /run/containerd,
        # and the runc shim hands its runtime the root /run/containerd/runc/NS,
        # whatever the config says: remove what this test made there.
        self.made = [p for p in ("/run/containerd/runc/celltest", "/run/containerd/runc",
                                 "/run/containerd/s", "/run/containerd/fifo",
                                 "/run/containerd") if not os.path.exists(p)]
        # containerd unpacks a checkpoint it restores from its content store
        # into a ctrd-checkpoint* directory under $XDG_RUNTIME_DIR (else
        # /tmp) and never removes it: keep that in the test directory.
        run = os.path.join(d, "xdg-run")
        os.makedirs(run, mode=0o700)
        self.log = open(os.path.join(d, "containerd.log"), "w")
        self.proc = subprocess.Popen(["containerd", "--config", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=dict(os.environ, XDG_RUNTIME_DIR=run))
        t.on_cleanup(self.stop)
        end = time.time() + 30
        while time.time() < end:
            if os.path.exists(self.sock) and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError("containerd did not come up: " + open(self.log.name).read()[-2000:])

    def ctr(self, *args, check=True, timeout=90):
        cp = subprocess.run(["ctr", "--address", self.sock, "--namespace", "celltest"] +
                            list(args), capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
        if check and cp.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)}: rc={cp.returncode} out={cp.stdout!r} "
                                 f"err={cp.stderr!r}")
        return cp

    def stop(self):
        for line in self.ctr("task", "ls", "-q", check=False).stdout.split():
            self.ctr("task", "kill", "-s", "KILL", line, check=False)
            self.ctr("task", "delete", "-f", line, check=False)
        for line in self.ctr("container", "ls", "-q", check=False).stdout.split():
            self.ctr("container", "delete", line, check=False)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        unmount_under(os.path.join(self.t.tmp, "containerd"))
        for p in self.made:
            try:
                os.rmdir(p)
            except OSError:
                pass


def test_containerd_ctr_run(t):
    cd = Containerd(t)
    tar = os.path.join(t.tmp, "image.tar")
    make_oci_archive(t, tar)
    cd.ctr("image", "import", "--no-unpack=false", "--snapshotter", "native", tar)
    r = cd.ctr("run", "--rm", "--snapshotter", "native", "--runc-binary", t.cell_bin,
               "localhost/cellbb:test", "c1", "sh", "-c", "echo hello from ctr; echo $$")
    assert r.stdout == "hello from ctr\n1\n", r
    # Detached task, exec into it, kill, delete: the shim's whole vocabulary.
    cd.ctr("run", "-d", "--snapshotter", "native", "--runc-binary", t.cell_bin,
           "localhost/cellbb:test", "c2", "sleep", "60")
    tasks = cd.ctr("task", "ls").stdout
    assert "c2" in tasks and "RUNNING" in tasks, tasks
    r = cd.ctr("task", "exec", "--exec-id", "e1", "c2", "sh", "-c", "echo from-exec")
    assert r.stdout == "from-exec\n", r
    r = cd.ctr("task", "ps", "c2")
    assert len(r.stdout.strip().splitlines()) >= 2, r
    cd.ctr("task", "pause", "c2")
    assert "PAUSED" in cd.ctr("task", "ls").stdout
    cd.ctr("task", "resume", "c2")
    cd.ctr("task", "kill", "-s", "KILL", "c2")
    end = time.time() + 20
    while "STOPPED" not in cd.ctr("task", "ls").stdout and time.time() < end:
        time.sleep(0.2)
    assert "STOPPED" in cd.ctr("task", "ls").stdout
    cd.ctr("task", "delete", "c2")
    cd.ctr("container", "delete", "c2")


def make_oci_archive(t, out):
    """An OCI image archive of the test rootfs, as `ctr image import` reads it."""
    import hashlib
    import tarfile
    d = os.path.join(t.tmp, "oci")
    blobs = os.path.join(d, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(data):
        h = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, h), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + h, "size": len(data)}

    layer_tar = os.path.join(t.tmp, "layer.tar")
    subprocess.run(["tar", "-C", t.h.rootfs, "-cf", layer_tar, "."], check=True)
    layer_bytes = open(layer_tar, "rb").read()
    layer = blob(layer_bytes)
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    config = blob(json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"]},
        "rootfs": {"type": "layers",
                   "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
    }).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = blob(json.dumps({"schemaVersion": 2,
                                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "config": config, "layers": [layer]}).encode())
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest["annotations"] = {"org.opencontainers.image.ref.name": "localhost/cellbb:test",
                               "io.containerd.image.name": "localhost/cellbb:test"}
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with tarfile.open(out, "w") as tf:
        tf.add(d, arcname=".")
