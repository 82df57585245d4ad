#!/usr/bin/env bash
# deploy/demo.sh -- rolehook end to end on this machine, on loopback only:
# installs what it needs, builds, starts a real nginx (with the shipped
# nginx/rolehook.conf) in front of `rolehook serve` on the embedded
# defaults (SQLite), sends signed sample webhooks from HR and Zendesk,
# shows what happened, and stops everything it started.
#
#   ./deploy/demo.sh                  full run
#   SKIP_INSTALL=1 ./deploy/demo.sh   machine already set up
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "== installing dependencies (apt-get)"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
        build-essential cmake pkg-config libfcgi-dev libjson-c-dev \
        libcurl4-openssl-dev libssl-dev libsqlite3-dev nginx python3 >/dev/null
fi

echo "== building rolehook"
cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROLEHOOK_TESTS=OFF >/dev/null
cmake --build build-demo -j "$(nproc)" --target rolehook >/dev/null

exec python3 deploy/demo.py --bin build-demo/rolehook
