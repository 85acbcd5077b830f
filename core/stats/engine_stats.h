// What the engine counts while it runs, for operators: the server exports it
// as Prometheus metrics (server/metrics.h; every name in docs/operations.md).
// Plain atomics and AtomicHistograms: the core depends on no metrics
// library, and recording costs a few relaxed atomic adds.
//
// One instance per process (EngineStats::Get()): a process has one exporter,
// and what is counted (commits, time flips) is summed over its workspaces
// anyway; no workspace id is recorded (an unbounded label). Values only
// grow, so a test compares them before and after what it does.
//
// Thread-safety: every member may be recorded and read from any thread.
#ifndef SEGMENTS_CORE_STATS_ENGINE_STATS_H_
#define SEGMENTS_CORE_STATS_ENGINE_STATS_H_

#include <atomic>
#include <cstdint>

#include "core/stats/histogram.h"

namespace segments {

struct EngineStats {
  static EngineStats& Get();

  // Writes per group commit of contact writes (core/engine/internal/
  // write_queue.h): 1 when a writer found no one queued, up to 256.
  AtomicHistogram commit_group_size;
  // Seconds each write's store commit took (contact groups, segment and
  // plan changes, time flips, snapshots; not the feed's pruning), durable
  // when done.
  AtomicHistogram commit_seconds;
  // Store commits that failed (the write then changed nothing).
  std::atomic<uint64_t> commits_failed{0};
  // Memberships changed by time (ENTERED or LEFT with cause TIME),
  // committed and applied.
  std::atomic<uint64_t> time_flips_applied{0};
  // For each run of time flips applied: seconds from the second it fell due
  // to the second it was applied (0 when the timer was on time; a restart
  // applies the flips that fell due while the server was down).
  AtomicHistogram time_flip_lag_seconds;

 private:
  EngineStats();
};

}  // namespace segments

#endif  // SEGMENTS_CORE_STATS_ENGINE_STATS_H_
