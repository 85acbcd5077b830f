// Segments built from segments (issue 14), engine only, over a
// MemoryCatalogStore at BenchContacts() contacts (1M by default).
//
// BM_UpdateWithReferences: one contact update (lead_score or tags) with
// 200 segments, beside the same update with 200 segments none of which
// refers to another. The 200 are SegmentGenerator's first 150 and then 50
// more: without references, generator segments 150..199; with them, 50
// segments in chains of depth 3 over generator segments (each chain's first
// link refers to a generator segment, the next to the link before; IN and
// NOT_IN alternate, each link adds a condition of its own). Goal: within 2x.
//
// BM_RuleUpdateReferenced: a rule update of a segment of about 500k members
// (lead_score >= 45, alternating with >= 46: about 22k contacts move each
// time) referred to by 20 others, beside the same update with no referrer.
// Goal: <= 50 ms at 1M contacts.
//
//   build-bench/bench/bench_references
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "core/base/status_macros.h"

namespace segments::bench {
namespace {

ConditionSpec Ref(SegmentId id, bool in) {
  ConditionSpec c;
  c.op = static_cast<int>(in ? Operator::kInSegment : Operator::kNotInSegment);
  c.segment_id = id;
  return c;
}

// A condition of a chain link's own, varied by `i`.
ConditionSpec OwnCondition(size_t i) {
  static const char* const kStages[] = {"LEAD", "MQL", "SQL", "CUSTOMER"};
  switch (i % 3) {
    case 0:
      return Cond("lifecycle_stage", Operator::kGreaterOrEqual,
                  {std::string(kStages[i % 4])});
    case 1:
      return Cond("lead_score", Operator::kGreaterOrEqual,
                  {static_cast<int64_t>(20 + (i * 7) % 50)});
    default:
      return Cond("engagement_score", Operator::kLessThan,
                  {static_cast<int64_t>(30 + (i * 11) % 60)});
  }
}

// Deletes every segment but the first `keep` (newest first, so referrers go
// before what they refer to).
absl::Status KeepFirst(Workspace& ws, size_t keep) {
  std::vector<SegmentId> ids;
  bool more = true;
  while (more) {
    Page<SegmentView> page =
        ws.ListSegments(ids.empty() ? 0 : ids.back(), 1000);
    for (const SegmentView& v : page.items) ids.push_back(v.record.id);
    more = page.more;
  }
  while (ids.size() > keep) {
    RETURN_IF_ERROR(ws.DeleteSegment(ids.back()));
    ids.pop_back();
  }
  return absl::OkStatus();
}

// 200 segments: generator segments 0..149, then 50 more, plain or chained.
absl::Status SetUpSegments(Workspace& ws, bool references) {
  ASSIGN_OR_RETURN(std::vector<SegmentId> base, EnsureSegmentCount(ws, 150));
  RETURN_IF_ERROR(KeepFirst(ws, 150));
  if (!references) return EnsureSegmentCount(ws, 200).status();
  const int64_t start = NowNs();
  size_t made = 0;
  for (size_t chain = 0; made < 50; ++chain) {
    SegmentId below = base[(chain * 9) % base.size()];
    for (int depth = 0; depth < 3 && made < 50; ++depth, ++made) {
      SegmentDraft d;
      d.display_name = absl::StrCat("chain-", chain, "-", depth);
      const bool in = (chain + static_cast<size_t>(depth)) % 2 == 0;
      d.filter = in ? AllOf({Ref(below, true), OwnCondition(made)})
                    : AnyOf({Ref(below, false), OwnCondition(made)});
      ASSIGN_OR_RETURN(SegmentView v, ws.CreateSegment(d));
      below = v.record.id;
    }
  }
  Progress(
      absl::StrCat("50 chained segments built in ", SecondsSince(start), " s"));
  return absl::OkStatus();
}

// Arg 0: 0 = lead_score, 1 = tags; arg 1: 0 = no references, 1 = chains.
// ArgsProduct varies the last argument slowest: every plain case runs, then
// the chains are built once.
void BM_UpdateWithReferences(benchmark::State& state) {
  const bool tags = state.range(0) == 1;
  const bool references = state.range(1) == 1;
  state.SetLabel(
      absl::StrCat(tags ? "tags" : "lead_score",
                   references ? ", 50 in chains of 3" : ", no references"));
  const size_t contacts = BenchContacts();
  Workspace& ws = EngineWorkspace(contacts);
  if (absl::Status s = SetUpSegments(ws, references); !s.ok()) {
    return state.SkipWithError(s.ToString().c_str());
  }
  const ContactGenerator gen;
  Rng rng(FreshSeed());
  const std::vector<std::string> mask = {tags ? "tags" : "lead_score"};
  Latencies latencies;
  ContactDraft draft;
  for (auto _ : state) {
    const ContactId id = static_cast<ContactId>(1 + rng.Below(contacts));
    if (tags) {
      draft.tags = gen.RandomTags(rng);
    } else {
      draft.lead_score = gen.RandomLeadScore(rng);
    }
    const int64_t t0 = NowNs();
    absl::StatusOr<Contact> updated = ws.UpdateContact(id, draft, mask);
    latencies.Add(NowNs() - t0);
    if (!updated.ok()) {
      return state.SkipWithError(updated.status().ToString().c_str());
    }
    benchmark::DoNotOptimize(updated);
  }
  ReportPercentiles(state, latencies, "");
  state.counters["contacts"] = static_cast<double>(contacts);
}
BENCHMARK(BM_UpdateWithReferences)
    ->ArgNames({"tags", "refs"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->MinTime(2);

// Arg 0: the number of segments referring to the updated one (0 or 20).
void BM_RuleUpdateReferenced(benchmark::State& state) {
  const int referrers = static_cast<int>(state.range(0));
  state.SetLabel(absl::StrCat(referrers, " referrers"));
  const size_t contacts = BenchContacts();
  Workspace& ws = EngineWorkspace(contacts);
  if (absl::Status s = KeepFirst(ws, 0); !s.ok()) {
    return state.SkipWithError(s.ToString().c_str());
  }
  auto score_at_least = [](int64_t x) {
    SegmentDraft d;
    d.display_name = "scored";
    d.filter =
        AllOf({Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{x}})});
    return d;
  };
  absl::StatusOr<SegmentView> target = ws.CreateSegment(score_at_least(45));
  if (!target.ok()) return state.SkipWithError("cannot create the segment");
  const SegmentId id = target->record.id;
  for (int i = 0; i < referrers; ++i) {
    SegmentDraft d;
    d.display_name = absl::StrCat("referrer-", i);
    d.filter = i % 2 == 0 ? AllOf({Ref(id, true), OwnCondition(i)})
                          : AnyOf({Ref(id, false), OwnCondition(i)});
    if (!ws.CreateSegment(d).ok()) {
      return state.SkipWithError("cannot create a referrer");
    }
  }
  Latencies latencies;
  uint64_t members = target->member_count, moved = 0;
  uint64_t sequence = target->as_of_sequence, events = 0;
  int64_t threshold = 45;
  for (auto _ : state) {
    threshold = threshold == 45 ? 46 : 45;
    const int64_t t0 = NowNs();
    absl::StatusOr<SegmentView> updated =
        ws.UpdateSegment(id, score_at_least(threshold), {"filter"});
    latencies.Add(NowNs() - t0);
    if (!updated.ok()) {
      return state.SkipWithError(updated.status().ToString().c_str());
    }
    moved = members > updated->member_count ? members - updated->member_count
                                            : updated->member_count - members;
    members = updated->member_count;
    events = updated->as_of_sequence - sequence;  // this write's changes
    sequence = updated->as_of_sequence;
  }
  ReportPercentiles(state, latencies, "");
  state.counters["members"] = static_cast<double>(members);
  state.counters["moved"] = static_cast<double>(moved);
  state.counters["events"] = static_cast<double>(events);
  state.counters["contacts"] = static_cast<double>(contacts);
}
BENCHMARK(BM_RuleUpdateReferenced)
    ->ArgNames({"referrers"})
    ->Arg(0)
    ->Arg(20)
    ->MinTime(2)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segments::bench
