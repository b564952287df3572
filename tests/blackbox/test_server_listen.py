"""Contract point 1: classchatd listens on TCP, on IPv4 and IPv6 addresses.

Each test starts a real classchatd on an ephemeral port and talks to it over sockets.
"""
import socket
import subprocess
import time
import unittest

import harness
from harness import frame_bytes


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class ListenTest(harness.ServerTestCase):
    def test_ipv4_loopback_accepts_and_reports_dotted_quad(self):
        server = self.start_server()
        alice = self.register(server, "alice")
        bob = self.register(server, "bob")
        alice.send("bob", "hello over IPv4")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "hello over IPv4"))

    def test_defaults_are_every_ipv4_address_and_port_65432(self):
        out = subprocess.run([harness.SERVER_BINARY, "--help"], capture_output=True, text=True,
                             timeout=harness.TIMEOUT, check=True).stdout
        self.assertRegex(out, r"--host\s+TEXT=0\.0\.0\.0\b")
        self.assertRegex(out, r"--port\s+UINT=65432\b")

    def test_wildcard_ipv4_host_accepts_loopback_clients(self):
        server = self.start_server(host="0.0.0.0")
        self.assertRegex(server.log(), r"listening on 0\.0\.0\.0:\d+")
        alice = self.register(server, "alice", host="127.0.0.1")
        bob = self.register(server, "bob", host="127.0.0.1")
        alice.send("bob", "hi")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "hi"))

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback on this machine")
    def test_ipv6_host_accepts_ipv6_clients_and_reports_their_ipv6_address(self):
        server = self.start_server(host="::1")
        alice = self.register(server, "alice", host="::1")
        bob = self.register(server, "bob", host="::1")
        alice.send("bob", "hello over IPv6")
        self.assertNextFrame(bob, frame_bytes("alice", "::1", "bob", "hello over IPv6"))
        self.assertEqual(self.request(bob, "/list"), "Online users (1): alice")

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback on this machine")
    def test_dual_stack_wildcard_accepts_ipv4_as_dotted_quad(self):
        server = self.start_server(host="::")
        v4 = self.register(server, "v4", host="127.0.0.1", family=socket.AF_INET)
        v6 = self.register(server, "v6", host="::1", family=socket.AF_INET6)
        v4.send("v6", "from IPv4")
        self.assertNextFrame(v6, frame_bytes("v4", "127.0.0.1", "v6", "from IPv4"))
        v6.send("v4", "from IPv6")
        self.assertNextFrame(v4, frame_bytes("v6", "::1", "v4", "from IPv6"))


class SharedPortTest(harness.ServerTestCase):
    """SO_REUSEPORT lets every loop listen on the port; it must not let a second server
    silently take half of the class (issue #11)."""

    def second_server(self, port, *args):
        return subprocess.Popen([harness.SERVER_BINARY, "--host", "127.0.0.1", "--port", str(port),
                                 "--threads", "1", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def test_second_server_on_a_served_port_refuses_to_start(self):
        first = self.start_server()
        second = self.second_server(first.port)
        try:
            _, err = second.communicate(timeout=harness.TIMEOUT)
        finally:
            if second.poll() is None:
                second.kill()
                second.wait()
        self.assertNotEqual(second.returncode, 0, err)
        self.assertIn("Address already in use", err)
        self.assertIn("Another server is already listening on this port", err)
        self.assertIn("--reuse-port", err)
        # The first one still has the whole class.
        alice = self.register(first, "alice")
        self.assertEqual(self.request(alice, "/list"), "You are the only active user!")

    def test_a_port_left_in_time_wait_does_not_block_a_restart(self):
        first = self.start_server()
        alice = self.register(first, "alice")
        port = first.port
        self.assertEqual(first.stop(), 0)  # the server closes first: TIME_WAIT on its side
        alice.close()
        second = self.second_server(port)
        try:
            deadline = time.monotonic() + harness.TIMEOUT
            line = ""
            while "listening on" not in line and time.monotonic() < deadline:
                line = second.stderr.readline()
                if not line and second.poll() is not None:
                    break
            self.assertIn("listening on", line)
        finally:
            second.terminate()
            second.wait(harness.TIMEOUT)

    def test_two_servers_share_a_port_with_reuse_port(self):
        first = self.start_server("--reuse-port")
        second = self.second_server(first.port, "--reuse-port")
        try:
            line = second.stderr.readline()
            while line and "listening on" not in line:
                line = second.stderr.readline()
            self.assertIn(f"listening on 127.0.0.1:{first.port}", line)
            self.assertIsNone(second.poll())
        finally:
            second.terminate()
            self.assertEqual(second.wait(harness.TIMEOUT), 0)


if __name__ == "__main__":
    unittest.main()
