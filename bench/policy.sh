#!/bin/sh
# bench/policy.sh -- per-event cost of policy evaluation (200 rules) next
# to a strcmp-loop baseline measured in the same run; exits 1 when the
# worst case is above 5 us/event.
#
#   bench/policy.sh [BUILD_DIR]
#
# BUILD_DIR (default build-bench) holds librolehook_core.a; it is
# configured as a Release build and the library built when missing.
# Timing a sanitizer build measures the sanitizer, not the code.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
CC=${CC:-cc}
if [ ! -f "$BUILD/librolehook_core.a" ]; then
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DROLEHOOK_TESTS=OFF >/dev/null
	cmake --build "$BUILD" --target rolehook_core -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT INT TERM
# shellcheck disable=SC2046
$CC -std=c11 -O2 -D_GNU_SOURCE -Wall -Wextra -I"$SRC/include" \
	"$SRC/bench/policy.c" "$BUILD/librolehook_core.a" \
	$(pkg-config --libs json-c libcrypto) -o "$OUT/bench_policy"
"$OUT/bench_policy"
