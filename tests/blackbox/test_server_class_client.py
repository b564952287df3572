"""A full session with clients that behave exactly like the class's Python clients:
the bare name in one send(), recv(1024) + json.loads on each chunk, and json.dumps
objects (with the client's own `from`) sent with no separator.

Each step waits for its reply before the next one, as the class clients do, so that two
server frames never arrive in one recv(1024).
"""
import re
import unittest

import harness


class ClassClientSessionTest(harness.ServerTestCase):
    def test_full_session(self):
        server = self.start_server()
        alice = self.class_client(server, "alice", ip="192.168.1.10")
        welcome = alice.recv()
        self.assertEqual(welcome["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertEqual(welcome["to"], "alice")
        self.assertIn("Welcome alice!", welcome["msg"])
        self.assertIn("/help", welcome["msg"])

        bob = self.class_client(server, "bob", ip="192.168.1.11")
        welcome = bob.recv()
        self.assertIn("Welcome bob!", welcome["msg"])
        self.assertIn("alice", welcome["msg"])

        alice.send("/list", "")
        self.assertEqual(alice.recv(), {"from": {"name": "SERVER", "ip": "0.0.0.0"}, "to": "alice",
                                        "msg": "Online users (1): bob"})

        alice.send("/time", "")
        reply = alice.recv()
        self.assertRegex(reply["msg"], r"^Server time: \d\d:\d\d:\d\d$")

        alice.send("bob", "Hi Bob!")
        self.assertEqual(bob.recv(), {"from": {"name": "alice", "ip": "127.0.0.1"}, "to": "bob",
                                      "msg": "Hi Bob!"})
        bob.send("alice", "Hi Alice, \"quoted\" and \u00e9\U0001F600")
        self.assertEqual(alice.recv(), {"from": {"name": "bob", "ip": "127.0.0.1"}, "to": "alice",
                                        "msg": "Hi Alice, \"quoted\" and \u00e9\U0001F600"})

        alice.send("/shout", "Hello everyone")
        self.assertEqual(alice.recv()["msg"], "Message sent to 1 users")
        self.assertEqual(bob.recv(), {"from": {"name": "alice", "ip": "127.0.0.1"},
                                      "to": "Everyone", "msg": "Hello everyone"})

        bob.send("/help", "")
        help_text = bob.recv()["msg"]
        self.assertTrue(help_text.startswith("Available commands"), help_text)
        for command in ("/list", "/time", "/shout", "/help", "/standard"):
            self.assertIn(command, help_text)

        bob.send("/standard", "")
        standard = bob.recv()["msg"]
        for key in ("from", "name", "ip", "to", "msg"):
            self.assertIn('"%s"' % key, standard)

        bob.send("carol", "anyone?")
        self.assertEqual(bob.recv()["msg"], "Error: user 'carol' not found")

        bob.send("/nope", "")
        self.assertEqual(bob.recv()["msg"], "Error: unknown command '/nope' (see /help)")

        # A third class client joins with a taken name: one error, then the server closes.
        dup = self.class_client(server, "Alice")
        refusal = dup.recv()
        self.assertTrue(refusal["msg"].startswith("Error:"), refusal)
        self.assertEqual(dup.sock.recv(1024), b"")

        bob.close()
        server.wait_for_log(r"\(bob\) disconnected")
        server.wait_until_name_free("bob")
        alice.send("/list", "")
        self.assertEqual(alice.recv()["msg"], "You are the only active user!")

    def test_many_class_clients_chat_in_turn(self):
        server = self.start_server()
        names = ["Bot_%d" % i for i in range(1, 11)]
        bots = []
        for name in names:
            bot = self.class_client(server, name)
            self.assertIn("Welcome %s!" % name, bot.recv()["msg"])
            bots.append(bot)
        for i, bot in enumerate(bots):
            target = bots[(i + 1) % len(bots)]
            bot.send(target.name, "ping from %s" % bot.name)
            got = target.recv()
            self.assertEqual(got, {"from": {"name": bot.name, "ip": "127.0.0.1"},
                                   "to": target.name, "msg": "ping from %s" % bot.name})
            bot.send("/list", "")
            listed = bot.recv()["msg"]
            match = re.match(r"Online users \((\d+)\): (.*)$", listed)
            self.assertIsNotNone(match, listed)
            self.assertEqual(int(match.group(1)), len(bots) - 1)
            self.assertEqual(sorted(match.group(2).split(", ")),
                             sorted(n for n in names if n != bot.name))


if __name__ == "__main__":
    unittest.main()
