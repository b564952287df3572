#!/usr/bin/env python3
"""Issue #13's performance figures: a classchat cluster on this machine, side by side with
one process, measured with classchat-bench (BENCHMARKS.md, "Issue #13: cluster mode on
Redis").

Every figure starts its own private redis-server (127.0.0.1, a free port, --save ''
--appendonly no, a temporary directory: never a system service) and its own classchatd
nodes on distinct free ports (below the ephemeral range), runs the bench against them,
stops every process it started, and prints what it measured. Standard library only.

  scripts/bench/cluster-bench.py [--build build/release] [--figures sessions,joins,direct,shout]

Figures (each one's options below; --help lists them):
  sessions  classchat-bench ramp over many nodes (--session-nodes, default enough for
            --session-target at 19,000 per node), heartbeats to random peers (cross-node
            DMs to held sessions); at the peak: sessions held, memory per session in the
            nodes (RSS), the kernel (slab, sockstat) and Redis (used_memory / names), CPU
  joins     the ramp's join phase, one process against --join-nodes nodes: joins/s
  direct    2 nodes against one process: direct messages/s with --window in flight, and
            p99 at --direct-rate offered
  shout     --shout-nodes nodes against one process: max sustained shout deliveries/s to
            --listeners listeners
While each bench runs, the CPU of Redis and of every node (and each node's busiest
thread) is sampled from /proc, and Redis's INFO commandstats gives the cost of each script.
"""
import argparse
import glob
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
STARTED = []  # every process this script started, stopped in reverse order at exit


def script_names():
    """{sha1: name} of the cluster's Lua scripts (src/hub/lua/NAME.lua, loaded byte for
    byte), to name the EVALSHA calls in Redis's SLOWLOG."""
    import hashlib
    names = {}
    for path in glob.glob(os.path.join(ROOT, "src", "hub", "lua", "*.lua")):
        with open(path, "rb") as f:
            names[hashlib.sha1(f.read()).hexdigest()] = os.path.basename(path)
    return names


def log(text):
    print(f"[cluster-bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# /proc readings


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError):
        return None


def thread_cpu(pid):
    """{tid: (comm, cpu seconds)} for each thread of `pid`."""
    out = {}
    for path in glob.glob(f"/proc/{pid}/task/*/stat"):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        out[int(path.split("/")[4])] = (comm, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1


def machine_ticks():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


SYSCALLS = ("sendto", "sendmsg", "write", "writev", "recvfrom", "read", "epoll_wait")


class SyscallCount:
    """Counts the nodes' system calls with `perf stat` on the syscalls tracepoints (send()
    and sendmsg() do not show in /proc/PID/io); empty if perf cannot."""

    def __init__(self, pids, directory):
        self.path = os.path.join(directory, f"perf-{os.getpid()}-{time.monotonic_ns()}.csv")
        events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
        try:
            self.proc = subprocess.Popen(
                ["perf", "stat", "-x", ",", "-e", events, "-p", ",".join(map(str, pids)),
                 "-o", self.path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self.proc = None

    def stop(self):
        if self.proc is None:
            return {}
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        counts = {}
        try:
            with open(self.path) as f:
                for line in f:
                    fields = line.strip().split(",")
                    if len(fields) > 2 and fields[2].startswith("syscalls:sys_enter_"):
                        try:
                            counts[fields[2].replace("syscalls:sys_enter_", "")] = int(fields[0])
                        except ValueError:
                            pass
            os.unlink(self.path)
        except OSError:
            pass
        return counts


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0]) * 1024
    return out


def sockstat():
    """{'TCP inuse': n, 'TCP mem': pages, ...} from /proc/net/sockstat."""
    out = {}
    with open("/proc/net/sockstat") as f:
        for line in f:
            proto, rest = line.split(":", 1)
            words = rest.split()
            for i in range(0, len(words) - 1, 2):
                out[f"{proto} {words[i]}"] = int(words[i + 1])
    return out


def slab_bytes(names=("TCP", "sock_inode_cache", "filp", "dentry", "eventpoll_epi",
                      "skbuff_head_cache", "kmalloc-", "selinux", "pid", "request_sock_TCP")):
    """Total bytes of the slab caches whose names start with one of `names` (the ones a
    TCP connection grows), and each of the big ones, from /proc/slabinfo."""
    each = {}
    try:
        with open("/proc/slabinfo") as f:
            for line in f.readlines()[2:]:
                words = line.split()
                name, objects, size = words[0], int(words[2]), int(words[3])
                if any(name.startswith(prefix) for prefix in names):
                    each[name] = objects * size
    except OSError:
        return 0, {}
    return sum(each.values()), each


def children_of(pid):
    """Pids whose parent is `pid`."""
    found = []
    for path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(path) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(path.split("/")[2]))
    return found


def listening(port):
    """Whether something listens on TCP `port` (read from /proc, without connecting: a test
    connection would be a client of the server)."""
    wanted = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    words = line.split()
                    if words[1].endswith(wanted) and words[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def free_port(taken):
    """A port in 20000..32000, below the ephemeral range (a server port inside it can be
    held by one of the bench's own client sockets in TIME_WAIT), that binds now."""
    for _ in range(1000):
        port = random.randint(20000, 32000)
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError("no free port")


# ---------------------------------------------------------------------------------------
# Processes


def stop(proc, timeout=15):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all():
    for proc in reversed(list(STARTED)):
        stop(proc)


class Redis:
    def __init__(self, taken):
        self.dir = tempfile.TemporaryDirectory(prefix="classchat-cluster-bench-")
        logfile = os.path.join(self.dir.name, "redis.log")
        for _ in range(10):
            self.port = free_port(taken)
            open(logfile, "w").close()
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir.name, "--daemonize", "no",
                 "--logfile", logfile], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            STARTED.append(self.proc)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                with open(logfile, errors="replace") as f:
                    if "Ready to accept connections" in f.read():
                        # Keep every command over 10 ms, to name what made Redis slow.
                        self.command("CONFIG", "SET", "slowlog-max-len", "100000")
                        return
                time.sleep(0.02)
            stop(self.proc)
        raise RuntimeError("redis-server did not start")

    def command(self, *args):
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            parts = [str(a).encode() for a in args]
            sock.sendall(b"*%d\r\n" % len(parts) +
                         b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
            return read_resp(sock.makefile("rb"))

    def info(self, section):
        out = {}
        for line in self.command("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                out[key] = value
        return out

    def script_stats(self):
        """{command: (calls, usec)} from INFO commandstats."""
        out = {}
        for key, value in self.info("commandstats").items():
            fields = dict(item.split("=") for item in value.split(","))
            out[key.replace("cmdstat_", "")] = (int(fields["calls"]), int(fields["usec"]))
        return out

    def close(self, keep_log=None):
        stop(self.proc)
        if keep_log:
            with open(os.path.join(self.dir.name, "redis.log"), "rb") as src, open(
                    keep_log, "wb") as dst:
                dst.write(src.read())
        self.dir.cleanup()


def read_resp(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2].decode()
    if kind in (b"+", b"-"):
        return rest
    if kind == b":":
        return int(rest)
    if kind == b"$":
        return None if int(rest) < 0 else f.read(int(rest) + 2)[:-2].decode(errors="replace")
    if kind == b"*":
        return None if int(rest) < 0 else [read_resp(f) for _ in range(int(rest))]
    raise RuntimeError(f"unexpected Redis reply {line!r}")


class Nodes:
    """`count` classchatd processes on distinct free ports: a cluster on `redis`, or with
    redis None one process (count 1) alone."""

    def __init__(self, binary, count, redis, threads, taken, extra=(), keep_logs=None):
        self.procs, self.ports, self.logs = [], [], []
        self.keep_logs = keep_logs  # a directory to copy the nodes' logs to when they stop
        self.dir = tempfile.TemporaryDirectory(prefix="classchat-cluster-bench-nodes-")
        for i in range(count):
            port = free_port(taken)
            logfile = open(os.path.join(self.dir.name, f"node{i}.log"), "w")
            args = [binary, "--port", str(port), "--no-http", "--threads", str(threads),
                    "--rate-limit", "0", "--shout-rate", "0", "--log-level", "warn", *extra]
            if redis is not None:
                args += ["--redis", f"127.0.0.1:{redis.port}"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=logfile)
            STARTED.append(proc)
            self.procs.append(proc)
            self.ports.append(port)
            self.logs.append(logfile.name)
        deadline = time.monotonic() + 30
        for proc, port in zip(self.procs, self.ports):
            while not listening(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"classchatd on {port} did not start: {self.log_tail()}")
                time.sleep(0.05)
        # A node accepts only once it holds its lease; wait for every lease to be sure.
        while redis is not None and len(redis.command("KEYS", "classchat:lease:*")) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("the nodes did not all take a lease")
            time.sleep(0.05)

    @property
    def pids(self):
        return [proc.pid for proc in self.procs]

    def port_list(self):
        return ",".join(map(str, self.ports))

    def pid_list(self):
        return ",".join(map(str, self.pids))

    def log_tail(self):
        text = ""
        for path in self.logs:
            with open(path, errors="replace") as f:
                text += f.read()[-600:]
        return text

    def close(self):
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            stop(proc)
        problems = self.log_tail()
        if self.keep_logs:
            os.makedirs(self.keep_logs, exist_ok=True)
            for path in self.logs:
                with open(path, "rb") as src, open(
                        os.path.join(self.keep_logs, os.path.basename(path)), "wb") as dst:
                    dst.write(src.read())
        self.dir.cleanup()
        return problems


class CpuWatch:
    """CPU of Redis and of the nodes (and each node's busiest thread) between start() and
    stop(), as shares of one core."""

    def __init__(self, nodes, redis):
        self.nodes, self.redis = nodes, redis

    def start(self):
        self.t0 = time.monotonic()
        self.machine0 = machine_ticks()
        self.perf = SyscallCount(self.nodes.pids, self.nodes.dir.name)
        self.node0 = [cpu_seconds(pid) or 0 for pid in self.nodes.pids]
        self.threads0 = [thread_cpu(pid) for pid in self.nodes.pids]
        self.redis0 = cpu_seconds(self.redis.proc.pid) if self.redis else None
        self.stats0 = self.redis.script_stats() if self.redis else {}
        return self

    def stop(self):
        wall = time.monotonic() - self.t0
        nodes = [((cpu_seconds(pid) or 0) - before) / wall
                 for pid, before in zip(self.nodes.pids, self.node0)]
        busiest = 0.0
        busiest_name = "-"
        for pid, before in zip(self.nodes.pids, self.threads0):
            for tid, (comm, seconds) in thread_cpu(pid).items():
                share = (seconds - before.get(tid, (comm, 0))[1]) / wall
                if share > busiest:
                    busiest, busiest_name = share, comm
        busy, total = machine_ticks()
        calls = self.perf.stop()
        out = {"wall_s": wall, "nodes_cpu": sum(nodes), "node_cpu_max": max(nodes),
               "machine_busy": (busy - self.machine0[0]) / max(total - self.machine0[1], 1),
               "node_syscalls": calls,
               "busiest_thread_cpu": busiest, "busiest_thread": busiest_name}
        if self.redis:
            out["redis_cpu"] = ((cpu_seconds(self.redis.proc.pid) or 0) - self.redis0) / wall
            stats = self.redis.script_stats()
            out["redis_commands"] = {
                name: (calls - self.stats0.get(name, (0, 0))[0],
                       usec - self.stats0.get(name, (0, 0))[1])
                for name, (calls, usec) in stats.items()
                if calls - self.stats0.get(name, (0, 0))[0] > 0}
        return out


def describe_cpu(cpu):
    text = (f"machine {100 * cpu['machine_busy']:.0f}% busy; "
            f"nodes {100 * cpu['nodes_cpu']:.0f}% (max one node {100 * cpu['node_cpu_max']:.0f}%,"
            f" busiest thread {100 * cpu['busiest_thread_cpu']:.0f}% '{cpu['busiest_thread']}')")
    calls = cpu.get("node_syscalls") or {}
    if calls:
        text += "; nodes' system calls: " + ", ".join(
            f"{name} {calls[name]:,}" for name in SYSCALLS if calls.get(name))
    if "redis_cpu" in cpu:
        text += f", Redis {100 * cpu['redis_cpu']:.0f}%"
        scripts = sorted(cpu["redis_commands"].items(), key=lambda kv: -kv[1][1])[:3]
        text += ", Redis time: " + ", ".join(
            f"{name} {calls} calls {usec / max(calls, 1):.1f} us each" for name, (calls, usec)
            in scripts)
    return text


def run_bench(args, bench_args, name):
    """Runs classchat-bench with `bench_args` plus --json; returns (exit status, report,
    stdout)."""
    path = os.path.join(args.out, f"{name}.json")
    cmd = [args.bench, *bench_args, "--json", path]
    log("$ " + " ".join(os.path.basename(c) if c == args.bench else c for c in cmd))
    with open(os.path.join(args.out, f"{name}.stderr"), "w") as err:
        result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                timeout=args.bench_timeout)
    with open(os.path.join(args.out, f"{name}.stdout"), "w") as f:
        f.write(result.stdout)
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = {}
    return result.returncode, report, result.stdout


# ---------------------------------------------------------------------------------------
# Figures


def figure_sessions(args, taken):
    target = args.session_target
    count = args.session_nodes or math.ceil(target / 19000)
    procs = args.session_procs or min(64, max(2, math.ceil(target / 18000)))
    log(f"sessions: {count} nodes, ramp to {target} with {procs} worker processes")
    redis = Redis(taken)
    nodes = Nodes(args.server, count, redis, 1, taken,
                  keep_logs=os.path.join(args.out, "sessions-node-logs"))
    try:
        base_mem = meminfo()
        base_slab, base_slab_each = slab_bytes()
        base_redis = int(redis.info("memory")["used_memory"])
        base_rss = sum(rss_bytes(pid) for pid in nodes.pids)
        peak = {"inuse": -1}
        done = threading.Event()
        bench_args = [
            "ramp", "--port", nodes.port_list(), "--server-pid", nodes.pid_list(),
            "--step", str(args.session_step), "--interval", str(args.session_interval),
            "--target", str(target), "--hold", str(args.session_hold),
            "--heartbeat", str(args.session_heartbeat), "--heartbeat-to", "peer",
            "--procs", str(procs), "--sources", str(args.sources), "--max-p99",
            str(args.session_max_p99), "--max-fail-rate", "0.1", "--duration",
            str(args.session_duration)]
        holder = {}

        def sample():
            while not done.wait(args.sample_every):
                try:
                    sample_once(holder["proc"])
                except (OSError, KeyError, ValueError, TypeError, RuntimeError) as error:
                    log(f"sample failed: {error!r}")  # e.g. Redis too busy; try again

        def sample_once(bench):
            # The machine is shared: stop the ramp before the kernel's OOM killer picks
            # someone else's process (the workers exit once their coordinator is gone).
            available = meminfo()["MemAvailable"]
            if available < args.min_available_gb * 1e9 and bench.poll() is None:
                peak["memory_stop"] = available
                log(f"MemAvailable {available / 1e9:.1f} GB: stopping the ramp")
                bench.terminate()
            # The peak is the last moment with the most names online (the hold, when every
            # session is welcomed, rather than mid-join when many wait with a socket each).
            online = redis.command("ZCARD", "classchat:online")
            if online >= target and "hold_cpu" not in holder:
                holder["hold_cpu"] = CpuWatch(nodes, redis).start()  # every one held
            if online < peak.get("online", 0):
                return
            workers = [pid for p in holder.get("bench", []) for pid in children_of(p)]
            sample = dict(
                inuse=sockstat()["TCP inuse"], at=time.monotonic(), sock=sockstat(),
                mem=meminfo(), slab=slab_bytes(),
                redis_mem=int(redis.info("memory")["used_memory"]),
                names=redis.command("HLEN", "classchat:names"), online=online,
                conntrack=read_int("/proc/sys/net/netfilter/nf_conntrack_count"),
                files=read_int("/proc/sys/fs/file-nr"),
                rss=sum(rss_bytes(pid) for pid in nodes.pids),
                workers_rss=sum(rss_bytes(pid) for pid in workers), workers=len(workers))
            peak.update(sample)

        sampler = threading.Thread(target=sample, daemon=True)
        cpu = CpuWatch(nodes, redis).start()
        path = os.path.join(args.out, "sessions.json")
        cmd = [args.bench, *bench_args, "--json", path]
        log("$ classchat-bench " + " ".join(bench_args))
        t0 = time.monotonic()
        with open(os.path.join(args.out, "sessions.stderr"), "w") as err:
            bench = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
            STARTED.append(bench)
            holder["bench"] = [bench.pid]
            holder["proc"] = bench
            sampler.start()
            stdout, _ = bench.communicate(timeout=args.session_duration + 120)
            STARTED.remove(bench)
        done.set()
        sampler.join()
        used = cpu.stop()
        hold = holder["hold_cpu"].stop() if "hold_cpu" in holder else None
        slowlog = redis.command("SLOWLOG", "GET", "100000")
        redis_stats = {k: v for k, v in redis.info("stats").items()
                       if "disconnections" in k or k in ("rejected_connections",
                                                         "total_connections_received")}
        # Every client is gone now: how long the cluster takes to free every name (a mass
        # leave), and what the nodes logged meanwhile.
        t_leave = time.monotonic()
        while redis.command("ZCARD", "classchat:online") > 0 and time.monotonic() - t_leave < 120:
            time.sleep(0.2)
        leave_s = time.monotonic() - t_leave
        left_over = redis.command("ZCARD", "classchat:online")
        warnings = ""
        for node_log in nodes.logs:
            with open(node_log, errors="replace") as f:
                warnings += f.read()
        with open(os.path.join(args.out, "sessions.stdout"), "w") as f:
            f.write(stdout)
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            report = {"stop_reason": "stopped by this script (memory low): no report"}
        redis_info = redis.info("memory")
    finally:
        problems = nodes.close()
        redis.close(keep_log=os.path.join(args.out, "sessions-redis.log"))
    steps = report.get("steps", [])
    peak_held = report.get("peak_stable_connections", 0)
    at_peak = max(steps, key=lambda s: s["held"]) if steps else {}
    held_steps = [s for s in steps if s["held"] == at_peak.get("held")]
    totals = report.get("totals", {})
    out = {"nodes": count, "procs": procs, "target": target, "peak_stable": peak_held,
           "max_held": at_peak.get("held", 0), "stop_reason": report.get("stop_reason"),
           "wall_s": time.monotonic() - t0, "totals": totals, "cpu": used,
           "redis_used_memory_human": redis_info.get("used_memory_human")}
    print(stdout)
    print(f"sessions: {count} nodes, {procs} bench workers, {args.sources} source addresses")
    print(f"  stopped: {out['stop_reason']}; peak stable {peak_held:,}, most held "
          f"{out['max_held']:,}")
    hb = [s["heartbeat_rtt"] for s in held_steps if s["heartbeat_rtt"]["count"] > 0]
    if hb:
        print(f"  cross-node heartbeats while the most were held: {sum(h['count'] for h in hb):,}"
              f" returned over {len(hb)} steps, p99 per step " +
              ", ".join("%.1f" % (h["p99_us"] / 1000) for h in hb) + " ms")
    print(f"  heartbeats: {totals.get('heartbeats_sent', 0):,} sent, "
          f"{totals.get('heartbeats_received', 0):,} returned, "
          f"{totals.get('heartbeats_damaged', 0)} damaged; failures "
          f"{totals.get('connect_failures', 0)} connect, {totals.get('refusals', 0)} refused, "
          f"{totals.get('handshake_failures', 0)} handshake, {totals.get('disconnects', 0)} "
          "disconnects")
    if peak.get("inuse", -1) > 0:
        sessions = max(peak["online"], 1)
        mem_used = base_mem["MemAvailable"] - peak["mem"]["MemAvailable"]
        slab_delta = peak["slab"][0] - base_slab
        out["peak"] = {k: v for k, v in peak.items() if k not in ("slab",)}
        print(f"  at the peak sample ({peak['online']:,} names in Redis's online set, "
              f"{peak['names']:,} in its names hash; TCP sockets in use {peak['inuse']:,}):")
        print(f"    whole machine: MemAvailable down {mem_used / 1e9:.2f} GB = "
              f"{mem_used / sessions:,.0f} B per session (both ends, Redis, bench)")
        print(f"    nodes: RSS {peak['rss'] / 1e6:,.0f} MB (+{(peak['rss'] - base_rss) / 1e6:,.0f}"
              f" MB) = {(peak['rss'] - base_rss) / sessions:,.0f} B per session")
        print(f"    bench workers ({peak['workers']}): RSS {peak['workers_rss'] / 1e6:,.0f} MB = "
              f"{peak['workers_rss'] / sessions:,.0f} B per session")
        print(f"    kernel: slab +{slab_delta / 1e6:,.0f} MB = {slab_delta / sessions:,.0f} B per "
              f"session (2 sockets each); Slab in meminfo "
              f"{(peak['mem']['Slab'] - base_mem['Slab']) / 1e6:,.0f} MB more; sockstat TCP "
              f"mem {peak['sock']['TCP mem']} pages (tcp_mem "
              f"{open('/proc/sys/net/ipv4/tcp_mem').read().split()}), orphan "
              f"{peak['sock']['TCP orphan']}, tw {peak['sock']['TCP tw']}; conntrack entries "
              f"{peak['conntrack']}; open files on the machine {peak['files']:,} of "
              f"fs.file-max {read_int('/proc/sys/fs/file-max'):,}")
        big = sorted(((n, b - base_slab_each.get(n, 0)) for n, b in peak["slab"][1].items()),
                     key=lambda kv: -kv[1])[:6]
        print("      biggest slab growth: " + ", ".join(
            f"{n} {b / sessions:,.0f} B" for n, b in big))
        print(f"    Redis: used_memory +{(peak['redis_mem'] - base_redis) / 1e6:,.1f} MB = "
              f"{(peak['redis_mem'] - base_redis) / sessions:,.0f} B per name")
    print(f"  CPU over the run ({used['wall_s']:.0f} s): {describe_cpu(used)}")
    if hold:
        print(f"  CPU while every session was held ({hold['wall_s']:.0f} s): {describe_cpu(hold)}")
    print(f"  after the bench closed every client: Redis's online set empty after {leave_s:.1f} s"
          f" ({left_over:,} left); the nodes logged {warnings.count('fenced')} 'fenced', "
          f"{warnings.count('lost the link')} 'lost the link', "
          f"{warnings.count('subscription to Redis is down')} 'subscription down' "
          f"({len(warnings.splitlines())} lines in all)")
    with open(os.path.join(args.out, "sessions-redis.log"), errors="replace") as f:
        redis_log = f.read()
    print(f"  Redis INFO stats: {redis_stats}; its log: "
          f"{redis_log.count('output buffer limits')} clients closed for their output buffer "
          f"limit, {redis_log.count('Slow script detected')} 'Slow script detected'")
    if isinstance(slowlog, list) and slowlog:
        scripts = script_names()

        def command_name(entry):
            words = entry[3] if isinstance(entry[3], list) else [str(entry[3])]
            if words[0].upper() == "EVALSHA" and len(words) > 1:
                return scripts.get(words[1], "evalsha " + words[1][:12])
            if words[0].upper() == "EVAL" and len(words) > 1:
                return words[1].split(":")[0].lstrip("- ") + " (EVAL)"
            return words[0]
        totals = {}
        for entry in slowlog:
            name = command_name(entry)
            count, micros, worst = totals.get(name, (0, 0, 0))
            totals[name] = (count + 1, micros + entry[2], max(worst, entry[2]))
        print(f"  Redis SLOWLOG: {len(slowlog)} commands over 10 ms: " + "; ".join(
            f"{name} {count} (total {micros / 1e6:.1f} s, worst {worst / 1000:.0f} ms)"
            for name, (count, micros, worst) in sorted(totals.items(), key=lambda kv: -kv[1][1])))
        print("  the 10 slowest:")
        for entry in sorted(slowlog, key=lambda e: -e[2])[:10]:
            words = [scripts.get(w, w)[:40] for w in entry[3][:6]] if isinstance(
                entry[3], list) else entry[3]
            print(f"    {time.strftime('%H:%M:%S', time.gmtime(entry[1]))} "
                  f"{entry[2] / 1000:.1f} ms {words}")
    if problems.strip():
        print("  node logs (tail): " + problems.strip().replace("\n", "\n    ")[-1500:])
    return out


def join_rate(steps, target):
    """Joins/s while held went from 10% to 90% of `target` (interpolated between steps)."""
    def crossing(level):
        previous_t, previous_held = 0.0, 0
        for step in steps:
            if step["held"] >= level:
                if step["held"] == previous_held:
                    return step["t_s"]
                return previous_t + (step["t_s"] - previous_t) * (
                    (level - previous_held) / (step["held"] - previous_held))
            previous_t, previous_held = step["t_s"], step["held"]
        return None
    low, high = crossing(0.1 * target), crossing(0.9 * target)
    if low is None or high is None or high <= low:
        return None
    return 0.8 * target / (high - low)


def figure_joins(args, taken):
    rows = []
    for run, (label, count, use_redis, target) in enumerate((
            ("one process", 1, False, args.join_target),
            (f"{args.join_nodes} nodes", args.join_nodes, True, args.join_target),
            (f"{args.join_nodes} nodes", args.join_nodes, True, args.join_target * args.join_nodes),
            ("one process (again)", 1, False, args.join_target))):
        redis = Redis(taken) if use_redis else None
        nodes = Nodes(args.server, count, redis, args.join_threads, taken)
        try:
            cpu = CpuWatch(nodes, redis).start()
            status, report, stdout = run_bench(args, [
                "ramp", "--port", nodes.port_list(), "--server-pid", nodes.pid_list(),
                "--step", str(args.join_step), "--interval", str(args.join_interval),
                "--target", str(target), "--heartbeat", "600", "--procs", str(args.join_procs),
                "--sources", str(args.sources), "--max-p99", "1000000", "--max-fail-rate",
                "1", "--duration", "60", "-q"], f"joins-{run}-{count}-{target}")
            used = cpu.stop()
        finally:
            problems = nodes.close()
            if redis:
                redis.close()
        steps = report.get("steps", [])
        rate = join_rate(steps, target)
        rows.append((label, target, rate, report, used))
        print(stdout)
        print(f"joins, {label}: {report.get('peak_stable_connections', 0):,} held of {target:,}; "
              f"{rate or 0:,.0f} joins/s (10% to 90% of the target); {describe_cpu(used)}")
        if problems.strip():
            print("  node logs (tail): " + problems.strip()[-800:])
    return rows


def direct_row(report):
    steps = report.get("direct", {}).get("steps", [])
    return steps[-1] if steps else {}


def figure_direct(args, taken):
    rows = []
    configs = [("one process", 1, False, args.single_threads),
               ("2 nodes", 2, True, args.node_threads)]
    if args.single_threads != 1:
        configs.insert(1, ("one process, 1 loop", 1, False, 1))
    for run, (label, count, use_redis, threads) in enumerate(configs * args.direct_repeat):
        redis = Redis(taken) if use_redis else None
        nodes = Nodes(args.server, count, redis, threads, taken)
        try:
            base = ["throughput", "--kind", "direct", "--port", nodes.port_list(),
                    "--server-pid", nodes.pid_list(), "--pairs", str(args.pairs),
                    "--step-duration", str(args.step_duration), "-q"]
            cpu = CpuWatch(nodes, redis).start()
            _, closed, _ = run_bench(args, base + ["--window", str(args.window)],
                                     f"direct-window-{count}-{threads}-{run}")
            closed_cpu = cpu.stop()
            cpu = CpuWatch(nodes, redis).start()
            _, fixed, _ = run_bench(args, base + ["--rate", str(args.direct_rate)],
                                    f"direct-rate-{count}-{threads}-{run}")
            fixed_cpu = cpu.stop()
        finally:
            problems = nodes.close()
            if redis:
                redis.close()
        a, b = direct_row(closed), direct_row(fixed)
        rows.append((label, threads, a, b, closed_cpu, fixed_cpu, closed, fixed))
        for what, row, used, report in (("closed loop", a, closed_cpu, closed),
                                        ("fixed rate", b, fixed_cpu, fixed)):
            tally = report.get("direct", {}).get("tally", {})
            print(f"direct, {label} ({threads} loop(s) each), {what}: offered "
                  f"{row.get('offered_per_s', 0):,.0f}/s, delivered "
                  f"{row.get('achieved_deliveries_per_s', 0):,.0f}/s, p50 "
                  f"{row.get('latency', {}).get('p50_us', 0) / 1000:.2f} ms, p99 "
                  f"{row.get('latency', {}).get('p99_us', 0) / 1000:.2f} ms, lost "
                  f"{tally.get('lost', '?')}, reordered {tally.get('reordered', '?')}, "
                  f"generator CPU {100 * row.get('generator_cpu', 0):.0f}%; {describe_cpu(used)}")
        if problems.strip():
            print("  node logs (tail): " + problems.strip()[-800:])
    return rows


def figure_shout(args, taken):
    rows = []
    for label, count, use_redis, threads in (
            ("one process", 1, False, args.single_threads),
            (f"{args.shout_nodes} nodes", args.shout_nodes, True, args.node_threads)):
        redis = Redis(taken) if use_redis else None
        nodes = Nodes(args.server, count, redis, threads, taken)
        try:
            cpu = CpuWatch(nodes, redis).start()
            extra = (["--rate", args.shout_rates] if args.shout_rates else
                     ["--search-steps", "10", "--retries", "2", "--shout-start-rate", "1000"])
            _, report, stdout = run_bench(args, [
                "throughput", "--kind", "shout", "--port", nodes.port_list(), "--server-pid",
                nodes.pid_list(), "--listeners", str(args.listeners), "--shouters", "1",
                "--step-duration", str(args.step_duration), "-q", *extra],
                f"shout-{count}")
            used = cpu.stop()
        finally:
            problems = nodes.close()
            if redis:
                redis.close()
        shout = report.get("shout", {})
        rows.append((label, threads, shout, used))
        print(stdout)
        print(f"shout, {label} ({threads} loop(s) each): max sustained "
              f"{shout.get('max_sustained_rate', 0):,.0f} shouts/s = "
              f"{shout.get('max_sustained_deliveries_per_s', 0):,.0f} deliveries/s; "
              f"tally {shout.get('tally')}; {describe_cpu(used)}")
        if problems.strip():
            print("  node logs (tail): " + problems.strip()[-800:])
    return rows


def machine():
    mem = meminfo()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    hard = subprocess.run(["bash", "-c", "ulimit -Hn"], capture_output=True,
                          text=True).stdout.strip()
    return (f"{os.cpu_count()} CPUs, {mem['MemTotal'] / 2**30:.1f} GiB RAM, "
            f"Linux {os.uname().release}, open files hard limit {hard}, "
            f"ephemeral ports {open('/proc/sys/net/ipv4/ip_local_port_range').read().split()}, "
            f"load average {load}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    parser.add_argument("--figures", default="joins,direct,shout,sessions")
    parser.add_argument("--out", default=None, help="directory for the bench's JSON and output")
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--bench-timeout", type=float, default=600)
    parser.add_argument("--sample-every", type=float, default=2.0)
    # sessions
    parser.add_argument("--session-target", type=int, default=250000)
    parser.add_argument("--session-nodes", type=int, default=0,
                        help="default: target / 19,000 rounded up")
    parser.add_argument("--session-procs", type=int, default=0,
                        help="ramp workers; default: target / 18,000 rounded up (max 64)")
    parser.add_argument("--session-step", type=int, default=20000)
    parser.add_argument("--session-interval", type=float, default=2)
    parser.add_argument("--session-hold", type=float, default=20)
    parser.add_argument("--session-heartbeat", type=float, default=60)
    parser.add_argument("--session-max-p99", type=float, default=30000,
                        help="ms; the joins delay heartbeats, so this only stops a collapse")
    parser.add_argument("--session-duration", type=float, default=300)
    parser.add_argument("--min-available-gb", type=float, default=1.5,
                        help="stop the ramp if the machine's MemAvailable falls below this")
    # joins
    parser.add_argument("--join-target", type=int, default=19000)
    parser.add_argument("--join-nodes", type=int, default=4)
    parser.add_argument("--join-threads", type=int, default=1)
    parser.add_argument("--join-step", type=int, default=4000)
    parser.add_argument("--join-interval", type=float, default=0.1)
    parser.add_argument("--join-procs", type=int, default=4)
    # direct and shout
    parser.add_argument("--single-threads", type=int, default=1,
                        help="loops of the one process (direct, shout)")
    parser.add_argument("--node-threads", type=int, default=1, help="loops of each node")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--direct-rate", type=int, default=50000)
    parser.add_argument("--direct-repeat", type=int, default=2,
                        help="run the one process and the nodes alternately this many times")
    parser.add_argument("--step-duration", type=float, default=5)
    parser.add_argument("--shout-nodes", type=int, default=4)
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--shout-rates", default="",
                        help="shouts/s to measure instead of searching, e.g. 1000,2000")
    args = parser.parse_args()
    args.server = os.path.join(args.build, "src", "server", "classchatd")
    args.bench = os.path.join(args.build, "src", "bench", "classchat-bench")
    for binary in (args.server, args.bench):
        if not os.access(binary, os.X_OK):
            sys.exit(f"cluster-bench: {binary} is missing; build first (README, 'Set up')")
    args.out = args.out or tempfile.mkdtemp(prefix="classchat-cluster-bench-out-")
    os.makedirs(args.out, exist_ok=True)
    log(f"output in {args.out}")
    print("machine: " + machine())
    figures = {"sessions": figure_sessions, "joins": figure_joins, "direct": figure_direct,
               "shout": figure_shout}
    taken = set()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        for name in args.figures.split(","):
            print(f"\n== {name} ({time.strftime('%H:%M:%S UTC', time.gmtime())}, load "
                  f"{open('/proc/loadavg').read().split()[0]})", flush=True)
            figures[name](args, taken)
            sys.stdout.flush()
    finally:
        stop_all()


if __name__ == "__main__":
    main()
