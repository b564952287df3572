"""Black-box tests of the TLS port (--tls-cert/--tls-key): the same chat over TLS, clean
failures for plain and untrusting clients, SIGHUP certificate reloads, and bounded
handshakes (the cap on handshakes in progress, the handshake deadline)."""
import json
import os
import re
import shutil
import signal
import socket
import ssl
import time
import unittest
import warnings

from harness import (MEMORY_CHECKS, TIMEOUT, ServerTestCase, connect_raw, frame_bytes,
                     process_status, server_frame_bytes, wait_until)
from tls_helpers import (OPENSSL, CertificatesMixin, TlsLineClient, listening_ports,
                         peer_certificate_serial, wrap)

BENCH_BINARY = os.environ.get("CLASSCHAT_BENCH")

# The start of a TLS 1.2/1.3 ClientHello record (handshake, version, a length longer
# than what follows): the server waits for the rest.
PARTIAL_CLIENT_HELLO = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])


@unittest.skipIf(OPENSSL is None, "the openssl CLI is needed to make test certificates")
class TlsTest(CertificatesMixin, ServerTestCase):
    def start_tls_server(self, *args, cert=None, key=None, **kw):
        server = self.start_server("--tls-cert", cert or self.cert, "--tls-key", key or self.key,
                                   "--tls-port", "0", *args, **kw)
        server.tls_port = int(server.wait_for_log(r"TLS on \S+:(\d+)").group(1))
        return server

    def tls_register(self, server, name, cafile=None):
        client = TlsLineClient(server.tls_port, cafile or self.ca, name)
        self.addCleanup(client.close)
        welcome = client.recv()
        self.assertTrue(welcome["msg"].startswith(f"Welcome {name}!"), welcome)
        return client

    def test_tls_and_plain_clients_chat(self):
        server = self.start_tls_server()
        alice = self.tls_register(server, "alice")
        bob = self.register(server, "bob")
        self.assertEqual(alice.sock.version()[:5], "TLSv1")
        self.assertIn(alice.sock.version(), ("TLSv1.2", "TLSv1.3"))
        # DMs each way: the ip stamped is the peer's address, whatever the transport.
        alice.send("bob", "over TLS")
        self.assertNextFrame(bob, frame_bytes("alice", "127.0.0.1", "bob", "over TLS"))
        bob.send("alice", "in the clear")
        self.assertNextFrame(alice, frame_bytes("bob", "127.0.0.1", "alice", "in the clear"))
        # Shouts reach both transports.
        alice.send("/shout", "hello all")
        self.assertEqual(bob.recv()["msg"], "hello all")
        self.assertIn("sent to 1", alice.recv()["msg"])
        bob.send("/shout", "hi back")
        self.assertEqual(alice.recv()["msg"], "hi back")
        self.assertIn("sent to 1", bob.recv()["msg"])
        # A frame larger than one TLS record (16 KB) arrives whole.
        big = "x" * 40000
        bob.send("alice", big)
        self.assertEqual(alice.recv()["msg"], big)
        alice.send("bob", big)
        self.assertEqual(bob.recv()["msg"], big)
        # Commands work over TLS.
        alice.send("/list")
        self.assertIn("bob", alice.recv()["msg"])

    def test_tls_1_1_is_refused(self):
        server = self.start_tls_server()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.ca)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                context.minimum_version = ssl.TLSVersion.TLSv1
                context.maximum_version = ssl.TLSVersion.TLSv1_1
            # OpenSSL 3 offers TLS 1.1 only at security level 0.
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            self.skipTest("this Python's OpenSSL cannot offer TLS 1.1")
        raw = socket.create_connection(("127.0.0.1", server.tls_port), timeout=TIMEOUT)
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            context.wrap_socket(raw, server_hostname="127.0.0.1").close()
        raw.close()
        server.wait_for_log(r"TLS handshake failed: (unsupported protocol|no protocols available)")
        self.tls_register(server, "after")

    def test_plain_client_on_tls_port_fails_cleanly(self):
        server = self.start_tls_server()
        plain = connect_raw(server.tls_port)
        self.addCleanup(plain.close)
        plain.sendall(b"carol")
        plain.settimeout(TIMEOUT)
        data = b""
        try:
            while True:
                chunk = plain.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        # Like the class's clients, it reads one JSON object: the reason, then the close.
        self.assertEqual(data, server_frame_bytes(
            "", f"Error: this port speaks TLS; connect with TLS, or without it to port "
                f"{server.port}"))
        server.wait_for_log(r"disconnected before registering: TLS handshake failed: the client "
                            r"sent plain text")
        # The server is unharmed: both ports still serve.
        self.tls_register(server, "dave")
        self.register(server, "erin")
        self.assertTrue(server.alive())

    def test_client_with_the_wrong_ca_fails_cleanly(self):
        server = self.start_tls_server()
        with self.assertRaises(ssl.SSLCertVerificationError):
            wrap(server.tls_port, self.other_ca)
        # The hostname is checked too: the certificate names 127.0.0.1 and localhost only.
        with self.assertRaises(ssl.SSLCertVerificationError):
            wrap(server.tls_port, self.ca, server_hostname="example.org")
        server.wait_for_log(r"TLS handshake failed")
        self.tls_register(server, "frank")
        self.assertTrue(server.alive())

    def test_sighup_serves_a_new_certificate_and_keeps_sessions(self):
        # The server reads copies that the test replaces, as certbot would.
        cert = self.certs.path("live.pem")
        key = self.certs.path("live.key")
        shutil.copy(self.cert, cert)
        shutil.copy(self.key, key)
        server = self.start_tls_server(cert=cert, key=key)
        old = self.tls_register(server, "old")
        first_serial = peer_certificate_serial(server.tls_port, self.ca)
        new_cert, new_key = self.certs.server("renewed", "other")
        shutil.copy(new_cert, cert)
        shutil.copy(new_key, key)
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log(r"reload: TLS certificate from")
        # New connections get the new certificate: the old CA no longer verifies it.
        with self.assertRaises(ssl.SSLCertVerificationError):
            wrap(server.tls_port, self.ca)
        self.assertNotEqual(peer_certificate_serial(server.tls_port, self.other_ca), first_serial)
        new = self.tls_register(server, "new", cafile=self.other_ca)
        # The session from before the reload still chats, both ways.
        old.send("new", "still here")
        self.assertNextFrame(new, frame_bytes("old", "127.0.0.1", "new", "still here"))
        new.send("old", "welcome back")
        self.assertNextFrame(old, frame_bytes("new", "127.0.0.1", "old", "welcome back"))
        # A broken file on the next reload keeps the certificate in use.
        with open(key, "w", encoding="ascii") as f:
            f.write("not a key\n")
        server.proc.send_signal(signal.SIGHUP)
        server.wait_for_log(r"reload: keeping the TLS certificate in use")
        self.tls_register(server, "later", cafile=self.other_ca)

    def test_handshake_flood_is_bounded_and_the_server_keeps_serving(self):
        cap = 8
        server = self.start_tls_server("--tls-max-handshakes", cap, threads=1)
        flood = []
        try:
            # Half of them send the start of a ClientHello and stop, half send nothing.
            for i in range(60):
                sock = connect_raw(server.tls_port)
                flood.append(sock)
                if i % 2:
                    sock.sendall(PARTIAL_CLIENT_HELLO)
            server.wait_for_log(r"handshake\(s\) in progress on this loop \(the limit\)")
            # Those beyond the cap were closed at once: they read EOF (or a reset) now.
            closed = 0
            for sock in flood:
                sock.settimeout(0.5 if closed < 60 - cap else 0.05)
                try:
                    if sock.recv(1) == b"":
                        closed += 1
                except ConnectionResetError:
                    closed += 1
                except (socket.timeout, TimeoutError):
                    pass
            self.assertEqual(closed, 60 - cap)
            # The plain port is untouched by the flood.
            self.register(server, "plain")
        finally:
            for sock in flood:
                sock.close()
        # Once the flood has gone, TLS clients are served again.
        wait_until(lambda: _try_tls(server.tls_port, self.ca), message="a TLS handshake")
        self.tls_register(server, "tls")

    def test_slow_handshake_is_closed_by_the_deadline(self):
        server = self.start_tls_server("--tls-handshake-timeout", "0.5",
                                       "--handshake-timeout", "0")
        silent = connect_raw(server.tls_port)
        partial = connect_raw(server.tls_port)
        self.addCleanup(silent.close)
        self.addCleanup(partial.close)
        partial.sendall(PARTIAL_CLIENT_HELLO)
        start = time.monotonic()
        for sock in (silent, partial):
            sock.settimeout(TIMEOUT)
            try:
                self.assertEqual(sock.recv(1), b"")
            except ConnectionResetError:
                pass
        self.assertLess(time.monotonic() - start, TIMEOUT / 2)
        self.wait_for_log_count(server, r"TLS handshake not finished within 500 ms", 2)
        # A completed handshake is not affected by the deadline.
        client = self.tls_register(server, "patient")
        time.sleep(1.0)
        client.send("/time")
        self.assertIn("msg", client.recv())

    def test_no_plain_listens_only_with_tls(self):
        server = self.start_tls_server("--no-plain", "--no-http")
        server.wait_for_log(r"listening on \S+:\d+ \(TLS only\)")
        self.assertEqual(server.port, server.tls_port)
        self.assertEqual(listening_ports(server.proc.pid), {server.tls_port})
        self.tls_register(server, "only")
        # Whereas by default the plain port is there too.
        both = self.start_tls_server("--no-http")
        self.assertEqual(listening_ports(both.proc.pid), {both.port, both.tls_port})

    def test_bad_tls_flags_are_refused(self):
        import subprocess
        from harness import SERVER_BINARY
        for args in (["--tls-cert", self.cert], ["--no-plain"],
                     ["--tls-cert", self.cert, "--tls-key", self.certs.path("other.key")],
                     ["--tls-cert", self.cert, "--tls-key", self.key, "--port", "47999",
                      "--tls-port", "47999"]):
            defaults = [] if "--tls-port" in args else ["--port", "0", "--tls-port", "0"]
            result = subprocess.run([SERVER_BINARY, *defaults, "--no-http", *args],
                                    capture_output=True, text=True, timeout=TIMEOUT)
            self.assertNotEqual(result.returncode, 0, args)
            self.assertRegex(result.stdout + result.stderr,
                             r"tls-key|tls-cert|mismatch|must differ", args)

    @unittest.skipUnless(BENCH_BINARY, "classchat-bench is not built")
    def test_bench_over_tls(self):
        import subprocess
        server = self.start_tls_server("--rate-limit", "0")
        result = subprocess.run([BENCH_BINARY, "throughput", "--tls", "--port", str(server.tls_port),
                                 "--kind", "direct", "--pairs", "5", "--rate", "500",
                                 "--step-duration", "0.5", "-q"],
                                capture_output=True, text=True, timeout=TIMEOUT * 6)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("0 lost", result.stdout)
        self.assertEqual(len(re.findall(r"registered as ", server.log())), 10)
        # Modes that shout cannot check who is online over TLS: they need --force.
        result = subprocess.run([BENCH_BINARY, "stress", "--tls", "--port", str(server.tls_port),
                                 "--bots", "2", "--duration", "1", "-q"],
                                capture_output=True, text=True, timeout=TIMEOUT * 3)
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
        self.assertIn("add --force", result.stderr)

    @unittest.skipUnless(MEMORY_CHECKS, "RSS is only meaningful without a sanitizer")
    def test_idle_tls_connections_stay_small(self):
        server = self.start_tls_server(threads=1)
        self.tls_register(server, "warmup")
        before = process_status(server.proc.pid, "VmRSS")
        count = 200
        clients = [self.tls_register(server, f"idle{i}") for i in range(count)]
        time.sleep(0.2)
        after = process_status(server.proc.pid, "VmRSS")
        per_connection_kb = (after - before) / count
        print(f"RSS per idle TLS connection: {per_connection_kb:.1f} KB")
        self.assertLess(per_connection_kb, 24, f"{per_connection_kb:.1f} KB per idle connection")
        self.assertEqual(len(clients), count)


def _try_tls(port, cafile):
    try:
        wrap(port, cafile).close()
        return True
    except (ssl.SSLError, OSError):
        return False


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(OPENSSL is None, "the openssl CLI is needed to make test certificates")
class HttpsTest(CertificatesMixin, ServerTestCase):
    """With a certificate, the HTTP port speaks HTTPS, and /ws is WSS."""

    @staticmethod
    def read_all(sock):
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return data
            if not chunk:
                return data
            data += chunk

    def test_the_http_port_serves_https_and_wss(self):
        from ws_client import accept_for, build_frame, upgrade_request
        server = self.start_server("--tls-cert", self.cert, "--tls-key", self.key,
                                   "--tls-port", "0")
        self.assertRegex(server.log(), r"HTTPS on \S+:\d+")
        port = server.http_port()
        page = wrap(port, self.ca)
        page.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        response = self.read_all(page)
        page.close()
        self.assertTrue(response.startswith(b"HTTP/1.1 200 OK"), response[:200])
        self.assertTrue(response.endswith(b"\r\n\r\nok\n"), response[-100:])

        bob = self.register(server, "bob")
        web = wrap(port, self.ca)
        self.addCleanup(web.close)
        request, key = upgrade_request()
        web.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            head += web.recv(4096)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        self.assertIn(accept_for(key).encode(), head)
        web.sendall(build_frame(1, "carol"))
        web.sendall(build_frame(1, json.dumps({"to": "bob", "msg": "over wss"})))
        self.assertNextFrame(bob, frame_bytes("carol", "127.0.0.1", "bob", "over wss"))

    def test_plain_http_on_the_https_port_gets_a_clear_400(self):
        server = self.start_server("--tls-cert", self.cert, "--tls-key", self.key,
                                   "--tls-port", "0")
        with socket.create_connection(("127.0.0.1", server.http_port()), timeout=TIMEOUT) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = self.read_all(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), data)
        self.assertTrue(data.endswith(b"This port speaks HTTPS: use https://\n"), data)
        self.register(server, "alice")
