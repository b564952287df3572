"""Shared helpers for black-box tests: start the real classchatd, talk to it over TCP.

Standard library only. The binary comes from $CLASSCHATD (set by CTest), else the
default build path.
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BINARY = os.environ.get(
    "CLASSCHATD", os.path.join(ROOT, "build", "release", "src", "server", "classchatd"))
# Sanitizer builds are several times slower; every wait in the tests scales with this.
TIMEOUT = float(os.environ.get("CLASSCHAT_TEST_TIMEOUT", "10"))


class Server:
    """A classchatd process on 127.0.0.1 and an ephemeral port. Use as a context manager."""

    def __init__(self, *args, host="127.0.0.1", threads=2):
        self.log_file = tempfile.NamedTemporaryFile(prefix="classchatd-", suffix=".log",
                                                    delete=False)
        cmd = [SERVER_BINARY, "--host", host, "--port", "0", "--threads", str(threads)]
        cmd += [str(a) for a in args]
        self.host = host
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log_file)
        self.port = self._wait_for_port()

    def _wait_for_port(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"listening on \S+:(\d+)", self.log())
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError("classchatd exited early:\n" + self.log())
            time.sleep(0.02)
        raise RuntimeError("classchatd did not report its port:\n" + self.log())

    def log(self):
        with open(self.log_file.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for_log(self, pattern, timeout=TIMEOUT):
        """Waits until `pattern` (a regex) appears in the log; returns the match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return match
            time.sleep(0.02)
        raise AssertionError(f"log never matched {pattern!r}:\n{self.log()[-3000:]}")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Signals the server and returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("classchatd did not exit after " + str(sig))
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        code = self.stop()
        os.unlink(self.log_file.name)
        if exc[0] is None and code != 0:
            raise AssertionError(f"classchatd exited with {code}:\n{self.log()[-3000:]}")


class ClassClient:
    """Behaves exactly like the class's Python clients: the bare name in one send(),
    recv(1024) + json.loads on each chunk, json.dumps objects with no separator."""

    def __init__(self, port, name, host="127.0.0.1", ip="10.0.0.5", family=socket.AF_INET):
        self.name = name
        self.ip = ip
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, port))
        self.sock.send(name.encode())

    def recv(self):
        data = self.sock.recv(1024)
        return json.loads(data)

    def send(self, to, msg=""):
        self.sock.send(json.dumps({"from": {"name": self.name, "ip": self.ip},
                                   "to": to, "msg": msg}).encode())

    def close(self):
        self.sock.close()


class LineClient:
    """A careful client for tests that need exact framing: buffers the stream and splits
    it on newlines, so coalesced or split frames are handled."""

    def __init__(self, port, first_bytes=None, host="127.0.0.1", family=socket.AF_INET):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect((host, port))
        self.buffer = b""
        if first_bytes is not None:
            self.sock.sendall(first_bytes if isinstance(first_bytes, bytes)
                              else first_bytes.encode())

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def send(self, to, msg=None, **extra):
        obj = {"to": to}
        if msg is not None:
            obj["msg"] = msg
        obj.update(extra)
        self.send_raw(json.dumps(obj))

    def recv_line(self, timeout=TIMEOUT):
        """The next frame's raw bytes (without the newline); raises on timeout or EOF."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no complete frame; have %r" % self.buffer[:200])
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; have %r" % self.buffer[:200])
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def recv(self, timeout=TIMEOUT):
        return json.loads(self.recv_line(timeout))

    def recv_msg(self, timeout=TIMEOUT):
        return self.recv(timeout)["msg"]

    def expect_closed(self, timeout=TIMEOUT):
        """Reads until EOF (or reset); returns the frames received before it."""
        frames = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                frames.append(self.recv(max(0.01, deadline - time.monotonic())))
            except (EOFError, ConnectionResetError):
                return frames
            except TimeoutError:
                raise AssertionError("connection still open; got %r" % frames)

    def close(self):
        self.sock.close()


def register(port, name, **kw):
    """A LineClient registered as `name`, with its welcome already read."""
    client = LineClient(port, name, **kw)
    welcome = client.recv()
    assert welcome["msg"].startswith("Welcome " + name + "!"), welcome
    return client
