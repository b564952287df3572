"""classchat-bench throughput: a few-second smoke run against the real classchatd, and
the same verification catching a server that drops messages."""
import json
import os
import re
import subprocess
import tempfile
import unittest
import xml.dom.minidom

from faulty_server import FaultyProcess
from harness import ROOT, TIMEOUT, Server

# classchatd's default rate limits (200 messages and 20 shouts per second per connection)
# would refuse part of the offered load; the smoke runs measure the engine, so lift them.
UNLIMITED = ("--rate-limit", "0", "--shout-rate", "0")
BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))


def run_throughput(port, *args):
    """Runs the throughput mode; returns (exit status, JSON report, stdout, SVG text)."""
    with tempfile.TemporaryDirectory() as directory:
        report_path = os.path.join(directory, "report.json")
        plot_path = os.path.join(directory, "plot.svg")
        result = subprocess.run(
            [BENCH, "throughput", "--port", str(port), "--json", report_path, "--plot", plot_path,
             "--drain", str(TIMEOUT), "--quiet", *args],
            capture_output=True, text=True, timeout=120 + 10 * TIMEOUT)
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        with open(plot_path, encoding="utf-8") as f:
            svg = f.read()
        return result.returncode, report, result.stdout, svg


class ThroughputSmoke(unittest.TestCase):
    def test_fixed_rates_deliver_everything(self):
        with Server(*UNLIMITED) as server:
            status, report, stdout, svg = run_throughput(
                server.port, "--rate", "200,1000", "--step-duration", "1", "--pairs", "4",
                "--listeners", "6", "--shouters", "2")
        self.assertEqual(status, 0, stdout)
        self.assertTrue(report["passed"])
        direct, shout = report["direct"], report["shout"]
        self.assertEqual(direct["clients"], 8)
        self.assertEqual(shout["receivers_per_message"], 7)
        for kind in (direct, shout):
            self.assertEqual(len(kind["steps"]), 2)
            self.assertEqual(kind["tally"]["lost"], 0)
            self.assertEqual(kind["tally"]["duplicated"], 0)
            self.assertEqual(kind["tally"]["corrupted"], 0)
            self.assertGreater(kind["tally"]["delivered"], 0)
            self.assertEqual(kind["tally"]["delivered"], kind["tally"]["expected"])
            for step in kind["steps"]:
                self.assertGreater(step["sent"], 0)
                self.assertGreater(step["achieved_deliveries_per_s"], 0)
                self.assertEqual(step["latency"]["count"], step["delivered"])
                self.assertGreaterEqual(step["latency"]["p99_us"], step["latency"]["p50_us"])
        # Each shout reached the 7 other clients.
        sent = sum(step["sent"] for step in shout["steps"])
        self.assertEqual(shout["tally"]["expected"], 7 * sent)
        self.assertGreater(report["generator"]["cpu_user_s"] + report["generator"]["cpu_system_s"], 0)
        xml.dom.minidom.parseString(svg)
        self.assertEqual(svg.count("<polyline"), 4)  # p50 and p99 per kind

    def test_pairs_straddle_two_targets_of_one_dual_stack_server(self):
        # Round-robin: each pair's partners are on different targets (IPv4 and IPv6 here).
        with Server(*UNLIMITED, host="::") as server:
            status, report, stdout, _ = run_throughput(
                server.port, "--host", "127.0.0.1,::1", "--rate", "500", "--step-duration", "1",
                "--pairs", "3", "--listeners", "3", "--threads", "2")
            log = server.log()
        self.assertEqual(status, 0, stdout)
        self.assertTrue(report["passed"])
        for kind in (report["direct"], report["shout"]):
            self.assertGreater(kind["tally"]["delivered"], 0)
            self.assertEqual(kind["tally"]["delivered"], kind["tally"]["expected"])
            self.assertEqual(kind["tally"]["lost"] + kind["tally"]["reordered"], 0)
        # 6 direct and 4 shout clients, half over each address (the probe adds one to each).
        self.assertGreaterEqual(len(re.findall(r"connected from 127\.0\.0\.1:", log)), 5)
        self.assertGreaterEqual(len(re.findall(r"connected from ::1:", log)), 5)

    def test_server_pid_list_reports_each_and_the_sum(self):
        with Server(*UNLIMITED) as server:
            pid = server.proc.pid
            status, report, stdout, _ = run_throughput(
                server.port, "--kind", "direct", "--rate", "2000", "--step-duration", "1",
                "--pairs", "2", "--server-pid", f"{pid},{pid}")
        self.assertEqual(status, 0, stdout)
        step = report["direct"]["steps"][0]
        self.assertEqual(len(step["server_cpu_each"]), 2)
        # The report prints every share rounded to 6 decimals, so the printed sum and the sum
        # of the printed shares may differ by up to half a unit of 1e-6 per rounding; allow a
        # whole unit per rounding so that binary floating point cannot tip it over.
        shares = step["server_cpu_each"]
        self.assertAlmostEqual(step["server_cpu"], sum(shares), delta=1e-6 * (len(shares) + 1))
        self.assertGreater(step["server_cpu"], 0)

    def test_two_generator_threads_verify_across_threads(self):
        # Pairs are split over the threads; shouts go from the first thread to listeners on
        # both, so each thread's verifier checks messages counted by the other.
        with Server(*UNLIMITED) as server:
            status, report, stdout, _ = run_throughput(
                server.port, "--threads", "2", "--rate", "500", "--step-duration", "0.5",
                "--pairs", "3", "--listeners", "5", "--shouters", "2")
        self.assertEqual(status, 0, stdout)
        self.assertEqual(report["direct"]["clients"], 6)
        shout = report["shout"]
        self.assertEqual(shout["receivers_per_message"], 6)
        sent = sum(step["sent"] for step in shout["steps"])
        self.assertGreater(sent, 0)
        self.assertEqual(shout["tally"]["expected"], 6 * sent)
        self.assertEqual(shout["tally"]["delivered"], shout["tally"]["expected"])
        self.assertEqual(report["direct"]["tally"]["lost"], 0)

    def test_closed_loop_keeps_a_window_in_flight(self):
        with Server(*UNLIMITED) as server:
            status, report, stdout, _ = run_throughput(
                server.port, "--kind", "direct", "--window", "2", "--step-duration", "0.5",
                "--pairs", "3")
        self.assertEqual(status, 0, stdout)
        steps = report["direct"]["steps"]
        self.assertEqual([step["phase"] for step in steps], ["closed loop, 2 in flight"])
        # Each of the 6 clients sent its window at once, then one per delivery.
        self.assertGreater(steps[0]["sent"], 12)
        self.assertGreater(steps[0]["achieved_deliveries_per_s"], 0)
        tally = report["direct"]["tally"]
        self.assertEqual(tally["delivered"], tally["expected"])
        self.assertEqual(tally["lost"], 0)

    def test_search_finds_a_rate(self):
        with Server(*UNLIMITED) as server:
            status, report, stdout, _ = run_throughput(
                server.port, "--kind", "direct", "--start-rate", "200", "--search-steps", "2",
                "--fractions", "0.5", "--step-duration", "0.5", "--pairs", "2", "--max-p99", "5000",
                "--min-achieved", "0.1", "--retries", "0")
        self.assertEqual(status, 0, stdout)
        direct = report["direct"]
        self.assertNotIn("shout", report)
        self.assertGreaterEqual(direct["max_sustained_rate"], 200)
        phases = [step["phase"] for step in direct["steps"]]
        self.assertEqual(phases, ["search", "search", "0.5 x max"])
        self.assertIn("max sustained", stdout)

    def test_dropped_messages_fail_the_run(self):
        with FaultyProcess("drop", every=7) as server:
            status, report, stdout, _ = run_throughput(
                server.port, "--kind", "direct", "--rate", "200", "--step-duration", "0.5",
                "--pairs", "2")
        self.assertEqual(status, 1, stdout)
        self.assertGreater(report["direct"]["tally"]["lost"], 0)
        self.assertFalse(report["passed"])


if __name__ == "__main__":
    unittest.main()
