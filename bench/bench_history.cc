// Membership history's query (issue 13): one segment's entries and exits
// per hour over 7 days of log, from a workspace database whose change log
// holds 7 days of runs for 200 segments. The query is what
// Workspace::GetSegmentHistory spends its time on (the rest is O(1) reads
// under the workspace's lock), so it is measured at the store, the size of
// the log being what matters, not the contacts'. Goal: <= 50 ms.
//
//   BM_SegmentHistory/hours:168   168 hourly buckets (7 days)
//   BM_SegmentHistory/hours:24    the last day
//
// The log: SEGMENTS_BENCH_RUNS runs (default 2,000,000, about 10,000 per
// segment and day), spread evenly over 7 days and 200 segments, 1-8 events
// each, written in commits of 10,000 runs to a scratch database; the last
// 2,047 in a commit of their own, so that they wait for the history index
// (SqliteOptions::unindexed_runs_limit) and the query reads them from the
// log: its worst case.
//
//   build-bench/bench/bench_history
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine_fixture.h"
#include "bench/sqlite_dataset.h"
#include "benchmark/benchmark.h"
#include "storage/sqlite_workspace_store.h"

namespace segments::bench {
namespace {

constexpr size_t kSegments = 200;
constexpr int64_t kDays = 7;
constexpr UnixSeconds kEnd = 1'760'000'000;  // the log's last second
constexpr UnixSeconds kStart = kEnd - kDays * 86400;
constexpr size_t kRunsPerCommit = 10000;
constexpr size_t kWaitingRuns =
    2047;  // SqliteOptions::unindexed_runs_limit - 1

size_t BenchRuns() {
  const char* env = std::getenv("SEGMENTS_BENCH_RUNS");
  return env != nullptr && *env != '\0' ? std::strtoull(env, nullptr, 10)
                                        : 2'000'000;
}

struct HistoryFixture {
  std::string scratch;
  std::unique_ptr<SqliteWorkspaceStore> store;
  uint64_t last_sequence = 0;
  std::string error;
};
HistoryFixture* g_fixture = nullptr;

// Writes the log: run i at a time rising evenly from kStart to kEnd, of
// segment 1 + i % 200, alternately ENTERED and LEFT (LEFT of the ids the
// previous ENTERED run of the segment added).
absl::Status WriteLog(SqliteWorkspaceStore& store, size_t runs,
                      uint64_t* last_sequence) {
  uint64_t seq = 0;
  const size_t indexed = runs > kWaitingRuns ? runs - kWaitingRuns : 0;
  for (size_t first = 0; first < runs;) {
    const size_t end =
        first < indexed ? std::min(indexed, first + kRunsPerCommit) : runs;
    WorkspaceWrite w;
    for (size_t i = first; i < end; ++i) {
      const size_t events = 1 + i % 8;
      ChangeRun run{
          seq + 1,
          static_cast<SegmentId>(1 + i % kSegments),
          (i / kSegments) % 2 == 0 ? ChangeKind::kEntered : ChangeKind::kLeft,
          ChangeCause::kContactChanged,
          kStart + static_cast<UnixSeconds>((kEnd - kStart) *
                                            static_cast<double>(i) /
                                            static_cast<double>(runs)),
          {}};
      for (size_t e = 0; e < events; ++e) {
        run.contact_ids.push_back(static_cast<ContactId>(1 + (i * 8 + e)));
      }
      seq += events;
      w.changes.push_back(std::move(run));
    }
    w.counters.last_sequence = seq;
    w.counters.next_contact_id = static_cast<ContactId>(1 + runs * 8 + 8);
    w.counters.next_segment_id = kSegments + 1;
    w.counters.time_applied_until = kEnd;
    if (absl::Status s = store.Commit(w); !s.ok()) return s;
    first = end;
  }
  *last_sequence = seq;
  return absl::OkStatus();
}

void EnsureLog() {
  if (g_fixture != nullptr) return;
  g_fixture = new HistoryFixture();
  absl::StatusOr<std::string> scratch = MakeScratchDir("history");
  if (!scratch.ok()) {
    g_fixture->error = scratch.status().ToString();
    return;
  }
  g_fixture->scratch = *scratch;
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  auto store = SqliteWorkspaceStore::Create(*scratch + "/ws.db", options, 1);
  if (!store.ok()) {
    g_fixture->error = store.status().ToString();
    return;
  }
  const int64_t start = NowNs();
  const size_t runs = BenchRuns();
  if (absl::Status s = WriteLog(**store, runs, &g_fixture->last_sequence);
      !s.ok()) {
    g_fixture->error = s.ToString();
    return;
  }
  Progress(absl::StrCat("logged ", runs, " runs (", g_fixture->last_sequence,
                        " events) in ", SecondsSince(start), " s"));
  g_fixture->store = *std::move(store);
}

void StopFixture() {
  if (g_fixture == nullptr) return;
  g_fixture->store.reset();
  if (!g_fixture->scratch.empty()) RemoveTree(g_fixture->scratch);
  delete g_fixture;
  g_fixture = nullptr;
}

void Setup(const benchmark::State&) { EnsureLog(); }

void BM_SegmentHistory(benchmark::State& state) {
  if (g_fixture->store == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  const size_t hours = static_cast<size_t>(state.range(0));
  SegmentChangeCountsQuery query;
  query.bucket_seconds = 3600;
  query.buckets = hours;
  query.start = kEnd - static_cast<UnixSeconds>(hours) * 3600;
  query.up_to_sequence = g_fixture->last_sequence;
  SegmentId segment = 1;
  uint64_t counted = 0;
  for (auto _ : state) {
    query.segment_id = segment;
    segment = segment % kSegments + 1;  // a different segment each time
    absl::StatusOr<SegmentChangeCounts> counts =
        g_fixture->store->CountSegmentChanges(query);
    if (!counts.ok()) {
      return state.SkipWithError(counts.status().ToString().c_str());
    }
    for (size_t b = 0; b < hours; ++b) {
      counted += counts->entered[b] + counts->left[b];
    }
  }
  state.counters["events_per_query"] =
      static_cast<double>(counted) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SegmentHistory)
    ->ArgName("hours")
    ->Arg(168)
    ->Arg(24)
    ->Setup(Setup)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segments::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  segments::bench::StopFixture();
  benchmark::Shutdown();
  return 0;
}
