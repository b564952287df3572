"""Contract point 7: /list (with paging), /time, /shout, /help, /standard, unknown commands.

`to` is the command and `msg` its argument. Every reply is a SERVER frame that fits in
1024 bytes.
"""
import json
import re
import time
import unittest

import harness
from harness import SMALL_REPLY_BYTES, frame_bytes

COMMANDS = ["/list", "/time", "/shout", "/help", "/standard"]
LIST_PREFIX = re.compile(r"Online users \((\d+)\): ")


def split_list(reply):
    """(N, names on this page, suffix after the names) of a /list reply."""
    match = LIST_PREFIX.match(reply)
    assert match, reply
    body = reply[match.end():]
    suffix = ""
    if " (page " in body:
        body, suffix = body.split(" (page ", 1)
        suffix = "(page " + suffix
    return int(match.group(1)), body.split(", "), suffix


class CommandTest(harness.ServerTestCase):
    THREADS = 2

    def setUp(self):
        self.server = self.start_server(threads=self.THREADS)
        self.alice = self.register(self.server, "alice")

    def small_reply(self, client, to, msg=None):
        """Sends a command; returns the reply's msg after checking it fits in 1024 bytes."""
        client.send(to, msg)
        line = client.recv_line()
        self.assertCompactFrame(line)
        self.assertLessEqual(len(line) + 1, SMALL_REPLY_BYTES, line[:200])
        reply = json.loads(line)
        self.assertEqual(reply["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertEqual(reply["to"], client.name)
        return reply["msg"]

    # /list

    def test_list_alone(self):
        self.assertEqual(self.small_reply(self.alice, "/list", ""), "You are the only active user!")

    def test_list_others_excludes_the_requester(self):
        for name in ("Bob", "carol", "dave"):
            self.register(self.server, name)
        n, names, suffix = split_list(self.small_reply(self.alice, "/list", ""))
        self.assertEqual(n, 3)
        self.assertEqual(sorted(names), ["Bob", "carol", "dave"])
        self.assertEqual(suffix, "")

    def test_list_exact_text_with_one_other(self):
        self.register(self.server, "Bob")
        self.assertEqual(self.small_reply(self.alice, "/list"), "Online users (1): Bob")

    def test_list_without_msg_and_with_other_text_is_page_one(self):
        self.register(self.server, "Bob")
        self.register(self.server, "carol")
        expected = self.small_reply(self.alice, "/list", "")
        self.assertEqual(self.small_reply(self.alice, "/list"), expected)
        self.assertEqual(self.small_reply(self.alice, "/list", "who is here?"), expected)

    def test_list_updates_when_users_leave(self):
        bob = self.register(self.server, "Bob")
        self.assertEqual(self.small_reply(self.alice, "/list"), "Online users (1): Bob")
        bob.close()
        self.server.wait_for_log(r"\(Bob\) disconnected")
        self.server.wait_until_name_free("Bob")
        self.assertEqual(self.small_reply(self.alice, "/list"), "You are the only active user!")

    # /time

    def test_time(self):
        before = time.time()
        reply = self.small_reply(self.alice, "/time", "")
        after = time.time()
        match = re.fullmatch(r"Server time: (\d\d):(\d\d):(\d\d)", reply)
        self.assertIsNotNone(match, reply)
        hh, mm, ss = (int(g) for g in match.groups())
        self.assertLess(hh, 24)
        self.assertLess(mm, 60)
        self.assertLess(ss, 61)
        # Server local time: the same clock and time zone as this test (same machine).
        got = hh * 3600 + mm * 60 + ss

        def seconds_of_day(t):
            lt = time.localtime(t)
            return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec

        lo, hi = seconds_of_day(before), seconds_of_day(after)
        if lo <= hi:
            self.assertTrue(lo <= got <= hi, (reply, lo, hi))
        else:  # midnight passed during the request
            self.assertTrue(got >= lo or got <= hi, (reply, lo, hi))

    # /shout

    def test_shout_reaches_every_other_user_once(self):
        others = {name: self.register(self.server, name) for name in ("Bob", "carol", "dave", "eve")}
        self.assertEqual(self.small_reply(self.alice, "/shout", "hello all"),
                         "Message sent to 4 users")
        expected = frame_bytes("alice", "127.0.0.1", "Everyone", "hello all")
        for name, client in others.items():
            self.assertNextFrame(client, expected)
        # Nobody got it twice, and the sender did not get its own shout.
        for name, client in others.items():
            self.assertNothingBefore(client, self.alice, "alice", name)
        self.assertRegex(self.small_reply(self.alice, "/time"), r"^Server time: ")

    def test_shout_text_is_intact_and_from_is_not_forwarded(self):
        bob = self.register(self.server, "Bob")
        text = 'quotes " backslash \\ newline \n emoji \U0001F600 braces {}'
        self.alice.send_raw(json.dumps({"from": {"name": "SERVER", "ip": "0.0.0.0"},
                                        "to": "/shout", "msg": text}).encode())
        self.assertEqual(self.recv_reply(self.alice), "Message sent to 1 users")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "Everyone", text))

    def test_shout_alone(self):
        self.assertEqual(self.small_reply(self.alice, "/shout", "anyone?"), "Message sent to 0 users")

    def test_shout_from_each_user(self):
        clients = {"alice": self.alice}
        for name in ("Bob", "carol", "dave"):
            clients[name] = self.register(self.server, name)
        for sender, client in clients.items():
            self.assertEqual(self.small_reply(client, "/shout", "from " + sender),
                             "Message sent to 3 users")
            for name, other in clients.items():
                if name != sender:
                    self.assertNextFrame(other, frame_bytes(sender, "127.0.0.1", "Everyone",
                                                            "from " + sender))

    # /help and /standard

    def test_help_lists_every_command(self):
        reply = self.small_reply(self.alice, "/help", "")
        self.assertTrue(reply.startswith("Available commands"), reply)
        for command in COMMANDS:
            self.assertIn(command, reply)

    def test_standard_shows_the_schema(self):
        reply = self.small_reply(self.alice, "/standard", "")
        for key in ("from", "name", "ip", "to", "msg"):
            self.assertIn('"%s"' % key, reply)

    def test_commands_without_msg_field(self):
        self.assertEqual(self.small_reply(self.alice, "/list"), "You are the only active user!")
        self.assertRegex(self.small_reply(self.alice, "/time"), r"^Server time: \d\d:\d\d:\d\d$")
        self.assertTrue(self.small_reply(self.alice, "/help").startswith("Available commands"))
        self.assertIn('"msg"', self.small_reply(self.alice, "/standard"))

    # Unknown commands

    def test_unknown_command(self):
        self.assertEqual(self.small_reply(self.alice, "/x", "hi"),
                         "Error: unknown command '/x' (see /help)")
        self.assertEqual(self.small_reply(self.alice, "/", ""),
                         "Error: unknown command '/' (see /help)")
        self.assertEqual(self.small_reply(self.alice, "/shoutx", "hi"),
                         "Error: unknown command '/shoutx' (see /help)")

    def test_unknown_long_command_fits_in_1024_bytes(self):
        reply = self.small_reply(self.alice, "/" + "z" * 3000, "")
        self.assertTrue(reply.startswith("Error: unknown command '/zzz"), reply)

    def test_connection_works_after_errors(self):
        self.small_reply(self.alice, "/nope")
        self.small_reply(self.alice, "nobody", "hi")
        self.assertEqual(self.small_reply(self.alice, "/list"), "You are the only active user!")


class ListPagingTest(harness.ServerTestCase):
    """150 other users with 32-character names do not fit in one 1024-byte reply."""

    USERS = 150

    def test_pages_cover_every_name_once_and_fit_in_1024_bytes(self):
        server = self.start_server()
        names = ["u%03d" % i + "_" * 28 for i in range(self.USERS)]
        for name in names:
            self.register(server, name)
        me = self.register(server, "A" * 32)

        def page(msg):
            me.send("/list", msg)
            line = me.recv_line()
            self.assertCompactFrame(line)
            self.assertLessEqual(len(line) + 1, SMALL_REPLY_BYTES)
            return json.loads(line)["msg"]

        first = page("")
        n, shown, suffix = split_list(first)
        self.assertEqual(n, self.USERS)
        match = re.search(r"page 1/(\d+)", suffix)
        self.assertIsNotNone(match, first)
        pages = int(match.group(1))
        self.assertGreater(pages, 1)
        more = re.search(r"(\d+) more", suffix)
        self.assertIsNotNone(more, first)
        self.assertEqual(int(more.group(1)), self.USERS - len(shown))
        # Not a page request: page 1.
        self.assertEqual(page("hello"), first)
        self.assertEqual(page(None), first)

        seen = list(shown)
        for k in range(2, pages + 1):
            reply = page(str(k))
            n, shown, suffix = split_list(reply)
            self.assertEqual(n, self.USERS)
            self.assertIn("page %d/%d" % (k, pages), suffix)
            if k < pages:
                more = re.search(r"(\d+) more", suffix)
                self.assertIsNotNone(more, reply)
                self.assertEqual(int(more.group(1)), self.USERS - len(seen) - len(shown))
            seen += shown
        self.assertEqual(sorted(seen), sorted(names))
        self.assertEqual(len(seen), len(set(seen)))

        # A page past the end is an error, not an empty page.
        self.assertTrue(page(str(pages + 1)).startswith("Error:"))

        # The welcome with this many users online is capped to fit as well.
        late = self.connect(server, "late")
        line = late.recv_line()
        self.assertCompactFrame(line)
        self.assertLessEqual(len(line) + 1, SMALL_REPLY_BYTES)
        self.assertTrue(json.loads(line)["msg"].startswith("Welcome late!"))


class CommandFourLoopsTest(CommandTest):
    """The same over four loops: /list and /shout see users on every loop."""
    THREADS = 4


class ListRateLimitTest(harness.ServerTestCase):
    def test_list_draws_from_the_shout_budget(self):
        server = self.start_server("--shout-rate", 0.5, "--shout-burst", 2)
        alice = self.register(server, "alice")
        bob = self.register(server, "bob")
        self.assertEqual(self.request(alice, "/shout", "hi"), "Message sent to 1 users")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "Everyone", "hi"))
        self.assertEqual(self.request(alice, "/list"), "Online users (1): bob")
        # The burst of 2 is spent (one shout, one list): the next /list is dropped.
        self.assertEqual(self.request(alice, "/list"),
                         "Error: rate limit: at most 0.5 shouts and /list requests per second; "
                         "/list dropped")
        # Other commands and messages are not limited by it, nor is another user.
        self.assertRegex(self.request(alice, "/time"), r"^Server time: ")
        self.assertEqual(self.request(bob, "/list"), "Online users (1): alice")


if __name__ == "__main__":
    unittest.main()
