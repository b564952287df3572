"""classchat-bench against two of issue #6's peers: nats-server (started with a config
generated in a temporary directory) and classchat-relay, the minimal relay, both on
ephemeral loopback ports through scripts/bench/nats_peers.py. Plus the relay's own
handling of bad input."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

from harness import ROOT, TIMEOUT

sys.path.insert(0, os.path.join(ROOT, "scripts", "bench"))
import nats_peers  # noqa: E402  (scripts/bench is not a package)

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
# Built next to classchat-bench (src/bench/CMakeLists.txt).
RELAY = os.environ.get("CLASSCHAT_RELAY", os.path.join(os.path.dirname(BENCH), "classchat-relay"))
NATS = nats_peers.find_nats_server()

# Frame types of src/bench/relay/relay_protocol.h.
LOGIN, WELCOME, DIRECT, DELIVER, SHOUT, BROADCAST, PING, PONG, ERROR = range(1, 10)


def run_bench(mode, protocol, port, *args):
    """Runs classchat-bench `mode`; returns (exit status, JSON report, stdout)."""
    with tempfile.TemporaryDirectory() as directory:
        report_path = os.path.join(directory, "report.json")
        extra = ("--drain", str(TIMEOUT)) if mode == "throughput" else ()
        result = subprocess.run(
            [BENCH, mode, "--protocol", protocol, "--port", str(port), "--json", report_path,
             "--quiet", *extra, *args],
            capture_output=True, text=True, timeout=120 + 10 * TIMEOUT)
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        return result.returncode, report, result.stdout


class PeerRuns:
    """The same smoke runs for each peer; subclasses say how to start it."""

    protocol = None

    def start(self):
        raise NotImplementedError

    def test_direct_and_shout_deliver_everything(self):
        with self.start() as peer:
            status, report, stdout = run_bench(
                "throughput", self.protocol, peer.port, "--kind", "both", "--rate", "500,2000",
                "--step-duration", "0.5", "--pairs", "4", "--listeners", "6", "--shouters", "2")
            self.assertTrue(peer.alive())
        self.assertEqual(status, 0, stdout)
        self.assertEqual(report["options"]["protocol"], self.protocol)
        direct, shout = report["direct"], report["shout"]
        # Each shout reaches the 7 other clients, not its sender.
        self.assertEqual(shout["receivers_per_message"], 7)
        sent = sum(step["sent"] for step in shout["steps"])
        self.assertGreater(sent, 0)
        self.assertEqual(shout["tally"]["expected"], 7 * sent)
        for kind in (direct, shout):
            tally = kind["tally"]
            self.assertGreater(tally["delivered"], 0)
            self.assertEqual(tally["delivered"], tally["expected"])
            for problem in ("lost", "duplicated", "corrupted", "misdelivered"):
                self.assertEqual(tally[problem], 0, problem)
            self.assertTrue(all(step["errors"] == 0 for step in kind["steps"]), stdout)

    def test_closed_loop_window(self):
        with self.start() as peer:
            status, report, stdout = run_bench(
                "throughput", self.protocol, peer.port, "--kind", "direct", "--window", "4",
                "--step-duration", "0.5", "--pairs", "8")
        self.assertEqual(status, 0, stdout)
        tally = report["direct"]["tally"]
        self.assertGreater(tally["delivered"], 8 * 4)
        self.assertEqual(tally["delivered"], tally["expected"])
        self.assertEqual(tally["lost"], 0)

    def test_heartbeats_come_back(self):
        # A heartbeat is a direct message to oneself; for NATS that needs echo on.
        with self.start() as peer:
            status, report, stdout = run_bench(
                "ramp", self.protocol, peer.port, "--step", "10", "--interval", "0.5",
                "--target", "20", "--hold", "1", "--heartbeat", "0.1", "--procs", "1",
                "--sources", "1", "--max-p99", "10000", "--duration", "20")
        self.assertEqual(status, 0, stdout)
        totals = report["totals"]
        self.assertEqual(totals["held"], 20)
        self.assertGreater(totals["heartbeats_received"], 20)
        self.assertEqual(totals["heartbeats_damaged"], 0)


@unittest.skipUnless(NATS, "nats-server is not installed (scripts/install-deps.sh --bench-peers)")
class NatsServerPeer(PeerRuns, unittest.TestCase):
    protocol = "nats"

    def start(self):
        return nats_peers.start_nats()

    def test_stops_cleanly_and_removes_its_directory(self):
        peer = nats_peers.start_nats()
        workdir = os.path.dirname(peer.log_path)
        self.assertTrue(os.path.exists(os.path.join(workdir, "nats.conf")))
        self.assertEqual(peer.stop(), 0)
        self.assertFalse(os.path.exists(workdir))


class RelayPeer(PeerRuns, unittest.TestCase):
    protocol = "relay"

    def start(self):
        return nats_peers.start_relay(RELAY)


def frame(kind, body=b""):
    return struct.pack("<IB3x", len(body), kind) + body


def named(name, text):
    return bytes([len(name)]) + name + text


class RelayClient:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)

    def send(self, kind, body=b""):
        self.sock.sendall(frame(kind, body))

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed by the relay")
            data += chunk
        return data

    def recv(self):
        """The next frame as (type, body)."""
        length, kind = struct.unpack("<IB3x", self._exactly(8))
        return kind, self._exactly(length)

    def expect_closed(self):
        """True once the relay closes the connection (anything it sends first is skipped)."""
        try:
            while self.sock.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


class RelayProtocol(unittest.TestCase):
    def setUp(self):
        self.relay = nats_peers.start_relay(RELAY)
        self.clients = []

    def tearDown(self):
        for client in self.clients:
            client.close()
        self.assertEqual(self.relay.stop(), 0)  # SIGTERM is a clean exit

    def client(self, name=None):
        client = RelayClient(self.relay.port)
        self.clients.append(client)
        if name is not None:
            client.send(LOGIN, name)
            self.assertEqual(client.recv(), (WELCOME, b""))
        return client

    def test_routes_directs_shouts_and_pings(self):
        alice, bob, carol = self.client(b"alice"), self.client(b"bob"), self.client(b"carol")
        taken = self.client()
        taken.send(LOGIN, b"bob")
        self.assertEqual(taken.recv(), (ERROR, b"name taken"))
        alice.send(DIRECT, named(b"bob", b"hello"))
        self.assertEqual(bob.recv(), (DELIVER, named(b"alice", b"hello")))
        alice.send(DIRECT, named(b"nobody", b"x"))
        self.assertEqual(alice.recv(), (ERROR, b"no such user"))
        bob.send(SHOUT, b"hi all")
        self.assertEqual(alice.recv(), (BROADCAST, named(b"bob", b"hi all")))
        self.assertEqual(carol.recv(), (BROADCAST, named(b"bob", b"hi all")))
        # The sender gets no copy: its next frame is the answer to its PING.
        bob.send(PING, b"p1")
        self.assertEqual(bob.recv(), (PONG, b"p1"))

    def test_bad_input_is_disconnected_and_others_keep_working(self):
        alice, bob = self.client(b"alice"), self.client(b"bob")
        cases = {
            "huge length": struct.pack("<IB3x", 0xFFFFFFFF, DIRECT) + b"junk" * 100,
            "length just over the limit": struct.pack("<IB3x", 64 * 1024 + 1, SHOUT),
            "unknown type": frame(77, b"x"),
            "a relay-to-client type": frame(DELIVER, named(b"bob", b"x")),
            "message before login": frame(DIRECT, named(b"bob", b"x")),
            "empty name": frame(LOGIN),
            "second login": frame(LOGIN, b"mallory") + frame(LOGIN, b"mallory2"),
            "name past the body": frame(LOGIN, b"eve") + frame(DIRECT, b"\x09bob"),
        }
        for why, data in cases.items():
            with self.subTest(why):
                bad = self.client()
                bad.sock.sendall(data)
                self.assertTrue(bad.expect_closed(), why)
                # Nothing of it reached bob, and the relay still routes.
                alice.send(DIRECT, named(b"bob", why.encode()))
                self.assertEqual(bob.recv(), (DELIVER, named(b"alice", why.encode())))
        # The names of the disconnected clients are free again.
        self.client(b"mallory")
        self.client(b"eve")
        self.assertTrue(self.relay.alive())

    def test_frames_split_into_single_bytes(self):
        alice, bob = self.client(b"alice"), self.client(b"bob")
        alice.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in frame(DIRECT, named(b"bob", b"slowly")):
            alice.sock.sendall(bytes([byte]))
        self.assertEqual(bob.recv(), (DELIVER, named(b"alice", b"slowly")))


if __name__ == "__main__":
    unittest.main()
