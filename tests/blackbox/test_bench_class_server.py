"""classchat-bench against a server that behaves like the class's original Python server
(class_server_fixture.py): replies are JSON objects back to back with no newline, and each
recv(1024) is parsed as one message. The bench reads such replies with the project's frame
decoder; before, it waited for newlines and no bot ever registered. With one message in
flight per connection the runs verify clean; pipelined messages break such a server, and
the bench reports them lost."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

from harness import ROOT, TIMEOUT

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "class_server_fixture.py")


class ClassServer:
    """class_server_fixture.py on 127.0.0.1 and a free port."""

    def __init__(self):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, FIXTURE, "0"], stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"listening on \S+:(\d+)", self.text())
            if match:
                self.port = int(match.group(1))
                return
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("the fixture did not start:\n" + self.text())

    def text(self):
        return os.pread(self.log.fileno(), 1 << 20, 0).decode(errors="replace")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=TIMEOUT)
        self.log.close()


class AgainstTheClassServer(unittest.TestCase):
    def setUp(self):
        self.server = ClassServer()
        self.addCleanup(self.server.stop)

    def bench(self, mode, *args):
        """Runs a mode; returns (status, JSON report, stdout + stderr)."""
        with tempfile.NamedTemporaryFile(suffix=".json") as report:
            result = subprocess.run(
                [BENCH, mode, "--port", str(self.server.port), "--json", report.name, "--quiet",
                 *args], capture_output=True, text=True, timeout=60 + 4 * TIMEOUT)
            with open(report.name, encoding="utf-8") as f:
                return result.returncode, json.load(f), result.stdout + result.stderr

    def test_stress_verifies_clean(self):
        # Sends far apart (0.2-0.4 s per bot), so each recv() holds one message. The case
        # check of the duplicate name is left out: the class's server, like this fixture,
        # compares names with their case.
        status, report, output = self.bench(
            "stress", "--bots", "4", "--duration", "2", "--min-gap", "0.2", "--max-gap", "0.4",
            "--drain", str(TIMEOUT), "--skip-duplicate-check")
        self.assertEqual(status, 0, output)
        self.assertEqual(report["registered"], 4)
        self.assertEqual(report["malformed_frames"], 0)
        self.assertEqual(report["direct"]["tally"]["delivered"], report["direct"]["sent"])
        self.assertEqual(report["shout"]["tally"]["delivered"], 3 * report["shout"]["sent"])
        self.assertGreater(report["direct"]["sent"] + report["shout"]["sent"], 0)
        for kind, replies in report["replies"].items():
            self.assertEqual(replies["answered"], replies["sent"], kind)
            self.assertEqual(replies["wrong"], 0, kind)

    def test_throughput_one_in_flight_verifies_clean(self):
        status, report, output = self.bench(
            "throughput", "--kind", "direct", "--pairs", "2", "--window", "1",
            "--step-duration", "0.5", "--drain", str(TIMEOUT))
        self.assertEqual(status, 0, output)
        tally = report["direct"]["tally"]
        self.assertGreater(tally["delivered"], 10)
        self.assertEqual(tally["lost"], 0)

    def test_throughput_shouts_checks_the_list_and_verifies_clean(self):
        # The safety check reads the fixture's /list ("You are the only active user!").
        status, report, output = self.bench(
            "throughput", "--kind", "shout", "--listeners", "3", "--rate", "5",
            "--step-duration", "1", "--drain", str(TIMEOUT))
        self.assertEqual(status, 0, output)
        tally = report["shout"]["tally"]
        self.assertGreater(tally["delivered"], 0)
        self.assertEqual(tally["delivered"], tally["expected"])

    def test_pipelined_messages_break_it(self):
        # Four in flight: the first recv() of each sender holds several objects,
        # json.loads raises "Extra data", and that client's thread is gone.
        status, report, output = self.bench(
            "throughput", "--kind", "direct", "--pairs", "2", "--window", "4",
            "--step-duration", "0.5", "--drain", "1")
        self.assertEqual(status, 1, output)
        self.assertGreater(report["direct"]["tally"]["lost"], 0)
        self.assertIn("JSONDecodeError: Extra data", self.server.text())


if __name__ == "__main__":
    unittest.main()
