#!/usr/bin/env bash
# A long fuzzing campaign: scripts/fuzz.sh [seconds-per-target] [target...]
# Targets: frame_decoder message_parser handshake json_writer http_request ws_handshake
# trust_files (default: all).
# New interesting inputs are merged into tests/fuzz/corpus/<target>/ (commit them);
# crashes are left as build/fuzz/tests/fuzz/crash-* with the command to reproduce.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
seconds=${1:-600}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(frame_decoder message_parser handshake json_writer http_request ws_handshake
                            trust_files)

CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCLASSCHAT_FUZZ=ON >/dev/null
cmake --build build/fuzz
cd build/fuzz/tests/fuzz
for t in "${targets[@]}"; do
  corpus=../../../../tests/fuzz/corpus/$t
  mkdir -p "campaign_$t"
  echo "=== fuzz_$t for ${seconds}s ==="
  ./fuzz_$t -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -jobs=1 \
    -print_final_stats=1 "campaign_$t" "$corpus"
  ./fuzz_$t -merge=1 "$corpus" "campaign_$t" 2>/dev/null
done
echo "corpora updated under tests/fuzz/corpus/; review and commit them"
