"""Terminals (the console-socket protocol, `run -t`) and exec into running
containers."""
import array
import json
import os
import pty
import select
import socket
import subprocess
import time


class ConsoleSocket:
    """What conmon and containerd's shim do: listen, receive the pty master."""

    def __init__(self, t):
        self.path = os.path.join(t.tmp, f"console-{time.time_ns()}.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        t.on_cleanup(self.sock.close)

    def receive(self, timeout=10):
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        fds = array.array("i")
        msg, anc, _flags, _addr = conn.recvmsg(1024, socket.CMSG_SPACE(4 * fds.itemsize))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
        conn.close()
        assert len(fds) == 1, (msg, anc)
        return fds[0]


def read_until(fd, needle, timeout=10):
    buf = b""
    end = time.time() + timeout
    while needle.encode() not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace")


def test_console_socket_protocol(t):
    cs = ConsoleSocket(t)
    b = t.bundle(["/bin/sh", "-c", "probe isatty 0; tty; echo done; sleep 30"],
                 edit=lambda c: c["process"].update(terminal=True, consoleSize={"height": 40,
                                                                               "width": 100}))
    cid = t.new_id()
    t.cell("create", "--bundle", b, "--console-socket", cs.path, cid)
    master = cs.receive()
    t.on_cleanup(lambda: os.close(master))
    t.cell("start", cid)
    out = read_until(master, "done")
    assert "yes" in out and "/dev/pts/0" in out, out
    # /dev/console is the same terminal.
    r = t.cell("exec", cid, "/bin/sh", "-c", "stty -F /dev/console size")
    assert r.out.strip() == "40 100", r


def test_run_tty_interactive(t):
    b = t.bundle(["/bin/sh"], edit=lambda c: c["process"].update(terminal=True))
    cid = t.new_id()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(t.cell_bin, [t.cell_bin, "--root", t.root, "run", "--bundle", b, cid])
    try:
        os.write(fd, b"echo $((40+2)); tty; exit 5\n")
        out = read_until(fd, "/dev/pts/0")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert "42" in out and "/dev/pts/0" in out, out
    assert os.waitstatus_to_exitcode(status) == 5, status


def running(t, args=None, edit=None):
    b = t.bundle(args or ["/bin/sleep", "60"], edit=edit)
    cid = t.new_id()
    t.cell("run", "-d", "--bundle", b, cid)
    return cid


def test_exec_shares_namespaces(t):
    cid = running(t)
    init = t.state(cid)["pid"]
    out = t.cell("exec", cid, "/bin/sh", "-c", "ps -o pid,comm | grep sleep; hostname; "
                                               "readlink /proc/self/ns/mnt").out.split()
    assert out[0] == "1" and out[1] == "sleep", out
    assert out[2] == "cell-test", out
    assert out[3] == os.readlink(f"/proc/{init}/ns/mnt"), out


def test_exec_exit_status_env_cwd_user(t):
    cid = running(t)
    r = t.cell("exec", cid, "/bin/sh", "-c", "exit 9", check=False)
    assert r.rc == 9, r
    r = t.cell("exec", "-e", "A=1", "-e", "PATH=/bin", "--cwd", "/tmp", "--user", "1000:1000",
               cid, "/bin/sh", "-c", "echo $A $PATH; pwd; probe uid; probe caps | grep CapEff")
    lines = r.out.splitlines()
    assert lines[0] == "1 /bin" and lines[1] == "/tmp" and lines[2] == "1000 1000", r
    assert lines[3].split()[1] == "0000000000000000", r


def test_exec_in_cgroup_and_seccomp(t):
    cid = running(t, edit=lambda c: c["linux"].update(seccomp={
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    r = t.cell("exec", cid, "/bin/probe", "syscall", "getcwd")
    assert r.out.strip() == "errno 1", r
    r = t.cell("exec", cid, "/bin/sh", "-c", "cat /proc/self/cgroup")
    init_cg = open(f"/proc/{t.state(cid)['pid']}/cgroup").read()
    # Same cgroup as the init, seen from inside its cgroup namespace as "/".
    assert all(l.endswith(":/") for l in r.out.split()), (r.out, init_cg)


def test_exec_detach_pid_file(t):
    cid = running(t)
    pf = os.path.join(t.tmp, "exec.pid")
    t.cell("exec", "-d", "--pid-file", pf, cid, "/bin/sleep", "50")
    pid = int(open(pf).read())
    assert "sleep" in open(f"/proc/{pid}/cmdline").read()
    assert pid in json.loads(t.cell("ps", "--format", "json", cid).out)


def test_exec_process_file(t):
    cid = running(t)
    pf = os.path.join(t.tmp, "process.json")
    with open(pf, "w") as f:
        json.dump({"args": ["/bin/sh", "-c", "echo $X; pwd"], "cwd": "/dev",
                   "env": ["X=from-file", "PATH=/bin"], "user": {"uid": 0, "gid": 0}}, f)
    r = t.cell("exec", "--process", pf, cid)
    assert r.out == "from-file\n/dev\n", r


def test_exec_tty_console_socket(t):
    cid = running(t)
    cs = ConsoleSocket(t)
    p = t.popen("exec", "-t", "--console-socket", cs.path, cid, "/bin/sh", "-c",
                "tty; echo exec-done")
    master = cs.receive()
    t.on_cleanup(lambda: os.close(master))
    out = read_until(master, "exec-done")
    assert "/dev/pts/" in out, out
    assert p.wait(timeout=10) == 0


def test_exec_errors(t):
    cid = running(t, args=["/bin/true"])
    t.wait_status(cid, "stopped")
    r = t.cell_fails("exec", cid, "/bin/true")
    assert "stopped" in r.err, r
    cid2 = running(t)
    r = t.cell_fails("exec", cid2, "/no/such/binary")
    assert "/no/such/binary" in r.err, r
    t.cell("pause", cid2)
    r = t.cell_fails("exec", cid2, "/bin/true")
    assert "paused" in r.err, r
    t.cell("resume", cid2)
