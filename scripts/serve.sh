#!/usr/bin/env bash
# Installs what is missing, builds the three programs (Release) and runs the server in the
# foreground. Extra arguments go to classchatd, e.g. scripts/serve.sh --port 7000 --log-level debug
#
# The programs land in build/serve:
#   build/serve/src/server/classchatd      the server
#   build/serve/src/client/classchat       the command-line client
#   build/serve/src/bench/classchat-bench  the load tools
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/serve -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/serve --target classchatd classchat classchat-bench
echo "serve.sh: built build/serve/src/server/classchatd, build/serve/src/client/classchat" \
     "and build/serve/src/bench/classchat-bench; starting the server (Ctrl-C stops it)" >&2
exec build/serve/src/server/classchatd "$@"
