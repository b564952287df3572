#!/usr/bin/env bash
# Installs what is missing, builds classchatd (Release) and runs it in the foreground.
# Extra arguments go to classchatd, e.g. scripts/serve.sh --port 7000 --log-level debug
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/serve -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/serve --target classchatd
exec build/serve/src/server/classchatd "$@"
