#!/usr/bin/env bash
# Installs what is missing, builds the three programs (Release) and runs the server in the
# foreground, printing the URL of the chat page. Extra arguments go to classchatd, e.g.
# scripts/serve.sh --port 7000 --http-port 8000 --log-level debug
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
# The chat page's address, from --http-port/--http-host if given (classchatd's defaults:
# 8080 on --host, itself 0.0.0.0). A wildcard address is opened as this machine's name.
http_port=8080 http_host= host=0.0.0.0 no_http=false scheme=http
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --http-port) http_port=${args[i + 1]:-} ;;
    --http-port=*) http_port=${args[i]#*=} ;;
    --http-host) http_host=${args[i + 1]:-} ;;
    --http-host=*) http_host=${args[i]#*=} ;;
    --host) host=${args[i + 1]:-} ;;
    --host=*) host=${args[i]#*=} ;;
    --no-http) no_http=true ;;
    --tls-cert | --tls-cert=*) scheme=https ;;  # with a certificate the page is HTTPS
  esac
done
http_host=${http_host:-$host}
case $http_host in
  0.0.0.0 | ::) url_host=$(hostname -f 2>/dev/null || echo localhost) ;;
  *:*) url_host="[$http_host]" ;;
  *) url_host=$http_host ;;
esac
if ! $no_http; then
  if [[ $http_port == 0 ]]; then
    echo "serve.sh: the chat page's port is picked by the kernel: see the 'HTTP on' log line" >&2
  else
    echo "serve.sh: open $scheme://$url_host:$http_port/ in a browser to chat" \
         "(or $scheme://localhost:$http_port/ on this machine)" >&2
  fi
fi
exec build/serve/src/server/classchatd "$@"
