"""A server that goes away: classchat explains and exits, or with --reconnect waits for
it to come back on the same port and registers again."""
import json
import signal
import subprocess
import unittest

import harness
from client_helpers import BackgroundClient, FixedPortServer, Terminal, tmux_available

STAMP = r"\[\d\d:\d\d:\d\d\]"


class ReconnectTest(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server()
        self.port = self.server.port
        self.addCleanup(lambda: self.server.__exit__(None, None, None))

    def restart_server(self):
        """Stops the server and starts a new one on the same port."""
        self.server.stop()
        self.server.__exit__(None, None, None)
        self.server = FixedPortServer(self.port)

    def test_listener_registers_again_when_the_server_comes_back(self):
        listener = BackgroundClient("--port", self.port, "--name", "logger", "--listen",
                                    "--reconnect")
        self.addCleanup(listener.close)
        self.assertTrue(json.loads(listener.next_line())["msg"].startswith("Welcome logger!"))

        self.server.stop()
        self.assertEqual(json.loads(listener.next_line())["msg"], "Server shutting down")
        listener.wait_for_stderr(r"The server closed the connection\. Reconnecting in \d+\.\d s")
        self.server.__exit__(None, None, None)
        self.server = FixedPortServer(self.port)

        self.assertTrue(json.loads(listener.next_line())["msg"].startswith("Welcome logger!"))
        listener.wait_for_stderr(r"Reconnected as logger\.")
        bob = harness.register(self.port, "bob")
        self.addCleanup(bob.close)
        bob.send("logger", "after the restart")
        self.assertEqual(json.loads(listener.next_line())["msg"], "after the restart")
        listener.proc.send_signal(signal.SIGTERM)
        self.assertEqual(listener.wait(), 0)

    def test_reconnect_keeps_trying_while_the_server_is_down(self):
        listener = BackgroundClient("--port", self.port, "--name", "logger", "--listen",
                                    "--reconnect")
        self.addCleanup(listener.close)
        listener.next_line()
        self.server.stop()
        self.assertEqual(json.loads(listener.next_line())["msg"], "Server shutting down")
        # Several refused attempts, each explained, with growing delays.
        listener.wait_for_stderr(r"(Cannot connect to 127\.0\.0\.1:\d+: Connection refused\. "
                                 r"Reconnecting in \d+\.\d s\.\.\.\n.*){2}",
                                 timeout=3 * harness.TIMEOUT)
        self.assertIsNone(listener.proc.poll())
        self.server.__exit__(None, None, None)
        self.server = FixedPortServer(self.port)
        self.assertIn("Welcome logger!", listener.next_line(timeout=3 * harness.TIMEOUT))

    def test_script_without_reconnect_stops_at_a_lost_server(self):
        client = BackgroundClient("--port", self.port, "--name", "bot", stdin=subprocess.PIPE)
        self.addCleanup(client.close)
        self.assertIn("Welcome bot!", client.next_line())
        self.server.stop()
        self.assertIn("[server] Server shutting down", client.next_line())
        self.assertEqual(client.wait(), 4)
        self.assertEqual(client.stderr(), "classchat: The server closed the connection.\n")

    @unittest.skipUnless(tmux_available(), "tmux is not installed")
    def test_interactive_reconnect_keeps_the_half_typed_line(self):
        term = Terminal(["--host", "127.0.0.1", "--port", self.port, "--name", "alice",
                         "--reconnect"])
        self.addCleanup(term.close)
        term.wait_for(rf"^{STAMP} \[server\] Welcome alice!")
        term.type("@bob still here")
        term.wait_for(r"^alice> @bob still here$")

        self.server.stop()
        term.wait_for(rf"{STAMP} -!- The server closed the connection\. Reconnecting in")
        self.server.__exit__(None, None, None)
        self.server = FixedPortServer(self.port)
        bob = harness.register(self.port, "bob")
        self.addCleanup(bob.close)
        term.wait_for(rf"{STAMP} -!- Reconnected as alice\.\nalice> @bob still here$",
                      timeout=3 * harness.TIMEOUT)

        term.press("Enter")
        self.assertEqual(bob.recv_msg(), "still here")
        term.type("/quit")
        term.press("Enter")
        self.assertEqual(term.exit_status(), 0)


if __name__ == "__main__":
    unittest.main()
