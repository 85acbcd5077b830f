// Audience snapshots (issue 13), engine only (MemoryCatalogStore): creating
// a snapshot of a segment holding every contact (1M by default) or a random
// 30% of them (goal <= 10 ms: one bitmap copy and one serialization, no
// scan of contacts; the time includes the in-memory store's commit, a copy
// of the serialized row), and paging through the first 1,000 ids at a time,
// as ids and as full contacts. BM_SnapshotCreateBesideCopy (issue 18)
// alternates the create with one copy of the segment's bitmap (rebuilt from
// its members, run-optimized as the engine keeps it): what a snapshot cannot
// skip; no goal set.
//
//   build-bench/bench/bench_snapshot
//   SEGMENTS_BENCH_CONTACTS=100000 build-bench/bench/bench_snapshot
#include <string>
#include <vector>

#include "bench/engine_fixture.h"
#include "bench/floors.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "core/model/filter.h"
#include "roaring/roaring.hh"

namespace segments::bench {
namespace {

// The segments snapshotted, created once: every contact (contiguous ids:
// runs once optimized, the cheapest case), and the leads (a random 30%:
// bitset containers, the dearest per member).
enum Which { kEveryone = 0, kLeads = 1 };

absl::StatusOr<SegmentId> CreateBenchSegment(Workspace& ws, Which which) {
  SegmentDraft draft;
  draft.display_name =
      which == kEveryone ? "snapshot bench: everyone" : "snapshot bench: leads";
  draft.filter.match = static_cast<int>(Match::kAll);
  draft.filter.conditions.push_back(
      {"lifecycle_stage",
       static_cast<int>(which == kEveryone ? Operator::kGreaterOrEqual
                                           : Operator::kEquals),
       {std::string(which == kEveryone ? "SUBSCRIBER" : "LEAD")}});
  absl::StatusOr<SegmentView> view = ws.CreateSegment(draft);
  if (!view.ok()) return view.status();
  return view->record.id;
}

absl::StatusOr<SegmentId> BenchSegment(Workspace& ws, Which which) {
  static absl::StatusOr<SegmentId>* const ids[2] = {
      new absl::StatusOr<SegmentId>(CreateBenchSegment(ws, kEveryone)),
      new absl::StatusOr<SegmentId>(CreateBenchSegment(ws, kLeads))};
  return *ids[which];
}

// A snapshot of the everyone segment, kept for the page-through benchmarks.
absl::StatusOr<SnapshotId> EveryoneSnapshot(Workspace& ws) {
  static absl::StatusOr<SnapshotId>* const id = [&ws] {
    absl::StatusOr<SegmentId> segment = BenchSegment(ws, kEveryone);
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
  absl::StatusOr<SegmentId> segment =
      BenchSegment(ws, static_cast<Which>(state.range(0)));
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
BENCHMARK(BM_SnapshotCreate)
    ->ArgName("leads")
    ->Arg(kEveryone)
    ->Arg(kLeads)
    ->Unit(benchmark::kMillisecond);

// The members of `segment` as a bitmap, in the engine's layout.
absl::StatusOr<Roaring> MembersOf(Workspace& ws, SegmentId segment) {
  Roaring members;
  ContactId after = 0;
  bool more = true;
  while (more) {
    absl::StatusOr<Page<Contact>> page =
        ws.ListMembers(segment, after, 1000, ContactView::kId);
    if (!page.ok()) return page.status();
    for (const Contact& c : page->items) members.add(c.id);
    if (!page->items.empty()) after = page->items.back().id;
    more = page->more;
  }
  members.runOptimize();
  return members;
}

void BM_SnapshotCreateBesideCopy(benchmark::State& state) {
  Workspace& ws = EngineWorkspace(BenchContacts());
  absl::StatusOr<SegmentId> segment =
      BenchSegment(ws, static_cast<Which>(state.range(0)));
  absl::StatusOr<Roaring> members =
      segment.ok() ? MembersOf(ws, *segment) : segment.status();
  if (!members.ok()) return state.SkipWithError("cannot read the segment");
  SnapshotDraft draft;
  draft.segment_id = *segment;
  Latencies create, copy;
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    absl::StatusOr<SnapshotView> view = ws.CreateSnapshot(draft);
    const int64_t t1 = NowNs();
    const Roaring copied = *members;
    const int64_t t2 = NowNs();
    benchmark::DoNotOptimize(copied);
    state.PauseTiming();
    if (!view.ok() || !ws.DeleteSnapshot(view->record.id).ok()) {
      state.SkipWithError("cannot create or delete the snapshot");
      break;
    }
    state.ResumeTiming();
    create.Add(t1 - t0);
    copy.Add(t2 - t1);
  }
  const double create_us = create.PercentileUs(50);
  const double copy_us = copy.PercentileUs(50);
  state.counters["members"] = static_cast<double>(members->cardinality());
  state.counters["create_p50_us"] = create_us;
  state.counters["copy_p50_us"] = copy_us;
  ReportRatio(state, "ratio_p50", create_us, copy_us);
}
BENCHMARK(BM_SnapshotCreateBesideCopy)
    ->ArgName("leads")
    ->Arg(kEveryone)
    ->Arg(kLeads)
    ->Unit(benchmark::kMillisecond);

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
