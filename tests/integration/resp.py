"""A small redis client for the tests: raw RESP over one TCP socket (no
redis-py), pipelined bulk loads, and a background load that checks every
answer.  The socket is made inside a network namespace of the test's (a
thread enters it, connects and leaves; the socket stays in that namespace
whichever thread uses it)."""
import ctypes
import os
import random
import socket
import threading
import time

CLONE_NEWNET = 0x40000000


def connect_in(netns, addr, port, timeout=60.0):
    """A TCP connection to addr:port from network namespace netns (a path)."""
    box = {}

    def run():
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            # setns of a network namespace moves this thread only.
            if libc.setns(fd, CLONE_NEWNET) != 0:
                e = ctypes.get_errno()
                raise OSError(e, f"setns {netns}: {os.strerror(e)}")
            box["sock"] = socket.create_connection((addr, port), timeout=2)
        except OSError as e:
            box["err"] = e
        finally:
            os.close(fd)
    th = threading.Thread(target=run)
    th.start()
    th.join()
    if "err" in box:
        raise box["err"]
    s = box["sock"]
    s.settimeout(timeout)
    return s


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespError(Exception):
    pass


class Client:
    def __init__(self, sock):
        self.s = sock
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        if self.pos > 65536:
            del self.buf[:self.pos]
            self.pos = 0
        chunk = self.s.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill()

    def _bytes(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def reply(self):
        """One reply: str (simple), int, bytes or None (bulk), list; an
        error reply raises RespError."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._bytes(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RespError(f"bad reply line {line!r}")

    def call(self, *args):
        self.send(encode(*args))
        return self.reply()

    def info(self, section):
        text = self.call("INFO", section).decode()
        return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def key(i):
    return b"key:%d" % i


def value(i):
    # Values of different lengths, each telling which key it belongs to.
    return b"value-%d-%s" % (i, b"x" * (i % 61))


def load(c, n, batch=5000):
    """SET key(1..n-1) pipelined, plus "counter" = 0: n keys in all."""
    assert c.call("SET", "counter", "0") == "OK"
    for lo in range(1, n, batch):
        hi = min(n, lo + batch)
        c.send(b"".join(encode("SET", key(i), value(i)) for i in range(lo, hi)))
        for i in range(lo, hi):
            r = c.reply()
            if r != "OK":
                raise AssertionError(f"SET {key(i)!r}: {r!r}")


def check_keys(c, idx):
    """GET of the keys idx, pipelined; the keys whose value is wrong."""
    c.send(b"".join(encode("GET", key(i)) for i in idx))
    return [i for i in idx if c.reply() != value(i)]


class Load(threading.Thread):
    """Request after request on the client's connection, each waited for:
    INCR counter (each answer must be the last plus one: a command lost or
    run twice shows) and GET of a random key (its own value)."""

    def __init__(self, c, nkeys, counter):
        super().__init__(daemon=True)
        self.c, self.nkeys, self.last = c, nkeys, counter
        self.stopping = threading.Event()
        self.error = None
        self.requests = 0
        self.longest = (0.0, 0.0, 0.0)  # (wait, sent, answered), time.monotonic()
        self.rng = random.Random(5)

    def run(self):
        try:
            while not self.stopping.is_set():
                self.one()
                time.sleep(0.001)
        except Exception as e:  # noqa: BLE001 - the test reports it
            self.error = e

    def one(self):
        k = self.rng.randrange(1, self.nkeys)
        sent = time.monotonic()
        self.c.send(encode("INCR", "counter") + encode("GET", key(k)))
        n, v = self.c.reply(), self.c.reply()
        got = time.monotonic()
        if n != self.last + 1:
            raise AssertionError(f"INCR answered {n} after {self.last}: a command was "
                                 f"{'lost' if n > self.last + 1 else 'run twice or lost'}")
        if v != value(k):
            raise AssertionError(f"GET {key(k)!r}: {v!r}")
        self.last = n
        self.requests += 1
        if got - sent > self.longest[0]:
            self.longest = (got - sent, sent, got)

    def finish(self, timeout=90):
        """Stop after the request in flight; raise what went wrong."""
        self.stopping.set()
        self.join(timeout)
        if self.is_alive():
            raise AssertionError(f"a request got no answer in {timeout}s (after "
                                 f"{self.requests} requests)")
        if self.error:
            raise AssertionError(f"after {self.requests} requests: {self.error}")
