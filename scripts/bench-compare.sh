#!/usr/bin/env bash
# The side-by-side benchmark of issue #6: installs the peers (ngIRCd, InspIRCd,
# nats-server), builds Release into build/bench and runs classchatd and every peer through
# the same workloads (scripts/bench/compare.py). One table and one chart land in
# bench-results/ (compare.md, compare.svg, compare.json).
#
#   scripts/bench-compare.sh                      # everything (about 15-25 minutes)
#   scripts/bench-compare.sh --quick              # a smoke run; any compare.py options
#                                                 # are passed through
#   scripts/bench-compare.sh --class-server "python3 ~/class/server_main.py"
#                                                 # adds the class's own server as a column
# Run it on an otherwise idle machine: the load generator and the servers share the CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench-peers
cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
if (($# == 0)); then
  cmake --build build/bench --target bench-compare
else
  cmake --build build/bench --target classchatd classchat-bench classchat-relay
  exec python3 scripts/bench/compare.py --bench build/bench/src/bench/classchat-bench \
    --server build/bench/src/server/classchatd --relay build/bench/src/bench/classchat-relay \
    "$@"
fi
