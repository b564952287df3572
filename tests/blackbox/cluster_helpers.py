"""Shared pieces of the cluster black-box tests (test_cluster_*.py): a test case that starts
a private Redis and N classchatd nodes on distinct ports (harness.Cluster), so that each
client is put on the node the test chooses, and tolerates nodes the test killed or paused.

Standard library only. The tests are skipped while `classchatd --help` does not mention
--redis (cluster mode, issue #13, not yet merged)."""
import json
import signal
import subprocess
import threading
import time
import unittest
import urllib.request

import harness
from harness import SERVER_BINARY, TIMEOUT, LineClient, frame_bytes, server_frame_bytes

_HELP = subprocess.run([SERVER_BINARY, "--help"], capture_output=True, text=True,
                       timeout=30).stdout
HAS_CLUSTER_MODE = "--redis" in _HELP and "--node-lease" in _HELP
requires_cluster_mode = unittest.skipUnless(
    HAS_CLUSTER_MODE, "classchatd has no --redis/--node-lease yet (issue #13 cluster mode)")

# Waits that are part of a promise (a lease plus a second) get a slack on top; sanitizer
# builds run several times slower (CLASSCHAT_TEST_TIMEOUT=30 there, 10 here), so the slack
# and every "within a few seconds" bound scale with TIMEOUT.
SCALE = max(1.0, TIMEOUT / 10)
# A DM neither delivered nor refused within this many seconds was lost in silence.
SILENT = 2 * SCALE
LEASE = 2  # --node-lease for the failure tests: short, so that they stay fast

TAKEN = "Error: username '{}' is already taken"
NOT_FOUND = "Error: user '{}' not found"
DIRECTORY_DOWN = "Error: the chat directory is unavailable, try again"
DM_DIRECTORY_DOWN = ("Error: the chat directory is unavailable; message to '{}' not sent, "
                     "try again")
FENCED = ("Error: this server lost contact with the chat directory for a while, and meanwhile "
          "another user took your name; disconnecting")
SHOUT_DIRECTORY_DOWN = ("Error: the chat directory is unavailable; your shout reached only "
                        "the users on this server")


class ClusterTestCase(harness.ServerTestCase):
    """Starts clusters whose nodes the test may kill (SIGKILL) or pause (SIGSTOP): on cleanup
    every paused node is resumed, and every node the test did not kill must exit 0 on
    SIGTERM (a sanitizer report fails the test), as ServerTestCase checks for one server."""

    def start_cluster(self, *args, nodes=3, threads=2):
        cluster = harness.Cluster(*args, nodes=nodes, threads=threads)
        cluster.killed = set()
        self.addCleanup(self._stop_whole_cluster, cluster)
        return cluster

    def _stop_whole_cluster(self, cluster):
        try:
            for node in cluster.nodes:
                if node.alive():
                    node.proc.send_signal(signal.SIGCONT)
        finally:
            self._stop_cluster(cluster, cluster.killed)

    def kill_node(self, cluster, i):
        """kill -9 of node i; returns the monotonic time of the kill."""
        cluster.killed.add(i)
        node = cluster.nodes[i]
        node.proc.send_signal(signal.SIGKILL)
        now = time.monotonic()
        node.proc.wait(timeout=TIMEOUT)
        return now

    # Clients on a chosen node.

    def on(self, node, name):
        """A LineClient registered as `name` on `node` (welcome checked byte for byte)."""
        return self.register(node, name)

    def try_claim(self, node, name):
        """Registers `name` on `node` if it is free: the registered client, or None when the
        server refused it as taken (the refusal checked: exactly one frame, then closed)."""
        client = LineClient(node.port, name + "\n")
        line = client.recv_line()
        welcome = json.loads(line)["msg"]
        if welcome.startswith(f"Welcome {name}!"):
            client.name = name
            self.addCleanup(client.close)
            return client
        frames = client.expect_closed()
        client.close()
        self.assertEqual(line + b"\n", server_frame_bytes(name, TAKEN.format(name)))
        self.assertEqual(frames, [])
        return None

    def claim_when_free(self, node, name, timeout, poll=0.05):
        """Tries to claim `name` on `node` every `poll` s until it is welcomed; returns
        (client, monotonic time of the welcome). Fails after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            client = self.try_claim(node, name)
            if client is not None:
                return client, time.monotonic()
            if time.monotonic() > deadline:
                self.fail(f"{name!r} was still taken after {timeout:.1f} s")
            time.sleep(poll)

    def register_when_available(self, node, name, within):
        """Registers `name` on `node`, trying again while the node answers exactly
        `Error: the chat directory is unavailable, try again` (what a client does: the
        error says to retry); fails past `within` s. Returns the registered client."""
        deadline = time.monotonic() + within
        while True:
            client = LineClient(node.port, name + "\n")
            line = client.recv_line()
            if json.loads(line)["msg"].startswith(f"Welcome {name}!"):
                client.name = name
                self.addCleanup(client.close)
                return client
            self.assertEqual(line + b"\n", server_frame_bytes(name, DIRECTORY_DOWN))
            self.assertEqual(client.expect_closed(), [])
            client.close()
            if time.monotonic() > deadline:
                self.fail(f"registering {name!r} still refused after {within:.1f} s")
            time.sleep(0.1)

    def register_on_every_node(self, cluster, prefix, within, per_node=4):
        """New users are welcome on every node: `per_node` registrations on each (enough to
        reach each of its loops, and each loop reconnects to Redis on its own backoff, so
        one may still answer "unavailable, try again" for a moment: retried as
        register_when_available does, within `within` s). Returns the last client."""
        for i, node in enumerate(cluster.nodes):
            for k in range(per_node):
                client = self.register_when_available(node, f"{prefix}{i}x{k}", within)
        return client

    def expect_refused_with(self, node, name, text):
        """Registering `name` on `node` gets exactly one frame, `text`, then the close."""
        client = LineClient(node.port, name + "\n")
        try:
            self.assertEqual(client.recv_line() + b"\n", server_frame_bytes(name, text))
            self.assertEqual(client.expect_closed(), [])
        finally:
            client.close()

    def assertDelivered(self, sender, receiver, text):
        """`sender` DMs `receiver` (by name, as registered); it is the receiver's next frame,
        stamped with the sender's registered name and address."""
        sender.send(receiver.name, text)
        self.assertNextFrame(receiver, frame_bytes(sender.name, "127.0.0.1", receiver.name, text))

    def assertDeliveredNeverSilent(self, sender, receiver, text, within):
        """Across a recovery: every DM from `sender` to `receiver` is delivered (exactly, as
        assertDelivered checks) or refused with an Error reply to the sender, never silently
        lost; refused ones are sent again until one is delivered, within `within` s. A DM
        counts as lost when neither happened within SILENT s (a delivery takes milliseconds;
        a refusal is immediate)."""
        start = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            sent = f"{text} ({attempt})"
            sender.send(receiver.name, sent)
            try:
                line = receiver.recv_line(SILENT / 2)
                self.assertEqual(line + b"\n", stamped(sender.name, receiver.name, sent))
                return time.monotonic() - start
            except TimeoutError:
                pass
            try:
                reply = self.recv_reply(sender, SILENT / 2)
            except TimeoutError:
                self.fail(f"DM {sent!r} from {sender.name} to {receiver.name} was silently "
                          f"lost ({time.monotonic() - start:.2f} s into the recovery): "
                          "neither delivered nor refused")
            self.assertTrue(reply.startswith("Error: "), reply)
            if time.monotonic() - start > within:
                self.fail(f"DMs from {sender.name} to {receiver.name} still refused after "
                          f"{within:.1f} s: {reply!r}")
            time.sleep(0.1)

    def assertShoutReaches(self, shouter, listeners, text, count):
        """`shouter` shouts `text`: the reply counts `count` users (cluster-wide), and the
        shout, stamped, is the next frame of each of `listeners`."""
        shouter.send("/shout", text)
        self.assertEqual(self.recv_reply(shouter), f"Message sent to {count} users")
        for client in listeners:
            self.assertNextFrame(client, stamped(shouter.name, "Everyone", text))

    def assertQuiet(self, receiver, sender):
        """Nothing was waiting for `receiver`: a marker DM from `sender` is its next frame."""
        self.assertNothingBefore(receiver, sender, sender.name, receiver.name)

    def list_text(self, client, page=""):
        """The msg of `client`'s /list reply (page as msg)."""
        return self.request(client, "/list", page)

    def wait_for_list(self, client, expected, timeout):
        """Polls /list (5 a second: within the shout budget) until its reply is `expected`;
        returns the seconds it took. Error replies (the directory down) are polled past."""
        start = time.monotonic()
        last = None
        while time.monotonic() - start < timeout:
            last = self.list_text(client)
            if last == expected:
                return time.monotonic() - start
            time.sleep(0.2)
        self.fail(f"/list never became {expected!r} within {timeout:.1f} s; last {last!r}")

    def wait_until_routed(self, sender, receiver, timeout, poll=0.1):
        """Sends probe DMs from `sender` to `receiver` until one arrives; returns the seconds
        it took. Probes that were lost or refused meanwhile are ignored: the receiver's
        stream is read up to the probe that arrived, and the sender's replies are drained
        (so `sender` should be a client kept for probing)."""
        start = time.monotonic()
        k = 0
        while time.monotonic() - start < timeout:
            k += 1
            text = f"probe {k} {time.monotonic_ns()}"
            sender.send(receiver.name, text)
            try:
                while True:
                    frame = receiver.recv(poll)
                    if frame["msg"] == text:
                        return time.monotonic() - start
            except TimeoutError:
                pass
            drain(sender)
        self.fail(f"no DM from {sender.name} reached {receiver.name} within {timeout:.1f} s")


def drain(client, wait=0.0):
    """Reads and returns whatever frames `client` has buffered or receives within `wait` s."""
    frames = []
    while True:
        try:
            frames.append(client.recv(max(wait, 0.001)))
        except TimeoutError:
            return frames


def stamped(sender_name, receiver_name, text):
    return frame_bytes(sender_name, "127.0.0.1", receiver_name, text)


class Pump:
    """A thread that DMs `receiver` numbered messages from `sender` every `interval` s until
    stop(), and a thread that reads the receiver's frames with their arrival times. Used to
    show that chat between two clients keeps flowing while something else fails."""

    def __init__(self, sender, receiver, interval=0.01, tag="pump"):
        self.sender, self.receiver = sender, receiver
        self.interval, self.tag = interval, tag
        self.sent = 0
        self.frames = []  # (monotonic time, frame bytes)
        self.errors = []
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._done_marker = f"{tag} done"

    def start(self):
        self._reader.start()
        self._writer.start()
        return self

    def _write(self):
        try:
            while not self._stop.is_set():
                self.sender.send(self.receiver.name, f"{self.tag} {self.sent}")
                self.sent += 1
                time.sleep(self.interval)
            self.sender.send(self.receiver.name, self._done_marker)
        except OSError as e:
            self.errors.append(f"send: {e!r}")

    def _read(self):
        try:
            while True:
                line = self.receiver.recv_line(timeout=TIMEOUT)
                self.frames.append((time.monotonic(), line))
                if json.loads(line)["msg"] == self._done_marker:
                    return
        except (OSError, EOFError, TimeoutError) as e:
            self.errors.append(f"recv: {e!r}")

    def stop(self):
        """Stops sending; waits for the last message; returns (texts, largest gap in s)."""
        self._stop.set()
        self._writer.join(TIMEOUT)
        self._reader.join(2 * TIMEOUT)
        times = [t for t, _ in self.frames]
        gaps = [b - a for a, b in zip(times, times[1:])]
        return [json.loads(line)["msg"] for _, line in self.frames], max(gaps, default=0.0)

    def expected(self):
        return [f"{self.tag} {i}" for i in range(self.sent)] + [self._done_marker]

    def check_frames(self, test):
        """Every frame is exactly the DM the sender sent (stamped, in order, once)."""
        for _, line in self.frames:
            msg = json.loads(line)["msg"]
            test.assertEqual(line + b"\n", stamped(self.sender.name, self.receiver.name, msg))


def cluster_event(node, event):
    """The node's classchat_cluster_events_total{event="..."} from its /metrics."""
    url = f"http://127.0.0.1:{node.http_port()}/metrics"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        text = response.read().decode()
    series = 'classchat_cluster_events_total{event="%s"} ' % event
    for line in text.splitlines():
        if line.startswith(series):
            return float(line[len(series):])
    raise AssertionError(f"{series.strip()} not in /metrics")
