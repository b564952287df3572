"""A tiny RESP2 client and a private redis-server for the tests. Standard library only.

`RedisServer` starts /usr/bin/redis-server (or $REDIS_SERVER) on 127.0.0.1 and a free port with
no persistence (`--save '' --appendonly no`), in a temporary directory: never a system service.
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

REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")


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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server. Use as a context manager; stop() is graceful, kill() is SIGKILL,
    restart() starts it again on the same port (empty: nothing is persisted)."""

    def __init__(self, port=None):
        self.dir = tempfile.mkdtemp(prefix="classchat-redis-")
        self.proc = None
        self.port = port
        for _ in range(5):  # another process may take the free port between probe and bind
            if port is None:
                self.port = free_port()
            if self.start():
                return
        raise RuntimeError("redis-server did not start:\n" + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "redis.log"), encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def start(self, timeout=10):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--logfile",
             os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with RedisClient(self.port, timeout=1) as c:
                    if c.call("PING") == "PONG":
                        return True
            except (OSError, RedisError):
                time.sleep(0.02)
        self.kill()
        return False

    def client(self):
        return RedisClient(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self):
        self.stop()
        if not self.start():
            raise RuntimeError("redis-server did not restart:\n" + self.log())

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
