#!/usr/bin/env bash
# Builds the benchmarks in Release (build-bench/) and runs them one after the
# other; see docs/benchmarks.md for what each measures and the goals.
#
#   bash scripts/bench.sh                  # all twelve, 1M contacts
#   bash scripts/bench.sh count build      # only bench_count and bench_build
#   bash scripts/bench.sh --quick          # 100k contacts instead of 1M,
#                                          # 2,000 workspaces instead of 10,000
#
# Results: console output and JSON under build-bench/results/<UTC time>/.
# Datasets are cached under $SEGMENTS_BENCH_CACHE (default
# /tmp/segments-bench) and rebuilt when missing: the first run at 1M
# contacts spends a few minutes generating them. Benchmarks are run one at a
# time: running two at once on a small machine measures the contention.
# Extra Google Benchmark flags can be passed through BENCH_FLAGS, e.g.
#   BENCH_FLAGS=--benchmark_repetitions=3 bash scripts/bench.sh count
set -euo pipefail
cd "$(dirname "$0")/.."

all=(count update write build restart time feed snapshot history analytics workspaces grpc_api)
selected=()
for arg in "$@"; do
  case "$arg" in
    --quick)
      export SEGMENTS_BENCH_CONTACTS=100000
      export SEGMENTS_BENCH_WORKSPACES=2000
      ;;
    count | update | write | build | restart | time | feed | snapshot | history | analytics | workspaces | grpc_api) selected+=("$arg") ;;
    *)
      echo "usage: bash scripts/bench.sh [--quick] [count|update|write|build|restart|time|feed|snapshot|history|analytics|workspaces|grpc_api]..." >&2
      exit 2
      ;;
  esac
done
[[ ${#selected[@]} -eq 0 ]] && selected=("${all[@]}")

build_dir=build-bench
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSEGMENTS_BUILD_BENCH=ON
targets=()
for name in "${selected[@]}"; do targets+=("bench_$name"); done
cmake --build "$build_dir" --target "${targets[@]}"

out="$build_dir/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if commit=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet HEAD 2>/dev/null || commit+=" + local changes"
  else
    commit=unknown
  fi
  echo "commit: $commit"
  echo "cores: $(nproc)"
  lscpu | grep 'Model name' || true
  grep MemTotal /proc/meminfo || true
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "contacts: ${SEGMENTS_BENCH_CONTACTS:-1000000}"
} | tee "$out/machine.txt"

for name in "${selected[@]}"; do
  echo "=== bench_$name"
  # shellcheck disable=SC2086  # BENCH_FLAGS is a list of flags
  "$build_dir/bench/bench_$name" \
    --benchmark_out="$out/$name.json" --benchmark_out_format=json \
    ${BENCH_FLAGS:-} 2>&1 | tee "$out/$name.txt"
done
echo "results in $out/"
