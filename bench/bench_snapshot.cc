// Audience snapshots (issue 13), engine only (MemoryCatalogStore): creating
// a snapshot of a segment holding every contact (1M by default; goal
// <= 10 ms: one bitmap copy and one serialization, no scan of contacts), and
// paging through it 1,000 ids at a time, as ids and as full contacts.
//
//   build-bench/bench/bench_snapshot
//   SEGMENTS_BENCH_CONTACTS=100000 build-bench/bench/bench_snapshot
#include <string>
#include <vector>

#include "bench/engine_fixture.h"
#include "benchmark/benchmark.h"
#include "core/model/filter.h"

namespace segments::bench {
namespace {

// A segment of every contact (each has a lifecycle stage), created once.
absl::StatusOr<SegmentId> EveryoneSegment(Workspace& ws) {
  static absl::StatusOr<SegmentId>* const id = [&ws] {
    SegmentDraft draft;
    draft.display_name = "snapshot bench: everyone";
    draft.filter.match = static_cast<int>(Match::kAll);
    draft.filter.conditions.push_back(
        {"lifecycle_stage", static_cast<int>(Operator::kGreaterOrEqual),
         {std::string("SUBSCRIBER")}});
    absl::StatusOr<SegmentView> view = ws.CreateSegment(draft);
    return new absl::StatusOr<SegmentId>(
        view.ok() ? absl::StatusOr<SegmentId>(view->record.id)
                  : absl::StatusOr<SegmentId>(view.status()));
  }();
  return *id;
}

// A snapshot of the everyone segment, kept for the page-through benchmarks.
absl::StatusOr<SnapshotId> EveryoneSnapshot(Workspace& ws) {
  static absl::StatusOr<SnapshotId>* const id = [&ws] {
    absl::StatusOr<SegmentId> segment = EveryoneSegment(ws);
    if (!segment.ok()) return new absl::StatusOr<SnapshotId>(segment.status());
    SnapshotDraft draft;
    draft.segment_id = *segment;
    absl::StatusOr<SnapshotView> view = ws.CreateSnapshot(draft);
    return new absl::StatusOr<SnapshotId>(
        view.ok() ? absl::StatusOr<SnapshotId>(view->record.id)
                  : absl::StatusOr<SnapshotId>(view.status()));
  }();
  return *id;
}

void BM_SnapshotCreate(benchmark::State& state) {
  Workspace& ws = EngineWorkspace(BenchContacts());
  absl::StatusOr<SegmentId> segment = EveryoneSegment(ws);
  if (!segment.ok()) {
    state.SkipWithError("cannot create the segment");
    return;
  }
  SnapshotDraft draft;
  draft.segment_id = *segment;
  uint64_t members = 0;
  for (auto _ : state) {
    absl::StatusOr<SnapshotView> view = ws.CreateSnapshot(draft);
    state.PauseTiming();
    // Deleted untimed, so the workspace stays under max_snapshots.
    if (!view.ok() || !ws.DeleteSnapshot(view->record.id).ok()) {
      state.SkipWithError("cannot create or delete the snapshot");
      break;
    }
    members = view->record.member_count;
    state.ResumeTiming();
  }
  state.counters["members"] = static_cast<double>(members);
}
BENCHMARK(BM_SnapshotCreate)->Unit(benchmark::kMillisecond);

// One full page-through per iteration, page_size 1000.
void BM_SnapshotPageThrough(benchmark::State& state) {
  const ContactView view =
      state.range(0) == 0 ? ContactView::kId : ContactView::kFull;
  Workspace& ws = EngineWorkspace(BenchContacts());
  absl::StatusOr<SnapshotId> id = EveryoneSnapshot(ws);
  if (!id.ok()) {
    state.SkipWithError("cannot create the snapshot");
    return;
  }
  size_t listed = 0;
  for (auto _ : state) {
    listed = 0;
    ContactId after = 0;
    while (true) {
      absl::StatusOr<SnapshotMemberPage> page =
          ws.ListSnapshotMembers(*id, after, 1000, view);
      if (!page.ok()) {
        state.SkipWithError("cannot list the snapshot");
        return;
      }
      benchmark::DoNotOptimize(page->members.items.data());
      listed += page->members.items.size();
      if (!page->members.more) break;
      after = page->members.items.back().id;
    }
  }
  state.counters["members"] = static_cast<double>(listed);
}
BENCHMARK(BM_SnapshotPageThrough)
    ->ArgName("full")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segments::bench
