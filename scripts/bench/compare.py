#!/usr/bin/env python3
"""bench-compare: the same workloads against classchatd and every peer, one table, one chart.

Usage:
    scripts/bench/compare.py [--bench PATH] [--server PATH] [--relay PATH]
                             [--class-server COMMAND] [--only NAME,...] [--figures a,b,...]
                             [--repeat N] [--quick] [--out DIR]

Servers (--only takes these names): classchatd-1 and classchatd-2 (classchatd with 1 and 2
event loops), ngircd, inspircd (IRC), nats (nats-server) and relay (classchat-relay, the
minimal relay written for the benchmark). Each figure runs against a fresh server started
on 127.0.0.1 and an ephemeral port with a configuration generated for the run (flood and
rate limits lifted), and that server is stopped afterwards. The load is always
`classchat-bench`, with the same arguments for every server (see FIGURES below), and
`--server-pid` so that the server's CPU and memory are recorded. Every figure runs --repeat
times per server (default 2, in rounds over all servers) and the best run counts, unless a
run delivered wrong results or crashed the server.

Writes into --out (default bench-results/):
    compare.json  every raw figure (the bench's own JSON per run), the commands, the machine
    compare.md    one row per figure, one column per server, and the ratios classchatd/peer
    compare.svg   one chart: per figure, each server relative to classchatd (log scale)
    logs/         each run's bench output and server log
and prints the table on stdout. A server that fails a figure gets "failed: <why>" in its
cell. The exit status is nonzero only if classchatd fails a figure or the script breaks.

--class-server COMMAND adds a column "class": the class's own Python server, for those who
have a copy, e.g. --class-server "python3 path/to/server_main.py". The command is split like
a shell would and started like the other servers, once per figure. `{port}` in it is
replaced by a free port, for a copy changed to take its port as an argument; without
`{port}` the server is expected on the class's hard-coded 65432, which must then be free.
The script waits for the port to be listening without connecting to it (a test connection
would register a nameless user there). Such a server reads each recv() as one message, so
only the figures that keep one message in flight per connection run against it (b, g, f);
the others pipeline messages, and their cells say "skipped".

--quick uses tiny client counts and 1 s steps (for tests and smoke runs; the numbers mean
nothing). A full run takes about 15 minutes on 2 cores. Run it on an otherwise idle
machine: the generator and the server share the CPUs.

Examples:
    scripts/bench/compare.py                          # everything, binaries from build/
    scripts/bench/compare.py --only classchatd-1,nats --figures a,c
    scripts/bench/compare.py --class-server "python3 ~/class/server_main.py" --only classchatd-1,class
    cmake --build build/bench --target bench-compare  # the same, with the built binaries
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.sax.saxutils

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HIGHER, LOWER = "higher", "lower"  # which direction of a figure is better


def metric(key, title, short, unit, better, extractor):
    """One row of the table: `short` labels the chart, `extractor` names the function that
    reads the number out of the bench's JSON report."""
    return {"id": key, "title": title, "short": short, "unit": unit, "better": better,
            "extractor": extractor}


# ---------------------------------------------------------------------------------------
# The figures. Each entry is one bench run; its metrics are rows of the table. `args` are
# the bench arguments of the full-size run, `quick` those of --quick. The target, protocol,
# --json, -q and --server-pid are added for every run (and --force to the modes that
# shout: the server was started for the run, on its own port). `timeout` bounds the run
# (seconds). `one_at_a_time`: every connection has at most one message in flight, the
# only load a server that reads one message per recv() (the class's) can take.
# ---------------------------------------------------------------------------------------
FIGURES = [
    {
        "key": "a", "mode": "throughput", "timeout": 120,
        "args": ["--kind", "direct", "--pairs", "500", "--window", "16", "--step-duration", "5",
                 "--drain", "5"],
        "quick": ["--kind", "direct", "--pairs", "20", "--window", "4", "--step-duration", "1",
                  "--drain", "3"],
        "metrics": [metric("a", "Direct messages/s, 1,000 senders, 16 in flight each", "direct/s, 16 in flight",
                       "rate", HIGHER, "closed_loop_rate")],
    },
    {
        "key": "b", "mode": "throughput", "timeout": 120, "one_at_a_time": True,
        "args": ["--kind", "direct", "--pairs", "500", "--window", "1", "--step-duration", "5",
                 "--drain", "5"],
        "quick": ["--kind", "direct", "--pairs", "20", "--window", "1", "--step-duration", "1",
                  "--drain", "3"],
        "metrics": [metric("b", "Direct messages/s, 1,000 senders, 1 in flight each", "direct/s, 1 in flight",
                       "rate", HIGHER, "closed_loop_rate")],
    },
    {
        # Max search: doubles the shout rate from the start until a 2 s step is not
        # sustained (p99 <= 50 ms, >= 95% delivered, nothing lost), then bisects.
        "key": "c", "mode": "throughput", "timeout": 240,
        "args": ["--kind", "shout", "--listeners", "1000", "--shout-start-rate", "250",
                 "--search-steps", "9", "--retries", "1", "--step-duration", "2", "--drain", "3",
                 "--fractions", "1"],
        # --quick: criteria relaxed so that a busy machine cannot make the search fail.
        "quick": ["--kind", "shout", "--listeners", "50", "--shout-start-rate", "100",
                  "--search-steps", "2", "--retries", "1", "--step-duration", "1", "--drain", "2",
                  "--fractions", "1", "--max-p99", "5000", "--min-achieved", "0.1"],
        "metrics": [metric("c", "Shout deliveries/s to 1,000 listeners, max sustained", "shout deliveries/s",
                       "rate", HIGHER, "max_shout_deliveries")],
    },
    {
        "key": "d", "mode": "throughput", "timeout": 120,
        "args": ["--kind", "direct", "--pairs", "500", "--rate", "100000", "--step-duration", "5",
                 "--drain", "5"],
        "quick": ["--kind", "direct", "--pairs", "20", "--rate", "2000", "--step-duration", "1",
                  "--drain", "3"],
        "metrics": [metric("d", "Direct-message p99 at 100,000/s offered (open loop)", "direct p99",
                       "latency", LOWER, "fixed_rate_p99")],
    },
    {
        "key": "d2", "mode": "throughput", "timeout": 120,
        "args": ["--kind", "direct", "--pairs", "500", "--rate", "500000", "--step-duration", "5",
                 "--drain", "5"],
        "quick": ["--kind", "direct", "--pairs", "20", "--rate", "5000", "--step-duration", "1",
                  "--drain", "3"],
        "metrics": [metric("d2", "Direct-message p99 at 500,000/s offered (open loop)", "direct p99 at 500k/s",
                       "latency", LOWER, "fixed_rate_p99")],
    },
    {
        "key": "e", "mode": "throughput", "timeout": 120,
        "args": ["--kind", "shout", "--listeners", "1000", "--rate", "1000", "--step-duration", "5",
                 "--drain", "5"],
        "quick": ["--kind", "shout", "--listeners", "50", "--rate", "100", "--step-duration", "1",
                  "--drain", "3"],
        "metrics": [metric("e", "Shout p99 to 1,000 listeners at 1,000 shouts/s", "shout p99", "latency",
                       LOWER, "fixed_rate_p99")],
    },
    {
        # One shout at a time (20/s, far apart): what writing one shout to 1,000 listeners
        # costs the server, and how long until the last listener has it.
        "key": "g", "mode": "throughput", "timeout": 120, "in_quick": False,
        "one_at_a_time": True,
        "args": ["--kind", "shout", "--listeners", "1000", "--rate", "20", "--step-duration", "5",
                 "--drain", "3"],
        "quick": ["--kind", "shout", "--listeners", "50", "--rate", "20", "--step-duration", "1",
                  "--drain", "2"],
        "metrics": [metric("g1", "Server CPU time per shout to 1,000 listeners (20 shouts/s)",
                           "server CPU per shout", "latency", LOWER, "server_cpu_per_message"),
                    metric("g2", "Latency until the last listener has a shout (max, 20 shouts/s)",
                           "shout to last listener", "latency", LOWER, "fixed_rate_max")],
    },
    {
        # Connections: 1,000 more every 3 s up to 5,000, held 6 s, each client sending a
        # heartbeat (a direct message to itself) every 3 s. Not run by --quick unless asked.
        "key": "f", "mode": "ramp", "timeout": 120, "in_quick": False, "one_at_a_time": True,
        "args": ["--step", "1000", "--interval", "3", "--target", "5000", "--hold", "6",
                 "--heartbeat", "3", "--duration", "60", "--max-p99", "5000"],
        "quick": ["--step", "50", "--interval", "1", "--target", "100", "--hold", "1",
                  "--heartbeat", "0.5", "--duration", "10", "--max-p99", "5000"],
        "metrics": [metric("f1", "Connections held (of the ramp's target)", "connections held", "count",
                       HIGHER, "ramp_held"),
                    metric("f2", "Heartbeat p99 with every connection held", "heartbeat p99", "latency",
                       LOWER, "ramp_heartbeat_p99"),
                    metric("f3", "Server RSS growth per connection", "RSS/connection", "bytes", LOWER,
                       "ramp_rss_per_connection")],
    },
]


class Failed(Exception):
    """A figure that has no number for one server; the message goes into its cell."""


# ---------------------------------------------------------------------------------------
# Reading the numbers out of the bench's JSON. Each returns (value, note); note is shown
# next to the value ("" when there is nothing to add).
# ---------------------------------------------------------------------------------------
def _kind(report):
    for kind in ("direct", "shout"):
        if kind in report:
            return report[kind]
    raise Failed("the bench report has no figures")


def closed_loop_rate(report, _args):
    steps = _kind(report)["steps"]
    if not steps:
        raise Failed("no step ran (clients did not all register)")
    return steps[0]["achieved_deliveries_per_s"], ""


def max_shout_deliveries(report, _args):
    shout = report["shout"]
    if not shout["steps"]:
        raise Failed("no step ran (clients did not all register)")
    if shout["max_sustained_rate"] <= 0:
        lowest = min(step["offered_per_s"] for step in shout["steps"])
        raise Failed(f"no rate sustained, down to {lowest:g} shouts/s")
    return shout["max_sustained_deliveries_per_s"], ""


def fixed_rate_p99(report, _args):
    kind = _kind(report)
    if not kind["steps"]:
        raise Failed("no step ran (clients did not all register)")
    step = kind["steps"][0]
    if step["latency"]["count"] == 0:
        raise Failed("nothing delivered")
    note = ""
    if not step["sustained"]:
        limits = report["options"]
        why = []
        if step["achieved_deliveries_per_s"] < limits["min_achieved"] * step[
                "offered_deliveries_per_s"]:
            why.append(f"{format_value(step['achieved_deliveries_per_s'], 'rate')} of "
                       f"{format_value(step['offered_deliveries_per_s'], 'rate')} delivered")
        if step["latency"]["p99_us"] > 1000 * limits["max_p99_ms"]:
            why.append(f"p99 above the bench's {limits['max_p99_ms']:g} ms limit")
        if step["errors"]:
            why.append(f"{step['errors']:,} errors")
        note = "not sustained" + (": " + ", ".join(why) if why else "")
        if step["skipped"]:
            note += f", {step['skipped']:,} sends skipped (backlog)"
        if step["missing_after_drain"]:
            note += (f", {step['missing_after_drain']:,} still missing after the drain (the p99 "
                     f"is of those that arrived: a lower bound)")
    return step["latency"]["p99_us"], note


def fixed_rate_max(report, _args):
    step = _fixed_step(report)
    return step["latency"]["max_us"], ""


def server_cpu_per_message(report, _args):
    """Server CPU time (all its threads, µs) per message sent in the step."""
    step = _fixed_step(report)
    if step.get("server_cpu_seconds", -1) < 0 or step["sent"] == 0:
        raise Failed("server CPU not measured")
    return step["server_cpu_seconds"] * 1e6 / step["sent"], ""


def _fixed_step(report):
    kind = _kind(report)
    if not kind["steps"] or kind["steps"][0]["latency"]["count"] == 0:
        raise Failed("nothing delivered")
    return kind["steps"][0]


def ramp_target(args):
    return int(args[args.index("--target") + 1])


def ramp_held(report, args):
    held = report["peak_stable_connections"]
    if held <= 0:
        raise Failed(f"no connection held ({report['stop_reason']})")
    target = ramp_target(args)
    return held, "" if held >= target else f"stopped: {report['stop_reason']}"


def ramp_heartbeat_p99(report, args):
    timed = [step for step in report["steps"] if step["heartbeat_rtt"]["count"] > 0]
    if not timed:
        raise Failed("no heartbeat came back")
    last = timed[-1]
    note = "" if last["held"] >= ramp_target(args) else f"at {last['held']:,} connections"
    return last["heartbeat_rtt"]["p99_us"], note


def ramp_rss_per_connection(report, _args):
    value = report["server_rss_bytes_per_connection"]
    if value <= 0:
        rss = [step["server_rss_bytes"] for step in report["steps"] if "server_rss_bytes" in step]
        if "server_at_start" not in report or not rss:
            raise Failed("server memory not measured")
        raise Failed(f"no measurable RSS growth ({report['server_at_start']['rss_bytes']:,} "
                     f"bytes at the start, {max(rss):,} at most)")
    return value, ""


EXTRACTORS = {f.__name__: f for f in (closed_loop_rate, max_shout_deliveries, fixed_rate_p99,
                                       fixed_rate_max, server_cpu_per_message, ramp_held,
                                       ramp_heartbeat_p99, ramp_rss_per_connection)}


def format_value(value, unit):
    if unit == "rate":
        if value >= 1e6:
            return f"{value / 1e6:.2f} M/s"
        if value >= 1e4:
            return f"{value / 1e3:.0f}k/s"
        return f"{value:,.0f}/s"
    if unit == "latency":  # microseconds
        if value >= 1e6:
            return f"{value / 1e6:.2f} s"
        if value >= 1e3:
            return f"{value / 1e3:.2f} ms"
        return f"{value:.0f} µs"
    if unit == "bytes":
        return f"{value / 1e3:.2f} KB" if value >= 1e3 else f"{value:.0f} B"
    return f"{value:,.0f}"


# ---------------------------------------------------------------------------------------
# Servers. Each start function returns a Running: pid, port and a stop() that says what
# went wrong (None when the server exited cleanly).
# ---------------------------------------------------------------------------------------
def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Running:
    """A server process started for one figure: `pid`, `port`, and `stop()`."""

    def __init__(self, proc, port, peer=None):
        self.proc = proc
        self.pid = proc.pid
        self.port = port
        self._peer = peer  # a peer helper's handle (irc_peers, nats_peers): it stops itself

    def stop(self):
        """Stops the server; returns None if it was running and stopped, else what went
        wrong (it had exited during the run, or it did not exit when asked)."""
        if self.proc.poll() is not None:
            return f"the server exited (status {self.proc.returncode}) during the run"
        if self._peer is not None:
            # The helpers send each server the signal it exits cleanly on; None: killed.
            if self._peer.stop() is None:
                return "the server did not exit when asked (killed)"
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "the server did not exit within 15 s of SIGTERM (killed)"
        return None


def start_classchatd(binary, threads, log_path):
    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads),
             "--no-http",
             "--rate-limit", "0", "--shout-rate", "0", "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if not wait_for_port(port, proc):
        proc.kill()
        proc.wait()
        raise Failed(f"classchatd did not start (see {log_path})")
    return Running(proc, port)


CLASS_PORT = 65432  # hard-coded in the class's server


def listening(port):
    """True if something listens on 127.0.0.1/0.0.0.0 (or ::) `port`, read from /proc: no
    connection is made, so a server that registers whoever connects sees nothing."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1],
                                                                16) == port:
                return True
    return False


def start_class_server(command, log_path):
    """The class's own server, from its command line (see --class-server)."""
    if "{port}" in command:
        port = free_port()
        command = command.replace("{port}", str(port))
    else:
        port = CLASS_PORT
        if listening(port):
            raise Failed(f"port {port} (the class server's) is already in use; stop what "
                         "listens there, or give the command a {port}")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(shlex.split(command), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            raise Failed(f"the class server did not listen on port {port} (see {log_path})")
        time.sleep(0.05)
    return Running(proc, port)


def wrap_peer(peer):
    """A Running for what a peer helper's start_*() returned (proc, port, stop())."""
    return Running(peer.proc, peer.port, peer=peer)


def peer_module(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip()
        return text.splitlines()[0] if text else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def find_program(name):
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def git_version():
    """The checkout this script is in (the binaries given may have been built elsewhere)."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "checkout: ?"
    if not head:
        return "checkout: not a git repository"
    return f"checkout at commit {head}{' with uncommitted changes in src/' if dirty else ''}"


class Server:
    """One column of the table."""

    def __init__(self, name, protocol, label, available, start, version,
                 one_message_per_read=False):
        self.name = name
        self.protocol = protocol
        self.label = label
        self.available = available  # "" if it can run, else why not
        self.start = start          # (log_path) -> Running
        self.version = version      # () -> str
        # Reads each recv() as one message: only figures with one in flight can run.
        self.one_message_per_read = one_message_per_read

    def skips(self, figure):
        """Why this server cannot run `figure` (a cell that says "skipped"), or None."""
        if self.one_message_per_read and not figure.get("one_at_a_time"):
            return ("skipped: the figure pipelines messages, and this server reads each "
                    "recv() as one message")
        return None

    def is_classchatd(self):
        return self.name.startswith("classchatd")


def make_servers(options):
    servers = []
    for threads in (1, 2):
        servers.append(Server(
            f"classchatd-{threads}", "classchat", f"classchatd --threads {threads}",
            "" if os.access(options.server, os.X_OK) else f"no classchatd at {options.server}",
            lambda log, t=threads: start_classchatd(options.server, t, log),
            lambda: f"{options.server} ({git_version()})"))

    irc = peer_module("irc_peers")
    for name, program, starter in (("ngircd", "ngircd", "start_ngircd"),
                                   ("inspircd", "inspircd", "start_inspircd")):
        path = find_program(program)
        why = ("" if irc is not None and path else
               "scripts/bench/irc_peers.py is missing" if irc is None else
               f"{program} is not installed (scripts/install-deps.sh --bench-peers)")
        servers.append(Server(
            name, "irc", name, why,
            lambda log, s=starter: wrap_peer(getattr(irc, s)(log_path=log)),
            lambda p=path: first_line([p, "--version"]) if p else "?"))

    nats = peer_module("nats_peers")
    path = find_program("nats-server")
    why = ("" if nats is not None and path else
           "scripts/bench/nats_peers.py is missing" if nats is None else
           "nats-server is not installed (scripts/install-deps.sh --bench-peers)")
    servers.append(Server(
        "nats", "nats", "nats-server", why,
        lambda log: wrap_peer(nats.start_nats(log_path=log)),
        lambda: first_line([path, "--version"]) if path else "?"))
    why = ("" if nats is not None and options.relay and os.access(options.relay, os.X_OK) else
           "scripts/bench/nats_peers.py is missing" if nats is None else
           "no classchat-relay binary (--relay)")
    servers.append(Server(
        "relay", "relay", "classchat-relay", why,
        lambda log: wrap_peer(nats.start_relay(options.relay, log_path=log)),
        lambda: f"{options.relay} ({git_version()})"))

    command = getattr(options, "class_server", None)
    if command:
        servers.append(Server(
            "class", "classchat", f"the class's server ({command})", "",
            lambda log: start_class_server(command, log), lambda: command,
            one_message_per_read=True))
    return servers


# ---------------------------------------------------------------------------------------
# Running one figure against one server.
# ---------------------------------------------------------------------------------------
def only_late(report):
    """True if the bench failed a throughput run only because messages were still missing
    when a step's drain ended (an overloaded server, late rather than wrong): nothing
    damaged, duplicated or misdelivered, no disconnects, no server errors. The figures
    then stand, with a note; a step with missing messages is never "sustained"."""
    if report is None or report.get("mode") != "throughput" or report.get("error_samples"):
        return False
    for kind in ("direct", "shout"):
        if kind not in report:
            continue
        r, t = report[kind], report[kind]["tally"]
        missing = sum(step["missing_after_drain"] for step in r["steps"])
        wrong = sum(t[k] for k in ("duplicated", "reordered", "corrupted", "misdelivered",
                                   "unexpected"))
        if wrong or r["registration_failures"] or r["disconnects"] or t["lost"] != missing:
            return False
    return True


def bench_failure(status, stdout, stderr, report):
    """Why a bench run that exited with `status` has no trustworthy number: "verification
    failed" (messages lost, damaged, duplicated, reordered or misdelivered), "refused"
    (clients not registered or disconnected by the server), or what the bench said."""
    if report is not None and report.get("mode") == "throughput":
        wrong, refused = [], []
        for kind in ("direct", "shout"):
            if kind not in report:
                continue
            r, t = report[kind], report[kind]["tally"]
            wrong += [f"{kind}: {t[k]:,} {k}" for k in ("lost", "duplicated", "reordered",
                                                        "corrupted", "misdelivered",
                                                        "unexpected") if t[k]]
            if r["registration_failures"]:
                refused.append(f"{r['registration_failures']:,} of {r['clients']:,} clients "
                               f"not registered")
            if r["disconnects"]:
                refused.append(f"{r['disconnects']:,} clients disconnected")
        samples = report.get("error_samples") or []
        said = f' (server said: "{samples[0][:80]}")' if samples else ""
        damaged = [w for w in wrong if not w.endswith(" lost")]
        if damaged or (wrong and not refused):
            return "verification failed: " + ", ".join(wrong + refused) + said
        if refused:  # messages to or from the refused clients are lost too
            return "refused: " + ", ".join(refused) + said
        return f"bench exit status {status}{said}"
    if report is not None and report.get("mode") == "ramp":
        return f"ramp broke down: {report.get('stop_reason', '?')}"
    lines = [line for line in (stderr + stdout).splitlines() if line.strip()]
    return f"bench exit status {status}: {lines[-1][:160] if lines else 'no output'}"


def trim_log(path, keep=256 * 1024):
    """Keeps the head and the tail of a server log that grew large (ngIRCd logs a line per
    failed write to each client the bench closed, hundreds of thousands after a shout run)."""
    try:
        size = os.path.getsize(path)
        if size <= 4 * keep:
            return
        with open(path, "rb") as f:
            head = f.read(keep)
            f.seek(size - keep)
            tail = f.read()
        with open(path, "wb") as f:
            f.write(head + f"\n[... {size - 2 * keep:,} bytes left out ...]\n".encode() + tail)
    except OSError:
        pass


def run_figure(options, server, figure, logs, round_number):
    """Starts `server`, runs `figure` with the bench, stops the server. Returns the record."""
    args = figure["quick"] if options.quick else figure["args"]
    base = f"{server.name}-{figure['key']}-{round_number}"
    server_log = os.path.join(logs, base + ".server.log")
    json_path = os.path.join(logs, base + ".json")
    record = {"args": args, "load_before": os.getloadavg()[0]}
    started = time.monotonic()
    try:
        running = server.start(server_log)
    except Failed as e:
        record["error"] = str(e)
        return record
    except Exception as e:  # a peer that would not start: that server's failure, not ours
        why = str(e).splitlines()[0].rstrip(":") if str(e) else type(e).__name__
        record["error"] = f"could not start: {why}"
        return record
    cmd = [options.bench, figure["mode"], "--host", "127.0.0.1", "--port", str(running.port),
           "--protocol", server.protocol, "--json", json_path, "-q",
           "--server-pid", str(running.pid)] + args
    if figure["mode"] in ("stress", "throughput"):
        # The bench's check for other people online would only find the server we just
        # started; and a class server's /list may not read as classchatd's.
        cmd.append("--force")
    record["command"] = " ".join(cmd)
    status, stdout, stderr = None, "", ""
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=figure["timeout"])
        status, stdout, stderr = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else ""
        record["error"] = f"timed out after {figure['timeout']} s"
    finally:
        server_problem = running.stop()
    record["wall_s"] = round(time.monotonic() - started, 1)
    trim_log(server_log)
    with open(os.path.join(logs, base + ".bench.txt"), "w", encoding="utf-8") as f:
        f.write(record["command"] + "\n\n" + stdout + "\n" + stderr)
    report = None
    if os.path.exists(json_path) and status is not None:
        try:
            with open(json_path, encoding="utf-8") as f:
                report = json.load(f)
        except ValueError:
            report = None
    record["exit_status"] = status
    record["report"] = report
    if "error" in record:
        pass
    elif server_problem and "during the run" in server_problem:
        record["error"] = server_problem
    elif (status != 0 and not (status == 1 and only_late(report))) or report is None:
        record["error"] = bench_failure(status, stdout, stderr, report)
    elif server_problem:
        record["error"] = server_problem
    return record


def extract(figure, record):
    """The figure's metrics from one run: {metric id: {"value", "note"} or {"error"}}."""
    cells = {}
    for m in figure["metrics"]:
        metric_id = m["id"]
        if "error" in record:
            cells[metric_id] = {"error": record["error"]}
            continue
        try:
            value, note = EXTRACTORS[m["extractor"]](record["report"], record["args"])
            if not value or value <= 0 or math.isnan(value):
                raise Failed("no number (0)")
            cells[metric_id] = {"value": value, "note": note}
        except Failed as e:
            cells[metric_id] = {"error": str(e)}
        except (KeyError, IndexError, TypeError, ValueError) as e:
            cells[metric_id] = {"error": f"unreadable bench report ({type(e).__name__}: {e})"}
    return cells


# ---------------------------------------------------------------------------------------
# Output: the table, the chart, the JSON.
# ---------------------------------------------------------------------------------------
def metrics_of(figures):
    return [(figure, m) for figure in figures for m in figure["metrics"]]


def best_classchatd(cells, servers, metric):
    """The best classchatd value of a metric (the base of the ratios), or None."""
    values = [cells[s.name][metric["id"]]["value"] for s in servers
              if s.is_classchatd() and "value" in cells[s.name].get(metric["id"], {})]
    if not values:
        return None
    return max(values) if metric["better"] == HIGHER else min(values)


def advantage(base, value, better):
    """How many times better classchatd (`base`) is than `value`: > 1 means classchatd leads."""
    return base / value if better == HIGHER else value / base


def render_markdown(results, servers, figures, machine):
    peers = [s for s in servers if not s.is_classchatd()]
    header = ["Figure"] + [s.name for s in servers] + [f"classchatd ÷ {p.name}" for p in peers]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes = []
    for figure, metric in metrics_of(figures):
        metric_id, unit, better = metric["id"], metric["unit"], metric["better"]
        row = [f"{metric_id}. {metric['title']} ({better} is better)"]
        for s in servers:
            cell = results[s.name][metric_id]
            if "value" in cell:
                text = format_value(cell["value"], unit)
                if cell["note"]:
                    notes.append(f"{metric_id}, {s.name}: {cell['note']}")
                    text += f" [{len(notes)}]"
                row.append(text)
            else:
                row.append(without_number(cell["error"]).replace("|", "/"))
        base = best_classchatd(results, servers, metric)
        for p in peers:
            cell = results[p.name][metric_id]
            if base is None or "value" not in cell:
                row.append("-")
            else:
                row.append(f"{advantage(base, cell['value'], better):.2f}x")
        lines.append("| " + " | ".join(row) + " |")
    out = ["# bench-compare: classchatd side by side", "",
           f"{machine['date']}, {machine['nproc']} CPUs ({machine['cpu']}), "
           f"kernel {machine['kernel']}, `ulimit -n` {machine['ulimit_n']}, "
           f"load average {machine['load_average'][0]:.2f} at the start"
           + (", **--quick: tiny counts, the numbers mean nothing**" if machine["quick"]
              else "") + ".", ""]
    out += lines
    out += ["", f"Each cell is the best of {machine['repeat']} run(s) of the figure against a "
            "freshly started server (a run with wrong results or a crash counts whatever the "
            "others did). Ratios: the best classchatd (of --threads 1 and 2) against each peer; "
            "above 1 means classchatd is better (for latency and memory: the peer's value "
            "divided by classchatd's)."]
    if notes:
        out += [""] + [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
    out += ["", "Servers:", ""]
    for s in servers:
        out.append(f"- {s.name}: {machine['versions'].get(s.name, '?')}")
    out += ["", "Bench arguments (each run also gets the target, `--protocol`, `--json`, `-q` and "
            "`--server-pid`, and throughput `--force`):", ""]
    for figure in figures:
        args = figure["quick"] if machine["quick"] else figure["args"]
        out.append(f"- {figure['key']}: `classchat-bench {figure['mode']} {' '.join(args)}`")
    return "\n".join(out) + "\n"


# One colour per server, the same in every chart whatever --only selects.
COLOURS = {"classchatd-1": "#1f77b4", "classchatd-2": "#6baed6", "ngircd": "#d62728",
           "inspircd": "#ff9896", "nats": "#2ca02c", "relay": "#9467bd", "class": "#8c564b"}


def render_svg(results, servers, figures):
    """Grouped bars: per figure, each server's performance relative to the best classchatd
    (1 = the same, above 1 = better than classchatd; latency and memory inverted so that
    taller is always better), on a log scale. Each bar is labelled with its raw value."""
    esc = xml.sax.saxutils.escape
    rows = metrics_of(figures)
    ratios = {}  # (metric id, server) -> performance relative to classchatd
    for _figure, m in rows:
        base = best_classchatd(results, servers, m)
        for s in servers:
            cell = results[s.name][m["id"]]
            if base is not None and "value" in cell:
                ratios[(m["id"], s.name)] = 1 / advantage(base, cell["value"], m["better"])
    values = list(ratios.values()) or [1.0]
    low = 10 ** math.floor(math.log10(min(min(values), 1.0)) - 0.5)
    high = 10 ** math.ceil(math.log10(max(max(values), 1.0)) + 0.3)
    bar, gap = 16, 28
    group = bar * len(servers) + gap
    left, top, bottom, legend = 60, 56, 60, 130
    plot_w, plot_h = group * len(rows), 300
    width, height = left + plot_w + legend, top + plot_h + bottom

    def y_of(ratio):
        span = math.log10(high) - math.log10(low)
        return top + plot_h * (1 - (math.log10(ratio) - math.log10(low)) / span)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="20" font-size="14">bench-compare: each server relative to '
             f'the best classchatd (log scale, taller is better)</text>',
             f'<text x="{left}" y="38" fill="#555">throughput: value / classchatd; latency and '
             f'memory: classchatd / value; x: failed (see compare.md)</text>']
    decade = low
    while decade <= high * 1.0001:
        y = y_of(decade)
        colour = "#000" if abs(decade - 1) < 1e-9 else "#ddd"
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{colour}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{decade:g}</text>')
        decade *= 10
    floor = top + plot_h
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{floor}" stroke="#000"/>')
    for g, (_figure, m) in enumerate(rows):
        x0 = left + g * group + gap // 2
        for i, s in enumerate(servers):
            x = x0 + i * bar
            cell = results[s.name][m["id"]]
            ratio = ratios.get((m["id"], s.name))
            if ratio is not None:
                y = y_of(ratio)
                label = format_value(cell["value"], m["unit"])
                parts.append(f'<rect x="{x}" y="{y:.1f}" width="{bar - 2}" '
                             f'height="{floor - y:.1f}" fill="{COLOURS.get(s.name, "#888")}">'
                             f'<title>{esc(f"{s.name}: {label}")}</title></rect>')
                ty = y - 3
                parts.append(f'<text x="{x + bar / 2 + 2:.1f}" y="{ty:.1f}" font-size="8" '
                             f'transform="rotate(-90 {x + bar / 2 + 2:.1f} {ty:.1f})">'
                             f'{esc(label)}</text>')
            else:
                why = cell.get("error", "no classchatd number to compare with")
                parts.append(f'<text x="{x + bar / 2 - 1}" y="{floor - 4}" text-anchor="middle" '
                             f'fill="#c00">x<title>{esc(s.name + ": " + why)}</title></text>')
        centre = x0 + bar * len(servers) / 2
        parts.append(f'<text x="{centre:.1f}" y="{floor + 16}" text-anchor="middle" '
                     f'font-weight="bold">{esc(m["id"])}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{floor + 30}" text-anchor="middle" '
                     f'font-size="9">{esc(m["short"])}</text>')
    for i, s in enumerate(servers):
        y = top + 16 * i
        parts.append(f'<rect x="{left + plot_w + 14}" y="{y}" width="12" height="12" '
                     f'fill="{COLOURS.get(s.name, "#888")}"/>')
        parts.append(f'<text x="{left + plot_w + 32}" y="{y + 10}">{esc(s.name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def machine_facts(servers, quick):
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            match = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = match.group(1).strip() if match else "?"
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            match = re.search(r"MemTotal:\s*(\d+) kB", f.read())
            memory = f"{int(match.group(1)) / 1024 / 1024:.1f} GiB" if match else "?"
    except OSError:
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "ulimit_n": soft if soft == hard else f"{soft} (hard {hard})",
        "load_average": list(os.getloadavg()),
        "other_load_processes": other_load_processes(),
        "quick": quick,
        "versions": {s.name: s.version() for s in servers},
    }


def other_load_processes():
    """Benchmarks or peer servers already running (they would share the CPUs with ours)."""
    found = []
    pattern = re.compile(r"classchat-bench|nats-server|ngircd|inspircd|classchat-relay")
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if pattern.search(cmdline.split(" ")[0] if cmdline else ""):
            found.append(f"{pid} {cmdline[:100]}")
    return found


def newest(candidates):
    existing = [c for c in candidates if os.access(c, os.X_OK)]
    return max(existing, key=os.path.getmtime) if existing else candidates[0]


def default_binary(relative):
    return newest([os.path.join(ROOT, "build", d, relative) for d in ("release", "serve")])


def parse_options(argv):
    parser = argparse.ArgumentParser(
        description="Run the same workloads against classchatd and its peers; write one table "
                    "and one chart.", epilog="Servers: classchatd-1, classchatd-2, ngircd, "
                    "inspircd, nats, relay, and class with --class-server. Figures: " + ", ".join(
                        f"{m['id']} ({m['title']})" for _f, m in metrics_of(FIGURES)))
    parser.add_argument("--bench", default=default_binary("src/bench/classchat-bench"),
                        help="classchat-bench binary")
    parser.add_argument("--server", default=default_binary("src/server/classchatd"),
                        help="classchatd binary")
    parser.add_argument("--relay", default=default_binary("src/bench/classchat-relay"),
                        help="classchat-relay binary")
    parser.add_argument("--class-server", metavar="COMMAND",
                        help="also run the class's own server, started with this command, e.g. "
                             "\"python3 path/to/server_main.py\" ({port} in it: a free port; "
                             "else it must listen on 65432); only figures b, g and f")
    parser.add_argument("--only", help="comma-separated servers to run (default: all)")
    parser.add_argument("--figures", help="comma-separated figures, e.g. a,b,d (default: all; "
                                          "--quick leaves out f unless named)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts and 1 s steps (tests, smoke runs)")
    parser.add_argument("--repeat", type=int,
                        help="runs of each figure per server, the best one counts (default: 2, "
                             "--quick 1); a run with wrong results or a crash always counts")
    parser.add_argument("--out", default="bench-results", help="output directory")
    options = parser.parse_args(argv)
    if options.repeat is None:
        options.repeat = 1 if options.quick else 2
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not os.access(options.bench, os.X_OK):
        parser.error(f"no classchat-bench at {options.bench} (use --bench)")
    return options, parser


def select(options, parser, servers):
    if options.only:
        names = [n.strip() for n in options.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in {s.name for s in servers}]
        if unknown:
            parser.error(f"--only: unknown server(s) {', '.join(unknown)}")
        servers = [s for s in servers if s.name in names]
    if options.figures:
        keys = [k.strip() for k in options.figures.split(",") if k.strip()]
        unknown = [k for k in keys if k not in {f["key"] for f in FIGURES}]
        if unknown:
            parser.error(f"--figures: unknown figure(s) {', '.join(unknown)}")
        figures = [f for f in FIGURES if f["key"] in keys]
    else:
        figures = [f for f in FIGURES if not options.quick or f.get("in_quick", True)]
    return servers, figures


def describe(cell, unit):
    return format_value(cell["value"], unit) if "value" in cell else without_number(cell["error"])


def without_number(error):
    """A cell's text when it has no number: why it failed, or why it was skipped."""
    return error if error.startswith("skipped:") else "failed: " + error


def disqualifies(error):
    """A failure that no other run of the figure can make up for: a wrong answer or a crash."""
    return error.startswith("verification failed") or "during the run" in error


def best_of(metric, cells):
    """The figure's cell over the --repeat runs: the best value, unless a run delivered
    wrong results or crashed the server (then that run's failure)."""
    for cell in cells:
        if "error" in cell and disqualifies(cell["error"]):
            return dict(cell, runs=len(cells))
    good = [cell for cell in cells if "value" in cell]
    if not good:
        return dict(cells[0], runs=len(cells))
    pick = max if metric["better"] == HIGHER else min
    best = pick(good, key=lambda cell: cell["value"])
    return dict(best, runs=len(cells), all_values=[cell.get("value") for cell in cells])


def main(argv=None):
    options, parser = parse_options(argv)
    servers, figures = select(options, parser, make_servers(options))
    logs = os.path.join(options.out, "logs")
    os.makedirs(logs, exist_ok=True)
    machine = machine_facts(servers, options.quick)
    machine["repeat"] = options.repeat
    if machine["other_load_processes"]:
        print("bench-compare: warning: other load is running and will skew the figures:\n  "
              + "\n  ".join(machine["other_load_processes"]), file=sys.stderr)

    started = time.monotonic()
    # Rounds go over every server before the next round starts, so that a noisy minute on
    # a shared machine does not land on one server's runs only.
    runs = {s.name: {f["key"]: [] for f in figures} for s in servers}
    total = options.repeat * len(servers) * len(figures)
    done = 0
    for round_number in range(1, options.repeat + 1):
        for s in servers:
            for figure in figures:
                done += 1
                where = f"bench-compare [{done}/{total}] {s.name} {figure['key']}"
                if s.available:
                    record = {"error": "unavailable: " + s.available}
                elif s.skips(figure):
                    record = {"error": s.skips(figure)}
                else:
                    print(where + " ...", file=sys.stderr, flush=True)
                    record = run_figure(options, s, figure, logs, round_number)
                record["cells"] = extract(figure, record)
                runs[s.name][figure["key"]].append(record)
                summary = "; ".join(
                    f"{m['id']} " + describe(record["cells"][m["id"]], m["unit"])
                    for m in figure["metrics"])
                print(f"{where}: {summary}"
                      + (f" ({record['wall_s']} s)" if "wall_s" in record else ""),
                      file=sys.stderr, flush=True)
    results = {s.name: {m["id"]: best_of(m, [r["cells"][m["id"]] for r in runs[s.name][f["key"]]])
                        for f, m in metrics_of(figures)} for s in servers}
    machine["wall_s"] = round(time.monotonic() - started, 1)

    markdown = render_markdown(results, servers, figures, machine)
    markdown += f"\nWall time of the whole comparison: {machine['wall_s']:.0f} s.\n"
    with open(os.path.join(options.out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    with open(os.path.join(options.out, "compare.svg"), "w", encoding="utf-8") as f:
        f.write(render_svg(results, servers, figures))
    document = {
        "machine": machine,
        "servers": {s.name: {"label": s.label, "protocol": s.protocol,
                             "version": machine["versions"][s.name],
                             "unavailable": s.available or None} for s in servers},
        "figures": {m["id"]: {"figure": f["key"], "title": m["title"], "unit": m["unit"],
                              "better": m["better"],
                           "mode": f["mode"], "args": f["quick"] if options.quick else f["args"]}
                    for f, m in metrics_of(figures)},
        "results": results,
        "runs": runs,
    }
    with open(os.path.join(options.out, "compare.json"), "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(markdown)
    print(f"bench-compare: wrote {options.out}/compare.md, compare.svg and compare.json",
          file=sys.stderr)
    classchatd_failed = [f"{s.name} {m}: {c['error']}" for s in servers if s.is_classchatd()
                         for m, c in results[s.name].items() if "error" in c]
    if classchatd_failed:
        print("bench-compare: classchatd failed:\n  " + "\n  ".join(classchatd_failed),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
