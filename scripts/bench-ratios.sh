#!/usr/bin/env bash
# Measures the lead table of docs/benchmarks.md: every ratio benchmark of
# issue 18 (a figure beside the cost of the work it cannot avoid), three runs
# in rotation in one sitting, as the page's "met in three runs alternated"
# asks. Builds build-bench/ (Release) first.
#
#   bash scripts/bench-ratios.sh            # 3 runs
#   RUNS=1 bash scripts/bench-ratios.sh     # one run
#
# Results: JSON and console output per run and benchmark under
# build-bench/results/ratios-<UTC time>/, and summary.txt, the ratios per run
# (tools/bench_ratios.py). Datasets are cached under $SEGMENTS_BENCH_CACHE as
# for scripts/bench.sh. Run it on a quiet machine: nothing else compiling.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build-bench
# name of the binary, then its filter: the rows of the lead table.
rows=(
  "write BatchUpsertBesideFloor"
  "write UpdateBesideFloor"
  "write GroupCommitBesideFsync"
  "count RpcCountBesideHealth"
  "restart RestartBesideSelect/iterations:3"
  "build contacts:1000000"
  "feed ReplayBesideSocket"
  "snapshot Beside"
)

export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSEGMENTS_BUILD_BENCH=ON >/dev/null
cmake --build "$build_dir" --target bench_write bench_count bench_restart \
  bench_build bench_feed bench_snapshot

out="$build_dir/results/ratios-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit+=" + local changes"
echo "commit: $commit; cores: $(nproc)" | tee "$out/machine.txt"

for run in $(seq 1 "${RUNS:-3}"); do
  for row in "${rows[@]}"; do
    read -r name filter <<<"$row"
    tag="run${run}_${name}_${filter%%/*}"
    echo "=== run $run: bench_$name $filter (load $(cut -d' ' -f1 /proc/loadavg))" |
      tee -a "$out/log.txt"
    "$build_dir/bench/bench_$name" --benchmark_filter="$filter" \
      --benchmark_out="$out/$tag.json" --benchmark_out_format=json \
      >"$out/$tag.txt" 2>&1
  done
done
python3 tools/bench_ratios.py "$out" | tee "$out/summary.txt"
echo "results in $out/"
