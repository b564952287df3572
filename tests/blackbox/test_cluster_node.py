"""classchatd --redis as one node sees it: the options, the start (the log names the node
and Redis; no Redis, no start), and the cluster's figures on /metrics. The behaviour
across nodes is in test_cluster_chat.py, test_cluster_names.py and test_cluster_failures.py."""
import re
import subprocess
import time
import unittest
import urllib.request

import harness


class ClusterNodeStartTest(unittest.TestCase):
    def test_the_log_names_the_node_and_redis_and_metrics_show_the_lease(self):
        redis = harness.RedisServer()
        self.addCleanup(redis.close)
        with harness.Server("--redis", f"127.0.0.1:{redis.port}", "--node-lease", "3") as node:
            log = node.log()
            match = re.search(r"cluster: node ([0-9a-f]{16}) joining through Redis at "
                              rf"127\.0\.0\.1:{redis.port}", log)
            self.assertTrue(match, log)
            self.assertIn("holds its lease (epoch 1, --node-lease 3000 ms)", log)
            self.assertEqual(redis.command("GET", f"classchat:lease:{match.group(1)}"), "1")
            with urllib.request.urlopen(f"http://127.0.0.1:{node.http_port()}/metrics") as r:
                metrics = r.read().decode()
            self.assertRegex(metrics, r"\nclasschat_cluster_epoch 1\n")
            self.assertIn('classchat_cluster_events_total{event="fenced"} 0', metrics)

    def test_a_node_that_cannot_reach_redis_does_not_start(self):
        port = harness.free_port()  # nothing listens there
        started = time.monotonic()
        proc = subprocess.run([harness.SERVER_BINARY, "--port", "0", "--http-port", "0",
                               "--redis", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"--redis 127.0.0.1:{port}: no lease from Redis within 10 s", proc.stderr)
        self.assertNotIn("listening on", proc.stderr)
        self.assertLess(time.monotonic() - started, 25)

    def test_bad_cluster_options_are_usage_errors(self):
        for args in (["--redis", "localhost"], ["--redis", "127.0.0.1:6379", "--node-lease", "0"]):
            proc = subprocess.run([harness.SERVER_BINARY, *args], capture_output=True,
                                  text=True, timeout=10)
            self.assertEqual(proc.returncode, 2, (args, proc.stderr))

    def test_help_shows_the_cluster_options(self):
        out = subprocess.run([harness.SERVER_BINARY, "--help"], capture_output=True, text=True,
                             timeout=10).stdout
        for flag in ("--redis", "--node-lease", "--redis-prefix"):
            self.assertIn(flag, out)


if __name__ == "__main__":
    unittest.main()
