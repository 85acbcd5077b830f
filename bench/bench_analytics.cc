// Analytics (issue 15), engine only (MemoryCatalogStore), 1M contacts and
// the 200 segments of SegmentGenerator, each call through the Workspace
// facade (reader lock included):
//
//   BM_Breakdown         a ~500k-member segment over every dimension, top 10
//                        and top 100 (goal <= 5 ms)
//   BM_Overlap           10 segments (goal <= 2 ms); 4 with Venn regions
//   BM_MembershipCheck   10,000 random ids against the 500k segment (goal
//                        <= 1 ms)
//   BM_Export            the portable serialization of a segment of every
//                        contact (1M members, goal <= 10 ms) and of the
//                        500k segment
//   BM_Recommend         each goal, with the 200 segments to compare with
//                        (goal <= 50 ms each)
//
//   build-bench/bench/bench_analytics
//   SEGMENTS_BENCH_CONTACTS=100000 build-bench/bench/bench_analytics
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "benchmark/benchmark.h"
#include "core/model/filter.h"

namespace segments::bench {
namespace {

constexpr size_t kSegments = 200;

SegmentDraft DraftOf(std::string name, ConditionSpec condition) {
  SegmentDraft d;
  d.display_name = std::move(name);
  d.filter.match = static_cast<int>(Match::kAll);
  d.filter.conditions.push_back(std::move(condition));
  return d;
}

// The workspace with its 200 segments, plus the segment of every contact
// and a segment of about half of them (lead_score at least the threshold
// that puts half of the contacts above it, found with previews).
struct Fixture {
  Workspace* ws = nullptr;
  std::vector<SegmentId> segments;
  SegmentId everyone = 0;
  SegmentId half = 0;
  uint64_t half_members = 0;
  bool ok = false;
};

int64_t HalfThreshold(Workspace& ws, size_t contacts) {
  int64_t lo = -100000, hi = 100000;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    FilterSpec f;
    f.match = static_cast<int>(Match::kAll);
    f.conditions.push_back(
        {"lead_score", static_cast<int>(Operator::kGreaterOrEqual), {mid}});
    absl::StatusOr<PreviewResult> p = ws.Preview(f, 0, [] { return false; });
    if (!p.ok()) return 0;
    if (p->member_count >= contacts / 2) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

const Fixture& Get() {
  static const Fixture* const fixture = [] {
    auto* f = new Fixture;
    Workspace& ws = EngineWorkspace(BenchContacts());
    f->ws = &ws;
    absl::StatusOr<std::vector<SegmentId>> ids =
        EnsureSegmentCount(ws, kSegments);
    if (!ids.ok()) return f;
    f->segments = *ids;
    absl::StatusOr<SegmentView> everyone =
        ws.CreateSegment(DraftOf("analytics bench: everyone",
                                 {"lifecycle_stage",
                                  static_cast<int>(Operator::kGreaterOrEqual),
                                  {std::string("SUBSCRIBER")}}));
    const int64_t threshold = HalfThreshold(ws, BenchContacts());
    absl::StatusOr<SegmentView> half = ws.CreateSegment(DraftOf(
        "analytics bench: half", {"lead_score",
                                  static_cast<int>(Operator::kGreaterOrEqual),
                                  {threshold}}));
    if (!everyone.ok() || !half.ok()) return f;
    f->everyone = everyone->record.id;
    f->half = half->record.id;
    f->half_members = half->member_count;
    f->ok = true;
    return f;
  }();
  return *fixture;
}

void BM_Breakdown(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.ok) {
    state.SkipWithError("cannot set up the workspace");
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<BreakdownAnswer> b =
        f.ws->GetSegmentBreakdown(f.half, {}, state.range(0));
    if (!b.ok()) {
      state.SkipWithError("breakdown failed");
      return;
    }
    benchmark::DoNotOptimize(b->breakdown.dimensions.data());
  }
  state.counters["members"] = static_cast<double>(f.half_members);
}
BENCHMARK(BM_Breakdown)
    ->ArgName("top_n")
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond);

void BM_Overlap(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.ok) {
    state.SkipWithError("cannot set up the workspace");
    return;
  }
  // The biggest of the generated segments: the dearest to intersect.
  std::vector<std::pair<uint64_t, SegmentId>> by_size;
  for (SegmentId id : f.segments) {
    by_size.emplace_back(f.ws->CountMembers(id)->member_count, id);
  }
  std::sort(by_size.rbegin(), by_size.rend());
  std::vector<uint64_t> ids;
  uint64_t members = 0;
  for (int64_t i = 0; i < state.range(0); ++i) {
    ids.push_back(by_size[static_cast<size_t>(i)].second);
    members += by_size[static_cast<size_t>(i)].first;
  }
  for (auto _ : state) {
    absl::StatusOr<OverlapAnswer> o = f.ws->GetSegmentOverlap(ids);
    if (!o.ok()) {
      state.SkipWithError("overlap failed");
      return;
    }
    benchmark::DoNotOptimize(o->overlap.pairs.data());
  }
  state.counters["members"] = static_cast<double>(members);
}
BENCHMARK(BM_Overlap)
    ->ArgName("segments")
    ->Arg(10)
    ->Arg(4)
    ->Unit(benchmark::kMillisecond);

void BM_MembershipCheck(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.ok) {
    state.SkipWithError("cannot set up the workspace");
    return;
  }
  Rng rng(FreshSeed());
  std::vector<uint64_t> ids(10000);
  // Ids of contacts and some beyond the last one (unknown: not members).
  for (uint64_t& id : ids) id = 1 + rng.Below(BenchContacts() * 11 / 10);
  uint64_t members = 0;
  for (auto _ : state) {
    absl::StatusOr<MembershipAnswer> m = f.ws->CheckMembership(f.half, ids);
    if (!m.ok()) {
      state.SkipWithError("membership check failed");
      return;
    }
    members = m->check.member_count;
    benchmark::DoNotOptimize(members);
  }
  state.counters["members_found"] = static_cast<double>(members);
}
BENCHMARK(BM_MembershipCheck)->Unit(benchmark::kMicrosecond);

void BM_Export(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.ok) {
    state.SkipWithError("cannot set up the workspace");
    return;
  }
  const SegmentId id = state.range(0) == 0 ? f.everyone : f.half;
  size_t bytes = 0;
  uint64_t members = 0;
  for (auto _ : state) {
    absl::StatusOr<analytics::BitmapExport> e = f.ws->ExportSegment(id);
    if (!e.ok()) {
      state.SkipWithError("export failed");
      return;
    }
    bytes = e->bytes.size();
    members = e->member_count;
    benchmark::DoNotOptimize(e->bytes.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["members"] = static_cast<double>(members);
}
BENCHMARK(BM_Export)->ArgName("half")->Arg(0)->Arg(1)->Unit(
    benchmark::kMillisecond);

void BM_Recommend(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.ok) {
    state.SkipWithError("cannot set up the workspace");
    return;
  }
  const int goal = static_cast<int>(state.range(0));
  size_t candidates = 0;
  std::string first;
  for (auto _ : state) {
    absl::StatusOr<RecommendationAnswer> r = f.ws->RecommendSegments(goal);
    if (!r.ok()) {
      state.SkipWithError("recommendations failed");
      return;
    }
    candidates = r->candidates.size();
    if (first.empty() && candidates > 0) {
      first = r->candidates[0].display_name + ": " + r->candidates[0].rationale;
    }
    benchmark::DoNotOptimize(r->candidates.data());
  }
  // What the figures are about, once per run (stderr, beside the table).
  static std::set<int> shown;
  if (shown.insert(goal).second && !first.empty()) Progress(first);
  state.SetLabel(
      std::string(analytics::GoalName(static_cast<analytics::Goal>(goal))));
  state.counters["candidates"] = static_cast<double>(candidates);
}
BENCHMARK(BM_Recommend)
    ->ArgName("goal")
    ->DenseRange(1, analytics::kMaxGoal)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segments::bench
