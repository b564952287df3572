"""A tiny RESP2 client and a private redis-server for the tests. Standard library only.

`RedisServer` starts redis-server from PATH (or $REDIS_SERVER) on 127.0.0.1 and a free port with
no persistence (`--save '' --appendonly no`), in a temporary directory: never a system service.
It is the one the cluster tests use too (harness.Cluster, re-exported by harness.py).
`RedisClient` speaks RESP2 over one socket: `call()` for one command, `pipeline()` to send
many commands in one write and read all the replies.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REDIS_SERVER = os.environ.get("REDIS_SERVER", "redis-server")
# Every wait scales with this, as in harness.py (sanitizer builds run several times slower).
TIMEOUT = float(os.environ.get("CLASSCHAT_TEST_TIMEOUT", "10"))


class RedisError(Exception):
    """An error reply (`-ERR ...`). Returned, not raised, inside pipeline() results."""


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, int):
            arg = str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class RedisClient:
    """One connection. Bulk strings come back as bytes, integers as int, nil as None, arrays as
    lists, status replies as str, errors as RedisError (raised by call())."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = bytearray()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *commands):
        """Writes the commands (each a sequence of args) in one sendall; read with read_reply."""
        self.sock.sendall(b"".join(_encode(c) for c in commands))

    def call(self, *args):
        self.send(args)
        reply = self.read_reply()
        if isinstance(reply, RedisError):
            raise reply
        return reply

    def pipeline(self, commands):
        self.send(*commands)
        return [self.read_reply() for _ in commands]

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n + 2]
        return data

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buf += chunk

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise RedisError("bad RESP line: %r" % line)


def free_port():
    """A loopback port with nothing listening on it (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _decoded(reply):
    """`reply` with bulk strings as str; an error reply, even inside an array, raised."""
    if isinstance(reply, RedisError):
        raise reply
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    if isinstance(reply, list):
        return [_decoded(r) for r in reply]
    return reply


class RedisServer:
    """A private redis-server. Use as a context manager (or call close()); stop() is graceful
    (or sends `sig`), kill() is SIGKILL, start() after either, or restart(), runs it again on
    the same port, empty: nothing is persisted. start() raises RuntimeError when it fails.

    command(*args) sends one command on a new connection and returns the reply with bulk
    strings decoded (str, int, list, None); an error reply raises RedisError. client() is a
    RedisClient, for bytes, pipelines and subscriptions."""

    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="classchat-redis-")
        self.log_path = os.path.join(self.dir, "redis.log")
        self.proc = None
        self.port = port
        try:
            self.start()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        # Without a port, another process may take the free one between probe and bind: try
        # another. With one (a restart), it may not be free again yet: try it again a while.
        for _ in range(20):
            port = self.port or free_port()
            if self._start_on(port):
                self.port = port
                return
            if self.port:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start:\n" + self.log()[-3000:])

    def _start_on(self, port):
        """Starts redis-server on `port`; True once its own log says it is ready (a PING
        could reach another process on that port), else False with it killed."""
        seen = len(self.log())  # the log is appended to: only this start's lines count
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--daemonize", "no", "--logfile",
             self.log_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if "Ready to accept connections" in self.log()[seen:]:
                return True
            time.sleep(0.02)
        self.kill()
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self):
        return RedisClient(self.port)

    def command(self, *args, timeout=TIMEOUT):
        with RedisClient(self.port, timeout=timeout) as c:
            c.send(args)
            return _decoded(c.read_reply())

    def stop(self, sig=signal.SIGTERM):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
