"""classchat-bench --protocol irc against real ngIRCd and InspIRCd (issue #6's side-by-side
peers), each started by scripts/bench/irc_peers.py on an ephemeral loopback port with the
generated configuration: direct messages and shouts verified end to end, and the ramp's
PING heartbeat."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from harness import ROOT, TIMEOUT

sys.path.insert(0, os.path.join(ROOT, "scripts", "bench"))
import irc_peers  # noqa: E402  (scripts/bench is not a package)

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
PEERS = (("ngircd", irc_peers.start_ngircd), ("inspircd", irc_peers.start_inspircd))


def run_bench(mode, port, *args):
    """Runs one bench mode against 127.0.0.1:port; returns (exit status, JSON, stdout)."""
    with tempfile.TemporaryDirectory() as directory:
        report_path = os.path.join(directory, "report.json")
        result = subprocess.run(
            [BENCH, mode, "--protocol", "irc", "--port", str(port), "--json", report_path,
             "--quiet", *args],
            capture_output=True, text=True, timeout=120 + 10 * TIMEOUT)
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
        return result.returncode, report, result.stdout + result.stderr


class IrcPeers(unittest.TestCase):
    def start(self, name, starter):
        if not irc_peers.find_program(name):
            self.skipTest(f"{name} is not installed (scripts/install-deps.sh --bench-peers)")
        if not os.access(BENCH, os.X_OK):
            self.skipTest(f"no classchat-bench at {BENCH}")
        peer = starter(port=irc_peers.free_port())
        self.addCleanup(peer.stop)
        return peer

    def test_direct_messages_and_shouts_are_delivered(self):
        for name, starter in PEERS:
            with self.subTest(server=name):
                peer = self.start(name, starter)
                status, report, output = run_bench(
                    "throughput", peer.port, "--kind", "both", "--rate", "50,200",
                    "--step-duration", "1", "--pairs", "5", "--listeners", "10",
                    "--shouters", "2", "--drain", str(TIMEOUT), "--server-pid", str(peer.pid))
                self.assertEqual(status, 0, output)
                self.assertTrue(report["passed"], output)
                direct, shout = report["direct"], report["shout"]
                self.assertEqual(direct["clients"], 10)
                # Each shout reaches everyone in the channel but its sender.
                self.assertEqual(shout["receivers_per_message"], 11)
                for kind in (direct, shout):
                    tally = kind["tally"]
                    self.assertGreater(tally["delivered"], 0)
                    self.assertEqual(tally["delivered"], tally["expected"])
                    for problem in ("lost", "duplicated", "reordered", "corrupted",
                                    "misdelivered", "unexpected"):
                        self.assertEqual(tally[problem], 0, problem)
                    self.assertEqual(kind["registration_failures"], 0)
                    self.assertEqual(kind["disconnects"], 0)
                    for step in kind["steps"]:
                        self.assertGreater(step["sent"], 0)
                        self.assertGreater(step["achieved_deliveries_per_s"], 0)
                sent = sum(step["sent"] for step in shout["steps"])
                self.assertEqual(shout["tally"]["expected"], 11 * sent)
                self.assertTrue(peer.alive(), f"{name} died; log {peer.log_path}")

    def test_closed_loop_window(self):
        for name, starter in PEERS:
            with self.subTest(server=name):
                peer = self.start(name, starter)
                status, report, output = run_bench(
                    "throughput", peer.port, "--kind", "direct", "--window", "4",
                    "--step-duration", "1", "--pairs", "5", "--drain", str(TIMEOUT))
                self.assertEqual(status, 0, output)
                tally = report["direct"]["tally"]
                self.assertGreater(tally["delivered"], 5 * 2 * 4)
                self.assertEqual(tally["delivered"], tally["expected"])
                self.assertEqual(tally["lost"], 0)

    def test_ping_heartbeats_come_back(self):
        for name, starter in PEERS:
            with self.subTest(server=name):
                peer = self.start(name, starter)
                status, report, output = run_bench(
                    "ramp", peer.port, "--step", "10", "--interval", "1", "--target", "20",
                    "--hold", "2", "--heartbeat", "0.5", "--procs", "1", "--sources", "2",
                    "--server-pid", str(peer.pid))
                self.assertEqual(status, 0, output)
                self.assertIn("peak stable connections: 20", output)
                self.assertIn("0 damaged", output)
                self.assertIn("0 connect, 0 refused, 0 handshake, 0 disconnects", output)


class IrcPeersConfig(unittest.TestCase):
    """The generated configurations are what the docstring promises (the daemons would
    silently ignore a misspelt setting)."""

    def test_ngircd_limits(self):
        config = irc_peers.NGIRCD_CONFIG
        for setting in ("MaxConnectionsIP = 0", "MaxPenaltyTime = 0", "DNS = no",
                        "Ident = no", "MaxNickLength = 31", "PingTimeout = {ping}"):
            self.assertIn(setting, config)

    def test_inspircd_limits(self):
        config = irc_peers.INSPIRCD_CONFIG
        for setting in ('nouserdns="yes"', 'threshold="4000000"', 'localmax="1000000"',
                        'hardsendq="1073741824"', 'pingfreq="{ping}"'):
            self.assertIn(setting, config)


if __name__ == "__main__":
    unittest.main()
