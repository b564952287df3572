"""Protected names (--accounts, /login) and the teacher's moderation commands (/kick, /ban,
/unban, /bans, /mute, /unmute, /announce), end to end over real sockets.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import frame_bytes

PASSWORDS = {"teacher": "chalk and talk", "alice": "alice's secret"}
_hashes = {}


def password_hash(password):
    if password not in _hashes:
        result = subprocess.run([harness.SERVER_BINARY, "--hash-password"], input=password + "\n",
                                capture_output=True, text=True, timeout=60, check=True)
        _hashes[password] = result.stdout.strip()
    return _hashes[password]


def write_accounts(path, accounts):
    """accounts: {name: (role, password)}"""
    with open(path, "w", encoding="utf-8") as f:
        f.write("# test accounts\n")
        for name, (role, password) in accounts.items():
            f.write(f"{name} {role} {password_hash(password)}\n")


class TrustTest(harness.ServerTestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.accounts = os.path.join(self.dir.name, "accounts")
        self.bans = os.path.join(self.dir.name, "bans")
        write_accounts(self.accounts, {"teacher": ("admin", PASSWORDS["teacher"]),
                                       "alice": ("user", PASSWORDS["alice"])})

    def tearDown(self):
        self.dir.cleanup()

    def start(self, *extra):
        return self.start_server("--accounts", self.accounts, "--bans", self.bans, *extra)

    def login(self, server, name, **kw):
        client = self.connect(server, name.encode(), **kw)
        self.assertIn("is a protected name", client.recv_msg())
        client.send("/login", PASSWORDS[name])
        self.assertRegex(client.recv_msg(), rf"^Logged in(\.| as admin .*\.) Welcome {name}!")
        return client

    def test_a_protected_name_can_only_log_in_until_it_does(self):
        server = self.start()
        alice = self.connect(server, b"alice")
        self.assertIn("'alice' is a protected name: log in within 30 s", alice.recv_msg())
        bob = self.register(server, "bob")
        alice.send("bob", "hi")
        self.assertIn("log in first", alice.recv_msg())
        self.assertEqual(self.request(bob, "/list"), "Online users (1): alice")
        impostor = self.connect(server, b"ALICE")
        self.assertIn("already taken", impostor.expect_closed()[0]["msg"])
        started = time.monotonic()
        alice.send("/login", "guess")
        self.assertEqual(alice.recv_msg(), "Error: wrong password for 'alice'")
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "wrong passwords wait")
        alice.send("/login", PASSWORDS["alice"])
        self.assertTrue(alice.recv_msg().startswith("Logged in. Welcome alice! Online now (1): bob"))
        alice.send("bob", "hi")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "hi"))
        self.assertEqual(self.request(alice, "/login", "x"), "Error: you are already logged in")
        log = server.log()
        self.assertIn("wrong password for alice from 127.0.0.1", log)
        self.assertNotIn("guess", log)
        self.assertNotIn(PASSWORDS["alice"], log)

    def test_no_login_in_time_disconnects_with_the_reason(self):
        server = self.start("--login-timeout", "0.5")
        alice = self.connect(server, b"alice")
        alice.recv_msg()
        frames = alice.expect_closed()
        self.assertEqual(frames[0]["msg"], "Error: no /login within 500 ms")
        self.register(server, "alice2")
        # The name is free again: a new connection may claim (and must log in to) it.
        again = self.connect(server, b"alice")
        self.assertIn("protected name", again.recv_msg())

    def test_wrong_passwords_are_limited_per_name(self):
        server = self.start()
        alice = self.connect(server, b"alice")
        alice.recv_msg()
        for _ in range(5):
            alice.send("/login", "wrong")
            self.assertEqual(alice.recv_msg(), "Error: wrong password for 'alice'")
        alice.send("/login", PASSWORDS["alice"])  # even the right one is refused for now
        self.assertIn("too many wrong passwords for 'alice'", alice.recv_msg())
        server.wait_for_log("login for alice from 127.0.0.1 refused: too many wrong passwords")

    def test_the_class_python_client_can_log_in(self):
        server = self.start()
        bob = self.register(server, "bob")
        alice = self.class_client(server, "alice")
        self.assertIn("protected name", alice.recv()["msg"])
        alice.send("/login", PASSWORDS["alice"])
        self.assertTrue(alice.recv()["msg"].startswith("Logged in. Welcome alice!"))
        alice.send("bob", "hello from the class client")
        self.assertEqual(bob.recv_msg(), "hello from the class client")

    def test_sighup_reload_adds_and_removes_accounts(self):
        server = self.start()
        alice = self.login(server, "alice")
        bob = self.register(server, "bob")
        write_accounts(self.accounts, {"teacher": ("admin", PASSWORDS["teacher"]),
                                       "bob": ("user", "bob's new password")})
        server.proc.send_signal(signal.SIGHUP)
        frames = alice.expect_closed()
        self.assertEqual(frames[-1]["msg"], "Error: your account was removed by the server's operator")
        server.wait_for_log(r"reload: 2 protected name\(s\)")
        self.assertEqual(self.request(bob, "/time")[:12], "Server time:")  # bob stays
        bob.close()
        harness.wait_until(lambda: "(bob) disconnected" in server.log())
        newbob = self.connect(server, b"bob")
        self.assertIn("protected name", newbob.recv_msg())
        self.register(server, "alice")  # no longer protected
        self.assertTrue(server.alive())

    def test_a_bad_accounts_file_stops_the_start_and_a_bad_reload_keeps_the_old(self):
        with open(self.accounts, encoding="utf-8") as f:
            good = f.read()
        with open(self.accounts, "a", encoding="utf-8") as f:
            f.write("bob boss nohash\n")
        result = subprocess.run([harness.SERVER_BINARY, "--port", "0", "--no-http",
                                 "--accounts", self.accounts], capture_output=True, text=True,
                                timeout=harness.TIMEOUT)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"{self.accounts}: line 4: the role must be 'user' or 'admin'",
                      result.stderr)
        with open(self.accounts, "w", encoding="utf-8") as f:
            f.write(good)
        server = self.start()
        with open(self.accounts, "w", encoding="utf-8") as f:
            f.write("garbage\n")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log("reload: keeping the accounts in use: .*line 1: expected NAME ROLE")
        alice = self.connect(server, b"alice")
        self.assertIn("protected name", alice.recv_msg())

    def test_admin_commands_are_refused_to_others_and_hidden_from_their_help(self):
        server = self.start()
        alice = self.login(server, "alice")
        bob = self.register(server, "bob")
        for command, msg in (("/kick", "bob"), ("/ban", "bob"), ("/mute", "bob 5"),
                             ("/announce", "hi"), ("/bans", ""), ("/unban", "bob")):
            for client in (alice, bob):
                self.assertEqual(self.request(client, command, msg),
                                 f"Error: {command} is for the teacher: log in to an admin "
                                 "account first")
        self.assertNotIn("/kick", self.request(bob, "/help"))
        teacher = self.login(server, "teacher")
        self.assertIn("/kick", self.request(teacher, "/help"))

    def test_kick_disconnects_and_frees_the_name(self):
        server = self.start()
        teacher = self.login(server, "teacher")
        bob = self.register(server, "bob")
        self.assertEqual(self.request(teacher, "/kick", "bob spamming"), "Kicked bob")
        frames = bob.expect_closed()
        self.assertEqual(frames[-1]["msg"], "Error: you were removed by teacher: spamming")
        server.wait_for_log("moderation: teacher kicked bob \\(spamming\\)")
        harness.wait_until(lambda: "(bob) disconnected" in server.log())
        self.register(server, "bob")

    def test_ban_by_name_refuses_until_unban_and_survives_a_restart(self):
        server = self.start()
        teacher = self.login(server, "teacher")
        bob = self.register(server, "bob")
        reply = self.request(teacher, "/ban", "bob 10 rude words")
        self.assertRegex(reply, r"^Banned bob until \d{4}-\d\d-\d\d \d\d:\d\d UTC$")
        self.assertIn("you were banned by teacher until", bob.expect_closed()[-1]["msg"])
        refused = self.connect(server, b"BOB")
        self.assertRegex(refused.expect_closed()[0]["msg"],
                         r"^Error: 'BOB' is banned until .* UTC: rude words$")
        self.assertIn("name bob until", self.request(teacher, "/bans"))
        teacher.close()
        self.assertEqual(server.stop(), 0)

        restarted = self.start()
        refused = self.connect(restarted, b"bob")
        self.assertIn("is banned", refused.expect_closed()[0]["msg"])
        teacher = self.login(restarted, "teacher")
        self.assertEqual(self.request(teacher, "/unban", "bob"), "Lifted the ban on bob")
        self.register(restarted, "bob")

    def test_address_ban_drops_and_refuses_that_address_only(self):
        server = self.start()
        teacher = self.login(server, "teacher")
        # 127.0.0.2 is another loopback address: the banned "student's machine".
        sock = socket.socket()
        sock.settimeout(harness.TIMEOUT)
        sock.bind(("127.0.0.2", 0))
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(b"mallory")
        self.assertIn(b"Welcome mallory", sock.recv(4096))
        self.assertEqual(self.request(teacher, "/ban", "127.0.0.2 flooding"),
                         "Banned 127.0.0.2 until lifted")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        self.assertIn(b"you were banned by teacher until lifted: flooding", data)
        sock.close()
        again = socket.socket()
        again.settimeout(harness.TIMEOUT)
        again.bind(("127.0.0.2", 0))
        again.connect(("127.0.0.1", server.port))
        data = b""
        while chunk := again.recv(4096):
            data += chunk
        again.close()
        self.assertIn(b"Error: your address is banned until lifted: flooding", data)
        self.register(server, "carol")  # 127.0.0.1 is not banned

    def test_mute_stops_dms_and_shouts_but_not_reading(self):
        server = self.start()
        teacher = self.login(server, "teacher")
        bob = self.register(server, "bob")
        carol = self.register(server, "carol")
        self.assertEqual(self.request(teacher, "/mute", "bob 5 too loud"), "Muted bob for 5 minutes")
        self.assertIn("You were muted by teacher for 5 minutes: too loud", bob.recv_msg())
        bob.send("carol", "can you hear me")
        self.assertIn("Error: you are muted for 5 more minute(s)", bob.recv_msg())
        self.assertIn("Error: you are muted", self.request(bob, "/shout", "hello"))
        self.assertTrue(self.request(bob, "/time").startswith("Server time:"))
        carol.send("bob", "you can still read")
        self.assertEqual(bob.recv_msg(), "you can still read")
        # Reconnecting does not escape a mute.
        bob.close()
        harness.wait_until(lambda: "(bob) disconnected" in server.log())
        bob = self.register(server, "bob")
        bob.send("carol", "again")
        self.assertIn("Error: you are muted", bob.recv_msg())
        self.assertEqual(self.request(teacher, "/unmute", "bob"), "Unmuted bob")
        self.assertEqual(bob.recv_msg(), "teacher lifted your mute")
        bob.send("carol", "free")
        self.assertEqual(carol.recv_msg(), "free")

    def test_announce_reaches_everyone_as_server(self):
        server = self.start()
        teacher = self.login(server, "teacher")
        bob = self.register(server, "bob")
        carol = self.register(server, "carol")
        self.assertEqual(self.request(teacher, "/announce", "exam at 3"), "Announced to 2 users")
        for client in (bob, carol):
            frame = client.recv()
            self.assertEqual(frame["from"]["name"], "SERVER")
            self.assertEqual(frame["msg"], "Announcement from teacher: exam at 3")

    def test_hash_password_reads_stdin_and_refuses_nothing(self):
        good = subprocess.run([harness.SERVER_BINARY, "--hash-password"], input="pw\n",
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(good.returncode, 0)
        self.assertRegex(good.stdout, r"^\$argon2id\$v=19\$m=\d+,t=\d+,p=1\$\S+\n$")
        empty = subprocess.run([harness.SERVER_BINARY, "--hash-password"], input="",
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(empty.returncode, 2)


if __name__ == "__main__":
    unittest.main()
