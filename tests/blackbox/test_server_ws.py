"""WebSocket on /ws (RFC 6455): the handshake and its refusals, framing (fragments, masks,
control frames, binary, limits), close codes, and the same chat as over TCP: a WebSocket
user and a TCP user message each other, shout, and meet the same rate limits.

The client is ws_client.WsClient, on a raw socket, so every frame is what the test chose.
"""
import json
import socket
import struct
import time
import unittest

import harness
from harness import frame_bytes
from test_server_http import get, http_exchange, metric, parse_response
from ws_client import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, Closed,
                       WsClient, accept_for, upgrade_request)


class WebSocketTest(harness.ServerTestCase):
    def ws(self, server, name=None, **kw):
        """A WsClient; registered (welcome read) when `name` is given."""
        client = WsClient(server.http_port(), **kw)
        self.addCleanup(client.close)
        if name is not None:
            client.send_text(name)
            welcome = json.loads(client.recv_text())
            self.assertEqual(welcome["from"], {"name": "SERVER", "ip": "0.0.0.0"})
            self.assertTrue(welcome["msg"].startswith(f"Welcome {name}!"), welcome)
        return client

    # --- the handshake ---------------------------------------------------------------------

    def test_handshake_answers_101_with_the_rfc_accept_value(self):
        server = self.start_server()
        # RFC 6455 section 1.3's example key and answer.
        self.assertEqual(accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        request, _ = upgrade_request(key="dGhlIHNhbXBsZSBub25jZQ==")
        with socket.create_connection(("127.0.0.1", server.http_port()), timeout=5) as s:
            s.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), head)
        self.assertIn(b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", head)
        self.assertIn(b"\r\nUpgrade: websocket\r\n", head)
        self.assertNotIn(b"Content-Length", head)

    def test_bad_handshakes_get_a_4xx_and_are_closed(self):
        server = self.start_server()
        port = server.http_port()
        cases = [
            (upgrade_request(version="8")[0], 426),
            (upgrade_request(version=None)[0], 426),
            (upgrade_request(key="too-short")[0], 400),
            (b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
             400),  # no Upgrade: websocket
            (upgrade_request()[0].replace(b"Connection: Upgrade", b"Connection: keep-alive"), 400),
            (upgrade_request()[0].replace(b"HTTP/1.1", b"HTTP/1.0"), 400),
            (upgrade_request()[0].replace(b"GET ", b"POST "), 405),
            (upgrade_request(origin="http://evil.example")[0], 403),
            (upgrade_request(origin="null")[0], 403),
        ]
        for request, status in cases:
            with self.subTest(request=request[:60], status=status):
                got, headers, _ = parse_response(http_exchange(port, request))
                self.assertEqual(got, status)
                if status == 426:
                    self.assertEqual(headers["sec-websocket-version"], "13")
        # The chat is unaffected.
        self.ws(server, "alice")

    def test_origin_default_is_the_servers_own_page(self):
        server = self.start_server()
        port = server.http_port()
        # The page served by this port may connect; so may a program with no Origin.
        self.ws(server, "alice", origin=f"http://127.0.0.1:{port}")
        self.ws(server, "bob")
        # The same host on another port is another site.
        status, _, body = parse_response(http_exchange(
            port, upgrade_request(host=f"127.0.0.1:{port}",
                                  origin=f"http://127.0.0.1:{port + 1}")[0]))
        self.assertEqual(status, 403, body)

    def test_allowed_origins_list_replaces_the_default(self):
        server = self.start_server("--http-allowed-origins",
                                   "https://chat.example.org, http://localhost:3000")
        port = server.http_port()
        self.ws(server, "alice", origin="https://chat.example.org")
        self.ws(server, "bob", origin="http://LOCALHOST:3000")
        status, _, _ = parse_response(http_exchange(
            port, upgrade_request(host=f"127.0.0.1:{port}", origin=f"http://127.0.0.1:{port}")[0]))
        self.assertEqual(status, 403)

    def test_frames_sent_with_the_upgrade_request_are_read(self):
        server = self.start_server()
        from ws_client import build_frame
        client = WsClient(server.http_port(), early=build_frame(OP_TEXT, "alice"))
        self.addCleanup(client.close)
        self.assertTrue(client.recv_msg().startswith("Welcome alice!"))

    # --- chat across transports ------------------------------------------------------------

    def test_websocket_and_tcp_users_message_each_other_and_shout(self):
        server = self.start_server()
        tcp = self.register(server, "tom")
        web = self.ws(server, "wendy")
        # Each text frame carries exactly the frame a TCP client gets, newline included.
        web.send("tom", "hi tom <b>")
        self.assertEqual(tcp.recv_line() + b"\n",
                         frame_bytes("wendy", "127.0.0.1", "tom", "hi tom <b>"))
        tcp.send("wendy", "hi wendy ✓")
        self.assertEqual(web.recv_text().encode(),
                         frame_bytes("tom", "127.0.0.1", "wendy", "hi wendy ✓"))
        web.send("/shout", "hello all")
        self.assertEqual(tcp.recv(), {"from": {"name": "wendy", "ip": "127.0.0.1"},
                                      "to": "Everyone", "msg": "hello all"})
        self.assertIn("sent to 1", web.recv_msg())
        tcp.send("/shout", "back at you")
        self.assertEqual(web.recv()["msg"], "back at you")
        self.assertIn("sent to 1", tcp.recv_msg())
        web.send("/list")
        listing = web.recv_msg()
        self.assertIn("tom", listing)
        # The first frame may also be a JSON object whose from.name is the name.
        json_first = self.ws(server)
        json_first.send_text(json.dumps({"from": {"name": "jay"}, "to": "tom", "msg": "yo"}))
        self.assertTrue(json_first.recv_msg().startswith("Welcome jay!"))
        self.assertEqual(tcp.recv_msg(), "yo")

    def test_a_name_taken_over_tcp_is_refused_over_websocket_with_1008(self):
        server = self.start_server()
        self.register(server, "alice")
        client = self.ws(server)
        client.send_text("Alice")
        code, reason, texts = client.expect_close()
        self.assertEqual(code, 1008)
        self.assertIn("already taken", json.loads(texts[0])["msg"])
        self.assertIn("already taken", reason)

    def test_rate_limits_apply_as_on_tcp(self):
        server = self.start_server("--rate-limit", "1", "--rate-burst", "2")
        self.register(server, "tom")
        web = self.ws(server, "wendy")
        for i in range(4):
            web.send("tom", f"m{i}")
        self.assertEqual(web.recv_msg(),
                         "Error: rate limit: at most 1 messages per second; message dropped")
        text = get(server.http_port(), "/metrics")[2].decode()
        self.assertGreaterEqual(metric(text, "classchat_rate_limited_total"), 2)

    def test_flooding_is_disconnected_with_1008(self):
        server = self.start_server("--rate-limit", "1", "--rate-burst", "1",
                                   "--flood-disconnect", "3")
        web = self.ws(server, "wendy")
        for i in range(10):
            web.send("nobody", f"m{i}")
        code, _, texts = web.expect_close()
        self.assertEqual(code, 1008)
        self.assertIn("Error: disconnected for flooding", [json.loads(t)["msg"] for t in texts])

    def test_an_unfinished_object_in_a_frame_is_reported_and_not_carried_over(self):
        server = self.start_server()
        tcp = self.register(server, "tom")
        web = self.ws(server, "wendy")
        web.send_text('{"to":"tom","msg":"cut')
        self.assertIn("one whole JSON object", web.recv_msg())
        web.send("tom", "whole")
        self.assertEqual(tcp.recv_msg(), "whole")

    # --- framing ---------------------------------------------------------------------------

    def test_fragmented_masked_message_with_a_ping_between_fragments(self):
        server = self.start_server()
        tcp = self.register(server, "tom")
        web = self.ws(server, "wendy")
        text = json.dumps({"to": "tom", "msg": "in three parts"}).encode()
        web.send_frame(OP_TEXT, text[:5], fin=False)
        web.send_frame(OP_PING, b"are you there")  # control frames may come between fragments
        web.send_frame(OP_CONT, text[5:12], fin=False)
        web.send_frame(OP_CONT, text[12:])
        self.assertEqual(web.recv_frame(), (True, OP_PONG, b"are you there"))
        self.assertEqual(tcp.recv_msg(), "in three parts")

    def test_frames_split_across_reads_are_reassembled(self):
        server = self.start_server()
        tcp = self.register(server, "tom")
        web = self.ws(server, "wendy")
        from ws_client import build_frame
        frame = build_frame(OP_TEXT, json.dumps({"to": "tom", "msg": "x" * 300}))
        for i in range(0, len(frame), 7):
            web.sock.sendall(frame[i:i + 7])
            time.sleep(0.002)
        self.assertEqual(tcp.recv_msg(), "x" * 300)

    def test_unmasked_client_frame_is_a_protocol_error_1002(self):
        server = self.start_server()
        web = self.ws(server, "wendy")
        web.send_frame(OP_TEXT, '{"to":"/time"}', mask=False)
        code, _, _ = web.expect_close()
        self.assertEqual(code, 1002)

    def test_reserved_bits_and_unknown_opcodes_are_protocol_errors(self):
        server = self.start_server()
        for kw in ({"rsv": 4}, {"opcode": 0x3}):
            with self.subTest(**kw):
                web = self.ws(server)
                opcode = kw.pop("opcode", OP_TEXT)
                web.send_frame(opcode, "x", **kw)
                self.assertEqual(web.expect_close()[0], 1002)

    def test_frame_sequence_and_control_frame_errors_are_protocol_errors(self):
        server = self.start_server()
        cases = {
            "continuation with no message": [(OP_CONT, "x", {})],
            "text inside a fragmented text": [(OP_TEXT, "a", {"fin": False}), (OP_TEXT, "b", {})],
            "ping over 125 bytes": [(OP_PING, "p" * 126, {})],
            "fragmented ping": [(OP_PING, "p", {"fin": False})],
            "close code 1005": [(OP_CLOSE, struct.pack("!H", 1005), {})],
            "close of one byte": [(OP_CLOSE, b"\x03", {})],
        }
        for what, frames in cases.items():
            with self.subTest(what):
                web = self.ws(server)
                for opcode, payload, kw in frames:
                    web.send_frame(opcode, payload, **kw)
                self.assertEqual(web.expect_close()[0], 1002)
        web = self.ws(server)
        web.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"\xff")
        self.assertEqual(web.expect_close()[0], 1007)
        # Empty frames are fine: an empty fragment, then the rest.
        tcp = self.register(server, "tom")
        web = self.ws(server, "wendy")
        web.send_frame(OP_TEXT, "", fin=False)
        web.send_frame(OP_CONT, json.dumps({"to": "tom", "msg": "after empty"}))
        web.send_frame(OP_PONG, "")
        self.assertEqual(tcp.recv_msg(), "after empty")

    def test_binary_messages_are_refused_with_1003(self):
        server = self.start_server()
        web = self.ws(server, "wendy")
        web.send_frame(OP_BINARY, b"\x00\x01")
        code, reason, _ = web.expect_close()
        self.assertEqual(code, 1003)
        self.assertIn("binary", reason)

    def test_messages_over_max_message_bytes_are_closed_with_1009(self):
        server = self.start_server("--max-message-bytes", "1000")
        tcp = self.register(server, "tom")
        web = self.ws(server, "wendy")
        at_limit = json.dumps({"to": "tom", "msg": ""})
        at_limit = json.dumps({"to": "tom", "msg": "y" * (1000 - len(at_limit))})
        self.assertEqual(len(at_limit), 1000)
        web.send_text(at_limit)
        self.assertEqual(len(tcp.recv_msg()), 1000 - len(json.dumps({"to": "tom", "msg": ""})))
        web.send_text("z" * 1001)
        self.assertEqual(web.expect_close()[0], 1009)
        # Fragments are counted together.
        web2 = self.ws(server, "walt")
        web2.send_frame(OP_TEXT, "a" * 600, fin=False)
        web2.send_frame(OP_CONT, "a" * 600)
        self.assertEqual(web2.expect_close()[0], 1009)

    def test_invalid_utf8_text_is_closed_with_1007(self):
        server = self.start_server()
        web = self.ws(server, "wendy")
        web.send_frame(OP_TEXT, b'{"to":"/time","msg":"\xff"}')
        self.assertEqual(web.expect_close()[0], 1007)

    def test_a_client_close_is_answered_with_the_same_code(self):
        server = self.start_server()
        web = self.ws(server, "wendy")
        web.send_frame(OP_CLOSE, struct.pack("!H", 1000) + b"bye")
        code, _, _ = web.expect_close()
        self.assertEqual(code, 1000)
        server.wait_for_log(r"\(wendy\) disconnected: websocket closed by the peer \(1000\)")

    def test_server_pings_a_silent_connection_and_closes_it_when_pongs_stop(self):
        server = self.start_server("--ws-ping-interval", "0.2")
        alive = self.ws(server, "alive")
        silent = self.ws(server, "silent")
        silent.answer_pings = False
        code = None
        deadline = time.monotonic() + 5
        # Both are read in turn, so the one that answers pings does so within an interval.
        while code is None and time.monotonic() < deadline:
            for client in (alive, silent):
                try:
                    client.recv_text(timeout=0.02)
                except TimeoutError:
                    pass
                except Closed as closed:
                    self.assertIs(client, silent)
                    code = closed.code
        self.assertEqual(code, 1000)
        self.assertGreaterEqual(silent.pings, 1)
        server.wait_for_log(r"\(silent\) disconnected: websocket: no answer to a ping")
        # The one that answers stays, and is pinged again while silent.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                alive.recv_text(timeout=0.05)
            except TimeoutError:
                pass
        self.assertGreaterEqual(alive.pings, 2)
        alive.send("/time")
        self.assertIn("Server time", alive.recv_msg())

    def test_idle_timeout_applies_and_answered_pings_do_not_count_as_activity(self):
        server = self.start_server("--idle-timeout", "0.6", "--ws-ping-interval", "0.1")
        web = self.ws(server, "wendy")
        started = time.monotonic()
        code, _, texts = web.expect_close()  # answers every ping while it waits
        self.assertEqual(code, 1008)
        self.assertGreaterEqual(web.pings, 2)
        self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.assertEqual(json.loads(texts[-1])["msg"],
                         "Error: idle for more than 0.6 s; disconnecting")

    @harness.single_process("signals the process")
    def test_shutdown_says_goodbye_closes_with_1001_and_does_not_wait_for_the_grace(self):
        server = self.start_server("--shutdown-grace", "8")
        web = self.ws(server, "wendy")
        started = time.monotonic()
        server.proc.send_signal(2)  # SIGINT
        code, _, texts = web.expect_close()
        self.assertEqual(code, 1001)
        self.assertEqual(json.loads(texts[-1])["msg"], "Server shutting down")
        # The client keeps its socket open: the server exits once its goodbye is written,
        # not when a timer happens to wake the loop (the HTTP drain deadline, 2 s).
        server.proc.wait(timeout=harness.TIMEOUT)
        self.assertLess(time.monotonic() - started, 1.5 * harness.TIMEOUT / 10)

    def test_metrics_count_websocket_connections(self):
        server = self.start_server()
        port = server.http_port()
        self.register(server, "tom")
        web = self.ws(server, "wendy")
        self.ws(server, "walt")
        text = get(port, "/metrics")[2].decode()
        self.assertEqual(metric(text, 'classchat_connections{transport="websocket"}'), 2)
        self.assertEqual(metric(text, 'classchat_connections{transport="tcp"}'), 1)
        self.assertEqual(metric(text, "classchat_registered_users"), 3)
        web.send("tom", "hi")
        web.close()
        harness.wait_until(lambda: metric(get(port, "/metrics")[2].decode(),
                                          'classchat_connections{transport="websocket"}') == 1)
        text = get(port, "/metrics")[2].decode()
        self.assertEqual(metric(text, 'classchat_messages_total{kind="direct"}'), 1)
        self.assertEqual(metric(text, "classchat_registered_users"), 2)

    @unittest.skipUnless(harness.MEMORY_CHECKS, "RSS means little under a sanitizer")
    @harness.single_process("reads one process's memory")
    def test_an_idle_websocket_costs_under_2_kib_of_server_memory(self):
        server = self.start_server()
        port = server.http_port()
        clients = []

        def open_clients(prefix, n):
            for i in range(n):
                client = WsClient(port)
                self.addCleanup(client.close)
                client.send_text(f"{prefix}{i}")
                self.assertTrue(client.recv_msg().startswith("Welcome"))
                clients.append(client)

        open_clients("warm", 50)  # the loops' first allocations are not per connection
        rss_before = harness.process_status(server.proc.pid, "VmRSS")
        open_clients("idle", 1000)
        rss_after = harness.process_status(server.proc.pid, "VmRSS")
        per_connection = (rss_after - rss_before) * 1024 / 1000
        # An idle session holds no wslay context (8.8 KiB each when it did).
        self.assertLess(per_connection, 2048, f"{per_connection:.0f} bytes per connection")

    def test_max_connections_counts_websocket_sessions_too(self):
        server = self.start_server("--max-connections", "1")
        self.ws(server, "wendy")
        refused = self.ws(server)
        code, _, texts = refused.expect_close()
        self.assertEqual(code, 1008)
        self.assertIn("the server is full", json.loads(texts[0])["msg"])


if __name__ == "__main__":
    unittest.main()
