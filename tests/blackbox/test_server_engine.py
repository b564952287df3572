"""The engine: many clients across event loops, slow consumers, handshake timeouts,
clients that vanish mid-object, and shutdown on SIGTERM/SIGINT.
"""
import json
import re
import resource
import selectors
import signal
import socket
import struct
import threading
import time
import unittest

import harness
from harness import frame_bytes, server_frame_bytes


class ManyClientsTest(harness.ServerTestCase):
    CLIENTS = 200
    MESSAGES_PER_CLIENT = 5

    def targets(self, i):
        return [(i + 1 + k * 37) % self.CLIENTS for k in range(self.MESSAGES_PER_CLIENT)]

    def test_every_message_arrives_exactly_once_across_loops(self):
        server = self.start_server(threads=2)
        names = ["c%03d" % i for i in range(self.CLIENTS)]
        clients = [self.register(server, name) for name in names]
        # Both loops accepted clients (SO_REUSEPORT spreads them by source port).
        self.assertEqual(len(harness.registered_thread_ids(server.log())), 2, server.log()[-2000:])

        expected = {i: set() for i in range(self.CLIENTS)}
        outgoing = {i: b"" for i in range(self.CLIENTS)}
        for i in range(self.CLIENTS):
            for k, j in enumerate(self.targets(i)):
                text = "%s->%s #%d" % (names[i], names[j], k)
                outgoing[i] += json.dumps({"to": names[j], "msg": text}).encode()
                expected[j].add(frame_bytes(names[i], "127.0.0.1", names[j], text))

        # Everyone sends at once from a few threads while this thread reads.
        def send_slice(start):
            for i in range(start, self.CLIENTS, 4):
                clients[i].sock.sendall(outgoing[i])

        senders = [threading.Thread(target=send_slice, args=(s,)) for s in range(4)]
        for t in senders:
            t.start()

        received = {i: [] for i in range(self.CLIENTS)}
        remaining = sum(len(v) for v in expected.values())
        selector = selectors.DefaultSelector()
        for i, client in enumerate(clients):
            client.sock.setblocking(False)
            selector.register(client.sock, selectors.EVENT_READ, i)
        deadline = time.monotonic() + 3 * harness.TIMEOUT
        while remaining > 0 and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                i = key.data
                client = clients[i]
                try:
                    chunk = client.sock.recv(65536)
                except BlockingIOError:
                    continue
                self.assertTrue(chunk, "server closed %s" % names[i])
                client.buffer += chunk
                while b"\n" in client.buffer:
                    line, client.buffer = client.buffer.split(b"\n", 1)
                    received[i].append(line + b"\n")
                    remaining -= 1
        selector.close()
        for t in senders:
            t.join(harness.TIMEOUT)
        for client in clients:
            client.sock.setblocking(True)
            client.sock.settimeout(harness.TIMEOUT)

        for i in range(self.CLIENTS):
            self.assertEqual(len(received[i]), len(set(received[i])), "duplicate at " + names[i])
            self.assertEqual(set(received[i]), expected[i], names[i])
        # Nothing else is in flight: the next frame each client gets is a fresh marker.
        for i in range(1, self.CLIENTS):
            self.assertNothingBefore(clients[i], clients[0], names[0], names[i])

    def test_shout_reaches_clients_on_every_loop(self):
        server = self.start_server(threads=2)
        names = ["s%02d" % i for i in range(40)]
        clients = [self.register(server, name) for name in names]
        self.assertEqual(len(harness.registered_thread_ids(server.log())), 2)
        self.assertEqual(self.request(clients[0], "/shout", "to all loops"),
                         "Message sent to 39 users")
        for client in clients[1:]:
            self.assertNextFrame(client, frame_bytes("s00", "127.0.0.1", "Everyone", "to all loops"))


class SlowConsumerTest(harness.ServerTestCase):
    def test_client_that_never_reads_is_dropped_and_others_keep_receiving(self):
        server = self.start_server("--max-output-bytes", 65536, "--max-message-bytes", 40000)
        sock = harness.connect_raw(server.port, rcvbuf=4096)
        self.addCleanup(sock.close)
        sock.sendall(b"sloth")
        welcome = json.loads(sock.recv(1024))
        self.assertTrue(welcome["msg"].startswith("Welcome sloth!"))
        # From now on sloth never reads.
        flooder = self.register(server, "flooder")
        alice = self.register(server, "alice")
        bob = self.register(server, "bob")

        big = "B" * 32000
        payload = json.dumps({"to": "sloth", "msg": big}).encode()
        sent = 0
        round_no = 0
        dropped = False
        while sent < (64 << 20):
            flooder.send_raw(payload * 8)
            sent += 8 * len(payload)
            round_no += 1
            # Others are served throughout.
            alice.send("bob", "round %d" % round_no)
            self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "round %d" % round_no))
            if "slow consumer" in server.log():
                dropped = True
                break
        self.assertTrue(dropped, "sloth was never dropped after %d bytes" % sent)
        server.wait_for_log(r"conn \d+ \(sloth\) disconnected: slow consumer")
        # Its name is free again and it is no longer listed.
        self.assertEqual(sorted(self.request(alice, "/list").split(": ", 1)[1].split(", ")),
                         ["bob", "flooder"])
        # The flooder's later messages to sloth get errors; it is still connected and served.
        flooder.send("/time")
        while True:
            msg = self.recv_reply(flooder)
            if msg.startswith("Server time: "):
                break
            self.assertEqual(msg, "Error: user 'sloth' not found")
        bob.send("alice", "after the drop")
        self.assertNextFrame(alice, frame_bytes("bob", "127.0.0.1", "alice", "after the drop"))
        # sloth's socket ends (after whatever was already in flight).
        sock.settimeout(harness.TIMEOUT)
        try:
            while sock.recv(1 << 20):
                pass
        except ConnectionResetError:
            pass
        self.register(server, "sloth")


class HandshakeTimeoutTest(harness.ServerTestCase):
    def test_silent_client_is_closed_and_does_not_block_others(self):
        server = self.start_server("--handshake-timeout", 1)
        early = self.register(server, "early")
        silent = self.connect(server)
        partial = self.connect(server, b'{"from":{"name":"partial"')
        # Others register and chat while the silent ones wait.
        alice = self.register(server, "alice")
        self.assertRegex(self.request(alice, "/time"), r"^Server time: ")
        alice.send("early", "hi")
        self.assertNextFrame(early, frame_bytes("alice", "127.0.0.1", "early", "hi"))
        for client in (silent, partial):
            frames = client.expect_closed(timeout=harness.TIMEOUT + 1)
            self.assertEqual(len(frames), 1, frames)
            self.assertTrue(frames[0]["msg"].startswith("Error:"), frames)
        server.wait_for_log(r"no username received")
        # Registered clients are not subject to the handshake timeout.
        self.assertRegex(self.request(early, "/time"), r"^Server time: ")
        self.assertEqual(self.request(alice, "/list"), "Online users (1): early")
        # The partial name was never registered.
        self.register(server, "partial")


class DisconnectMidObjectTest(harness.ServerTestCase):
    def test_disconnect_mid_object_does_not_affect_others_and_frees_the_name(self):
        server = self.start_server()
        bob = self.register(server, "bob")
        carol = self.register(server, "carol")
        for abort in (False, True):
            with self.subTest(reset=abort):
                alice = self.register(server, "alice")
                alice.send_raw(b'{"to":"bob","msg":"half a mess')
                if abort:  # RST instead of FIN
                    alice.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          struct.pack("ii", 1, 0))
                alice.close()
                self.wait_for_log_count(server, r"\(alice\) disconnected", 2 if abort else 1)
                self.assertNothingBefore(bob, carol, "carol", "bob")
                self.assertEqual(self.request(carol, "/list"), "Online users (1): bob")
        again = self.register(server, "alice")
        again.send("bob", "whole")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "whole"))

    def test_disconnect_mid_json_first_handshake(self):
        server = self.start_server()
        bob = self.register(server, "bob")
        half = self.connect(server, b'{"from":{"name":"alice"},"to":"bob","msg":"ha')
        half.close()
        server.wait_for_log(r"disconnected before registering")
        self.register(server, "alice")
        self.assertEqual(self.request(bob, "/list"), "Online users (1): alice")


class ShutdownTest(harness.ServerTestCase):
    def shutdown_with(self, sig):
        server = self.start_server(threads=2)
        names = ["u%d" % i for i in range(12)]
        clients = [self.register(server, name) for name in names]
        self.assertEqual(len(harness.registered_thread_ids(server.log())), 2)
        unregistered = self.connect(server)
        server.proc.send_signal(sig)
        for name, client in zip(names, clients):
            frames = client.expect_closed()
            self.assertEqual([f["from"]["name"] for f in frames], ["SERVER"], frames)
            self.assertEqual(frames[0]["to"], name)
            self.assertIn("Server shutting down", frames[0]["msg"])
        unregistered.expect_closed()
        self.assertEqual(server.proc.wait(timeout=harness.TIMEOUT), 0, server.log()[-3000:])
        return server

    def test_sigterm(self):
        server = self.shutdown_with(signal.SIGTERM)
        self.assertIn("SIGTERM", server.log())

    def test_sigint(self):
        server = self.shutdown_with(signal.SIGINT)
        self.assertIn("SIGINT", server.log())

    def test_exact_goodbye_frame(self):
        server = self.start_server()
        alice = self.register(server, "alice")
        server.proc.send_signal(signal.SIGTERM)
        self.assertNextFrame(alice, server_frame_bytes("alice", "Server shutting down"))
        self.assertEqual(alice.expect_closed(), [])
        self.assertEqual(server.proc.wait(timeout=harness.TIMEOUT), 0)

    def test_shutdown_with_a_client_that_never_reads(self):
        server = self.start_server("--max-output-bytes", 1 << 24, "--shutdown-grace", 1)
        sock = harness.connect_raw(server.port, rcvbuf=4096)
        self.addCleanup(sock.close)
        sock.sendall(b"sloth\n")  # registered at once: nothing waits for its welcome
        flooder = self.register(server, "flooder")
        alice = self.register(server, "alice")
        flooder.send_raw(json.dumps({"to": "sloth", "msg": "F" * 30000}).encode() * 200)
        self.assertRegex(self.request(flooder, "/time"), r"^Server time: ")
        server.proc.send_signal(signal.SIGTERM)
        self.assertNextFrame(alice, server_frame_bytes("alice", "Server shutting down"))
        self.assertEqual(server.proc.wait(timeout=harness.TIMEOUT), 0, server.log()[-3000:])


class ConnectionCapTest(harness.ServerTestCase):
    """--max-connections defaults to the open-file limit less what the server keeps for
    itself (3 + 4 per loop + 32), so a full server refuses cleanly instead of hitting
    EMFILE; a larger value is lowered to it."""

    FILE_LIMIT = 64
    CAP = FILE_LIMIT - (3 + 4 * 2 + 32)  # 21 with 2 loops

    def start_with_file_limit(self, *args):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.FILE_LIMIT, hard))
        try:
            return self.start_server(*args, threads=2)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    def fill_and_expect_full(self, server, cap):
        clients = [self.register(server, "u%02d" % i) for i in range(cap)]
        frames = self.connect(server, b"extra").expect_closed()
        self.assertEqual(len(frames), 1, frames)
        self.assertEqual(frames[0]["msg"],
                         "Error: the server is full (%d connections); try again later" % cap)
        # A freed slot is usable again.
        clients.pop().close()
        harness.wait_until(lambda: len(re.findall(r"\(u\d\d\) disconnected", server.log())) >= 1)
        self.register(server, "again")

    def test_default_is_the_open_file_limit_less_the_servers_own(self):
        server = self.start_with_file_limit()
        server.wait_for_log(r"max connections: %d \(open-file limit %d less 43 for the server "
                            r"itself\)" % (self.CAP, self.FILE_LIMIT))
        self.fill_and_expect_full(server, self.CAP)
        self.assertNotIn("no free connection slots", server.log())

    def test_a_value_above_the_limit_is_lowered_with_a_warning(self):
        server = self.start_with_file_limit("--max-connections", 1000)
        server.wait_for_log(r"warn.*--max-connections 1000 is above .* lowered to %d" % self.CAP)
        self.fill_and_expect_full(server, self.CAP)

    def test_a_value_below_the_limit_is_kept(self):
        server = self.start_with_file_limit("--max-connections", 5)
        server.wait_for_log(r"max connections: 5 \(open-file limit %d\)" % self.FILE_LIMIT)
        self.fill_and_expect_full(server, 5)


class DrainTimeoutTest(harness.ServerTestCase):
    def test_closing_connection_that_does_not_read_is_closed_after_the_drain_timeout(self):
        # Draining has its own deadline, not --shutdown-grace's (which is long here).
        server = self.start_server("--drain-timeout", 0.5, "--shutdown-grace", 30,
                                   "--max-output-bytes", 1 << 24, "--rate-limit", 0)
        sock = harness.connect_raw(server.port, rcvbuf=4096)
        self.addCleanup(sock.close)
        sock.sendall(b"sloth")
        self.assertTrue(json.loads(sock.recv(1024))["msg"].startswith("Welcome sloth!"))
        flooder = self.register(server, "flooder")
        flooder.send_raw(json.dumps({"to": "sloth", "msg": "F" * 30000}).encode() * 200)
        self.assertRegex(self.request(flooder, "/time"), r"^Server time: ")
        # sloth ends its input but never reads: its output cannot drain.
        sock.shutdown(socket.SHUT_WR)
        start = time.monotonic()
        server.wait_for_log(r"\(sloth\) disconnected: peer closed the connection "
                            r"\(peer did not read its last output in time\)")
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, 0.4)
        self.assertLess(elapsed, 5.0)


if __name__ == "__main__":
    unittest.main()
