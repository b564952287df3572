"""The HTTP port: /healthz, /metrics after a known exchange of messages, and a strict,
bounded request reader (bad requests, oversized heads, slowloris) that never disturbs the
chat.

Each test starts a real classchatd with --http-port 0 and talks HTTP over raw sockets, so
every byte on the wire is what the test chose.
"""
import re
import socket
import subprocess
import time
import unittest

import harness
from harness import frame_bytes


def http_exchange(port, request, timeout=harness.TIMEOUT):
    """Sends raw request bytes, returns everything the server sent until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def parse_response(data):
    """(status, headers dict with lower-case names, body) of the first response in data."""
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return status, headers, rest[:length]


def get(port, path, extra=b""):
    return parse_response(http_exchange(
        port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" +
        extra + b"\r\n"))


def metric(text, series):
    match = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
    if match is None:
        raise AssertionError(f"{series} not in /metrics:\n{text}")
    return float(match.group(1))


class HttpTest(harness.ServerTestCase):
    def test_healthz_is_ok_while_serving(self):
        server = self.start_server()
        status, headers, body = get(server.http_port(), "/healthz")
        self.assertEqual((status, body), (200, b"ok\n"))
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")

    def test_metrics_count_a_known_exchange(self):
        server = self.start_server("--shout-rate", "1", "--shout-burst", "1")
        port = server.http_port()
        alice = self.register(server, "alice")
        bob = self.register(server, "bob")
        alice.send("bob", "hi bob")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "hi bob"))
        bob.send("alice", "hi alice")
        self.assertNextFrame(alice, frame_bytes("bob", "127.0.0.1", "alice", "hi alice"))
        self.request(alice, "/time")
        self.request(alice, "/shout", "one")  # bob gets it; alice gets "sent to 1 users"
        self.assertEqual(bob.recv_msg(), "one")
        self.request(alice, "/shout", "two")  # over the shout rate: dropped
        taken = self.connect(server, b"Alice")
        taken.expect_closed()
        alice.send("nobody", "x")  # a direct message to nobody still counts as received
        alice.recv_msg()

        status, headers, body = get(port, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        text = body.decode()
        for line in text.splitlines():
            self.assertTrue(line.startswith(("# HELP classchat_", "# TYPE classchat_",
                                             "classchat_")), line)
        self.assertEqual(metric(text, 'classchat_connections{transport="tcp"}'), 2)
        self.assertEqual(metric(text, "classchat_registered_users"), 2)
        self.assertEqual(metric(text, 'classchat_messages_total{kind="direct"}'), 3)
        self.assertEqual(metric(text, 'classchat_messages_total{kind="shout"}'), 2)
        self.assertEqual(metric(text, 'classchat_messages_total{kind="command"}'), 1)
        self.assertEqual(metric(text, "classchat_deliveries_total"), 3)  # 2 DMs + 1 shout
        self.assertEqual(metric(text, "classchat_rate_limited_total"), 1)
        self.assertEqual(metric(text, 'classchat_refusals_total{reason="name_taken"}'), 1)
        self.assertEqual(metric(text, 'classchat_disconnects_total{reason="refused"}'), 1)
        self.assertGreater(metric(text, "classchat_bytes_received_total"), 100)
        self.assertGreater(metric(text, "classchat_bytes_sent_total"), 300)
        self.assertEqual(metric(text, 'classchat_loop_queue_depth{loop="0"}'), 0)

        bob.close()
        harness.wait_until(lambda: metric(get(port, "/metrics")[2].decode(),
                                          'classchat_disconnects_total{reason="client"}') == 1)
        text = get(port, "/metrics")[2].decode()
        self.assertEqual(metric(text, "classchat_registered_users"), 1)

    def test_keep_alive_serves_several_requests_on_one_connection_including_pipelined(self):
        server = self.start_server()
        with socket.create_connection(("127.0.0.1", server.http_port()),
                                      timeout=harness.TIMEOUT) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            first = s.recv(4096)
            self.assertEqual(parse_response(first)[0], 200)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nHEAD /metrics HTTP/1.1\r\n"
                      b"Host: t\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2)
        head_response = data[data.rindex(b"HTTP/1.1 200"):]
        self.assertTrue(head_response.endswith(b"\r\n\r\n"), "HEAD must have no body")
        self.assertIn(b"Connection: close", head_response)

    def test_unknown_paths_methods_and_versions_get_clear_4xx_and_5xx(self):
        server = self.start_server()
        port = server.http_port()
        self.assertEqual(get(port, "/nope")[0], 404)
        cases = [
            (b"POST /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 405),
            (b"hello\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\n\r\n", 400),  # no Host
            (b"GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n", 505),
            (b"GET /healthz HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n", 400),
            (b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody", 413),
            (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: t\r\n\r\n", 414),
            (b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
            (b"\x00\xff\x16\x03\x01garbage\r\n\r\n", 400),
        ]
        for request, expected in cases:
            with self.subTest(request=request[:40]):
                data = http_exchange(port, request)
                status, headers, body = parse_response(data)
                self.assertEqual(status, expected, data[:300])
                self.assertEqual(headers["connection"], "close")
                self.assertTrue(body.endswith(b"\n") and len(body) > 3)
        self.assertEqual(get(port, "/healthz")[0], 200)
        self.assertTrue(server.alive())

    def test_slowloris_gets_408_and_the_chat_is_unaffected(self):
        server = self.start_server("--http-request-timeout", "0.5")
        port = server.http_port()
        slow = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        idle = socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT)
        started = time.monotonic()
        try:
            data = b""
            for byte in b"GET /healthz HTTP/1.1\r\nHost: t\r\n":
                try:
                    slow.send(bytes([byte]))
                except OSError:
                    break
                chunk = b""
                slow.settimeout(0.1)
                try:
                    chunk = slow.recv(4096)
                except socket.timeout:
                    pass
                data += chunk
                if data:
                    break
            slow.settimeout(harness.TIMEOUT)
            while not data.endswith(b"\n"):
                chunk = slow.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertEqual(parse_response(data)[0], 408, data)
            self.assertLess(time.monotonic() - started, 0.5 + harness.TIMEOUT / 2)
            self.assertEqual(parse_response(idle.recv(4096))[0], 408)
        finally:
            slow.close()
            idle.close()
        alice = self.register(server, "alice")
        bob = self.register(server, "bob")
        alice.send("bob", "still here")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "still here"))

    def test_healthz_is_503_while_shutting_down(self):
        # One loop, so the listener that answers is the one still draining. A reader that
        # never reads keeps the server in its shutdown grace.
        server = self.start_server("--shutdown-grace", "5", "--max-output-bytes", 64 << 20,
                                   threads=1)
        port = server.http_port()
        stuck = harness.connect_raw(server.port, rcvbuf=4096)
        stuck.sendall(b"stuck")
        sender = self.register(server, "sender")
        for _ in range(200):  # 6 MB: more than the kernel's send buffer holds
            sender.send("stuck", "x" * 30000)
        time.sleep(0.3)
        server.proc.send_signal(2)  # SIGINT
        server.wait_for_log("shutting down")
        status, _, body = get(port, "/healthz")
        self.assertEqual((status, body), (503, b"shutting down\n"))
        stuck.close()
        self.assertEqual(server.proc.wait(timeout=harness.TIMEOUT), 0)

    def test_a_served_http_port_refuses_a_second_server(self):
        server = self.start_server()
        result = subprocess.run([harness.SERVER_BINARY, "--host", "127.0.0.1", "--port", "0",
                                 "--http-port", str(server.http_port())],
                                capture_output=True, text=True, timeout=harness.TIMEOUT)
        self.assertEqual(result.returncode, 1)
        self.assertIn("Address already in use. Another server is already listening on this "
                      "port: stop it, or choose another --http-port (or --no-http)", result.stderr)
        self.assertEqual(get(server.http_port(), "/healthz")[0], 200)

    def test_no_http_serves_no_http_port(self):
        server = self.start_server("--no-http")
        self.assertNotIn("HTTP on", server.log())
        self.register(server, "alice")


if __name__ == "__main__":
    unittest.main()
