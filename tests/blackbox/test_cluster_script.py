"""scripts/cluster.sh: starts a private redis-server and N classchatd nodes sharing one
port, and SIGINT (Ctrl-C) stops every one of them, leaving no process behind. Also the
harness's cluster support (RedisServer, Cluster, the CLASSCHAT_CLUSTER opt-outs)."""
import os
import re
import signal
import subprocess
import time
import unittest
from unittest import mock

import harness
from harness import ROOT, SERVER_BINARY, TIMEOUT, free_port, register

SCRIPT = os.path.join(ROOT, "scripts", "cluster.sh")


def session_processes(sid):
    """The pids of every process whose session id is `sid` (the script and its children)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # Fields after the command name (in parentheses): state ppid pgrp session ...
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


class ClusterScript(unittest.TestCase):
    def start(self, nodes, *flags):
        self.port, http_port, redis_port = free_port(), free_port(), free_port()
        env = dict(os.environ, CLASSCHATD=SERVER_BINARY, CLASSCHAT_PORT=str(self.port),
                   CLASSCHAT_HTTP_PORT=str(http_port), CLASSCHAT_REDIS_PORT=str(redis_port))
        # Its own session, so that every process it starts can be found (and, should the
        # test fail, killed) by session id.
        self.proc = subprocess.Popen([SCRIPT, str(nodes), *flags], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True)
        self.addCleanup(self.kill_leftovers)
        output = ""
        deadline = time.monotonic() + 3 * TIMEOUT
        while "Ctrl-C stops them all" not in output:
            line = self.proc.stderr.readline()
            if not line or time.monotonic() > deadline:
                self.fail("cluster.sh did not get ready:\n" + output)
            output += line
        self.output = output
        self.redis_port = redis_port
        return output

    def kill_leftovers(self):
        for pid in session_processes(self.proc.pid):
            os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait()

    def test_two_nodes_start_and_sigint_stops_everything(self):
        output = self.start(2, "--threads", "1")
        node_pids = [int(p) for p in re.search(r"pids ([\d ]+), sharing", output).group(1).split()]
        redis_pid = int(re.search(r"Redis on 127\.0\.0\.1:(\d+) \(pid (\d+)", output).group(2))
        self.assertEqual(len(node_pids), 2)
        self.assertIn(f"Redis on 127.0.0.1:{self.redis_port}", output)
        for pid in node_pids:
            with open(f"/proc/{pid}/cmdline", encoding="utf-8") as f:
                cmdline = f.read().split("\0")
            self.assertIn("--reuse-port", cmdline)
            self.assertIn(f"127.0.0.1:{self.redis_port}", cmdline)
            self.assertIn(str(self.port), cmdline)
        with open(f"/proc/{redis_pid}/cmdline", encoding="utf-8") as f:
            self.assertIn(f"127.0.0.1:{self.redis_port}", f.read())
        # The shared port serves the chat.
        client = register(self.port, "alice")
        client.close()

        self.proc.send_signal(signal.SIGINT)
        self.assertIsNotNone(self.proc.wait(timeout=3 * TIMEOUT), "cluster.sh did not exit")
        rest = self.proc.stderr.read()
        self.assertIn("stopped 2 node(s) and Redis", rest)
        for pid in [*node_pids, redis_pid]:
            self.assertFalse(os.path.exists(f"/proc/{pid}"), f"pid {pid} is still running")
        self.assertEqual(session_processes(self.proc.pid), [])


class ClusterScriptUsage(unittest.TestCase):
    """What needs no cluster mode in the server: the script's own argument checks."""

    def test_node_count_is_required(self):
        for args in ([], ["zero"], ["0"], ["65"]):
            with self.subTest(args=args):
                result = subprocess.run([SCRIPT, *args], capture_output=True, text=True,
                                        timeout=30, env=dict(os.environ, CLASSCHATD=SERVER_BINARY))
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn("usage: scripts/cluster.sh N", result.stderr)

    def test_redis_flag_is_refused(self):
        result = subprocess.run([SCRIPT, "1", "--redis", "127.0.0.1:1"],
                                env=dict(os.environ, CLASSCHATD=SERVER_BINARY),
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--redis is set by the script", result.stderr)

    def test_bad_port_is_refused(self):
        result = subprocess.run([SCRIPT, "2"], capture_output=True, text=True, timeout=30,
                                env=dict(os.environ, CLASSCHATD=SERVER_BINARY,
                                         CLASSCHAT_PORT="70000"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("'70000' is not a port", result.stderr)


class RedisServerHelper(unittest.TestCase):
    def setUp(self):
        self.redis = harness.RedisServer()
        self.addCleanup(self.redis.close)

    def test_private_instance_without_persistence(self):
        self.assertEqual(self.redis.command("PING"), "PONG")
        self.assertEqual(self.redis.command("CONFIG", "GET", "save"), ["save", ""])
        self.assertEqual(self.redis.command("CONFIG", "GET", "appendonly"), ["appendonly", "no"])
        self.assertEqual(self.redis.command("CONFIG", "GET", "bind"), ["bind", "127.0.0.1"])
        self.assertNotEqual(self.redis.port, 6379)

    def test_commands_flush_and_pubsub_kill(self):
        self.assertEqual(self.redis.command("SET", "k", "v"), "OK")
        self.assertEqual(self.redis.command("DBSIZE"), 1)
        self.assertEqual(self.redis.command("GET", "k"), "v")
        self.assertEqual(self.redis.command("FLUSHALL"), "OK")
        self.assertEqual(self.redis.command("DBSIZE"), 0)
        self.assertEqual(self.redis.command("CLIENT", "KILL", "TYPE", "pubsub"), 0)
        with self.assertRaises(harness.RedisError):
            self.redis.command("NO-SUCH-COMMAND")

    def test_kill_then_restart_on_the_same_port_empty(self):
        port = self.redis.port
        self.redis.command("SET", "k", "v")
        self.redis.kill()
        self.assertFalse(self.redis.alive())
        with self.assertRaises(OSError):
            self.redis.command("PING")
        self.redis.restart()
        self.assertEqual(self.redis.port, port)
        self.assertEqual(self.redis.command("DBSIZE"), 0)


class ClusterOptOut(unittest.TestCase):
    """Under CLASSCHAT_CLUSTER, a class with CLUSTER = False and a test marked
    @single_process are skipped before their setUp runs; unset, they run."""

    def run_case(self, nodes):
        calls = []

        class Opted(harness.ServerTestCase):
            CLUSTER = False
            CLUSTER_REASON = "it signals the process"

            def setUp(self):
                calls.append("setUp")

            def test_it(self):
                calls.append("test")

        result = unittest.TestResult()
        with mock.patch.object(harness, "CLUSTER_NODES", nodes):
            Opted("test_it").run(result)
        return calls, result

    def test_opted_out_class_is_skipped_on_a_cluster(self):
        calls, result = self.run_case(3)
        self.assertEqual(calls, [])
        self.assertEqual(result.skipped[0][1], "single process only: it signals the process")

    def test_opted_out_class_runs_on_one_process(self):
        calls, result = self.run_case(0)
        self.assertEqual(calls, ["setUp", "test"])
        self.assertEqual(result.skipped, [])


class ClusterHelper(harness.ServerTestCase):
    def test_clients_are_spread_round_robin_over_the_nodes(self):
        cluster = harness.Cluster(nodes=3, threads=1)
        self.addCleanup(cluster.close)
        for node in cluster.nodes:
            self.assertIn(f"127.0.0.1:{cluster.redis.port}", node.proc.args)
        names = ["ann", "ben", "cat", "dan"]
        for name in names:
            self.register(cluster, name)
        for i, name in enumerate(names):
            cluster.nodes[i % 3].wait_for_log(rf"registered as {name}\b")
        cluster.wait_for_log(r"registered as dan\b")
        self.assertTrue(cluster.alive())
        self.assertEqual(cluster.stop(), 0)
        self.assertFalse(cluster.redis.alive())


if __name__ == "__main__":
    unittest.main()
