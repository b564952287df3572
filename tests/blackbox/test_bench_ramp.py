"""classchat-bench ramp: a few-second smoke run against the real classchatd, with the
clients spread over two worker processes and several source addresses."""
import json
import os
import subprocess
import tempfile
import unittest
import xml.dom.minidom

from faulty_server import FaultyProcess
from harness import ROOT, TIMEOUT, Cluster, Server

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))


def worker_processes(port):
    """Pids of ramp workers aimed at `port` that are still alive."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if b"ramp-worker" in args and str(port).encode() in args:
            found.append(int(pid))
    return found


def run_ramp(port, *args):
    with tempfile.TemporaryDirectory() as directory:
        report_path = os.path.join(directory, "report.json")
        plot_path = os.path.join(directory, "plot.svg")
        result = subprocess.run(
            [BENCH, "ramp", "--port", str(port), "--json", report_path, "--plot", plot_path, "--quiet", *args],
            capture_output=True, text=True, timeout=60 + 4 * TIMEOUT)
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        with open(plot_path, encoding="utf-8") as f:
            svg = f.read()
        return result.returncode, report, result.stdout, svg


class RampOverSeveralTargets(unittest.TestCase):
    def test_two_independent_servers_each_hold_half(self):
        # Heartbeats are messages to oneself, so two servers that are not one chat are fine.
        with Server() as first, Server() as second:
            status, report, stdout, _ = run_ramp(
                f"{first.port},{second.port}", "--server-pid",
                f"{first.proc.pid},{second.proc.pid}", "--step", "40", "--interval", "1",
                "--target", "40", "--procs", "2", "--sources", "1", "--heartbeat", "0.3",
                "--max-p99", "10000", "--duration", "30")
            logs = [first.log(), second.log()]
        self.assertEqual(status, 0, stdout)
        self.assertEqual(report["totals"]["held"], 40)
        self.assertEqual(report["totals"]["heartbeats_damaged"], 0)
        self.assertGreater(report["totals"]["heartbeats_received"], 0)
        for log in logs:
            self.assertEqual(log.count("registered as ramp"), 20, log[-2000:])
        self.assertEqual(report["options"]["targets"],
                         [f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}"])
        step = report["steps"][-1]
        self.assertEqual([entry["pid"] for entry in step["servers"]],
                         [first.proc.pid, second.proc.pid])
        self.assertEqual(step["server_rss_bytes"],
                         sum(entry["rss_bytes"] for entry in step["servers"]))


class RampHeartbeatsToPeers(unittest.TestCase):
    """--heartbeat-to peer: each heartbeat is a direct message to another held client of the
    worker, on the other target; only a cluster delivers those."""

    ARGS = ("--step", "40", "--interval", "1", "--target", "40", "--hold", "2", "--procs", "1",
            "--sources", "1", "--heartbeat", "0.2", "--heartbeat-to", "peer", "--max-p99",
            "10000", "--duration", "30")

    def test_a_cluster_delivers_them_across_nodes(self):
        with Cluster(nodes=2) as cluster:
            status, report, stdout, _ = run_ramp(
                ",".join(str(node.port) for node in cluster.nodes), *self.ARGS)
        self.assertEqual(status, 0, stdout)
        self.assertEqual(report["options"]["heartbeat_to"], "peer")
        totals = report["totals"]
        self.assertEqual(totals["held"], 40)
        self.assertEqual(totals["heartbeats_damaged"], 0)
        self.assertGreater(totals["heartbeats_received"], 100)
        # Only those still in flight at the last report may be missing.
        self.assertGreaterEqual(totals["heartbeats_received"], totals["heartbeats_sent"] - 40)

    def test_two_separate_servers_lose_them(self):
        # Not one chat: a peer on the other server is "not found", so nearly nothing returns.
        with Server() as first, Server() as second:
            status, report, stdout, _ = run_ramp(f"{first.port},{second.port}", *self.ARGS)
        self.assertEqual(status, 0, stdout)
        totals = report["totals"]
        self.assertGreater(totals["heartbeats_sent"], 100)
        self.assertLess(totals["heartbeats_received"], totals["heartbeats_sent"] // 10)


class RampSmoke(unittest.TestCase):
    def test_reaches_small_target_with_two_workers(self):
        with Server() as server:
            status, report, stdout, svg = run_ramp(
                server.port, "--server-pid", str(server.proc.pid), "--step", "100", "--interval", "1", "--target", "200", "--procs", "2",
                "--sources", "4", "--heartbeat", "0.3", "--max-p99", "10000", "--duration", "30")
            # The server saw connections from the extra source addresses.
            self.assertRegex(server.log(), r"connected from 127\.0\.0\.[234]:")
        self.assertEqual(status, 0, stdout)
        self.assertIn("target", report["stop_reason"])
        self.assertEqual(report["peak_stable_connections"], 200)
        totals = report["totals"]
        self.assertEqual(totals["held"], 200)
        self.assertEqual(totals["connect_failures"] + totals["refusals"] +
                         totals["handshake_failures"] + totals["disconnects"], 0)
        self.assertGreater(totals["heartbeats_received"], 0)
        self.assertLessEqual(totals["heartbeats_received"], totals["heartbeats_sent"])
        steps = report["steps"]
        # Two steps add the clients; under load, registering may take a step or two more.
        attempted = [step["attempted"] for step in steps]
        self.assertEqual(attempted[:2], [100, 200])
        self.assertTrue(all(count == 200 for count in attempted[2:]), attempted)
        self.assertGreater(steps[-1]["heartbeat_rtt"]["count"], 0)
        self.assertGreater(steps[-1]["server_rss_bytes"], 0)
        self.assertGreaterEqual(steps[-1]["server_open_fds"], 200)
        xml.dom.minidom.parseString(svg)
        self.assertIn("connections held", svg)
        self.assertEqual(worker_processes(server.port), [])

    def test_stops_on_failures_when_nobody_listens(self):
        with Server() as server:
            pass
        # The port is closed now: every connect is refused, so the first step fails.
        status, report, stdout, _ = run_ramp(server.port, "--step", "20", "--interval", "0.5",
                                             "--procs", "2", "--duration", "20")
        self.assertEqual(status, 0, stdout)
        self.assertIn("failures", report["stop_reason"])
        self.assertEqual(report["peak_stable_connections"], 0)
        self.assertEqual(len(report["steps"]), 1)
        self.assertEqual(report["totals"]["connect_failures"], 20)

    def test_damaged_heartbeats_fail_the_run(self):
        with FaultyProcess("corrupt", every=3) as server:
            status, report, stdout, _ = run_ramp(
                server.port, "--step", "10", "--interval", "0.5", "--target", "10", "--hold", "1",
                "--heartbeat", "0.1", "--procs", "1", "--sources", "1", "--max-p99", "10000")
        self.assertEqual(status, 1, stdout)
        self.assertGreater(report["totals"]["heartbeats_damaged"], 0)
        self.assertIn("damaged", stdout)


if __name__ == "__main__":
    unittest.main()
