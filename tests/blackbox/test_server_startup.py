"""Start-up, signals and logs: usage errors exit 2, settings that cannot work are refused
before listening, SIGHUP never ends the server, and --log-level debug shows the per-message
line that the README promises."""
import re
import signal
import subprocess
import unittest

from harness import SERVER_BINARY, TIMEOUT, ServerTestCase


def run_server(*args):
    """Runs classchatd with `args` (no port of its own: it must refuse before binding)."""
    return subprocess.run([SERVER_BINARY, "--port", "0", *args], capture_output=True, text=True,
                          timeout=TIMEOUT)


class UsageTest(unittest.TestCase):
    def assertUsageError(self, args, expected):
        result = run_server(*args)
        self.assertEqual(result.returncode, 2, f"{args}: {result.stderr}")
        self.assertRegex(result.stderr, expected)
        self.assertNotIn("listening on", result.stderr)

    def test_unknown_flag_exits_2(self):
        # CLI11's own code for this is 109; --help documents 2.
        self.assertUsageError(["--bogus"], r"--bogus")

    def test_help_exits_0_and_documents_the_exit_statuses(self):
        result = run_server("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("2 on a usage error", result.stdout)
        self.assertIn("SIGHUP", result.stdout)

    def test_output_limit_smaller_than_one_message_frame_is_refused(self):
        self.assertUsageError(["--max-message-bytes", "2000000", "--max-output-bytes", "1048576"],
                              r"--max-output-bytes 1048576 is smaller than the largest frame")
        # 65,536 bytes of message need 65,536 plus the envelope (about 150 bytes).
        self.assertUsageError(["--max-message-bytes", "65536", "--max-output-bytes", "65536"],
                              r"slow consumer")

    def test_durations_and_rates_that_cannot_be_converted_are_refused(self):
        for flag, value in [("--handshake-timeout", "1e300"), ("--idle-timeout", "inf"),
                            ("--shutdown-grace", "nan"), ("--idle-timeout", "1e10"),
                            ("--rate-limit", "inf"), ("--shout-rate", "nan"),
                            ("--rate-burst", "0.5")]:
            with self.subTest(flag=flag, value=value):
                self.assertUsageError([flag, value], re.escape(flag) + r": Value \S+ is not a number")

    def test_name_wait_longer_than_handshake_timeout_is_refused(self):
        self.assertUsageError(["--handshake-timeout", "0.05", "--name-wait-ms", "100"],
                              r"--name-wait-ms 100 is not shorter than --handshake-timeout")


class SignalTest(ServerTestCase):
    def test_sighup_is_logged_and_the_server_keeps_serving(self):
        server = self.start_server()
        alice = self.register(server, "alice")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log(r"received SIGHUP: reloading")
        self.assertTrue(server.alive())
        # The old connection and a new one both still work.
        bob = self.register(server, "bob")
        bob.send("alice", "still here?")
        self.assertEqual(alice.recv_msg(), "still here?")
        self.assertEqual(self.request(alice, "/list", ""), "Online users (1): bob")
        # A second SIGHUP as well; then SIGTERM still ends it cleanly (exit 0, checked by
        # the cleanup).
        server.proc.send_signal(signal.SIGHUP)
        self.wait_for_log_count(server, r"received SIGHUP", 2)
        self.assertTrue(server.alive())


class LogLevelTest(ServerTestCase):
    def test_debug_logs_one_line_per_message(self):
        server = self.start_server("--log-level", "debug")
        alice = self.register(server, "alice")
        bob = self.register(server, "bob")
        alice.send("bob", "hello")
        self.assertEqual(bob.recv_msg(), "hello")
        alice.send("/time", "")
        self.recv_reply(alice)
        server.wait_for_log(r"debug \[t\d+\] conn \d+ alice -> bob\n")
        server.wait_for_log(r"debug \[t\d+\] conn \d+ alice -> /time\n")

    def test_info_does_not_log_messages(self):
        server = self.start_server()
        alice = self.register(server, "alice")
        self.request(alice, "/time", "")
        server.wait_for_log(r"registered as alice")
        self.assertNotRegex(server.log(), r"alice -> /time")


if __name__ == "__main__":
    unittest.main()
