#include "bench/stats.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>

#include "absl/strings/str_cat.h"

namespace segments::bench {

double Latencies::PercentileUs(double p) {
  if (ns_.empty()) return 0;
  std::sort(ns_.begin(), ns_.end());
  // Nearest rank.
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * ns_.size()));
  rank = std::clamp<size_t>(rank, 1, ns_.size());
  return static_cast<double>(ns_[rank - 1]) / 1000.0;
}

int64_t Latencies::SumNs() const {
  return std::accumulate(ns_.begin(), ns_.end(), int64_t{0});
}

void ReportPercentiles(benchmark::State& state, Latencies& latencies,
                       const char* prefix) {
  const auto flags = state.threads() > 1 ? benchmark::Counter::kAvgThreads
                                         : benchmark::Counter::kDefaults;
  state.counters[absl::StrCat(prefix, "p50_us")] =
      benchmark::Counter(latencies.PercentileUs(50), flags);
  state.counters[absl::StrCat(prefix, "p99_us")] =
      benchmark::Counter(latencies.PercentileUs(99), flags);
}

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t ResidentBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoll(line.substr(6)) * 1024;  // "VmRSS:   123456 kB"
    }
  }
  return -1;
}

}  // namespace segments::bench
