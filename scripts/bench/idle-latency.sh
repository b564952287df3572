#!/usr/bin/env bash
# Issue #6, target 4: does direct-message p99 stay the same with many idle connections
# open? For each idle count, in alternating rounds: start a fresh classchatd, open that
# many idle clients with `classchat-bench ramp` (a heartbeat every 600 s, so they stay
# silent), then measure open-loop direct-message latency with `classchat-bench
# throughput` from 500 other clients, and stop everything. Prints one line per run and
# the median p99 per idle count.
#
#   scripts/bench/idle-latency.sh BUILD_DIR [ROUNDS] [RATE] [IDLE_COUNTS...]
#   scripts/bench/idle-latency.sh build/bench 3 50000 1000 19000
#
# With IDLE_ELSEWHERE=1 the idle clients connect to a second classchatd instead (the
# measured server then holds none): the control that tells the server's own cost of idle
# connections from the machine's (the kernel's sockets on both ends).
#
# Bounded: each run is about 30 s and everything it starts is stopped at its end.
set -euo pipefail
build=${1:?usage: idle-latency.sh BUILD_DIR [ROUNDS] [RATE] [IDLE_COUNTS...]}
rounds=${2:-3}
rate=${3:-50000}
shift $(($# < 3 ? $# : 3))
idle_counts=("${@:-1000 19000}")
[ $# -eq 0 ] && idle_counts=(1000 19000)
server=$build/src/server/classchatd
bench=$build/src/bench/classchat-bench
port=${PORT:-23456}  # below the ephemeral range, so no client socket can hold it
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

echo "ulimit -n: $(ulimit -n); rate ${rate}/s from 500 clients (250 pairs); ${rounds} rounds"
for round in $(seq "$rounds"); do
  for idle in "${idle_counts[@]}"; do
    "$server" --port "$port" --host 127.0.0.1 --no-http --log-level warn --rate-limit 0 --shout-rate 0 &
    sp=$!
    idle_port=$port idle_pid=$sp
    if [ "${IDLE_ELSEWHERE:-0}" = 1 ]; then
      idle_port=$((port + 1))
      "$server" --port "$idle_port" --host 127.0.0.1 --no-http --log-level warn &
      idle_pid=$!
    fi
    sleep 0.5
    # Hold the idle clients until the measurement is over (or 60 s at most).
    "$bench" ramp --port "$idle_port" --step 5000 --interval 2 --target "$idle" --hold 50 \
      --heartbeat 600 --procs 2 --max-p99 60000 --duration 60 --prefix idle -q \
      > "$out/ramp.txt" 2>&1 &
    rp=$!
    # Wait until the server holds them all (each client is one descriptor).
    for _ in $(seq 200); do
      held=$(($(ls /proc/$idle_pid/fd | wc -l) - 8))
      [ "$held" -ge "$idle" ] && break
      sleep 0.1
    done
    sleep 8  # let the joins, welcomes and their memory settle
    "$bench" throughput --port "$port" --kind direct --pairs 250 --rate "$rate" \
      --step-duration 5 --drain 3 --server-pid "$sp" --json "$out/t.json" -q > /dev/null 2>&1 || true
    read -r p99 lag cpu < <(python3 -c "
import json, sys
s = json.load(open(sys.argv[1]))['direct']['steps'][-1]
print(s['latency']['p99_us'], s['generator_send_lag']['p99_us'], s['server_cpu'])" "$out/t.json" 2>/dev/null || echo nan nan nan)
    echo "round $round idle $idle (descriptors: measured server $(ls /proc/$sp/fd | wc -l)," \
      "idle clients' server $(ls /proc/$idle_pid/fd | wc -l)):" \
      "p99 ${p99} us, generator lag p99 ${lag} us, server CPU ${cpu}"
    echo "$idle $p99" >> "$out/all.txt"
    kill "$rp" 2>/dev/null || true
    wait "$rp" 2>/dev/null || true
    kill "$sp" "$idle_pid" 2>/dev/null || true
    wait "$sp" "$idle_pid" 2>/dev/null || true
    sleep 1
  done
done
python3 - "$out/all.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    idle, p99 = line.split()
    runs.setdefault(int(idle), []).append(float(p99))
base = None
for idle in sorted(runs):
    median = statistics.median(runs[idle])
    base = base or median
    print(f"idle {idle}: median p99 {median:.0f} us over {len(runs[idle])} runs "
          f"({median / base:.2f}x the first)")
PY
