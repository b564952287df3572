"""classchat-bench --transport ws: stress, throughput and ramp as classchat over
WebSocket (GET /ws on classchatd's HTTP port), verified against the real classchatd; a
TCP client sees the WebSocket bots' shouts; and the usage errors."""
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest

from harness import ROOT, TIMEOUT, Server

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
UNLIMITED = ("--rate-limit", "0", "--shout-rate", "0")
QUICK_STRESS = ["--bots", "6", "--duration", "2", "--min-gap", "0.02", "--max-gap", "0.1",
                "--drain", str(TIMEOUT), "--quiet"]


def run_bench(mode, port, *args, timeout=120 + 10 * TIMEOUT):
    """Runs a mode with --json; returns (exit status, JSON report or None, stdout + stderr)."""
    with tempfile.TemporaryDirectory() as directory:
        report_path = os.path.join(directory, "report.json")
        result = subprocess.run([BENCH, mode, "--port", str(port), "--json", report_path, *args],
                                capture_output=True, text=True, timeout=timeout)
        report = None
        if os.path.exists(report_path):
            with open(report_path, encoding="utf-8") as f:
                report = json.load(f)
        return result.returncode, report, result.stdout + result.stderr


class StressOverWebSocket(unittest.TestCase):
    def test_verifies_clean(self):
        with Server() as server:
            status, report, output = run_bench("stress", server.http_port(), "--transport", "ws",
                                               "--force", *QUICK_STRESS)
            log = server.log()
        self.assertEqual(status, 0, output)
        self.assertTrue(report["passed"])
        self.assertEqual(report["registered"], 6)
        # The duplicate-name check ran over WebSocket too, and the server refused both.
        self.assertEqual(len(report["duplicate_name_checks"]), 2)
        self.assertTrue(all(check["passed"] for check in report["duplicate_name_checks"]), report)
        for kind in ("direct", "shout"):
            tally = report[kind]["tally"]
            for field in ("lost", "duplicated", "reordered", "corrupted", "misdelivered"):
                self.assertEqual(tally[field], 0, (kind, field))
        self.assertGreater(report["direct"]["sent"], 0)
        self.assertEqual(report["direct"]["tally"]["delivered"], report["direct"]["sent"])
        self.assertGreater(report["shout"]["sent"], 0)
        self.assertEqual(report["shout"]["tally"]["delivered"], 5 * report["shout"]["sent"])
        for kind, replies in report["replies"].items():
            self.assertGreater(replies["sent"], 0, kind)
            self.assertEqual(replies["answered"], replies["sent"], kind)
            self.assertEqual(replies["wrong"], 0, kind)
        # They really were WebSocket sessions (6 bots, 2 duplicate-name checks), and nothing
        # connected to the chat port.
        self.assertEqual(len(re.findall(r"connected from \S+ \(WebSocket\)$", log, re.M)), 8)
        self.assertNotRegex(log, re.compile(r"connected from \S+$", re.M))
        self.assertIn("verdict: PASS", output)

    def test_a_tcp_client_sees_the_websocket_bots_shouts(self):
        with Server() as server:
            watcher = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
            watcher.sendall(b"Watcher")
            received = b""
            while b"Welcome" not in received:
                received += watcher.recv(4096)
            status, report, output = run_bench("stress", server.http_port(), "--transport", "ws",
                                               "--force", *QUICK_STRESS)
            self.assertEqual(status, 0, output)
            shouts = report["shout"]["sent"]
            self.assertGreater(shouts, 0)
            lines = []
            deadline = time.monotonic() + TIMEOUT
            watcher.settimeout(0.2)
            while len(lines) < shouts and time.monotonic() < deadline:
                try:
                    chunk = watcher.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    break
                received += chunk
                lines = [json.loads(line) for line in received.split(b"\n")[1:] if line.strip()]
                lines = [m for m in lines if m["to"] == "Everyone" and
                         m["from"]["name"].startswith("Bot_")]
            watcher.close()
        self.assertEqual(len(lines), shouts)


class ThroughputOverWebSocket(unittest.TestCase):
    def test_direct_and_shout_verify_clean(self):
        with Server(*UNLIMITED) as server:
            status, report, output = run_bench(
                "throughput", server.http_port(), "--transport", "ws", "--force", "--quiet",
                "--rate", "200,1000", "--step-duration", "1", "--pairs", "4", "--listeners", "6",
                "--shouters", "2", "--drain", str(TIMEOUT))
        self.assertEqual(status, 0, output)
        self.assertTrue(report["passed"])
        direct, shout = report["direct"], report["shout"]
        self.assertEqual(direct["clients"], 8)
        self.assertEqual(shout["receivers_per_message"], 7)
        for kind in (direct, shout):
            self.assertEqual(len(kind["steps"]), 2)
            self.assertGreater(kind["tally"]["delivered"], 0)
            self.assertEqual(kind["tally"]["delivered"], kind["tally"]["expected"])
            for field in ("lost", "duplicated", "corrupted"):
                self.assertEqual(kind["tally"][field], 0, field)
        sent = sum(step["sent"] for step in shout["steps"])
        self.assertEqual(shout["tally"]["expected"], 7 * sent)

    def test_more_clients_than_the_server_takes_upgrades_at_once(self):
        # classchatd answers 503 to more than 64 unfinished upgrades per loop; the bench
        # logs WebSocket clients in a few at a time, so 300 all register.
        with Server(*UNLIMITED) as server:
            status, report, output = run_bench(
                "throughput", server.http_port(), "--transport", "ws", "--kind", "direct",
                "--quiet", "--rate", "1000", "--step-duration", "0.5", "--pairs", "150",
                "--drain", str(TIMEOUT))
        self.assertEqual(status, 0, output)
        self.assertNotIn("503", output)
        self.assertEqual(report["direct"]["clients"], 300)
        self.assertTrue(report["passed"])

    def test_tcp_and_websocket_runs_at_once_both_verify(self):
        # Direct messages only, so neither run sees the other's traffic.
        with Server(*UNLIMITED) as server:
            args = ["--kind", "direct", "--quiet", "--rate", "500", "--step-duration", "1",
                    "--pairs", "4", "--drain", str(TIMEOUT)]
            with tempfile.TemporaryDirectory() as directory:
                tcp_report = os.path.join(directory, "tcp.json")
                tcp = subprocess.Popen([BENCH, "throughput", "--port", str(server.port),
                                        "--prefix", "tcp", "--json", tcp_report, *args],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                status, report, output = run_bench("throughput", server.http_port(),
                                                   "--transport", "ws", "--prefix", "ws", *args)
                tcp_output = tcp.communicate(timeout=60 + 10 * TIMEOUT)[0]
                self.assertEqual(tcp.returncode, 0, tcp_output)
                with open(tcp_report, encoding="utf-8") as f:
                    self.assertTrue(json.load(f)["passed"])
        self.assertEqual(status, 0, output)
        self.assertTrue(report["passed"])
        self.assertGreater(report["direct"]["tally"]["delivered"], 0)


class RampOverWebSocket(unittest.TestCase):
    def test_holds_a_small_target_with_heartbeats(self):
        with Server() as server:
            status, report, output = run_bench(
                "ramp", server.http_port(), "--transport", "ws", "--quiet", "--step", "50",
                "--interval", "1", "--target", "100", "--procs", "1", "--heartbeat", "0.3",
                "--max-p99", "10000", "--duration", "20")
        self.assertEqual(status, 0, output)
        self.assertEqual(report["peak_stable_connections"], 100)
        totals = report["totals"]
        self.assertEqual(totals["held"], 100)
        self.assertEqual(totals["connect_failures"] + totals["refusals"] +
                         totals["handshake_failures"] + totals["disconnects"], 0)
        self.assertGreater(totals["heartbeats_received"], 0)


class WebSocketUsage(unittest.TestCase):
    def test_other_protocols_are_refused(self):
        for protocol in ("irc", "nats", "relay"):
            result = subprocess.run([BENCH, "throughput", "--port", "1", "--transport", "ws",
                                     "--protocol", protocol, "--kind", "direct"],
                                    capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(result.returncode, 2, protocol)
            self.assertIn("--transport ws", result.stderr)

    def test_unknown_transport_is_a_usage_error(self):
        result = subprocess.run([BENCH, "stress", "--transport", "udp"],
                                capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 2)

    def test_shouts_over_websocket_need_force(self):
        # The who-is-online check speaks TCP only, so the bench will not guess.
        with Server() as server:
            status, _, output = run_bench("stress", server.http_port(), "--transport", "ws",
                                          *QUICK_STRESS)
        self.assertEqual(status, 3, output)
        self.assertIn("--force", output)

    def test_a_plain_tcp_port_fails_the_handshake_without_hanging(self):
        with Server() as server:
            status, report, output = run_bench(
                "stress", server.port, "--transport", "ws", "--force", "--bots", "2",
                "--duration", "0.5", "--connect-timeout", "3", "--drain", "1", "--quiet")
        self.assertNotEqual(status, 0, output)
        self.assertFalse(report["passed"])
        self.assertEqual(report["registered"], 0)


if __name__ == "__main__":
    unittest.main()
