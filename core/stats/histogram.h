// A histogram over fixed bucket bounds that any thread may add to without a
// lock: what the engine records its distributions in (core/stats/
// engine_stats.h), for the server to export. Bounds are in the unit the
// caller observes in (seconds, writes); the exporter names the unit.
//
// Thread-safety: Observe and Read may be called concurrently. A Read while
// others observe sees each observation entirely or not at all in the bucket
// counts; the sum may lag them by the observations in flight.
#ifndef SEGMENTS_CORE_STATS_HISTOGRAM_H_
#define SEGMENTS_CORE_STATS_HISTOGRAM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace segments {

class AtomicHistogram {
 public:
  // REQUIRES: `upper_bounds` is strictly ascending. A value is counted in
  // the first bucket whose bound it does not exceed, else in the last
  // (unbounded) one.
  explicit AtomicHistogram(std::vector<double> upper_bounds);
  AtomicHistogram(const AtomicHistogram&) = delete;
  AtomicHistogram& operator=(const AtomicHistogram&) = delete;

  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;
    // Per bucket (not cumulative): upper_bounds.size() + 1 entries, the
    // last one for values above every bound.
    std::vector<uint64_t> counts;
    uint64_t count = 0;  // the sum of `counts`
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> upper_bounds_;
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

}  // namespace segments

#endif  // SEGMENTS_CORE_STATS_HISTOGRAM_H_
