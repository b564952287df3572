"""classchat and protected names (classchatd --accounts): --password-file logs in for
scripts, a terminal asks for the password without echo, and a script without a password
exits with status 3. The password never shows up in the output or the history."""
import json
import os
import signal
import tempfile
import time
import unittest

import harness
from client_helpers import (BackgroundClient, FixedPortServer, Terminal, run_client,
                            tmux_available, write_accounts, write_secret)

TIMEOUT = harness.TIMEOUT
STAMP = r"\[\d\d:\d\d:\d\d\]"
PASSWORD = "correct horse 42"
ADMIN_PASSWORD = "chalk and talk"


class LoginTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.accounts = os.path.join(self.dir.name, "accounts")
        write_accounts(self.accounts, {"alice": ("user", PASSWORD),
                                       "teacher": ("admin", ADMIN_PASSWORD)})
        self.server = harness.Server("--accounts", self.accounts)
        self.addCleanup(lambda: self.server.__exit__(None, None, None))
        self.port = self.server.port

    def secret(self, text, mode=0o600, name="password"):
        path = os.path.join(self.dir.name, name)
        write_secret(path, text, mode)
        return path

    def peer(self, name):
        client = harness.register(self.port, name)
        self.addCleanup(client.close)
        return client

    def assertNoPassword(self, *texts):
        for text in texts:
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            self.assertNotIn(PASSWORD, text)
            self.assertNotIn("correct horse", text)


class PasswordFileTest(LoginTestCase):
    def test_send_logs_in_with_the_password_file(self):
        bob = self.peer("bob")
        result = run_client("--port", self.port, "--name", "alice", "--password-file",
                            self.secret(PASSWORD + "\n"), "--send", "bob", "hello from alice")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(bob.recv_msg(), "hello from alice")
        self.assertNoPassword(result.stdout, result.stderr, self.server.log())

    def test_a_script_logs_in_and_sees_the_logged_in_welcome(self):
        bob = self.peer("bob")
        # A file written on Windows ends its line with \r\n: the \r is not part of it.
        result = run_client("--port", self.port, "--name", "alice", "--password-file",
                            self.secret(PASSWORD + "\r\nsecond line is ignored\n"),
                            stdin_text="@bob hi\n/list\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout.decode()
        self.assertRegex(out, rf"(?m)^{STAMP} \[server\] Logged in\. Welcome alice! "
                              r"Online now \(1\): bob\.")
        self.assertRegex(out, rf"(?m)^{STAMP} \[server\] Online users \(1\): bob$")
        self.assertEqual(bob.recv_msg(), "hi")
        self.assertNoPassword(out, result.stderr)

    def test_an_admin_logs_in_from_a_pipe(self):
        # /dev/stdin is a pipe here: no permissions to check, the first line is read.
        result = run_client("--port", self.port, "--name", "teacher", "--password-file",
                            "/dev/stdin", "--send", "/announce", "class starts",
                            stdin_text=ADMIN_PASSWORD + "\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(ADMIN_PASSWORD, result.stdout.decode() + result.stderr.decode())

    def test_a_wrong_password_file_exits_three(self):
        started = time.monotonic()
        result = run_client("--port", self.port, "--name", "alice", "--password-file",
                            self.secret("not it\n"), stdin_text="/list\n")
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "the server's delay")
        self.assertRegex(result.stderr.decode(),
                         r"^classchat: The server refused the password in \S+password: "
                         r"wrong password for 'alice'\.\n$")
        self.assertNotIn("not it", result.stdout.decode() + result.stderr.decode())
        self.assertNotIn("Online users", result.stdout.decode())

    def test_a_script_without_a_password_exits_three_and_says_why(self):
        for extra in ([], ["--send", "bob", "hi"], ["--listen"]):
            with self.subTest(extra=extra):
                result = run_client("--port", self.port, "--name", "alice", *extra,
                                    stdin_text="/list\n")
                self.assertEqual(result.returncode, 3, result.stderr)
                self.assertEqual(result.stdout, b"")
                self.assertIn("classchat: alice is a protected name: give --password-file FILE",
                              result.stderr.decode())

    def test_a_password_file_others_can_read_is_refused_before_connecting(self):
        path = self.secret(PASSWORD + "\n", mode=0o644)
        result = run_client("--port", self.port, "--name", "alice", "--password-file", path,
                            "--send", "/time", "")
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.decode(),
                         f"classchat: permissions 0644 for '{path}' are too open: a password "
                         f"file must be readable only by you (chmod 600 '{path}')\n")
        self.assertNotIn("claimed protected name", self.server.log())

    def test_a_missing_or_empty_password_file_is_a_usage_error(self):
        missing = run_client("--port", self.port, "--name", "alice", "--password-file",
                             os.path.join(self.dir.name, "nope"), "--send", "/time", "")
        self.assertEqual(missing.returncode, 2)
        self.assertIn("cannot open the password file", missing.stderr.decode())
        empty = run_client("--port", self.port, "--name", "alice", "--password-file",
                           self.secret("\n"), "--send", "/time", "")
        self.assertEqual(empty.returncode, 2)
        self.assertIn("has an empty first line", empty.stderr.decode())

    def test_an_unprotected_name_ignores_the_password_file(self):
        result = run_client("--port", self.port, "--name", "carol", "--password-file",
                            self.secret(PASSWORD + "\n"), "--send", "/time", "")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Server time", result.stdout.decode())


class ReconnectLoginTest(LoginTestCase):
    def test_reconnect_logs_in_again_after_a_server_restart(self):
        listener = BackgroundClient("--port", self.port, "--name", "alice", "--listen",
                                    "--reconnect", "--password-file", self.secret(PASSWORD))
        self.addCleanup(listener.close)
        self.assertTrue(json.loads(listener.next_line())["msg"]
                        .startswith("Logged in. Welcome alice!"))

        self.server.stop()
        self.assertEqual(json.loads(listener.next_line())["msg"], "Server shutting down")
        listener.wait_for_stderr(r"Reconnecting in \d+\.\d s")
        self.server.__exit__(None, None, None)
        self.server = FixedPortServer(self.port, "--accounts", self.accounts)

        self.assertTrue(json.loads(listener.next_line())["msg"]
                        .startswith("Logged in. Welcome alice!"))
        listener.wait_for_stderr(r"Reconnected as alice\.")
        bob = self.peer("bob")
        bob.send("alice", "after the restart")
        self.assertEqual(json.loads(listener.next_line())["msg"], "after the restart")
        listener.proc.send_signal(signal.SIGTERM)
        self.assertEqual(listener.wait(), 0)
        self.assertNoPassword(listener.stderr())


@unittest.skipUnless(tmux_available(), "tmux is not installed (scripts/install-deps.sh adds it)")
class TerminalLoginTest(LoginTestCase):
    def terminal(self, *args):
        term = Terminal(["--port", self.port, *args])
        self.addCleanup(term.close)
        return term

    @staticmethod
    def input_line(term):
        """The last non-empty line on the screen: the prompt and the line being edited."""
        return [line for line in term.lines() if line][-1]

    def test_the_password_is_asked_without_echo_and_kept_out_of_the_history(self):
        bob = self.peer("bob")
        term = self.terminal("--name", "alice")
        term.wait_for(r"^Password for alice:$")
        term.type(PASSWORD)
        time.sleep(0.2)  # the typed characters would show by now if they were echoed
        self.assertNoPassword(term.screen())
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Logged in\. Welcome alice! Online now \(1\): bob\.")
        term.wait_for(r"^alice>$")
        term.type("@bob first")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "first")
        # A /login typed by hand goes to the server but not into the history.
        term.type("/login another secret")
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Error: you are already logged in")
        # Up recalls the line before it; a second Up finds nothing older.
        for _ in range(2):
            term.press("Up")
            harness.wait_until(lambda: self.input_line(term) == "alice> @bob first",
                               message="Up to recall '@bob first'")
        time.sleep(0.2)
        self.assertEqual(self.input_line(term), "alice> @bob first")
        self.assertNoPassword(term.screen())
        term.press("C-u", "C-d")
        self.assertEqual(term.exit_status(), 0)

    def test_a_wrong_password_is_asked_again(self):
        term = self.terminal("--name", "alice")
        term.wait_for(r"^Password for alice:$")
        term.type("guess")
        term.press("Enter")
        term.wait_for(r"Wrong password for alice: try again\.")
        term.wait_for(r"^Password for alice:$")
        term.type(PASSWORD)
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Logged in\. Welcome alice!")
        self.assertNotIn("guess", term.screen())
        self.assertNoPassword(term.screen())

    def test_three_wrong_passwords_exit_three(self):
        term = self.terminal("--name", "alice")
        for attempt in range(3):
            # Each question is asked on a new line, after the previous answer's verdict.
            harness.wait_until(lambda n=attempt + 1: term.screen().count("Password for alice:") == n,
                               message=f"question {attempt + 1}")
            term.type(f"guess{attempt}")
            term.press("Enter")
        self.assertEqual(term.exit_status(), 3)
        term.wait_for(r"Wrong password for alice, 3 times: giving up\.")
        self.assertEqual(term.screen().count("Wrong password for alice: try again."), 2)
        self.assertNotIn("guess", term.screen())

    def test_ctrl_d_or_ctrl_c_at_the_password_prompt_exits_three(self):
        for key in ("C-d", "C-c"):
            with self.subTest(key=key):
                term = self.terminal("--name", "alice")
                term.wait_for(r"^Password for alice:$")
                term.press(key)
                self.assertEqual(term.exit_status(), 3)
                term.wait_for(r"Not logged in: alice is a protected name\.")

    def test_reconnect_logs_in_again_with_the_typed_password(self):
        term = self.terminal("--name", "alice", "--reconnect")
        term.wait_for(r"^Password for alice:$")
        term.type(PASSWORD)
        term.press("Enter")
        term.wait_for(rf"^{STAMP} \[server\] Logged in\. Welcome alice!")
        term.wait_for(r"^alice>$")
        port = self.port
        self.server.stop()
        term.wait_for(r"Reconnecting in \d+\.\d s")
        self.server.__exit__(None, None, None)
        self.server = FixedPortServer(port, "--accounts", self.accounts)
        term.wait_for(r"Reconnected as alice\.")
        self.assertEqual(term.screen().count("Password for alice:"), 1, term.screen())
        self.assertEqual(term.screen().count("Logged in. Welcome alice!"), 2, term.screen())
        bob = self.peer("bob")
        term.type("@bob back again")
        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "back again")
        self.assertNoPassword(term.screen())

if __name__ == "__main__":
    unittest.main()
