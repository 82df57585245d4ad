#!/usr/bin/env bash
# tests/run.sh -- install what the tests need, build rolehook twice
# (RelWithDebInfo, and ASan+UBSan with clang and libFuzzer) and run every
# test of both builds under ctest.  Exits non-zero on any failure.
#
#   ./tests/run.sh            everything
#   SKIP_INSTALL=1 ./tests/run.sh   skip apt-get/npm (machine already set up)
#   JOBS=4 ./tests/run.sh     parallel make
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
jobs=${JOBS:-$(nproc)}

deps=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libfcgi-dev libjson-c-dev libcurl4-openssl-dev libssl-dev
      libsqlite3-dev sqlite3 libcmocka-dev nginx python3 mandoc wrk
      systemd-container debootstrap postgresql-15 libpq-dev)

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    echo "== installing build and test dependencies"
    $sudo apt-get update -q
    command -v npm >/dev/null 2>&1 || deps+=(nodejs npm)
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
        --no-install-recommends "${deps[@]}"
    # The independent Standard Webhooks signer for the integration tests.
    (cd tests/integration && npm install --no-audit --no-fund --silent)
fi

werror=OFF
[ "${CI:-}" = true ] && werror=ON

echo "== build: release"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DROLEHOOK_WERROR=$werror -DROLEHOOK_TESTS=ON >/dev/null
cmake --build build -j "$jobs"

echo "== build: asan+ubsan (clang, libFuzzer)"
CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Asan -DROLEHOOK_WERROR=$werror -DROLEHOOK_TESTS=ON \
    -DROLEHOOK_FUZZ=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
cmake --build build-asan -j "$jobs"

if command -v mandoc >/dev/null 2>&1; then
    echo "== man pages: mandoc -T lint"
    mandoc -T lint -W warning docs/man/rolehook.8 docs/man/rolehook.json.5
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
echo "== ctest: release"
ctest --test-dir build --output-on-failure -j 2 || status=1
echo "== ctest: asan+ubsan"
ctest --test-dir build-asan --output-on-failure -j 2 || status=1
exit $status
