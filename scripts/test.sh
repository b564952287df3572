#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test:
#   1. the whole suite in an optimised build;
#   2. the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the unit tests and the server's multi-threaded black-box tests under ThreadSanitizer;
#   4. a short libFuzzer run of each parser (clang, ASan + UBSan) over the committed corpora;
# and, after the first suite, builds the whole tree exactly as a user or packager does
# (plain Release, no flags of ours), so that their build cannot break again unnoticed.
# The test builds turn warnings into errors (CLASSCHAT_WERROR); a user's build never does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench-peers  # the peers: the side-by-side benchmark tests drive them

jobs=$(nproc)
# install-deps.sh installs ccache: rebuilding after a small change then recompiles only
# what changed in every one of the five build trees (CMake reads this variable when it
# configures a new tree).
if command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
fi
run_suite() {  # name, ctest label regex ("" for all), cmake args...
  local name=$1 labels=$2
  shift 2
  echo "=== build and test: $name ==="
  cmake -S . -B "build/$name" -G Ninja -DCLASSCHAT_WERROR=ON "$@" >/dev/null
  cmake --build "build/$name" -j "$jobs"
  ctest --test-dir "build/$name" --output-on-failure -j "$jobs" --timeout 600 ${labels:+-L "$labels"}
}

run_suite release "" -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "=== build as a user would: plain Release (configure and build only) ==="
cmake -S . -B build/user-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/user-release -j "$jobs"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
CLASSCHAT_TEST_TIMEOUT=30 CLASSCHAT_SANITIZER=address \
  run_suite asan "" -DCMAKE_BUILD_TYPE=Debug -DCLASSCHAT_SANITIZE=address,undefined

TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 CLASSCHAT_TEST_TIMEOUT=30 \
CLASSCHAT_SANITIZER=thread \
  run_suite tsan 'unit|server' \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLASSCHAT_SANITIZE=thread

CC=clang CXX=clang++ \
  run_suite fuzz "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLASSCHAT_FUZZ=ON \
  -DCLASSCHAT_FUZZ_SECONDS="${CLASSCHAT_FUZZ_SECONDS:-15}"

echo "all test suites passed"
