"""bench-compare (scripts/bench/compare.py --quick): every server that is installed gets a
column, every figure a row, and the outputs are well-formed."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import types
import unittest
import xml.etree.ElementTree as ElementTree

from harness import ROOT, SERVER_BINARY

BENCH = os.environ.get("CLASSCHAT_BENCH",
                       os.path.join(ROOT, "build", "release", "src", "bench", "classchat-bench"))
# classchat-relay is built next to classchat-bench (src/bench).
RELAY = os.path.join(os.path.dirname(BENCH), "classchat-relay")
SCRIPT = os.path.join(ROOT, "scripts", "bench", "compare.py")
FIGURES = ["a", "b", "c", "d", "d2", "e"]  # what --quick runs by default

sys.path.insert(0, os.path.dirname(SCRIPT))
import compare  # noqa: E402  (the script itself, for its list of servers)


def available_servers():
    """classchatd twice, plus each peer whose program and start helper are present. Under a
    sanitizer the bench itself is several times slower, so only classchatd runs."""
    paths = types.SimpleNamespace(server=SERVER_BINARY, relay=RELAY)
    names = [s.name for s in compare.make_servers(paths) if not s.available]
    if os.environ.get("CLASSCHAT_SANITIZER"):
        names = [n for n in names if n.startswith("classchatd")]
    return names


class CompareQuick(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = available_servers()
        cls.directory = tempfile.TemporaryDirectory()
        cls.out = cls.directory.name
        cls.result = subprocess.run(
            [sys.executable, SCRIPT, "--quick", "--bench", BENCH, "--server", SERVER_BINARY,
             "--relay", RELAY, "--only", ",".join(cls.servers), "--out", cls.out],
            capture_output=True, text=True, timeout=280)

    @classmethod
    def tearDownClass(cls):
        cls.directory.cleanup()

    def read(self, name):
        with open(os.path.join(self.out, name), encoding="utf-8") as f:
            return f.read()

    def test_exits_zero(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr[-4000:])

    def test_table_has_a_row_per_figure_and_a_column_per_server(self):
        table = [line for line in self.read("compare.md").splitlines() if line.startswith("|")]
        header = [cell.strip() for cell in table[0].strip("|").split("|")]
        self.assertEqual(header[1:1 + len(self.servers)], self.servers)
        peers = [n for n in self.servers if not n.startswith("classchatd")]
        self.assertEqual(header[1 + len(self.servers):], [f"classchatd ÷ {p}" for p in peers])
        rows = table[2:]
        self.assertEqual([row.strip("| ").split(".")[0] for row in rows], FIGURES)
        for row in rows:
            cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
            self.assertEqual(len(cells), len(header), row)
            # classchatd's cells carry a number, not "failed: ...".
            for cell in cells[1:3]:
                self.assertRegex(cell, r"^[0-9][0-9.,]* ?(k|M)?(/s| µs| ms| s)\b", row)
        for line in table:
            self.assertIn(line, self.result.stdout)  # the table is printed too

    def test_json_has_every_figure_with_positive_numbers_for_classchatd(self):
        document = json.loads(self.read("compare.json"))
        self.assertEqual(sorted(document["figures"]), FIGURES)
        self.assertEqual(list(document["results"]), self.servers)
        for name in ("classchatd-1", "classchatd-2"):
            for figure in FIGURES:
                cell = document["results"][name][figure]
                self.assertNotIn("error", cell, f"{name} {figure}")
                self.assertGreater(cell["value"], 0, f"{name} {figure}")
                runs = document["runs"][name][figure]
                self.assertEqual(len(runs), 1)  # --quick: one run per figure
                self.assertEqual(runs[0]["exit_status"], 0)
                self.assertTrue(runs[0]["report"]["passed"])
                self.assertEqual(runs[0]["cells"][figure]["value"], cell["value"])
        # The same figure for every server: the bench arguments are the figure's.
        for figure in FIGURES:
            args = {tuple(run["args"]) for n in self.servers
                    for run in document["runs"][n][figure]}
            self.assertEqual(len(args), 1, figure)
        # Each peer's cell is a number or says why it failed.
        for name in self.servers:
            for figure in FIGURES:
                cell = document["results"][name][figure]
                self.assertTrue(cell.get("value", 0) > 0 or cell.get("error"), (name, figure))
        machine = document["machine"]
        self.assertEqual(machine["nproc"], os.cpu_count())
        self.assertTrue(machine["kernel"])
        self.assertEqual(set(machine["versions"]), set(self.servers))

    def test_svg_is_xml_with_a_bar_per_result(self):
        root = ElementTree.fromstring(self.read("compare.svg"))
        self.assertTrue(root.tag.endswith("svg"))
        document = json.loads(self.read("compare.json"))
        numbers = sum(1 for n in self.servers for f in FIGURES
                      if "value" in document["results"][n][f])
        bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect")
                if r.find("{http://www.w3.org/2000/svg}title") is not None]
        self.assertEqual(len(bars), numbers)
        # The legend names every server.
        text = "".join(root.itertext())
        for name in self.servers:
            self.assertIn(name, text)


class CompareWithTheClassServer(unittest.TestCase):
    """--class-server: the class's own server as a column, started from its command line
    (here class_server_fixture.py, which behaves like it), running only the figures that
    keep one message in flight per connection."""

    def test_runs_b_and_skips_a(self):
        fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "class_server_fixture.py")
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, SCRIPT, "--quick", "--bench", BENCH, "--server", SERVER_BINARY,
                 "--only", "classchatd-1,class", "--figures", "a,b", "--out", out,
                 "--class-server", f"{sys.executable} {fixture} {{port}}"],
                capture_output=True, text=True, timeout=200)
            self.assertEqual(result.returncode, 0, result.stderr[-4000:])
            with open(os.path.join(out, "compare.json"), encoding="utf-8") as f:
                document = json.load(f)
        self.assertEqual(list(document["results"]), ["classchatd-1", "class"])
        cells = document["results"]["class"]
        self.assertGreater(cells["b"]["value"], 0)
        self.assertTrue(cells["a"]["error"].startswith("skipped:"), cells["a"])
        run = document["runs"]["class"]["b"][0]
        self.assertEqual(run["exit_status"], 0)
        self.assertIn("--force", run["command"])
        self.assertIn("| skipped: the figure pipelines messages", result.stdout)

    def test_listening_is_read_without_connecting(self):
        # A connection would register a nameless user on the class's server.
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            self.assertFalse(compare.listening(listener.getsockname()[1]))
            listener.listen(1)
            self.assertTrue(compare.listening(listener.getsockname()[1]))
            listener.settimeout(0)
            self.assertRaises(BlockingIOError, listener.accept)  # nobody connected

    def test_without_a_port_placeholder_65432_must_be_free(self):
        # The class's code listens on 65432, so without {port} that is where it must start.
        with socket.socket() as holder, tempfile.TemporaryDirectory() as out:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                holder.bind(("127.0.0.1", compare.CLASS_PORT))
                holder.listen(1)
            except OSError:
                pass  # already taken by something else: the same case
            with self.assertRaisesRegex(compare.Failed, "65432.*already in use"):
                compare.start_class_server("python3 server_main.py",
                                           os.path.join(out, "server.log"))


def direct_report(lost=0, missing=0, disconnects=0, corrupted=0):
    tally = {"expected": 1000, "delivered": 1000 - lost, "lost": lost, "duplicated": 0,
             "reordered": 0, "corrupted": corrupted, "misdelivered": 0, "unexpected": 0}
    return {"mode": "throughput", "passed": False, "error_samples": [],
            "direct": {"tally": tally, "disconnects": disconnects, "registration_failures": 0,
                       "clients": 10,
                       "steps": [{"missing_after_drain": missing}]}}


class CompareRules(unittest.TestCase):
    def test_ratio_above_one_means_classchatd_is_better(self):
        self.assertEqual(compare.advantage(200, 100, compare.HIGHER), 2)  # messages/s
        self.assertEqual(compare.advantage(100, 200, compare.LOWER), 2)   # latency
        self.assertEqual(compare.advantage(100, 50, compare.LOWER), 0.5)

    def test_late_messages_are_not_a_failure_but_damage_is(self):
        self.assertTrue(compare.only_late(direct_report(lost=30, missing=30)))
        # Lost beyond what was still missing when the drain ended: dropped.
        self.assertFalse(compare.only_late(direct_report(lost=30, missing=10)))
        self.assertFalse(compare.only_late(direct_report(lost=30, missing=30, disconnects=1)))
        self.assertFalse(compare.only_late(direct_report(lost=30, missing=30, corrupted=1)))


    def test_failures_say_whether_the_server_was_wrong_or_refused(self):
        def why(report):
            return compare.bench_failure(1, "", "", report)
        self.assertTrue(why(direct_report(lost=30, missing=10)).startswith("verification failed"))
        self.assertTrue(why(direct_report(lost=30, disconnects=2)).startswith("refused: 2 "))
        self.assertIn("1 corrupted", why(direct_report(lost=30, disconnects=2, corrupted=1)))
        self.assertTrue(compare.disqualifies(why(direct_report(corrupted=1))))
        self.assertFalse(compare.disqualifies(why(direct_report(lost=3, disconnects=1))))

    def test_best_of_repeated_runs_unless_one_was_wrong(self):
        rate = {"better": compare.HIGHER}
        latency = {"better": compare.LOWER}
        runs = [{"value": 5, "note": ""}, {"value": 7, "note": "x"}, {"error": "timed out"}]
        self.assertEqual(compare.best_of(rate, runs)["value"], 7)
        self.assertEqual(compare.best_of(latency, runs)["value"], 5)
        wrong = runs + [{"error": "verification failed: direct: 3 lost"}]
        self.assertIn("verification failed", compare.best_of(rate, wrong)["error"])
        self.assertEqual(compare.best_of(rate, [{"error": "timed out"}])["error"], "timed out")


class CompareExtractors(unittest.TestCase):
    """Figure g's numbers, from a report shaped like the bench's --json."""

    @staticmethod
    def report(sent, cpu_seconds, max_us=0, delivered=1):
        step = {"sent": sent, "server_cpu_seconds": cpu_seconds,
                "latency": {"count": delivered, "max_us": max_us}}
        return {"shout": {"steps": [step]}}

    def test_server_cpu_per_shout_is_cpu_time_over_shouts_sent(self):
        value, _note = compare.server_cpu_per_message(self.report(100, 0.65), [])
        self.assertAlmostEqual(value, 6500.0)
        self.assertEqual(compare.fixed_rate_max(self.report(100, 0.65, 13000), [])[0], 13000)

    def test_missing_server_cpu_or_deliveries_fail_the_cell(self):
        with self.assertRaises(compare.Failed):
            compare.server_cpu_per_message(self.report(100, -1), [])
        with self.assertRaises(compare.Failed):
            compare.server_cpu_per_message(self.report(0, 0.5), [])
        with self.assertRaises(compare.Failed):
            compare.fixed_rate_max(self.report(100, 0.5, delivered=0), [])


class CompareArguments(unittest.TestCase):
    def test_unknown_server_is_refused(self):
        result = subprocess.run(
            [sys.executable, SCRIPT, "--bench", BENCH, "--server", SERVER_BINARY,
             "--only", "classchatd-1,apache"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("apache", result.stderr)

    def test_missing_classchatd_fails_the_run(self):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, SCRIPT, "--quick", "--bench", BENCH, "--server",
                 os.path.join(out, "no-such-classchatd"), "--only", "classchatd-1",
                 "--figures", "a", "--out", out], capture_output=True, text=True, timeout=30)
            self.assertEqual(result.returncode, 1)
            with open(os.path.join(out, "compare.md"), encoding="utf-8") as f:
                self.assertTrue(re.search(r"\| failed: unavailable: no classchatd", f.read()))


if __name__ == "__main__":
    unittest.main()
