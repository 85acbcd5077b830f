#include "core/stats/engine_stats.h"

namespace segments {

EngineStats::EngineStats()
    // Powers of two up to the group limit (WriteQueue::kMaxGroupSize).
    : commit_group_size({1, 2, 4, 8, 16, 32, 64, 128, 256}),
      // A synced SQLite commit takes from well under a millisecond (page
      // cache, NORMAL) to tens of milliseconds (FULL on a slow disk); a
      // batch of 10,000 contacts up to seconds.
      commit_seconds({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                      0.25, 0.5, 1, 2.5, 5, 10}),
      // The timer aims at the due second itself; minutes to days only
      // after a stop or a failing disk.
      time_flip_lag_seconds({0, 1, 2, 5, 10, 30, 60, 300, 3600, 86400}) {}

EngineStats& EngineStats::Get() {
  // Never destroyed: threads may still record while the process exits.
  static EngineStats* const stats = new EngineStats();
  return *stats;
}

}  // namespace segments
