"""classchat-bench stress: verified against the real classchatd, and shown to catch a
server that drops, duplicates, reorders or corrupts messages (faulty_server.py)."""
import json
import os
import subprocess
import tempfile
import unittest
import re
import xml.dom.minidom

from faulty_server import FaultyProcess
from harness import CLUSTER_NODES, ROOT, TIMEOUT, Cluster, Server, single_process

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
# A short, busy scenario: 6 bots sending every 20-100 ms for 2 s.
QUICK = ["--bots", "6", "--duration", "2", "--min-gap", "0.02", "--max-gap", "0.1",
         "--drain", str(TIMEOUT), "--quiet"]


def run_stress(port, *extra):
    """Runs the stress mode; returns (exit status, JSON report, stdout)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        result = subprocess.run([BENCH, "stress", "--port", str(port), "--json", report.name,
                                 *QUICK, *extra],
                                capture_output=True, text=True, timeout=60 + 4 * TIMEOUT)
        with open(report.name, encoding="utf-8") as f:
            return result.returncode, json.load(f), result.stdout


def total(report, field):
    return report["direct"]["tally"][field] + report["shout"]["tally"][field]


@single_process("the cluster run is StressAgainstCluster")
class StressAgainstClasschatd(unittest.TestCase):
    def test_default_scenario_verifies_clean(self):
        with Server() as server:
            status, report, stdout = run_stress(server.port)
        self.assertEqual(status, 0, stdout)
        self.assertTrue(report["passed"])
        self.assertEqual(report["registered"], 6)
        self.assertTrue(all(check["passed"] for check in report["duplicate_name_checks"]))
        self.assertEqual(len(report["duplicate_name_checks"]), 2)
        for field in ("lost", "duplicated", "reordered", "corrupted", "misdelivered", "unexpected"):
            self.assertEqual(total(report, field), 0, field)
        self.assertGreater(report["direct"]["sent"], 0)
        self.assertGreater(report["shout"]["sent"], 0)
        # Every shout reached the 5 other bots.
        self.assertEqual(report["shout"]["tally"]["delivered"], 5 * report["shout"]["sent"])
        self.assertEqual(report["direct"]["tally"]["delivered"], report["direct"]["sent"])
        for kind, replies in report["replies"].items():
            self.assertGreater(replies["sent"], 0, kind)
            self.assertEqual(replies["answered"], replies["sent"], kind)
            self.assertEqual(replies["wrong"], 0, kind)
        self.assertEqual(report["direct"]["latency"]["count"], report["direct"]["sent"])
        self.assertGreater(report["direct"]["latency"]["p99_us"], 0)
        self.assertIn("verdict: PASS", stdout)
        self.assertIn("generator", report)


    def test_plot_draws_latency_and_send_rate_over_time(self):
        # stress used to reject --plot as an unexpected argument (exit 109).
        with tempfile.TemporaryDirectory() as directory, Server() as server:
            plot = os.path.join(directory, "stress.svg")
            status, report, stdout = run_stress(server.port, "--plot", plot)
            with open(plot, encoding="utf-8") as f:
                svg = f.read()
        self.assertEqual(status, 0, stdout)
        self.assertTrue(report["passed"])
        document = xml.dom.minidom.parseString(svg)
        self.assertEqual(document.documentElement.tagName, "svg")
        for label in ("p50 (ms)", "p99 (ms)", "sent per second"):
            self.assertIn(label, svg)
        # A 2 s chat gives one point per second: at least two of each series.
        self.assertGreaterEqual(len(document.getElementsByTagName("polyline")), 3)

    def test_ipv6_loopback(self):
        with Server(host="::1") as server:
            status, report, stdout = run_stress(server.port, "--host", "::1")
        self.assertEqual(status, 0, stdout)
        self.assertEqual(report["registered"], 6)
        self.assertEqual(total(report, "lost"), 0)
        self.assertGreater(report["shout"]["tally"]["delivered"], 0)


@single_process("the cluster run is StressAgainstCluster")
class StressOverSeveralTargets(unittest.TestCase):
    """Two targets that are one chat: a dual-stack server reached over IPv4 and IPv6.
    (Two independent servers are not one chat: their direct messages would be lost.)"""

    def test_bots_are_spread_and_verified_across_targets(self):
        with Server(host="::") as server:
            status, report, stdout = run_stress(server.port, "--host", "127.0.0.1,::1")
            log = server.log()
        self.assertEqual(status, 0, stdout)
        self.assertTrue(report["passed"])
        self.assertEqual(report["registered"], 6)
        self.assertEqual(report["options"]["targets"],
                         [f"127.0.0.1:{server.port}", f"[::1]:{server.port}"])
        self.assertIn(f"against 127.0.0.1:{server.port}, [::1]:{server.port}", stdout)
        for field in ("lost", "duplicated", "reordered", "corrupted", "misdelivered"):
            self.assertEqual(total(report, field), 0, field)
        self.assertEqual(report["shout"]["tally"]["delivered"], 5 * report["shout"]["sent"])
        # Round-robin: 3 bots over each address, plus one probe and one duplicate-name
        # check on each (the check of who is online probes both targets too).
        self.assertGreaterEqual(len(re.findall(r"connected from 127\.0\.0\.1:", log)), 4)
        self.assertGreaterEqual(len(re.findall(r"connected from ::1:", log)), 4)
        self.assertIn("Bot_check2", log)

    def test_same_port_twice_is_two_targets(self):
        with Server() as server:
            status, report, stdout = run_stress(f"{server.port},{server.port}")
        self.assertEqual(status, 0, stdout)
        self.assertEqual(len(report["options"]["targets"]), 2)
        self.assertEqual(report["options"]["port"], server.port)


@unittest.skipUnless(CLUSTER_NODES >= 2, "runs in the cluster suite (CLASSCHAT_CLUSTER=N)")
class StressAgainstCluster(unittest.TestCase):
    """The class's 50-bot scenario with the bots spread over every node of a cluster."""

    def test_fifty_bots_over_the_nodes_verify_clean(self):
        with Cluster(nodes=CLUSTER_NODES) as cluster:
            ports = ",".join(str(node.port) for node in cluster.nodes)
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                result = subprocess.run(
                    [BENCH, "stress", "--port", ports, "--json", out.name, "--duration", "3",
                     "--drain", str(TIMEOUT), "--quiet"],
                    capture_output=True, text=True, timeout=120 + 4 * TIMEOUT)
                with open(out.name, encoding="utf-8") as f:
                    report = json.load(f)
            for node in cluster.nodes:
                self.assertRegex(node.log(), r"registered as Bot_\d+")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(report["registered"], 50)
        self.assertTrue(all(check["passed"] for check in report["duplicate_name_checks"]))
        self.assertEqual(report["shout"]["tally"]["delivered"], 49 * report["shout"]["sent"])
        self.assertEqual(report["direct"]["tally"]["delivered"], report["direct"]["sent"])


@single_process("it starts its own test servers")
class StressCatchesFaultyServers(unittest.TestCase):
    def check_mode(self, mode):
        with FaultyProcess(mode) as server:
            return run_stress(server.port)

    def test_correct_faulty_server_passes(self):
        # The control: the test server itself is correct when it injects no fault.
        status, report, stdout = self.check_mode("none")
        self.assertEqual(status, 0, stdout)
        self.assertEqual(total(report, "lost"), 0)

    def test_drop_is_caught(self):
        status, report, stdout = self.check_mode("drop")
        self.assertEqual(status, 1, stdout)
        self.assertGreater(total(report, "lost"), 0)
        self.assertEqual(total(report, "duplicated"), 0)
        self.assertIn("verdict: FAIL", stdout)

    def test_duplicate_is_caught(self):
        status, report, stdout = self.check_mode("duplicate")
        self.assertEqual(status, 1, stdout)
        self.assertGreater(total(report, "duplicated"), 0)
        self.assertEqual(total(report, "lost"), 0)

    def test_reorder_is_caught(self):
        status, report, stdout = self.check_mode("reorder")
        self.assertEqual(status, 1, stdout)
        self.assertGreater(total(report, "reordered"), 0)
        self.assertEqual(total(report, "lost"), 0)

    def test_corrupt_is_caught(self):
        status, report, stdout = self.check_mode("corrupt")
        self.assertEqual(status, 1, stdout)
        self.assertGreater(total(report, "corrupted"), 0)


@single_process("it needs no cluster")
class StressCliErrors(unittest.TestCase):
    def test_refuses_remote_target(self):
        result = subprocess.run([BENCH, "stress", "--host", "192.0.2.1", "--quiet"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--allow-remote", result.stderr)

    def test_nobody_listening_fails(self):
        with Server() as server:
            port = server.port
        status, report, _ = run_stress(port, "--connect-timeout", "2")
        self.assertEqual(status, 1)
        self.assertEqual(report["registered"], 0)
        self.assertFalse(report["passed"])


if __name__ == "__main__":
    unittest.main()
