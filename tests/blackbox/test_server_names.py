"""Contract points 3 and 4: name rules, uniqueness, refusals, and names freed on close.

Names are 1-32 characters from A-Z a-z 0-9 _ - . ; unique ignoring ASCII case; SERVER,
Everyone and Guest (any case) and anything starting with '/' are refused. A refused client
gets exactly one `Error:` frame and is closed; nothing is half-registered.
"""
import json
import signal
import unittest

import harness
from harness import frame_bytes

VALID_NAMES = ["a", "Z", "7", "x" * 32, "Az09_-.", "a.b-c_d", "...", "-", "_", "User.Name-01"]

INVALID_NAMES = [
    b"x" * 33,
    b"bad name",
    b"bad@name",
    b"a/b",
    b"a\\b",
    b"semi;colon",
    b"quote\"d",
    "h\u00e9llo".encode(),
    "\U0001F600".encode(),
    b"\xff\xfe",
    b"tab\there",
    b"/",
    b"/list",
    b"/alice",
    b"SERVER",
    b"server",
    b"Server",
    b"sErVeR",
    b"Everyone",
    b"everyone",
    b"EVERYONE",
    b"Guest",
    b"guest",
    b"GUEST",
    b"   ",
]


class NameRulesTest(harness.ServerTestCase):
    THREADS = 2

    def setUp(self):
        self.server = self.start_server(threads=self.THREADS)

    def expect_refused(self, client):
        frames = client.expect_closed()
        self.assertEqual(len(frames), 1, frames)
        self.assertEqual(frames[0]["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertTrue(frames[0]["msg"].startswith("Error:"), frames[0])
        return frames[0]["msg"]

    def test_valid_names_are_accepted(self):
        clients = {name: self.register(self.server, name) for name in VALID_NAMES}
        observer = self.register(self.server, "observer")
        listed = self.request(observer, "/list")
        prefix = "Online users (%d): " % len(VALID_NAMES)
        self.assertTrue(listed.startswith(prefix), listed)
        self.assertEqual(sorted(listed[len(prefix):].split(", ")), sorted(VALID_NAMES))
        for name, client in clients.items():
            observer.send(name, "to " + name)
            self.assertNextFrame(client, frame_bytes("observer", "127.0.0.1", name, "to " + name))

    def test_invalid_and_reserved_names_are_refused_and_not_registered(self):
        for raw in INVALID_NAMES:
            with self.subTest(name=raw):
                self.expect_refused(self.connect(self.server, raw))
        observer = self.register(self.server, "observer")
        self.assertEqual(self.request(observer, "/list"), "You are the only active user!")

    def test_refusal_says_why(self):
        self.assertIn("32", self.expect_refused(self.connect(self.server, b"x" * 33)))
        self.assertIn("reserved", self.expect_refused(self.connect(self.server, b"Guest")))
        self.register(self.server, "alice")
        self.assertIn("taken", self.expect_refused(self.connect(self.server, b"ALICE")))

    def test_thirty_two_characters_accepted_thirty_three_refused(self):
        self.register(self.server, "n" * 32)
        self.expect_refused(self.connect(self.server, b"m" * 33))

    def test_reserved_name_as_json_first_from_name_is_refused(self):
        for name in ("Everyone", "guest", "/time"):
            with self.subTest(name=name):
                first = json.dumps({"from": {"name": name}, "to": "/time"})
                self.expect_refused(self.connect(self.server, first))


class UniquenessTest(harness.ServerTestCase):
    THREADS = 2

    def setUp(self):
        # Unlimited message rate: the reconnect tests send a lot of filler at once.
        self.server = self.start_server("--rate-limit", 0, threads=self.THREADS)

    def expect_refused(self, client):
        frames = client.expect_closed()
        self.assertEqual(len(frames), 1, frames)
        self.assertTrue(frames[0]["msg"].startswith("Error:"), frames[0])

    def test_names_are_unique_ignoring_case(self):
        bob = self.register(self.server, "Bob")
        for attempt in (b"Bob", b"bob", b"BOB", b"bOb"):
            with self.subTest(name=attempt):
                self.expect_refused(self.connect(self.server, attempt))
        carol = self.register(self.server, "carol")
        # Others see the registered spelling, once.
        self.assertEqual(self.request(carol, "/list"), "Online users (1): Bob")
        # The refused attempts did not release or replace the owner.
        carol.send("bob", "still yours")
        self.assertNextFrame(bob, frame_bytes("carol", "127.0.0.1", "Bob", "still yours"))
        self.expect_refused(self.connect(self.server, b"bob"))

    def test_json_first_duplicate_is_refused(self):
        self.register(self.server, "alice")
        first = json.dumps({"from": {"name": "ALICE"}, "to": "/time"})
        self.expect_refused(self.connect(self.server, first))

    @harness.single_process("pauses the process with SIGSTOP")
    def test_name_is_free_right_after_disconnect(self):
        observer = self.register(self.server, "observer")
        time_request = json.dumps({"to": "/time"}).encode()
        json_first = json.dumps({"from": {"name": "alice"}, "to": "/time"}).encode()
        for i in range(30):
            with self.subTest(round=i):
                alice = self.register(self.server, "alice")
                # In odd rounds the server is paused while the old connection leaves and
                # the new one arrives, so that the race is certain rather than left to the
                # scheduler: when it resumes, the old close still sits behind unread input.
                paused = i % 2 == 1
                if paused:
                    self.server.proc.send_signal(signal.SIGSTOP)
                try:
                    # Something the old connection still had to say when it left: its end of
                    # stream sits behind unread input, which the server reads 64 KiB at a time.
                    alice.send_raw(b" " * (256 << 10)
                                   + json.dumps({"to": "observer", "msg": "bye %d" % i}).encode())
                    alice.close()
                    # No waiting: the next connection with the same name is accepted, in each
                    # form of handshake, and what came with the name is processed.
                    form = i % 3
                    first = (b"alice", b"alice" + time_request, json_first)[form]
                    alice = self.connect(self.server, first)
                finally:
                    if paused:
                        self.server.proc.send_signal(signal.SIGCONT)
                line = alice.recv_line()
                self.assertTrue(json.loads(line)["msg"].startswith("Welcome alice!"), line)
                if form > 0:
                    self.assertRegex(self.recv_reply(alice), r"^Server time: ")
                # What the old connection sent before leaving was delivered, once.
                self.assertNextFrame(observer, frame_bytes("alice", "127.0.0.1", "observer",
                                                           "bye %d" % i))
                # Exactly one alice is online, everywhere, and it is the new connection.
                self.assertEqual(self.request(observer, "/list"), "Online users (1): alice")
                observer.send("alice", "round %d" % i)
                self.assertNextFrame(alice, frame_bytes("observer", "127.0.0.1", "alice",
                                                        "round %d" % i))
                alice.close()
                self.wait_for_log_count(self.server, r"\(alice\) disconnected", 2 * (i + 1))
        log = self.server.log()
        self.assertNotIn("already taken", log)
        # The reconnects were not merely lucky: in the paused rounds the old close had not
        # been read yet, and the owner's loop released the name because its peer was gone.
        self.assertRegex(log, r"\(alice\) left before its close was read; name released")

    def test_name_of_a_connected_owner_is_still_refused_after_the_check(self):
        # The check must not release a name whose owner is still there, even one that
        # keeps sending.
        alice = self.register(self.server, "alice")
        for _ in range(5):
            alice.send_raw(b" " * (64 << 10))
            frames = self.connect(self.server, b"alice").expect_closed()
            self.assertEqual(len(frames), 1, frames)
            self.assertIn("already taken", frames[0]["msg"])
        self.assertEqual(self.request(alice, "/time")[:12], "Server time:")
        self.assertNotRegex(self.server.log(), r"name released for a reconnect")

    def test_name_is_free_after_disconnect_in_another_case(self):
        alice = self.register(self.server, "alice")
        alice.close()
        if harness.CLUSTER_NODES >= 2:
            # Across nodes the contract is "free as soon as its close is processed": the
            # new claim may reach another node before alice's node has read the close (one
            # process checks the old owner's socket instead: test_name_is_free_right_after_disconnect).
            self.server.wait_for_log(r"\(alice\) disconnected")
            self.server.wait_until_name_free("alice")
        self.register(self.server, "ALICE")
        carol = self.register(self.server, "carol")
        self.assertEqual(self.request(carol, "/list"), "Online users (1): ALICE")

    def test_refused_duplicate_is_not_half_registered(self):
        bob = self.register(self.server, "Bob")
        impostor = self.connect(self.server, b"bob")
        self.expect_refused(impostor)
        bob.close()
        # Once the owner leaves, the name is free: the refused attempt holds nothing.
        self.server.wait_for_log(r"\(Bob\) disconnected")
        self.server.wait_until_name_free("Bob")
        self.register(self.server, "bob")


class NameRulesFourLoopsTest(NameRulesTest):
    THREADS = 4


class UniquenessFourLoopsTest(UniquenessTest):
    """Names across four loops: a name and its reconnect usually land on different ones."""
    THREADS = 4


if __name__ == "__main__":
    unittest.main()
