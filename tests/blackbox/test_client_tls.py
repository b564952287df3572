"""classchat --tls: verifies the server against --ca (or the system's trust store), checks
the host name or address, --insecure warns; scripts and --listen work over TLS."""
import json
import unittest

import harness
from client_helpers import BackgroundClient, run_client
from tls_helpers import OPENSSL, CertificatesMixin, TlsLineClient

TIMEOUT = harness.TIMEOUT


@unittest.skipIf(OPENSSL is None, "the openssl CLI is needed to make test certificates")
class ClientTlsTest(CertificatesMixin, unittest.TestCase):
    def setUp(self):
        self.server = harness.Server("--tls-cert", self.cert, "--tls-key", self.key,
                                     "--tls-port", "0")
        self.addCleanup(self.server.__exit__, None, None, None)
        self.tls_port = int(self.server.wait_for_log(r"TLS on \S+:(\d+)").group(1))

    def tls(self, *args, **kw):
        return run_client("--tls", "--port", self.tls_port, *args, **kw)

    def test_send_over_tls_with_the_right_ca(self):
        bob = harness.register(self.server.port, "bob")  # a plain client receives it
        self.addCleanup(bob.close)
        result = self.tls("--ca", self.ca, "--name", "bot", "--send", "bob", "secret hello")
        self.assertEqual(result.returncode, 0, result.stderr)
        frame = bob.recv()
        self.assertEqual((frame["from"]["name"], frame["from"]["ip"], frame["msg"]),
                         ("bot", "127.0.0.1", "secret hello"))
        self.server.wait_for_log(r"conn \d+ registered as bot")

    def test_script_and_replies_over_tls(self):
        alice = TlsLineClient(self.tls_port, self.ca, "alice")
        self.addCleanup(alice.close)
        alice.recv()  # welcome
        result = self.tls("--ca", self.ca, "--name", "bot", "--host", "localhost",
                          stdin_text="@alice one\n/time\n@alice two\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.decode(), r"Server time: \d\d:\d\d:\d\d")
        self.assertEqual([alice.recv()["msg"], alice.recv()["msg"]], ["one", "two"])

    def test_listen_over_tls(self):
        listener = BackgroundClient("--tls", "--ca", self.ca, "--port", self.tls_port, "--name",
                                    "logger", "--listen")
        self.addCleanup(listener.close)
        self.server.wait_for_log(r"registered as logger")
        sender = harness.register(self.server.port, "sender")
        self.addCleanup(sender.close)
        sender.sock.sendall(json.dumps({"to": "logger", "msg": "to the log"}).encode())
        self.assertTrue(json.loads(listener.next_line())["msg"].startswith("Welcome logger!"))
        self.assertEqual(json.loads(listener.next_line())["msg"], "to the log")

    def test_wrong_ca_fails_with_exit_four_and_one_sentence(self):
        result = self.tls("--ca", self.other_ca, "--name", "bot", "--send", "/time", "")
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertRegex(result.stderr.decode(),
                         r"^classchat: Cannot connect to 127\.0\.0\.1:\d+: TLS handshake failed: "
                         r"certificate verify failed.*\.\n$")
        self.assertNotIn(b"is classchatd running", result.stderr)
        self.assertTrue(self.server.alive())

    def test_host_name_is_checked(self):
        # The certificate names 127.0.0.1 and localhost: a name it lists verifies, and a
        # certificate from the trusted CA for another name does not.
        ok = self.tls("--ca", self.ca, "--host", "localhost", "--name", "a", "--send", "/time", "")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        other = self.certs.server("elsewhere", "ca", san="DNS:elsewhere.example")
        mismatched = harness.Server("--tls-cert", other[0], "--tls-key", other[1],
                                    "--tls-port", "0")
        self.addCleanup(mismatched.__exit__, None, None, None)
        port = int(mismatched.wait_for_log(r"TLS on \S+:(\d+)").group(1))
        result = run_client("--tls", "--ca", self.ca, "--port", port, "--name", "b", "--send",
                            "/time", "")
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn(b"certificate verify failed", result.stderr)

    def test_insecure_warns_and_connects(self):
        result = self.tls("--insecure", "--name", "bot", "--send", "/time", "")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"WARNING: --insecure", result.stderr)

    def test_system_trust_store_does_not_trust_a_test_ca(self):
        result = self.tls("--name", "bot", "--send", "/time", "")
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn(b"certificate verify failed", result.stderr)

    def test_plain_client_on_the_tls_port_and_tls_on_the_plain_port_fail(self):
        result = run_client("--tls", "--ca", self.ca, "--port", self.server.port, "--name", "x",
                            "--send", "/time", "")
        self.assertEqual(result.returncode, 4, result.stderr)
        self.assertIn(b"TLS handshake failed", result.stderr)
        self.assertTrue(self.server.alive())

    def test_ca_without_tls_is_a_usage_error(self):
        result = run_client("--ca", self.ca, "--name", "x", "--send", "/time", "")
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"--tls", result.stderr)


if __name__ == "__main__":
    unittest.main()
