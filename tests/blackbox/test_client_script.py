"""classchat without a terminal: --send, scripts on stdin, --listen, exit statuses."""
import json
import os
import signal
import socket
import subprocess
import unittest

import harness
from client_helpers import CLIENT_BINARY, BackgroundClient, client_env, free_port, run_client

TIMEOUT = harness.TIMEOUT


class SendTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server()
        self.addCleanup(self.server.__exit__, None, None, None)
        self.port = self.server.port

    def test_send_delivers_one_message_and_exits_zero(self):
        bob = harness.register(self.port, "bob")
        self.addCleanup(bob.close)
        result = run_client("--port", self.port, "--name", "bot", "--send", "bob", "hello there")
        self.assertEqual(result.returncode, 0, result.stderr)
        frame = bob.recv()
        self.assertEqual(frame["from"]["name"], "bot")
        self.assertEqual(frame["from"]["ip"], "127.0.0.1")
        self.assertEqual(frame["msg"], "hello there")
        self.assertEqual(result.stdout, b"")  # nothing to report on success

    def test_send_to_unknown_user_exits_one_with_the_server_sentence(self):
        result = run_client("--port", self.port, "--name", "bot", "--send", "nobody", "hi")
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"Error: user 'nobody' not found", result.stderr)

    def test_send_a_command_prints_its_reply(self):
        result = run_client("--port", self.port, "--name", "bot", "--send", "/time", "")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.decode(), r"^Server time: \d\d:\d\d:\d\d\n$")

    def test_refused_name_exits_three(self):
        bob = harness.register(self.port, "bob")
        self.addCleanup(bob.close)
        result = run_client("--port", self.port, "--name", "BOB", "--send", "carol", "hi")
        self.assertEqual(result.returncode, 3)
        self.assertIn(b"refused the name BOB: username 'BOB' is already taken", result.stderr)
        self.assertEqual(result.stderr.count(b"\n"), 1, result.stderr)  # one sentence

    def test_reserved_name_exits_three(self):
        result = run_client("--port", self.port, "--name", "SERVER", stdin_text="/time\n")
        self.assertEqual(result.returncode, 3)
        self.assertIn(b"reserved", result.stderr)

    def test_no_server_exits_four_with_one_sentence(self):
        result = run_client("--port", free_port(), "--name", "bot", "--send", "bob", "hi")
        self.assertEqual(result.returncode, 4)
        self.assertRegex(result.stderr.decode(),
                         r"^classchat: Cannot connect to 127\.0\.0\.1:\d+: Connection refused"
                         r" \(is classchatd running there\?\)\.\n$")

    def test_unknown_host_exits_four(self):
        result = run_client("--host", "no-such-host.invalid", "--port", 1, "--name", "bot",
                            "--send", "bob", "hi")
        self.assertEqual(result.returncode, 4)
        self.assertIn(b"Cannot find the server 'no-such-host.invalid'", result.stderr)


class Ipv6Test(unittest.TestCase):
    def test_send_over_ipv6_reports_the_ipv6_address(self):
        with harness.Server(host="::1") as server:
            bob = harness.register(server.port, "bob", host="::1", family=socket.AF_INET6)
            self.addCleanup(bob.close)
            result = run_client("--host", "::1", "--port", server.port, "--name", "bot",
                                "--send", "bob", "over six")
            self.assertEqual(result.returncode, 0, result.stderr)
            dm = bob.recv()
            self.assertEqual((dm["from"]["ip"], dm["msg"]), ("::1", "over six"))


class ScriptTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server()
        self.addCleanup(self.server.__exit__, None, None, None)
        self.port = self.server.port
        self.bob = harness.register(self.port, "bob")
        self.addCleanup(self.bob.close)

    def script(self, text, name="bot"):
        return run_client("--port", self.port, "--name", name, stdin_text=text)

    def test_each_line_is_handled_as_if_typed(self):
        result = self.script("@bob hi bob\n/shout hello all\n/list\n/time\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout.decode()
        self.assertRegex(out, r"\[\d\d:\d\d:\d\d\] \[server\] Welcome bot! Online now \(1\): bob\.")
        self.assertIn("[server] Message sent to 1 users", out)
        self.assertIn("[server] Online users (1): bob", out)
        self.assertRegex(out, r"\[server\] Server time: \d\d:\d\d:\d\d")
        self.assertNotIn("\033", out)  # stdout is a pipe: no colour
        dm = self.bob.recv()
        self.assertEqual((dm["from"]["name"], dm["to"], dm["msg"]), ("bot", "bob", "hi bob"))
        shout = self.bob.recv()
        self.assertEqual((shout["to"], shout["msg"]), ("Everyone", "hello all"))

    def test_exits_only_after_every_reply_arrived(self):
        count = 200
        result = self.script("/time\n" * count + "/list\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(sum("[server] Server time:" in line for line in lines), count)
        self.assertIn("[server] Online users (1): bob", lines[-1])

    def test_last_line_without_newline_counts(self):
        result = self.script("@bob no newline at the end")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.bob.recv_msg(), "no newline at the end")

    def test_an_error_reply_makes_the_exit_status_one(self):
        result = self.script("@nobody hi\n@bob still delivered\n")
        self.assertEqual(result.returncode, 1)
        self.assertIn("[server] Error: user 'nobody' not found", result.stdout.decode())
        self.assertEqual(self.bob.recv_msg(), "still delivered")

    def test_plain_line_without_conversation_is_a_hint_and_status_two(self):
        result = self.script("hello?\n@bob after the hint\n")
        self.assertEqual(result.returncode, 2)
        self.assertRegex(result.stderr.decode(), r"^classchat: line 1: Not sent: .*@name.*\n$")
        self.assertEqual(self.bob.recv_msg(), "after the hint")

    def test_conversation_sends_plain_lines(self):
        result = self.script("/to bob\nfirst line\n//slash line\n/to\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(self.bob.recv_msg(), "first line")
        self.assertEqual(self.bob.recv_msg(), "/slash line")

    def test_quit_stops_reading_the_script(self):
        result = self.script("/time\n/quit\n@bob never sent\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Server time:", result.stdout.decode())
        with self.assertRaises(TimeoutError):
            self.bob.recv_line(timeout=0.5)

    def test_unknown_commands_reach_the_server(self):
        result = self.script("/dance now\n")
        self.assertEqual(result.returncode, 1)
        self.assertIn("Error: unknown command '/dance' (see /help)", result.stdout.decode())

    def test_received_messages_are_printed(self):
        listener = BackgroundClient("--port", self.port, "--name", "carol",
                                    stdin=subprocess.PIPE)
        self.addCleanup(listener.close)
        self.assertIn("Welcome carol!", listener.next_line())
        self.bob.send("carol", "ping \x1b[31m")
        self.assertRegex(listener.next_line(), r"^\[\d\d:\d\d:\d\d\] bob: ping \^\[\[31m$")
        listener.proc.stdin.close()  # end of input: carol leaves
        self.assertEqual(listener.wait(), 0)

    def test_name_is_required_without_a_terminal(self):
        result = run_client("--port", self.port, stdin_text="/time\n")
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"--name is required", result.stderr)


class ListenTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server()
        self.addCleanup(self.server.__exit__, None, None, None)
        self.port = self.server.port

    def test_every_received_message_is_one_json_line(self):
        listener = BackgroundClient("--port", self.port, "--name", "logger", "--listen")
        self.addCleanup(listener.close)
        welcome = json.loads(listener.next_line())
        self.assertEqual(welcome["from"], {"name": "SERVER", "ip": "0.0.0.0"})
        self.assertTrue(welcome["msg"].startswith("Welcome logger!"))

        bob = harness.register(self.port, "bob")
        self.addCleanup(bob.close)
        bob.send("logger", 'multi\nline "quoted" \u00e9\U0001F355')
        bob.send("/shout", "to all")
        dm = json.loads(listener.next_line())
        self.assertEqual(dm, {"from": {"name": "bob", "ip": "127.0.0.1"}, "to": "logger",
                              "msg": 'multi\nline "quoted" \u00e9\U0001F355'})
        shout = json.loads(listener.next_line())
        self.assertEqual((shout["to"], shout["msg"]), ("Everyone", "to all"))

        listener.proc.send_signal(signal.SIGTERM)
        self.assertEqual(listener.wait(), 0)

    def test_listener_stops_when_its_reader_goes_away(self):
        # Like `classchat --listen | head -n 1`.
        read_end, write_end = os.pipe()
        listener = subprocess.Popen([CLIENT_BINARY, "--port", str(self.port), "--name",
                                     "logger", "--listen"], stdin=subprocess.DEVNULL,
                                    stdout=write_end, env=client_env())
        self.addCleanup(lambda: listener.poll() is None and listener.kill())
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            self.assertIn(b"Welcome logger!", reader.readline())
        bob = harness.register(self.port, "bob")
        self.addCleanup(bob.close)
        bob.send("logger", "nobody reads this")
        self.assertEqual(listener.wait(timeout=TIMEOUT), 0)

    def test_listener_explains_a_server_that_goes_away_and_exits_four(self):
        listener = BackgroundClient("--port", self.port, "--name", "logger", "--listen")
        self.addCleanup(listener.close)
        json.loads(listener.next_line())
        self.server.stop()
        self.assertEqual(json.loads(listener.next_line())["msg"], "Server shutting down")
        self.assertEqual(listener.wait(), 4)
        self.assertEqual(listener.stderr(), "classchat: The server closed the connection.\n")


class HelpTest(unittest.TestCase):
    def test_help_documents_options_input_syntax_and_exit_statuses(self):
        result = run_client("--help")
        self.assertEqual(result.returncode, 0)
        text = result.stdout.decode()
        for needle in ["--host", "--port", "--name", "--no-color", "--reconnect", "--send",
                       "--listen", "--wait", "@NAME TEXT", "/to NAME", "/shout TEXT", "/list",
                       "/time", "/help", "/standard", "/quit", "//TEXT", "NO_COLOR", "Tab",
                       "Exit status", "half-closes"]:
            self.assertIn(needle, text)

    def test_bad_command_line_exits_two(self):
        self.assertEqual(run_client("--port", "0").returncode, 2)
        self.assertEqual(run_client("--send", "only-one").returncode, 2)


if __name__ == "__main__":
    unittest.main()
