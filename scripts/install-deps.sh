#!/usr/bin/env bash
# Installs the Debian 12 packages classchat needs to build and test, if any are missing.
# Runs apt-get only when something is missing, so repeated runs are fast and offline.
#
#   --bench-peers  also the servers classchatd is compared with (ngIRCd, InspIRCd,
#                  nats-server). The benchmark starts its own instances with generated
#                  configs, so their system services are kept from starting on install.
set -euo pipefail

bench_peers=false
[[ ${1:-} == --bench-peers ]] && bench_peers=true

packages=(
  build-essential cmake ninja-build pkg-config python3 ccache
  libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libedit-dev tmux libsodium-dev
  libwslay-dev libssl-dev openssl
  python3-websockets chromium chromium-driver python3-selenium
  clang libclang-rt-14-dev
  redis-server libhiredis-dev
)
peer_packages=(ngircd inspircd nats-server)
$bench_peers && packages+=("${peer_packages[@]}")

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  # While installing, a policy-rc.d that answers 101 ("action forbidden") keeps the
  # peers' daemons from starting; an existing policy is left as it was.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if $bench_peers && [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod +x "$policy"
    own_policy=true
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if $own_policy; then "${sudo_cmd[@]}" rm -f "$policy"; fi
fi
if $bench_peers && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  for service in ngircd inspircd nats-server; do
    "${sudo_cmd[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
  done
fi
