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
import unittest

# The private redis-server of cluster tests (and its RESP client) live in redis_resp.py;
# re-exported here for the tests that reach them through the harness.
from redis_resp import RedisError, RedisServer, free_port  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BINARY = os.environ.get(
    "CLASSCHATD", os.path.join(ROOT, "build", "release", "src", "server", "classchatd"))
# Sanitizer builds are several times slower; every wait in the tests scales with this.
TIMEOUT = float(os.environ.get("CLASSCHAT_TEST_TIMEOUT", "10"))
# Under a sanitizer (scripts/test.sh sets CLASSCHAT_SANITIZER), freed memory is held in
# quarantine and shadow memory grows, so assertions on the server's RSS only mean
# something in the optimised build; functional checks run everywhere.
MEMORY_CHECKS = not os.environ.get("CLASSCHAT_SANITIZER")
# CLASSCHAT_CLUSTER=N (N >= 2): ServerTestCase.start_server() starts a Cluster of N nodes
# on one private Redis instead of one Server, and connect()/register()/class_client()
# spread the clients over the nodes round-robin (the ctest entries blackbox_cluster.*).
# Unset or empty: one process, as always.
CLUSTER_NODES = int(os.environ.get("CLASSCHAT_CLUSTER") or 0)


def wait_for_match(read, pattern, timeout=TIMEOUT, what="text"):
    """Polls `read()` (a log, a stderr: text that only grows) every 20 ms until the regex
    `pattern` matches it; returns the match. Past `timeout` s, fails the test with `what`
    and the end of the text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, read())
        if match:
            return match
        time.sleep(0.02)
    raise AssertionError(f"{what} never matched {pattern!r}:\n{read()[-3000:]}")


class _StoppedOnExit:
    """`with` for Server and Cluster: on the way out stop() (SIGTERM); an exit code other
    than 0 fails unless an exception is already on its way; close() always runs."""

    EXITED = "classchatd"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            code = self.stop()
            if exc[0] is None and code != 0:
                raise AssertionError(f"{self.EXITED} exited with {code}:\n{self.log()[-3000:]}")
        finally:
            self.close()


class Server(_StoppedOnExit):
    """A classchatd process on 127.0.0.1 and an ephemeral port. Use as a context manager."""

    def __init__(self, *args, host="127.0.0.1", threads=2):
        self.log_file = tempfile.NamedTemporaryFile(prefix="classchatd-", suffix=".log",
                                                    delete=False)
        cmd = [SERVER_BINARY, "--host", host, "--port", "0", "--threads", str(threads)]
        args = [str(a) for a in args]
        # The HTTP port defaults to 8080; tests run in parallel, so each server takes a free one.
        if "--no-http" not in args and "--http-port" not in args:
            cmd += ["--http-port", "0"]
        cmd += args
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

    def http_port(self):
        """The HTTP port the server logged (it is logged right after the chat port)."""
        return int(self.wait_for_log(r"HTTPS? on \S+:(\d+)").group(1))

    def log(self):
        with open(self.log_file.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for_log(self, pattern, timeout=TIMEOUT):
        """Waits until `pattern` (a regex) appears in the log; returns the match."""
        return wait_for_match(self.log, pattern, timeout, "log")

    def alive(self):
        return self.proc.poll() is None

    def wait_until_name_free(self, name, timeout=TIMEOUT):
        """Nothing to wait for: one process frees a name before it logs the disconnect."""

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

    def close(self):
        """Removes the log; after stop()."""
        os.unlink(self.log_file.name)


class Cluster(_StoppedOnExit):
    """One private RedisServer and `nodes` classchatd Servers, each on its own ephemeral
    port with `--redis 127.0.0.1:PORT` and the same extra args. It has the surface tests
    use on one Server: port and host (node 0's), log() and wait_for_log() (over every
    node's log), alive() (every node), http_port() (node 0's), stop(). cluster.nodes[i]
    is each node (a Server), cluster.redis the RedisServer. next_node() hands out the
    nodes round-robin; ServerTestCase spreads its clients with it."""

    EXITED = "a node"

    def __init__(self, *args, nodes=3, host="127.0.0.1", threads=2, redis=None):
        self.redis = redis or RedisServer()
        self.nodes = []
        self.host = host
        self._next = 0
        try:
            for _ in range(nodes):
                self.nodes.append(Server(*args, "--redis", f"127.0.0.1:{self.redis.port}",
                                         host=host, threads=threads))
        except BaseException:
            self.close()
            raise
        self.port = self.nodes[0].port

    def next_node(self):
        node = self.nodes[self._next % len(self.nodes)]
        self._next += 1
        return node

    def log(self):
        return "".join(node.log() for node in self.nodes)

    def wait_for_log(self, pattern, timeout=TIMEOUT):
        """Waits until `pattern` (a regex) appears in any node's log; returns the match."""
        return wait_for_match(self.log, pattern, timeout, "the nodes' logs")

    def wait_until_name_free(self, name, timeout=TIMEOUT):
        """Waits until Redis's directory no longer holds `name` (any case). A node logs a
        disconnect before its release reaches Redis (sent at the end of that loop
        iteration, and a loaded machine may pause the node in between), so across nodes
        the log line alone does not mean that the name is free."""
        lower = name.lower()
        wait_until(lambda: self.redis.command("HEXISTS", "classchat:names", lower) == 0,
                   timeout, f"{name} to leave Redis's directory")

    def http_port(self):
        return self.nodes[0].http_port()

    def alive(self):
        return all(node.alive() for node in self.nodes)

    def stop(self, sig=signal.SIGTERM, timeout=TIMEOUT):
        """Signals every node (then stops Redis); returns the first non-zero exit code, or 0."""
        codes = [node.stop(sig, timeout) for node in self.nodes]
        self.redis.stop()
        return next((code for code in codes if code != 0), 0)

    def close(self):
        """stop() without checks, and the logs and Redis's directory removed."""
        for node in self.nodes:
            try:
                node.stop()
            except AssertionError:
                pass
            node.close()
        self.redis.close()


def single_process(reason):
    """Marks a test (or a ServerTestCase class) that cannot run on a cluster: under
    CLASSCHAT_CLUSTER it is skipped with `reason` (it signals the process, reads one
    process's memory or metrics, relies on one log's order...)."""
    return unittest.skipIf(CLUSTER_NODES >= 2, "single process only: " + reason)


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
    """A LineClient registered as `name` (newline-terminated, so without the server's
    --name-wait-ms), with its welcome already read."""
    client = LineClient(port, name + "\n", **kw)
    welcome = client.recv()
    assert welcome["msg"].startswith("Welcome " + name + "!"), welcome
    return client


# --- Helpers for the server's black-box tests (test_server_*.py) ---------------------------

SERVER_NAME = "SERVER"
SERVER_IP = "0.0.0.0"
# Replies that the class clients read with recv(1024) must fit in this, newline included.
SMALL_REPLY_BYTES = 1024


def frame_bytes(from_name, from_ip, to, msg):
    """The exact bytes the server sends for one message: compact JSON in the key order
    from, to, msg, raw UTF-8 (no \\u escapes for non-ASCII), then a newline. Python's
    escaping of quotes, backslashes and control characters matches the server's."""
    obj = {"from": {"name": from_name, "ip": from_ip}, "to": to, "msg": msg}
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def server_frame_bytes(to, msg):
    """The exact bytes of a reply from the server to `to`."""
    return frame_bytes(SERVER_NAME, SERVER_IP, to, msg)


def is_compact_frame(line):
    """True if `line` (a frame without its newline) is one JSON object with exactly the keys
    from{name, ip}, to, msg in that order, written compactly as frame_bytes() writes it."""
    obj = json.loads(line)
    if not isinstance(obj, dict) or list(obj) != ["from", "to", "msg"]:
        return False
    if not isinstance(obj["from"], dict) or list(obj["from"]) != ["name", "ip"]:
        return False
    return frame_bytes(obj["from"]["name"], obj["from"]["ip"], obj["to"], obj["msg"]) == line + b"\n"


def fd_count(pid):
    """How many descriptors process `pid` has open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until(predicate, timeout=TIMEOUT, message="condition"):
    """Polls `predicate` until it is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + message)


def process_status(pid, field):
    """A numeric field of /proc/PID/status in kB (VmRSS, VmHWM, Threads...)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def connect_raw(port, host="127.0.0.1", family=socket.AF_INET, rcvbuf=None):
    """A plain connected socket with TIMEOUT set; `rcvbuf` sets SO_RCVBUF before connect."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT)
    sock.connect((host, port))
    return sock


def registered_thread_ids(server_log):
    """The [t<id>] thread ids of the log's "registered as" lines, as a set."""
    return set(re.findall(r"\[t(\d+)\] conn \d+ registered as ", server_log))


class ServerTestCase(unittest.TestCase):
    """Base for the server's black-box tests: servers and clients started through it are
    cleaned up after each test (clients first), and a server that did not exit 0 (for
    example a sanitizer report) fails the test with the end of its log.

    Under CLASSCHAT_CLUSTER=N, start_server() returns a Cluster of N nodes and connect(),
    register() and class_client() pick its nodes round-robin. A class that cannot run on a
    cluster sets CLUSTER = False (and CLUSTER_REASON); one test uses @single_process."""

    CLUSTER = True
    CLUSTER_REASON = "it needs one process"

    def run(self, result=None):
        # Skipped before setUp() runs (a subclass's setUp need not call ours).
        if CLUSTER_NODES >= 2 and not self.CLUSTER:
            method = getattr(self, self._testMethodName)
            setattr(self, self._testMethodName,
                    unittest.skip("single process only: " + self.CLUSTER_REASON)(method))
        return super().run(result)

    def start_server(self, *args, **kw):
        if CLUSTER_NODES >= 2:
            server = Cluster(*args, nodes=CLUSTER_NODES, **kw)
            self.addCleanup(self._stop_cluster, server)
            return server
        server = Server(*args, **kw)
        self.addCleanup(self._stop_server, server)
        return server

    def _stop_cluster(self, cluster, killed=()):
        """Stops every node; each one whose index is not in `killed` (the test's kill -9)
        must exit 0 on SIGTERM, as _stop_server checks. Then the logs and Redis go."""
        try:
            for i, node in enumerate(cluster.nodes):
                if i in killed:
                    node.stop(signal.SIGKILL)
                    continue
                self._assert_exits_cleanly(node, f"node {i}")
        finally:
            cluster.close()

    def _assert_exits_cleanly(self, server, what):
        """Stops `server` (SIGTERM); fails the test with the end of its log unless it
        exits 0 in time (a sanitizer report makes the exit code non-zero)."""
        try:
            code = server.stop()
        except AssertionError as e:
            self.fail(f"{what}: {e}:\n{server.log()[-4000:]}")
        if code != 0:
            self.fail(f"{what} exited with {code}:\n{server.log()[-4000:]}")

    @staticmethod
    def _node(server):
        """The process a new client should reach: the next node of a Cluster."""
        return server.next_node() if isinstance(server, Cluster) else server

    def _stop_server(self, server):
        try:
            self._assert_exits_cleanly(server, "classchatd")
        finally:
            server.close()

    def connect(self, server, first_bytes=None, **kw):
        """A LineClient (not yet registered unless `first_bytes` is a name)."""
        server = self._node(server)
        host = kw.pop("host", server_connect_host(server))
        kw.setdefault("family", socket.AF_INET6 if ":" in host else socket.AF_INET)
        client = LineClient(server.port, first_bytes, host=host, **kw)
        self.addCleanup(client.close)
        return client

    def register(self, server, name, **kw):
        """A LineClient registered as `name`; checks the welcome frame byte for byte. The
        name is newline-terminated, so the server decides at once instead of waiting
        --name-wait-ms for more of it (the bare form has its own tests)."""
        client = self.connect(server, name + "\n", **kw)
        line = client.recv_line()
        self.assertCompactFrame(line)
        welcome = json.loads(line)
        self.assertEqual(welcome["from"], {"name": SERVER_NAME, "ip": SERVER_IP})
        self.assertEqual(welcome["to"], name)
        self.assertTrue(welcome["msg"].startswith(f"Welcome {name}!"), welcome)
        client.name = name
        return client

    def class_client(self, server, name, **kw):
        server = self._node(server)
        host = kw.pop("host", server_connect_host(server))
        kw.setdefault("family", socket.AF_INET6 if ":" in host else socket.AF_INET)
        client = ClassClient(server.port, name, host=host, **kw)
        self.addCleanup(client.close)
        return client

    def wait_for_log_count(self, server, pattern, count, timeout=TIMEOUT):
        """Waits until `pattern` (a regex) occurs at least `count` times in the log."""
        deadline = time.monotonic() + timeout
        while len(re.findall(pattern, server.log())) < count:
            if time.monotonic() > deadline:
                self.fail(f"log has fewer than {count} of {pattern!r}:\n{server.log()[-3000:]}")
            time.sleep(0.02)

    def assertCompactFrame(self, line):
        self.assertTrue(is_compact_frame(line), f"not a compact from/to/msg frame: {line[:300]!r}")

    def recv_reply(self, client, timeout=TIMEOUT):
        """The next frame, checked to be a compact SERVER reply to this client; returns msg."""
        line = client.recv_line(timeout)
        self.assertCompactFrame(line)
        obj = json.loads(line)
        self.assertEqual(obj["from"], {"name": SERVER_NAME, "ip": SERVER_IP}, line)
        return obj["msg"]

    def request(self, client, to, msg=None, **extra):
        """Sends one message and returns the msg of the reply (checked as recv_reply does)."""
        client.send(to, msg, **extra)
        return self.recv_reply(client)

    def assertNextFrame(self, client, expected, timeout=TIMEOUT):
        """The client's next frame is exactly `expected` (bytes, newline included)."""
        line = client.recv_line(timeout)
        self.assertEqual(line + b"\n", expected)

    def assertNothingBefore(self, receiver, sender, sender_name, receiver_name):
        """Proves `receiver` got nothing so far: `sender` sends it a marker DM, which must
        be the next frame the receiver reads. `sender` must be connected over IPv4."""
        marker = "marker-%d" % time.monotonic_ns()
        sender.send(receiver_name, marker)
        self.assertNextFrame(receiver, frame_bytes(sender_name, "127.0.0.1", receiver_name, marker))


def server_connect_host(server):
    """Where a client should connect to reach `server` (its host unless it is a wildcard)."""
    if server.host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if server.host == "::":
        return "::1"
    return server.host
