"""Contract points 2 and 4: the handshake, the welcome and refusals.

The client's first bytes are its bare name (ending at the first \\n, \\r or '{', or at the
end of the first read; trimmed), or a JSON object whose from.name is the name. Whatever
follows the name in that read is processed as messages.
"""
import json
import re
import socket
import time
import unittest

import harness
from harness import SMALL_REPLY_BYTES, frame_bytes, server_frame_bytes

TIME_REPLY = re.compile(r"Server time: \d\d:\d\d:\d\d")


def obj(**fields):
    return json.dumps(fields).encode()


class HandshakeTest(harness.ServerTestCase):
    def setUp(self):
        self.server = self.start_server()

    def expect_welcome(self, client, name):
        line = client.recv_line()
        self.assertCompactFrame(line)
        welcome = json.loads(line)
        self.assertEqual(welcome["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertEqual(welcome["to"], name)
        self.assertIn(f"Welcome {name}!", welcome["msg"])
        return welcome["msg"]

    def expect_time_reply(self, client):
        self.assertRegex(self.recv_reply(client), TIME_REPLY)

    def expect_refused(self, client):
        """Exactly one SERVER frame whose msg starts with Error:, then end of stream."""
        frames = client.expect_closed()
        self.assertEqual(len(frames), 1, frames)
        self.assertEqual(frames[0]["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertTrue(frames[0]["msg"].startswith("Error:"), frames[0])
        return frames[0]["msg"]

    def test_bare_name_in_one_send(self):
        client = self.connect(self.server, b"alice")
        self.expect_welcome(client, "alice")
        self.assertRegex(self.request(client, "/time"), TIME_REPLY)

    def test_name_with_newline(self):
        client = self.connect(self.server, b"alice\n")
        self.expect_welcome(client, "alice")
        self.assertRegex(self.request(client, "/time"), TIME_REPLY)

    def test_name_with_crlf(self):
        client = self.connect(self.server, b"alice\r\n")
        self.expect_welcome(client, "alice")
        self.assertRegex(self.request(client, "/time"), TIME_REPLY)

    def test_surrounding_whitespace_is_trimmed(self):
        client = self.connect(self.server, b" \t alice \t ")
        self.expect_welcome(client, "alice")
        other = self.register(self.server, "bob")
        self.assertEqual(self.request(other, "/list"), "Online users (1): alice")

    def test_whitespace_before_newline_is_trimmed(self):
        client = self.connect(self.server, b"  alice  \r\n")
        self.expect_welcome(client, "alice")

    def test_json_object_in_the_same_send_as_the_name_is_processed(self):
        client = self.connect(self.server, b"alice" + obj(to="/time", msg=""))
        self.expect_welcome(client, "alice")
        self.expect_time_reply(client)

    def test_objects_after_name_and_newline_are_processed_in_order(self):
        bob = self.register(self.server, "bob")
        client = self.connect(self.server, b"alice\n" + obj(to="bob", msg="one") + b"\n" +
                              obj(to="/time") + obj(to="bob", msg="two"))
        self.expect_welcome(client, "alice")
        self.expect_time_reply(client)
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "one"))
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "two"))

    def test_from_in_the_coalesced_object_does_not_change_the_name(self):
        bob = self.register(self.server, "bob")
        spoof = json.dumps({"from": {"name": "mallory", "ip": "6.6.6.6"}, "to": "bob",
                            "msg": "hi"}).encode()
        client = self.connect(self.server, b"alice" + spoof)
        self.expect_welcome(client, "alice")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "hi"))

    def test_text_after_the_name_that_is_not_json_gets_an_error_and_is_skipped(self):
        client = self.connect(self.server, b"alice\nnot json\n" + obj(to="/time"))
        self.expect_welcome(client, "alice")
        self.assertTrue(self.recv_reply(client).startswith("Error:"))
        self.expect_time_reply(client)

    def test_json_first_registers_with_from_name_and_processes_the_object(self):
        first = json.dumps({"from": {"name": "alice", "ip": "10.0.0.5"}, "to": "/time",
                            "msg": ""}).encode()
        client = self.connect(self.server, first)
        self.expect_welcome(client, "alice")
        self.expect_time_reply(client)
        self.assertEqual(self.request(client, "/list"), "You are the only active user!")

    def test_json_first_dm_is_delivered_from_the_registered_name(self):
        bob = self.register(self.server, "bob")
        first = json.dumps({"from": {"name": "alice", "ip": "10.0.0.5"}, "to": "bob",
                            "msg": "first words"}).encode()
        client = self.connect(self.server, first)
        self.expect_welcome(client, "alice")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "first words"))

    def test_json_first_without_to_only_registers(self):
        first = json.dumps({"from": {"name": "alice", "ip": "10.0.0.5"}}).encode()
        client = self.connect(self.server, first)
        self.expect_welcome(client, "alice")
        # The next frame is the reply to the next request: nothing else was queued.
        self.assertRegex(self.request(client, "/time"), TIME_REPLY)

    def test_json_first_split_across_sends_is_reassembled(self):
        first = json.dumps({"from": {"name": "alice", "ip": "10.0.0.5"}, "to": "/time"}).encode()
        client = self.connect(self.server, first[:9])
        client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        time.sleep(0.05)
        client.send_raw(first[9:20])
        time.sleep(0.05)
        client.send_raw(first[20:])
        self.expect_welcome(client, "alice")
        self.expect_time_reply(client)

    def test_json_first_without_from_name_is_refused_and_closed(self):
        client = self.connect(self.server, obj(to="/time", msg=""))
        self.expect_refused(client)
        observer = self.register(self.server, "observer")
        self.assertEqual(self.request(observer, "/list"), "You are the only active user!")

    def test_json_first_with_non_string_from_name_is_refused(self):
        client = self.connect(self.server, json.dumps({"from": {"name": 42}, "to": "/time"}))
        self.expect_refused(client)

    def test_json_first_with_malformed_json_is_refused(self):
        client = self.connect(self.server, b'{"from":{"name":"alice"},"to":}')
        self.expect_refused(client)
        # The name in the broken object was not registered.
        self.register(self.server, "alice")

    def test_json_first_with_invalid_name_is_refused(self):
        client = self.connect(self.server, json.dumps({"from": {"name": "SERVER"}, "to": "/time"}))
        self.expect_refused(client)

    def test_empty_name_is_refused(self):
        client = self.connect(self.server, b"   \n")
        self.expect_refused(client)

    def test_names_that_look_like_the_server_are_reserved(self):
        # A student registered `Server.` and imitated the server's errors next to its lines.
        for name in ["Server.", "SERVER_", "server-", "s.e.r.v.e.r", "Every_one", "guest."]:
            with self.subTest(name=name):
                msg = self.expect_refused(self.connect(self.server, name + "\n"))
                self.assertEqual(msg, f"Error: username '{name}' is reserved: SERVER, Everyone "
                                      "and Guest cannot be used, in any case or with _ - . added")
        # The same name sent JSON-first is refused too, and nothing was registered.
        self.expect_refused(self.connect(
            self.server, json.dumps({"from": {"name": "_SERVER_"}, "to": "/time"})))
        alice = self.register(self.server, "alice")
        self.assertEqual(self.request(alice, "/list", ""), "You are the only active user!")
        # Names that merely contain the word are fine.
        self.register(self.server, "server2")


class NameInPiecesTest(harness.ServerTestCase):
    """A name written in pieces (a serial-to-TCP bridge) is waited for up to --name-wait-ms
    when a read has no terminator; a name that has one is decided at once."""

    def expect_welcome_within(self, client, name, seconds):
        start = time.monotonic()
        line = client.recv_line()
        elapsed = time.monotonic() - start
        self.assertEqual(json.loads(line)["to"], name, line)
        self.assertIn(f"Welcome {name}!", json.loads(line)["msg"])
        self.assertLess(elapsed, seconds, f"welcome took {elapsed:.3f} s")
        return elapsed

    def test_name_in_two_pieces_50_ms_apart_registers_whole(self):
        server = self.start_server()
        bob = self.connect(server, b"bob\n")
        self.assertEqual(json.loads(bob.recv_line())["to"], "bob")
        board = self.connect(server, b"boa")
        time.sleep(0.05)
        board.send_raw(b"rd9")
        self.assertEqual(json.loads(board.recv_line())["to"], "board9")
        self.assertEqual(self.request(bob, "/list", ""), "Online users (1): board9")
        board.send("bob", "from the board")
        self.assertNextFrame(bob, frame_bytes("board9", "127.0.0.1", "bob", "from the board"))

    def test_pieces_then_a_newline_and_a_message_are_decided_at_the_newline(self):
        server = self.start_server("--name-wait-ms", "5000")
        client = self.connect(server, b"bo")
        time.sleep(0.05)
        client.send_raw(b"ard")
        time.sleep(0.05)
        start = time.monotonic()
        client.send_raw(b"9\n" + obj(to="/time", msg=""))
        self.expect_welcome_within(client, "board9", 2.5)
        self.assertRegex(self.recv_reply(client), TIME_REPLY)
        self.assertLess(time.monotonic() - start, 2.5)

    def test_a_terminated_name_is_welcomed_without_the_wait(self):
        # A long wait makes the difference unmistakable (and leaves room for a slow
        # sanitizer build): these must not wait for it.
        server = self.start_server("--name-wait-ms", "5000")
        for first_bytes, name in [(b"alice\n", "alice"), (b"bob\r\n", "bob"),
                                  (b"carol" + obj(to="/time", msg=""), "carol")]:
            with self.subTest(first_bytes=first_bytes):
                client = self.connect(server, first_bytes)
                self.expect_welcome_within(client, name, 2.5)
        # JSON-first needs no terminator either.
        client = self.connect(server, obj(**{"from": {"name": "dave"}, "to": "/time"}))
        self.expect_welcome_within(client, "dave", 2.5)

    def test_an_unterminated_name_is_welcomed_once_the_wait_ends(self):
        # The class clients' form: the bare name, then they wait for the welcome.
        server = self.start_server("--name-wait-ms", "400")
        client = self.connect(server, b"alice")
        start = time.monotonic()
        self.expect_welcome_within(client, "alice", harness.TIMEOUT)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        # A class client too; default wait (100 ms).
        other = self.start_server()
        self.assertTrue(self.class_client(other, "bob").recv()["msg"].startswith("Welcome bob!"))

    def test_an_unterminated_name_that_is_invalid_is_refused_after_the_wait(self):
        server = self.start_server("--name-wait-ms", "100")
        client = self.connect(server, b"al ice")
        frames = client.expect_closed()
        self.assertEqual([f["msg"] for f in frames],
                         ["Error: invalid username 'al ice': use only A-Z a-z 0-9 _ - ."])

    def test_wait_zero_decides_on_the_first_read(self):
        server = self.start_server("--name-wait-ms", "0")
        client = self.connect(server, b"boa")
        self.expect_welcome_within(client, "boa", 2.5)
        time.sleep(0.05)
        client.send_raw(b"rd9")
        self.assertTrue(self.recv_reply(client).startswith("Error: expected a JSON object"))


class WelcomeTest(harness.ServerTestCase):
    def setUp(self):
        self.server = self.start_server()

    def test_welcome_frame_when_alone(self):
        client = self.connect(self.server, b"alice")
        line = client.recv_line()
        self.assertCompactFrame(line)
        self.assertTrue(line.startswith(b'{"from":{"name":"SERVER","ip":"0.0.0.0"},"to":"alice",'
                                        b'"msg":"Welcome alice!'), line)
        self.assertLessEqual(len(line) + 1, SMALL_REPLY_BYTES)
        self.assertIn("/help", json.loads(line)["msg"])

    def test_welcome_lists_the_others_online(self):
        for name in ("bob", "Carol", "dave.d"):
            self.register(self.server, name)
        client = self.connect(self.server, b"alice")
        line = client.recv_line()
        self.assertLessEqual(len(line) + 1, SMALL_REPLY_BYTES)
        msg = json.loads(line)["msg"]
        self.assertTrue(msg.startswith("Welcome alice!"), msg)
        for name in ("bob", "Carol", "dave.d"):
            self.assertIn(name, msg)
        self.assertNotIn("alice", msg[len("Welcome alice!"):])
        self.assertIn("/help", msg)

    def test_welcome_with_many_long_names_is_capped_to_1024_bytes(self):
        for i in range(40):
            self.register(self.server, ("user%02d" % i).ljust(32, "x"))
        name = "z" * 32
        client = self.connect(self.server, name)
        line = client.recv_line()
        self.assertCompactFrame(line)
        self.assertLessEqual(len(line) + 1, SMALL_REPLY_BYTES)
        msg = json.loads(line)["msg"]
        self.assertTrue(msg.startswith(f"Welcome {name}!"), msg)
        self.assertIn("/help", msg)

    def read_until_eof(self, client):
        data = client.buffer
        client.sock.settimeout(harness.TIMEOUT)
        while True:
            chunk = client.sock.recv(4096)
            if not chunk:
                return data
            data += chunk

    def assert_one_error_frame(self, data):
        self.assertTrue(data.endswith(b"\n"), data)
        self.assertEqual(data.count(b"\n"), 1, data)
        self.assertLessEqual(len(data), SMALL_REPLY_BYTES)
        self.assertTrue(harness.is_compact_frame(data[:-1]), data)
        frame = json.loads(data)
        self.assertEqual(frame["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertTrue(frame["msg"].startswith("Error:"), frame)
        return frame["msg"]

    def test_refusal_is_one_error_frame_then_close(self):
        self.register(self.server, "alice")
        client = self.connect(self.server, b"alice")
        msg = self.assert_one_error_frame(self.read_until_eof(client))
        self.assertIn("alice", msg)

    def test_refusal_of_a_long_garbage_name_fits_in_1024_bytes(self):
        client = self.connect(self.server, b"\xff\xfe\"\\" * 300 + b"x" * 3000)
        self.assert_one_error_frame(self.read_until_eof(client))

    def test_welcome_bytes_for_a_known_state(self):
        # Not asserting the wording after "Welcome alice!", only the frame around it.
        client = self.connect(self.server, b"alice")
        line = client.recv_line() + b"\n"
        msg = json.loads(line)["msg"]
        self.assertEqual(line, server_frame_bytes("alice", msg))


if __name__ == "__main__":
    unittest.main()
