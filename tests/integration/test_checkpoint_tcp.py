"""Checkpoint and restore of containers with open TCP connections (issue 5):
redis-server in a container keeps its client's connection across
`cell checkpoint --tcp-established` and `cell restore`; without the flag an
established connection is refused by name.  Each test makes its own host
network namespace (test_network.Host); the client runs there."""
import json
import os
import time

from cellt import Skip
from test_checkpoint import data_dir, ns_procs, read, stable_procs, stats, wait_for, with_data


# -- redis in a container, its client's connection kept open ----------------

REDIS = "/usr/bin/redis-server"
REDIS_KEYS = 100000


def try_connect(h, ip, port, timeout=60):
    """A connection from host h to ip:port, or None."""
    import resp
    try:
        return resp.connect_in(h.path, ip, port, timeout)
    except OSError:
        return None


def redis_container(t, h, data, edit=None):
    """redis-server in a container on the default network of host h, a
    child of the container's shell (so its PID there is not just 1): a
    busybox root with the host's /usr bound read-only (Debian's merged
    /usr: /lib and /lib64 lead into it), persistence off, its log in /data.
    Returns (id, address, a client connected from h with REDIS_KEYS keys
    loaded)."""
    import resp
    import test_network as tn
    if not os.access(REDIS, os.X_OK):
        raise Skip(f"{REDIS} is not installed (scripts/setup installs redis-server)")
    redis = (f"{REDIS} --bind 0.0.0.0 --port 6379 --protected-mode no --save '' "
             "--appendonly no --dir /tmp --logfile /data/redis.log --daemonize no")
    b = tn.net_bundle(t, ["sh", "-c", f"{redis} & echo $! > /data/redis.pid; wait"],
                      network="default", usr=True, edit=with_data(data, edit))
    os.makedirs(os.path.join(b, "rootfs", "data"))
    cid = h.new_id("redis")
    h.cell("run", "-d", "--bundle", b, cid)
    ip = wait_for(lambda: next(iter(h.leases().get("default", [])), None), "a lease")
    c = resp.Client(wait_for(lambda: try_connect(h, ip, 6379), f"redis on {ip}:6379"))
    t.on_cleanup(c.close)
    t0 = time.monotonic()
    resp.load(c, REDIS_KEYS)
    print(f"# redis: {REDIS_KEYS} keys loaded in {time.monotonic() - t0:.2f}s")
    assert c.call("DBSIZE") == REDIS_KEYS
    return cid, ip, c


def redis_identity(t, cid, c):
    """What must be the same after a restore: the server process (its PID
    in the container, its run id, the PIDs of the container) and the
    connection (the server's id for this client)."""
    info = c.info("server")
    with open(f"/proc/{t.state(cid)['pid']}/cgroup") as f:
        cgroups = sorted(f.read().split())
    return {"process_id": info["process_id"], "run_id": info["run_id"],
            "client_id": c.call("CLIENT", "ID"), "cgroups": cgroups,
            "procs": stable_procs(t, cid, ("sh", "redis-server"))}


def assert_redis_whole(t, h, data, cid, ip, c, ident, restored=True):
    """After the restore, on the same connection: the same server and
    connection, every key there with its value, the container's cgroup and
    address back."""
    import resp
    assert redis_identity(t, cid, c) == ident
    pid = int(read(f"{data}/redis.pid"))
    assert int(ident["process_id"]) == pid > 1, ident
    assert ident["procs"] == {1: "sh", pid: "redis-server"}, ident
    assert c.call("DBSIZE") == REDIS_KEYS
    bad = resp.check_keys(c, range(1, REDIS_KEYS, 7))
    assert not bad, f"{len(bad)} keys with a wrong value, e.g. {bad[:5]}"
    st = json.loads(h.cell("state", cid).out)
    assert st["status"] == "running", st
    # A restore asks for the address the container had, as `run --ip` does.
    assert not restored or st["annotations"]["cell.ip"] == ip, st
    assert ip in h.leases()["default"], h.leases()
    # The same cgroups as before (redis_identity), which are the container's.
    cg = dict(line.split(":", 2)[1:] for line in ident["cgroups"])
    assert cid in cg.get("memory", cg.get("")), cg


def timed(fn, *args, **kw):
    t0 = time.monotonic()
    r = fn(*args, **kw)
    return r, t0, time.monotonic()


def slow_hook(cfg):
    """A createRuntime hook that takes a second: the restored container has
    its address that long before its tree (and its sockets) exists."""
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "1"]}]}


def redis_through_checkpoint(t, predump):
    """The client's load runs all through checkpoint (redis killed) and
    restore; every answer is checked as it comes.  The host's ARP entry for
    the container goes (as it does by itself after half a minute), so the
    client's retransmissions find the restored container's interface as
    soon as it has its address: until its socket is back, the network lock
    must keep them from drawing a reset."""
    import resp
    import test_network as tn
    h = tn.Host(t)
    data = data_dir(t)
    cid, ip, c = redis_container(t, h, data, None if predump else slow_hook)
    ident = redis_identity(t, cid, c)
    load = resp.Load(c, REDIS_KEYS, int(c.call("GET", "counter")))
    load.start()
    wait_for(lambda: load.requests >= 50 or load.error, "the client's requests")
    img = os.path.join(t.tmp, "img")
    flags = ["--tcp-established"]
    if predump:
        pre = os.path.join(t.tmp, "pre")
        r, a, b = timed(h.cell, "checkpoint", "--pre-dump", "--print-stats", "--image-path",
                        pre, cid)
        print(f"# redis pre-dump: {b - a:.2f}s, {stats(r)}")
        assert t.state(cid)["status"] == "running"
        n = load.requests
        wait_for(lambda: load.requests >= n + 50 or load.error, "requests after the pre-dump")
        flags += ["--parent-path", "../pre"]
    r, a0, a1 = timed(h.cell, "checkpoint", "--image-path", img, "--print-stats", *flags, cid)
    st = stats(r)
    assert "does not exist" in h.cell_fails("state", cid).err
    assert h.veths() == [], h.links()
    if predump:
        assert st["pages_skipped"] > 0, st
    h.ip("neigh", "flush", "to", ip)
    time.sleep(0.3)  # the client waits: its request in flight is not lost
    _, b0, b1 = timed(h.cell, "restore", "-d", "--image-path", img, "--tcp-established", cid)
    n = load.requests
    wait_for(lambda: load.requests >= n + 100 or load.error, "answers after the restore", 60)
    load.finish()
    wait, sent, got = load.longest
    print(f"# redis {'pre-dump+' if predump else ''}checkpoint: {a1 - a0:.2f}s wall "
          f"({st['frozen_us'] / 1000:.0f} ms frozen, {st['pages_written']} pages), restore "
          f"{b1 - b0:.2f}s wall, "
          f"{load.requests} requests, longest wait {wait:.2f}s")
    # The request in flight when the tree was stopped was sent before the
    # checkpoint ended and answered after the restore began, once.
    assert sent < a1 and got > b0, (load.longest, (a0, a1, b0, b1))
    assert int(c.call("GET", "counter")) == load.last
    assert_redis_whole(t, h, data, cid, ip, c, ident)
    h.cell("delete", "--force", cid)
    h.assert_clean()


def test_redis_connection_survives_checkpoint(t):
    redis_through_checkpoint(t, predump=False)


def test_redis_connection_survives_predump_and_checkpoint(t):
    redis_through_checkpoint(t, predump=True)


def test_redis_leave_running(t):
    """--leave-running: the connection never notices; without
    --tcp-established the checkpoint is refused, naming redis, and nothing
    changes; the image restores a redis as it was at the checkpoint."""
    import resp
    import test_network as tn
    h = tn.Host(t)
    data = data_dir(t)
    cid, ip, c = redis_container(t, h, data)
    ident = redis_identity(t, cid, c)
    load = resp.Load(c, REDIS_KEYS, int(c.call("GET", "counter")))
    load.start()
    wait_for(lambda: load.requests >= 50 or load.error, "the client's requests")
    refused = os.path.join(t.tmp, "refused")
    r = h.cell_fails("checkpoint", "--leave-running", "--image-path", refused, cid)
    pid = read(f"{data}/redis.pid")
    assert f"process {pid} (redis-server) fd " in r.err and "established TCP connection" in r.err \
        and f"{ip}:6379" in r.err and "--tcp-established" in r.err, r.err
    assert not os.path.exists(os.path.join(refused, "inventory.img")), os.listdir(refused)
    n = load.requests
    wait_for(lambda: load.requests >= n + 50 or load.error, "requests after the refusal")
    img = os.path.join(t.tmp, "img")
    r, a0, a1 = timed(h.cell, "checkpoint", "--leave-running", "--tcp-established",
                      "--print-stats", "--image-path", img, cid)
    n = load.requests
    wait_for(lambda: load.requests >= n + 50 or load.error, "requests after the checkpoint")
    load.finish()
    print(f"# redis --leave-running: {a1 - a0:.2f}s wall, {stats(r)}; longest wait "
          f"{load.longest[0]:.2f}s")
    assert_redis_whole(t, h, data, cid, ip, c, ident, restored=False)
    at_end = load.last
    # The image: a redis as it was during the checkpoint.  Its copy of the
    # connection has the sequence numbers of then, which the client has
    # left behind: the client leaves, and asks again on a new connection.
    c.close()
    h.cell("delete", "--force", cid)
    h.cell("restore", "-d", "--image-path", img, "--tcp-established", cid)
    c2 = resp.Client(wait_for(lambda: try_connect(h, ip, 6379), "the restored redis"))
    t.on_cleanup(c2.close)
    ident2 = redis_identity(t, cid, c2)
    assert ident2["client_id"] != ident["client_id"], (ident, ident2)
    del ident2["client_id"], ident["client_id"]
    assert ident2 == ident
    counter = int(c2.call("GET", "counter"))
    assert 0 < counter < at_end, (counter, at_end)
    assert c2.call("DBSIZE") == REDIS_KEYS
    assert not resp.check_keys(c2, range(1, REDIS_KEYS, 7))
    h.cell("delete", "--force", cid)
    h.assert_clean()


def test_established_tcp_needs_the_flag(t):
    """Without --tcp-established a container with an established TCP
    connection is not checkpointed: the error names the process (its PID in
    the container and its name), the fd and the connection; the container
    and the connection go on."""
    import resp
    import test_network as tn
    h = tn.Host(t)
    data = data_dir(t)
    b = tn.net_bundle(t, ["sh", "-c", "sleep 1000 | nc -l -p 7000 > /data/got"],
                      network="default", edit=with_data(data))
    os.makedirs(os.path.join(b, "rootfs", "data"))
    cid = h.new_id("tcp")
    h.cell("run", "-d", "--bundle", b, cid)
    ip = wait_for(lambda: next(iter(h.leases().get("default", [])), None), "a lease")
    s = wait_for(lambda: try_connect(h, ip, 7000, 5), "nc to listen")
    t.on_cleanup(s.close)
    nc = [p for p, comm in ns_procs(t, cid).items() if comm == "nc"]
    img = os.path.join(t.tmp, "img")
    r = h.cell_fails("checkpoint", "--image-path", img, cid)
    assert len(nc) == 1 and f"process {nc[0]} (nc) fd " in r.err, (nc, r.err)
    assert f"established TCP connection {ip}:7000 -> " in r.err, r.err
    assert "--tcp-established" in r.err, r.err
    assert not os.path.exists(os.path.join(img, "container.json")), os.listdir(img)
    assert t.state(cid)["status"] == "running"
    s.sendall(b"still here\n")
    wait_for(lambda: read(f"{data}/got") == "still here", "nc to get what was sent")
    h.cell("delete", "--force", cid)
    h.assert_clean()
