"""The load tools are safe to point at a real class: the modes that shout (stress, and
throughput with shouts) first ask /list who is online, and refuse with exit status 3 if
anyone but the bench is there, unless --force. A person connected with a plain socket
receives nothing from a refused run."""
import os
import socket
import subprocess
import unittest

from harness import ROOT, TIMEOUT, Server, ServerTestCase, register

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
STRESS = ["--bots", "4", "--duration", "1", "--min-gap", "0.05", "--max-gap", "0.2",
          "--drain", str(TIMEOUT), "--quiet"]
THROUGHPUT = ["--pairs", "2", "--listeners", "2", "--rate", "50", "--step-duration", "0.5",
              "--drain", str(TIMEOUT), "--quiet"]


def bench(port, *args):
    return subprocess.run([BENCH, *args, "--port", str(port)], capture_output=True, text=True,
                          timeout=60 + 4 * TIMEOUT)


class APersonIsOnline(ServerTestCase):
    def setUp(self):
        self.server = self.start_server()
        # A person: a plain socket that sends its name and reads its welcome.
        self.person = socket.create_connection(("127.0.0.1", self.server.port), timeout=TIMEOUT)
        self.addCleanup(self.person.close)
        self.person.sendall(b"alice")
        self.assertIn(b"Welcome alice!", self.person.recv(4096))

    def assertPersonGotNothing(self):
        """What the person received since the welcome: nothing (a marker proves the
        connection still delivers: it must be the first thing read)."""
        bob = self.register(self.server, "bob")
        bob.send("alice", "marker")
        self.person.settimeout(TIMEOUT)
        data = self.person.recv(65536)
        self.assertTrue(data.startswith(b'{"from":{"name":"bob"'), data[:300])
        self.assertIn(b'"msg":"marker"', data)

    def test_stress_refuses_and_the_person_receives_nothing(self):
        result = bench(self.server.port, "stress", *STRESS)
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertIn("refusing to run stress", result.stderr)
        self.assertIn("1 other user is online", result.stderr)
        self.assertIn("(alice)", result.stderr)
        self.assertIn("--force", result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertPersonGotNothing()

    def test_stress_with_force_runs_and_the_person_hears_its_shouts(self):
        result = bench(self.server.port, "stress", *STRESS, "--force")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("verdict: PASS", result.stdout)
        self.person.settimeout(TIMEOUT)
        self.assertIn(b'"to":"Everyone"', self.person.recv(65536))

    def test_throughput_with_shouts_refuses(self):
        for kind in ("shout", "both"):
            with self.subTest(kind=kind):
                result = bench(self.server.port, "throughput", "--kind", kind, *THROUGHPUT)
                self.assertEqual(result.returncode, 3, result.stderr)
                self.assertIn(f"refusing to run throughput --kind {kind}", result.stderr)
        self.assertPersonGotNothing()

    def test_throughput_direct_runs_and_sends_the_person_nothing(self):
        # Direct messages only go between the run's own pairs: no check, nothing to alice.
        result = bench(self.server.port, "throughput", "--kind", "direct", *THROUGHPUT)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertPersonGotNothing()

    def test_two_people_are_named_and_neither_hears_anything(self):
        # The check's own probe sends nothing but /list.
        carol = self.register(self.server, "carol")
        result = bench(self.server.port, "stress", *STRESS)
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertIn("2 other users are online", result.stderr)
        self.assertIn("alice, carol", result.stderr)
        self.assertNothingBefore(carol, self.register(self.server, "dave"), "dave", "carol")


class EveryTargetIsChecked(ServerTestCase):
    def test_a_person_on_the_second_target_is_found(self):
        # Two servers that are not one chat: only the second has a person on it.
        with Server() as first, Server() as second:
            person = register(second.port, "alice")
            result = bench(f"{first.port},{second.port}", "stress", *STRESS[:-1])
            person.close()
        self.assertEqual(result.returncode, 3, result.stderr)
        self.assertIn(f"1 other user is online at 127.0.0.1:{second.port}", result.stderr)
        self.assertIn("nobody else is online at", result.stderr)

    def test_the_earlier_probe_still_listed_is_not_someone_else(self):
        # The same server twice: the second probe (Bot_check2) may still see Bot_check in
        # the list, and the run goes ahead all the same.
        server = self.start_server()
        result = bench(f"{server.port},{server.port}", "stress", *STRESS[:-1])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stderr.count("nobody else is online"), 2)


class NobodyElseOnline(ServerTestCase):
    def test_stress_runs_and_says_it_checked(self):
        server = self.start_server()
        result = subprocess.run([BENCH, "stress", "--port", str(server.port), *STRESS[:-1]],
                                capture_output=True, text=True, timeout=60 + 4 * TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("nobody else is online", result.stderr)


if __name__ == "__main__":
    unittest.main()
