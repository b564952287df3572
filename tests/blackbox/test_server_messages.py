"""Contract point 6: direct messages.

The recipient gets {"from":{"name":<sender's registered name>,"ip":<sender's IP>},
"to":<recipient's registered name>,"msg":<text>} byte for byte; the client's own `from`
is never forwarded; `to` is looked up ignoring ASCII case; unknown users and `Everyone`
get `Error: user '<to>' not found`.
"""
import json
import unittest

import harness
from harness import frame_bytes

TEXTS = [
    "",
    "plain ascii",
    'she said "hi"',
    "back\\slash and \\\\ two and \\n literal",
    "line one\nline two\r\nline three",
    "tab\there, bell\x07, escape\x1b, nul\x00, unit separator\x1f, del\x7f",
    "braces } { inside {\"to\":\"x\"} a string",
    "emoji \U0001F600 \U0001F44D\U0001F3FD and flags \U0001F1EB\U0001F1F7",
    "accents: h\u00e9llo, \u00fcber, \u0645\u0631\u062d\u0628\u0627, \u4f60\u597d",
    "line separators \u2028 \u2029 and BOM \ufeff",
    "/not a command, just text",
    "x" * 60000,
]


class DirectMessageTest(harness.ServerTestCase):
    THREADS = 2

    def setUp(self):
        self.server = self.start_server(threads=self.THREADS)
        self.alice = self.register(self.server, "alice")
        self.bob = self.register(self.server, "Bob")

    def send_obj(self, client, obj, ensure_ascii=True):
        client.send_raw(json.dumps(obj, ensure_ascii=ensure_ascii).encode())

    def test_recipient_gets_the_exact_frame(self):
        self.alice.send("Bob", "hello")
        self.assertNextFrame(self.bob,
                             b'{"from":{"name":"alice","ip":"127.0.0.1"},"to":"Bob","msg":"hello"}\n')

    def test_spoofed_from_is_ignored(self):
        self.send_obj(self.alice, {"from": {"name": "Bob", "ip": "6.6.6.6"}, "to": "Bob",
                                   "msg": "I am Bob"})
        self.send_obj(self.alice, {"from": {"name": "SERVER", "ip": "0.0.0.0"}, "to": "Bob",
                                   "msg": "I am the server", "extra": {"nested": [1, 2]}})
        self.send_obj(self.alice, {"from": "garbage", "to": "Bob", "msg": "string from"})
        self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob", "I am Bob"))
        self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob", "I am the server"))
        self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob", "string from"))

    def test_class_client_from_is_replaced_by_the_registered_name_and_real_ip(self):
        mallory = self.class_client(self.server, "mallory", ip="10.9.8.7")
        mallory.name = "alice"  # what it claims in `from` from now on
        self.assertTrue(mallory.recv()["msg"].startswith("Welcome mallory!"))
        mallory.send("bob", "guess who")
        self.assertNextFrame(self.bob, frame_bytes("mallory", "127.0.0.1", "Bob", "guess who"))

    def test_recipient_is_looked_up_ignoring_case_and_gets_its_registered_spelling(self):
        for spelling in ("Bob", "bob", "BOB", "bOB"):
            with self.subTest(to=spelling):
                self.alice.send(spelling, "via " + spelling)
                self.assertNextFrame(self.bob,
                                     frame_bytes("alice", "127.0.0.1", "Bob", "via " + spelling))

    def test_message_to_yourself_is_delivered(self):
        self.alice.send("ALICE", "note to self")
        self.assertNextFrame(self.alice, frame_bytes("alice", "127.0.0.1", "alice", "note to self"))

    def test_unknown_user(self):
        self.assertEqual(self.request(self.alice, "carol", "hi"), "Error: user 'carol' not found")
        self.assertEqual(self.request(self.alice, "x", "hi"), "Error: user 'x' not found")

    def test_unknown_user_error_is_addressed_to_the_sender(self):
        self.alice.send("carol", "hi")
        line = self.alice.recv_line() + b"\n"
        self.assertEqual(line, harness.server_frame_bytes("alice", "Error: user 'carol' not found"))

    def test_unknown_user_with_a_huge_name_fits_in_1024_bytes(self):
        self.alice.send("q" * 5000, "hi")
        line = self.alice.recv_line()
        self.assertCompactFrame(line)
        self.assertLessEqual(len(line) + 1, harness.SMALL_REPLY_BYTES)
        self.assertTrue(json.loads(line)["msg"].startswith("Error: user 'qqq"))

    def test_everyone_is_not_a_broadcast_address(self):
        carol = self.register(self.server, "carol")
        for spelling in ("Everyone", "everyone"):
            with self.subTest(to=spelling):
                reply = self.request(self.alice, spelling, "hello all")
                self.assertTrue(reply.startswith("Error: user '%s' not found" % spelling)
                                or reply.startswith("Error: user 'Everyone' not found"), reply)
        self.assertNothingBefore(self.bob, self.alice, "alice", "Bob")
        self.assertNothingBefore(carol, self.alice, "alice", "carol")

    def test_texts_arrive_intact(self):
        for ensure_ascii in (True, False):
            for text in TEXTS:
                with self.subTest(ensure_ascii=ensure_ascii, text=text[:40]):
                    self.send_obj(self.alice, {"to": "Bob", "msg": text}, ensure_ascii)
                    self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob", text))

    def test_escaped_solidus_and_unicode_escapes_are_decoded(self):
        self.alice.send_raw(b'{"to":"Bob","msg":"a\\/b \\u00e9 \\ud83d\\ude00 \\"q\\""}')
        self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob",
                                                   'a/b \u00e9 \U0001F600 "q"'))

    def test_key_order_and_whitespace_in_the_request_do_not_matter(self):
        self.alice.send_raw(b' { "msg" : "ordered" ,\n\t"to" : "Bob" } ')
        self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob", "ordered"))

    def test_messages_from_one_sender_arrive_in_order(self):
        for i in range(200):
            self.alice.send("Bob", "n%d" % i)
        for i in range(200):
            self.assertNextFrame(self.bob, frame_bytes("alice", "127.0.0.1", "Bob", "n%d" % i))

    def test_messages_across_event_loops_are_delivered(self):
        # With 2 loops, some of these clients land on the other loop than alice.
        others = [self.register(self.server, "peer%d" % i) for i in range(8)]
        for i, peer in enumerate(others):
            self.alice.send("peer%d" % i, "hi %d" % i)
            peer.send("alice", "back %d" % i)
        for i, peer in enumerate(others):
            self.assertNextFrame(peer, frame_bytes("alice", "127.0.0.1", "peer%d" % i, "hi %d" % i))
        received = sorted(self.alice.recv_line() + b"\n" for _ in others)
        self.assertEqual(received, sorted(frame_bytes("peer%d" % i, "127.0.0.1", "alice",
                                                      "back %d" % i) for i in range(8)))


class DirectMessageFourLoopsTest(DirectMessageTest):
    THREADS = 4


if __name__ == "__main__":
    unittest.main()
