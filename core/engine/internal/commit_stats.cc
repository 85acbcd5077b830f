#include "core/engine/internal/commit_stats.h"

#include <chrono>

#include "core/stats/engine_stats.h"

namespace segments::engine {

absl::Status TimedCommit(absl::FunctionRef<absl::Status()> commit) {
  // Steady, not the workspace's Clock: this is a duration, and the Clock is
  // the business time that rules are evaluated at (a FakeClock in tests).
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = commit();
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - start;
  EngineStats& stats = EngineStats::Get();
  stats.commit_seconds.Observe(took.count());
  if (!status.ok())
    stats.commits_failed.fetch_add(1, std::memory_order_relaxed);
  return status;
}

void RecordGroupSize(size_t writes) {
  EngineStats::Get().commit_group_size.Observe(static_cast<double>(writes));
}

TimeFlipsToRecord::TimeFlipsToRecord(const std::vector<ChangeRun>& runs,
                                     UnixSeconds applied_at)
    : applied_at_(applied_at) {
  for (const ChangeRun& run : runs) {
    if (run.cause != ChangeCause::kTime) continue;
    runs_.emplace_back(run.time, run.contact_ids.size());
  }
}

void TimeFlipsToRecord::Record() const {
  EngineStats& stats = EngineStats::Get();
  for (const auto& [due, flips] : runs_) {
    stats.time_flips_applied.fetch_add(flips, std::memory_order_relaxed);
    stats.time_flip_lag_seconds.Observe(
        static_cast<double>(applied_at_ > due ? applied_at_ - due : 0));
  }
}

}  // namespace segments::engine
