#!/usr/bin/env bash
# Builds everything and runs every test through ctest.
#
#   bash scripts/test.sh              # build/      (RelWithDebInfo)
#   bash scripts/test.sh --sanitize   # build-asan/ (AddressSanitizer + UBSan)
#
# Installs the Debian packages it needs first (idempotent). Exits non-zero if
# the build or any test fails. CMAKE_BUILD_PARALLEL_LEVEL overrides the number
# of compile jobs (default: one per core).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
case "${1:-}" in
  "") ;;
  --sanitize)
    build_dir=build-asan
    cmake_args+=(-DSEGMENTS_SANITIZE=ON -DSEGMENTS_BUILD_BENCH=OFF)
    # Leak checks on; UBSan reports with a stack (the build makes every
    # report fatal: -fno-sanitize-recover=all).
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
    ;;
  *)
    echo "usage: bash scripts/test.sh [--sanitize]" >&2
    exit 2
    ;;
esac

bash scripts/install-deps.sh

export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}"
cmake --build "$build_dir"

cd "$build_dir"
# --no-tests=error: a build that registers no test must not pass as green.
ctest --output-on-failure -j2 --no-tests=error
