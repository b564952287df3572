#!/usr/bin/env bash
# Builds the three programs (Release), installs them in PREFIX/bin (default /usr/local)
# and, when systemd runs this machine, installs and starts the classchatd service, so the
# server keeps running after logout and comes back after a reboot.
#
#   scripts/install-service.sh            build, install, enable and start
#   PREFIX=/opt/classchat scripts/install-service.sh
#   scripts/install-service.sh --no-service   only build and install the programs
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${PREFIX:-/usr/local}
service=true
[[ ${1:-} == --no-service ]] && service=false

scripts/install-deps.sh
cmake -S . -B build/serve -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/serve --target classchatd classchat classchat-bench
cmake --install build/serve --prefix "$prefix"
echo "install-service: installed classchatd, classchat and classchat-bench in $prefix/bin"

$service || exit 0
if ! command -v systemctl >/dev/null || [[ ! -d /run/systemd/system ]]; then
  echo "install-service: systemd is not running here; start $prefix/bin/classchatd yourself" >&2
  exit 0
fi
sed "s|/usr/local/bin/classchatd|$prefix/bin/classchatd|" scripts/classchatd.service \
  >/etc/systemd/system/classchatd.service
systemctl daemon-reload
systemctl enable --now classchatd
systemctl --no-pager status classchatd | head -n 5
