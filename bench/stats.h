// Small measurement helpers: per-call latency percentiles (Google Benchmark
// reports means; the goals are stated as p50) and the process's resident
// memory.
//
// Thread-safety: a Latencies belongs to one thread.
#ifndef SEGMENTS_BENCH_STATS_H_
#define SEGMENTS_BENCH_STATS_H_

#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"

namespace segments::bench {

class Latencies {
 public:
  void Reserve(size_t n) { ns_.reserve(n); }
  void Add(int64_t ns) { ns_.push_back(ns); }
  size_t size() const { return ns_.size(); }
  int64_t SumNs() const;  // of every latency added
  // The p-th percentile (0 < p <= 100) in microseconds; 0 when empty.
  // Sorts in place.
  double PercentileUs(double p);

 private:
  std::vector<int64_t> ns_;
};

// Sets counters <prefix>p50_us and <prefix>p99_us (averaged over threads in
// multi-threaded runs).
void ReportPercentiles(benchmark::State& state, Latencies& latencies,
                       const char* prefix);

// CPU time consumed by the calling thread, in nanoseconds. On a shared
// machine, wall-clock latencies include time spent descheduled; this does
// not.
int64_t ThreadCpuNs();

// VmRSS from /proc/self/status, in bytes; -1 when unreadable.
int64_t ResidentBytes();

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_STATS_H_
