// What the engine records in EngineStats (core/stats/engine_stats.h) around
// its store commits: their latency and failures, the size of contact write
// groups, and the time flips a commit applies with their lag.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_COMMIT_STATS_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_COMMIT_STATS_H_

#include <cstddef>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "core/base/clock.h"
#include "core/store/store.h"

namespace segments::engine {

// Runs `commit` (one store transaction) and records how long it took, and
// whether it failed.
absl::Status TimedCommit(absl::FunctionRef<absl::Status()> commit);

void RecordGroupSize(size_t writes);

// The time flips of a write, taken before its commit (which moves the runs
// away) and recorded once it committed.
class TimeFlipsToRecord {
 public:
  // `runs`: the write's changes; only those with cause TIME count.
  // `applied_at`: the moment the write is made at.
  TimeFlipsToRecord(const std::vector<ChangeRun>& runs, UnixSeconds applied_at);
  void Record() const;

 private:
  std::vector<std::pair<UnixSeconds, size_t>> runs_;  // due second, flips
  UnixSeconds applied_at_;
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_COMMIT_STATS_H_
