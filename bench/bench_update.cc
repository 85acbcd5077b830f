// One contact update, engine only: Workspace::UpdateContact over a
// MemoryCatalogStore at BenchContacts() contacts, changing a field that some
// segments read, with 10, 200 and 1,000 segments. Goal (issue 4): under
// 20 us p50 at 1M contacts and 200 segments.
//
// Segments come from SegmentGenerator (a rotation of nine kinds): lead_score
// is read by two kinds of nine, tags by three.
//
//   build-bench/bench/bench_update
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"

namespace segments::bench {
namespace {

enum class UpdatedField { kLeadScore, kTags };

void RunUpdates(benchmark::State& state, UpdatedField field,
                EngineStore store) {
  const size_t contacts = BenchContacts();
  Workspace& ws = EngineWorkspace(contacts, store);
  const int64_t segments = state.range(1);
  if (!EnsureSegmentCount(ws, static_cast<size_t>(segments)).ok()) {
    return state.SkipWithError("cannot create the segments");
  }
  const ContactGenerator gen;
  Rng rng(FreshSeed());
  const std::vector<std::string> mask = {
      field == UpdatedField::kLeadScore ? "lead_score" : "tags"};
  Latencies latencies, cpu;
  ContactDraft draft;
  for (auto _ : state) {
    const ContactId id = static_cast<ContactId>(1 + rng.Below(contacts));
    if (field == UpdatedField::kLeadScore) {
      draft.lead_score = gen.RandomLeadScore(rng);
    } else {
      draft.tags = gen.RandomTags(rng);
    }
    const int64_t c0 = ThreadCpuNs();
    const int64_t t0 = NowNs();
    absl::StatusOr<Contact> updated = ws.UpdateContact(id, draft, mask);
    latencies.Add(NowNs() - t0);
    cpu.Add(ThreadCpuNs() - c0);
    if (!updated.ok()) {
      return state.SkipWithError(updated.status().ToString().c_str());
    }
    benchmark::DoNotOptimize(updated);
  }
  ReportPercentiles(state, latencies, "");
  ReportPercentiles(state, cpu, "cpu_");
  state.counters["contacts"] = static_cast<double>(contacts);
}

// Arg 0 is the field: 0 = lead_score (a scoring system's write), 1 = tags.
// ArgsProduct varies the last argument slowest, so segments are only created
// as the count grows, never rebuilt. Over MemoryCatalogStore: the reference.
void BM_UpdateContact(benchmark::State& state) {
  const auto field = static_cast<UpdatedField>(state.range(0));
  state.SetLabel(field == UpdatedField::kLeadScore ? "lead_score" : "tags");
  RunUpdates(state, field, EngineStore::kMemory);
}
BENCHMARK(BM_UpdateContact)
    ->ArgNames({"field", "segments"})
    ->ArgsProduct({{0, 1}, {10, 200, 1000}})
    ->MinTime(2);

// The same over a store that drops commits: the engine's share alone.
void BM_UpdateContactNoStore(benchmark::State& state) {
  const auto field = static_cast<UpdatedField>(state.range(0));
  state.SetLabel(field == UpdatedField::kLeadScore ? "lead_score, no store"
                                                   : "tags, no store");
  RunUpdates(state, field, EngineStore::kDiscard);
}
BENCHMARK(BM_UpdateContactNoStore)
    ->ArgNames({"field", "segments"})
    ->ArgsProduct({{0, 1}, {10, 200, 1000}})
    ->MinTime(2);

}  // namespace
}  // namespace segments::bench
