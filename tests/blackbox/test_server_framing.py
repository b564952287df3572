"""Contract point 5: framing in both directions.

Client to server: JSON objects with no separator, or separated by any whitespace; an
object split across reads is reassembled; several in one read are all processed in order.
Server to client: every frame is one compact JSON object followed by "\\n".
"""
import json
import socket
import threading
import time
import unittest

import harness
from harness import frame_bytes


def dm(to, msg):
    return json.dumps({"from": {"name": "ignored", "ip": "1.2.3.4"}, "to": to, "msg": msg}).encode()


class FramingTest(harness.ServerTestCase):
    def setUp(self):
        # Rate limits off: these tests send hundreds of objects in one read, which is
        # framing's business, not a flood (test_server_limits covers the limits).
        self.server = self.start_server("--rate-limit", "0")
        self.alice = self.register(self.server, "alice")
        self.bob = self.register(self.server, "bob")
        self.alice.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def expect_dms(self, texts, to="bob"):
        receiver = self.bob if to == "bob" else self.alice
        for text in texts:
            self.assertNextFrame(receiver, frame_bytes("alice", "127.0.0.1", to, text))

    def test_objects_with_no_separator(self):
        self.alice.send_raw(dm("bob", "1") + dm("bob", "2") + dm("bob", "3"))
        self.expect_dms(["1", "2", "3"])

    def test_objects_separated_by_whitespace_and_newlines(self):
        self.alice.send_raw(b" \n" + dm("bob", "1") + b"\n" + dm("bob", "2") + b"\r\n\t  " +
                            dm("bob", "3") + b"\n\n")
        self.expect_dms(["1", "2", "3"])

    def test_whitespace_only_sends_are_ignored(self):
        self.alice.send_raw(b"\n")
        time.sleep(0.02)
        self.alice.send_raw(b"   \r\n\t")
        self.alice.send_raw(dm("bob", "after whitespace"))
        self.expect_dms(["after whitespace"])
        self.assertRegex(self.request(self.alice, "/time"), r"^Server time: ")

    def test_one_object_split_across_several_sends(self):
        data = dm("bob", 'split "quoted" \\ text with {braces} and \U0001F600 emoji')
        # Cut inside the key, inside an escape sequence, inside the UTF-8 of the emoji.
        cuts = sorted({1, 5, data.index(b"\\") + 1, data.index(b"\\u") + 3, len(data) - 1})
        pieces = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        for piece in pieces:
            self.alice.send_raw(piece)
            time.sleep(0.03)
        self.expect_dms(['split "quoted" \\ text with {braces} and \U0001F600 emoji'])

    def test_raw_utf8_split_inside_a_character(self):
        data = json.dumps({"to": "bob", "msg": "caf\u00e9 \U0001F600"}, ensure_ascii=False).encode()
        cut = data.index("\U0001F600".encode()) + 2
        self.alice.send_raw(data[:cut])
        time.sleep(0.05)
        self.alice.send_raw(data[cut:])
        self.expect_dms(["caf\u00e9 \U0001F600"])

    def test_object_split_byte_by_byte(self):
        data = dm("bob", "one byte at a time {}")
        for i in range(len(data)):
            self.alice.send_raw(data[i:i + 1])
            if i % 16 == 0:
                time.sleep(0.005)
        self.expect_dms(["one byte at a time {}"])

    def test_split_object_followed_by_more_in_the_same_send(self):
        first, second, third = dm("bob", "first"), dm("bob", "second"), dm("bob", "third")
        self.alice.send_raw(first[:10])
        time.sleep(0.03)
        self.alice.send_raw(first[10:] + second + third[:7])
        time.sleep(0.03)
        self.alice.send_raw(third[7:])
        self.expect_dms(["first", "second", "third"])

    def test_many_objects_in_one_send_are_all_processed_in_order(self):
        texts = ["message %04d" % i for i in range(500)]
        self.alice.send_raw(b"".join(dm("bob", t) for t in texts))
        self.expect_dms(texts)

    def test_megabytes_of_small_objects_in_one_send(self):
        texts = ["bulk %06d" % i for i in range(20000)]
        data = b"".join(dm("bob", t) for t in texts)
        self.assertGreater(len(data), 1 << 20)
        # Sent from another thread while bob reads, so nobody's buffers fill up.
        sender = threading.Thread(target=self.alice.sock.sendall, args=(data,))
        sender.start()
        self.addCleanup(sender.join, harness.TIMEOUT)
        self.expect_dms(texts)

    def test_mixed_commands_and_messages_in_one_send_keep_their_order(self):
        self.alice.send_raw(dm("bob", "a") + json.dumps({"to": "/time"}).encode() + dm("bob", "b") +
                            json.dumps({"to": "/list"}).encode() + dm("alice", "self"))
        self.expect_dms(["a", "b"])
        self.assertRegex(self.recv_reply(self.alice), r"^Server time: ")
        self.assertEqual(self.recv_reply(self.alice), "Online users (1): bob")
        self.assertNextFrame(self.alice, frame_bytes("alice", "127.0.0.1", "alice", "self"))

    def test_nested_objects_and_arrays_inside_a_message(self):
        obj = {"to": "bob", "msg": "nested", "meta": {"a": {"b": [1, {"c": "}"}]}, "x": "{"}}
        self.alice.send_raw(json.dumps(obj).encode() + dm("bob", "next"))
        self.expect_dms(["nested", "next"])

    def test_every_server_frame_is_compact_and_newline_terminated(self):
        # Collect every kind of frame the server sends and check each one's bytes.
        self.alice.send_raw(dm("bob", "text with \"quotes\" and \u00e9"))
        for to, msg in (("/list", ""), ("/time", ""), ("/help", ""), ("/standard", ""),
                        ("/shout", "shout"), ("/nope", ""), ("nobody", "x")):
            self.alice.send(to, msg)
        self.alice.send_raw(b"garbage\n")
        frames = [self.alice.recv_line() for _ in range(8)]
        frames += [self.bob.recv_line() for _ in range(2)]
        for line in frames:
            self.assertCompactFrame(line)
        # recv_line strips exactly one "\n" per frame and nothing is left over.
        self.assertEqual(self.alice.buffer, b"")
        self.assertEqual(self.bob.buffer, b"")

    def test_small_replies_fit_in_1024_bytes(self):
        for name in ("b%02d" % i + "x" * 29 for i in range(60)):
            self.register(self.server, name)
        for to, msg in (("/list", ""), ("/time", ""), ("/help", ""), ("/standard", ""),
                        ("/" + "u" * 2000, ""), ("n" * 2000, "x"), ("/shout", None)):
            with self.subTest(to=to[:20]):
                self.alice.send(to, msg)
                line = self.alice.recv_line()
                self.assertCompactFrame(line)
                self.assertLessEqual(len(line) + 1, harness.SMALL_REPLY_BYTES)
        self.alice.send_raw(b"\xff" * 3000 + b"\n")
        line = self.alice.recv_line()
        self.assertCompactFrame(line)
        self.assertLessEqual(len(line) + 1, harness.SMALL_REPLY_BYTES)


if __name__ == "__main__":
    unittest.main()
