#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, clang with ASan + UBSan, in
# build-fuzz/), replays every committed corpus through them (ctest -L fuzz),
# then fuzzes each target for a bounded time.
#
#   bash scripts/fuzz.sh                    # every target, 20 s each
#   bash scripts/fuzz.sh --seconds 600      # longer runs
#   bash scripts/fuzz.sh --target filter    # one target (repeatable)
#   bash scripts/fuzz.sh --replay-only      # build and replay, no fuzzing
#
# The committed corpus (tests/fuzz/corpus/<target>/) is read, never written:
# each run starts from it plus a fresh temporary directory, which receives
# the new inputs and is deleted afterwards (--keep-corpus DIR keeps them in
# DIR/<target>/ instead). A crash, a failed property or any sanitizer
# report fails the script; the input that caused it is copied to
# build-fuzz/fuzz-artifacts/ and the end of the log is printed.
#
# Installs the Debian packages it needs first (idempotent).
# CMAKE_BUILD_PARALLEL_LEVEL overrides the number of compile jobs.
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(filter filter_codec page_token stored_rows requests)
seconds=20
targets=()
replay_only=0
keep_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --replay-only) replay_only=1; shift ;;
    --keep-corpus) keep_dir="$(realpath -m "$2")"; shift 2 ;;
    *)
      echo "usage: bash scripts/fuzz.sh [--seconds N] [--target NAME]..." \
           "[--replay-only] [--keep-corpus DIR]" >&2
      echo "targets: ${all_targets[*]}" >&2
      exit 2
      ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  if [ ! -d "tests/fuzz/corpus/$t" ]; then
    echo "unknown target $t (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done

bash scripts/install-deps.sh

build_dir=build-fuzz
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
start=$SECONDS
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DSEGMENTS_FUZZ=ON -DSEGMENTS_BUILD_BENCH=OFF >/dev/null
cmake --build "$build_dir" --target "${targets[@]/#/fuzz_}"
echo "fuzz build: $((SECONDS - start)) s"

# Every report fatal, with a stack; leaks are reported by libFuzzer itself.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1 halt_on_error=1}"

# The replay: each committed input once, deterministic.
regex="^fuzz_($(IFS='|'; echo "${targets[*]}"))_corpus$"
(cd "$build_dir" && ctest --output-on-failure --no-tests=error -R "$regex")
[ "$replay_only" -eq 1 ] && exit 0

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
artifacts="$PWD/$build_dir/fuzz-artifacts"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/new" "$work/$t/out"
  echo "fuzzing $t for $seconds s"
  # -timeout: one input running this long is a hang, reported as a failure.
  if ! "$build_dir/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
      -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/$t/out/" \
      "$work/$t/new" "tests/fuzz/corpus/$t" >"$work/$t/log" 2>&1; then
    failed+=("$t")
    mkdir -p "$artifacts"
    cp "$work/$t/out/"* "$artifacts/" 2>/dev/null || true
    echo "FAILED: $t; the log ends:" >&2
    tail -n 60 "$work/$t/log" >&2
    echo "input(s) kept in $artifacts/: $(ls "$work/$t/out")" >&2
  else
    grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" "$work/$t/log" |
      tail -n 2 || true
  fi
  if [ -n "$keep_dir" ]; then
    mkdir -p "$keep_dir/$t"
    cp "$work/$t/new/"* "$keep_dir/$t/" 2>/dev/null || true
  fi
done
echo "fuzz total: $((SECONDS - start)) s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz targets failed: ${failed[*]}" >&2
  exit 1
fi
echo "No crash, failed property or sanitizer report."
