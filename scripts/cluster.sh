#!/usr/bin/env bash
# Starts a classchat cluster on this machine: a private redis-server and N classchatd nodes
# that share one chat port (--reuse-port: the kernel spreads new clients over the nodes) and
# one HTTP port (the chat page and WebSocket clients are spread the same way). Extra
# arguments go to every node, e.g.
#   scripts/cluster.sh 3 --threads 2 --node-lease 5
# Ctrl-C (or SIGTERM to this script) stops every node and Redis; nothing is left running.
#
# Ports, from the environment or from the node flags (a flag wins):
#   CLASSCHAT_PORT        chat port shared by the nodes        (default 65432; or --port N)
#   CLASSCHAT_HTTP_PORT   HTTP port shared by the nodes        (default 8080; or --http-port N)
#   CLASSCHAT_REDIS_PORT  the private Redis's port on 127.0.0.1 (default: a free one)
#   CLASSCHATD            a classchatd binary to run instead of building build/serve (as
#                         scripts/serve.sh does); the tests use it
# Redis runs with no persistence (--save '' --appendonly no), bound to 127.0.0.1, in its own
# temporary directory: never a system service. Each node's log lines are prefixed "nodeI:".
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/cluster.sh N [classchatd flags]   (N nodes, 1..64)" >&2
  exit 2
}
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -ge 1 && $1 -le 64 ]] || usage
nodes=$1
shift

port=${CLASSCHAT_PORT:-65432}
http_port=${CLASSCHAT_HTTP_PORT:-8080}
redis_port=${CLASSCHAT_REDIS_PORT:-}
no_http=false
# --port and --http-port are taken out of the flags (each node gets exactly one of each);
# --reuse-port and --redis are the script's to give.
node_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --port) port=${args[i + 1]:-}; ((++i)) ;;
    --port=*) port=${args[i]#*=} ;;
    --http-port) http_port=${args[i + 1]:-}; ((++i)) ;;
    --http-port=*) http_port=${args[i]#*=} ;;
    --reuse-port) ;;
    --redis | --redis=*)
      echo "cluster.sh: --redis is set by the script (its private Redis)" >&2
      exit 2 ;;
    --no-http) no_http=true; node_args+=("${args[i]}") ;;
    *) node_args+=("${args[i]}") ;;
  esac
done
for value in "$port" "$http_port" ${redis_port:+"$redis_port"}; do
  [[ $value =~ ^[0-9]+$ && $value -ge 1 && $value -le 65535 ]] || {
    echo "cluster.sh: '$value' is not a port (1..65535)" >&2
    exit 2
  }
done

command -v redis-server >/dev/null || {
  echo "cluster.sh: redis-server is not installed (Debian: apt-get install redis-server)" >&2
  exit 1
}
if [[ -n ${CLASSCHATD:-} ]]; then
  classchatd=$CLASSCHATD
else
  scripts/install-deps.sh
  cmake -S . -B build/serve -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build build/serve --target classchatd classchat classchat-bench
  classchatd=build/serve/src/server/classchatd
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/classchat-cluster.XXXXXX")
redis_pid=
node_pids=()
stopping=false

# Stops the nodes first (they leave the directory cleanly), then Redis; whatever does not
# exit within 10 s is killed, so that nothing outlives the script.
cleanup() {
  local status=$?
  $stopping && return
  stopping=true
  trap '' INT TERM
  local pid
  for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait_gone 10 "${node_pids[@]}"
  if [[ -n $redis_pid ]]; then
    kill -TERM "$redis_pid" 2>/dev/null || true
    wait_gone 10 "$redis_pid"
  fi
  wait 2>/dev/null || true
  rm -rf "$dir"
  echo "cluster.sh: stopped ${#node_pids[@]} node(s) and Redis" >&2
  exit "$status"
}

# wait_gone SECONDS PID...: waits for the processes to exit, then kills the rest.
wait_gone() {
  local deadline=$((SECONDS + $1)) pid alive
  shift
  while :; do
    alive=()
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    ((${#alive[@]} == 0)) && return 0
    if ((SECONDS >= deadline)); then
      echo "cluster.sh: killing ${alive[*]} (did not stop in time)" >&2
      kill -KILL "${alive[@]}" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Every process started from here on gets its own process group, so that Ctrl-C in the
# terminal reaches only this script, which stops the nodes first and Redis last (a Redis
# that went first would leave the nodes to leave a directory they cannot reach).
set -m

# Redis on a free port: a busy port makes it exit at once, and another one is tried
# (unless CLASSCHAT_REDIS_PORT fixed it).
start_redis() {
  local candidate=$1
  : >"$dir/redis.log"
  redis-server --port "$candidate" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir" --daemonize no --logfile "$dir/redis.log" &
  redis_pid=$!
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    grep -q "Ready to accept connections" "$dir/redis.log" 2>/dev/null && return 0
    kill -0 "$redis_pid" 2>/dev/null || { wait "$redis_pid" || true; redis_pid=; return 1; }
    sleep 0.05
  done
  return 1
}
if [[ -n $redis_port ]]; then
  start_redis "$redis_port" || {
    echo "cluster.sh: redis-server did not start on port $redis_port:" >&2
    tail -5 "$dir/redis.log" >&2
    exit 1
  }
else
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    redis_port=$((20000 + RANDOM % 30000))
    start_redis "$redis_port" && break
    redis_port=
  done
  [[ -n $redis_port ]] || { echo "cluster.sh: no free port for redis-server" >&2; exit 1; }
fi
echo "cluster.sh: Redis on 127.0.0.1:$redis_port (pid $redis_pid, no persistence)" >&2

http_args=()
$no_http || http_args=(--http-port "$http_port")
for ((i = 1; i <= nodes; i++)); do
  "$classchatd" --port "$port" --reuse-port --redis "127.0.0.1:$redis_port" "${http_args[@]}" \
    "${node_args[@]}" 2> >(trap '' INT; tee "$dir/node$i.log" | sed -u "s/^/node$i: /" >&2) &
  node_pids+=($!)
done
# A node is up once it logged its chat port; one that exits first is reported.
for ((i = 1; i <= nodes; i++)); do
  deadline=$((SECONDS + 20))
  until grep -q "listening on" "$dir/node$i.log" 2>/dev/null; do
    if ! kill -0 "${node_pids[i - 1]}" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "cluster.sh: node $i did not start (see its lines above)" >&2
      exit 1
    fi
    sleep 0.05
  done
done

echo "cluster.sh: $nodes node(s) ready, pids ${node_pids[*]}, sharing chat port $port" >&2
echo "cluster.sh: connect with: build/serve/src/client/classchat --port $port --name NAME (or any client)" >&2
if ! $no_http; then
  echo "cluster.sh: every node serves HTTP on the shared port $http_port:" \
       "open http://localhost:$http_port/ (one node's /metrics per request)" >&2
fi
echo "cluster.sh: Ctrl-C stops them all" >&2

# Runs until a signal, or until every node has exited. A node that dies is reported and
# the others keep serving (that is what a cluster is for); Redis dying is reported too.
reported=()
watched=("${node_pids[@]}" "$redis_pid")
while :; do
  # Only processes still running: wait -n returns at once for one already reaped.
  wait -n "${watched[@]}" 2>/dev/null || true
  watched=()
  for ((i = 1; i <= nodes; i++)); do
    pid=${node_pids[i - 1]}
    if kill -0 "$pid" 2>/dev/null; then
      watched+=("$pid")
    elif [[ -z ${reported[i]:-} ]]; then
      echo "cluster.sh: node $i (pid $pid) exited" >&2
      reported[i]=1
    fi
  done
  ((${#watched[@]} > 0)) || { echo "cluster.sh: every node has exited" >&2; exit 1; }
  if [[ -n $redis_pid ]]; then
    if kill -0 "$redis_pid" 2>/dev/null; then
      watched+=("$redis_pid")
    else
      echo "cluster.sh: Redis (pid $redis_pid) exited" >&2
      redis_pid=
    fi
  fi
done
