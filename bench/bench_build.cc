// Building a segment for each kind of filter, beside the same filter as a SQL
// COUNT(*) over the same contacts in SQLite (sql_baseline.h), at 100k and
// BenchContacts() contacts. Each iteration runs, back to back:
//   create  Workspace::CreateSegment (+ DeleteSegment, untimed): the
//           segment's initial build, from the attribute indexes
//   preview Workspace::Preview of the same filter (sample 0)
//   sql     SELECT COUNT(*) ... WHERE <the filter>
//   algebra the CRoaring OR / AND of the postings the filter selects
//           (bitmap_floor.h), what the build cannot skip
// and checks that all four agree on the member count. Goals: index-backed
// builds under 50 ms and >= 20x faster than SQLite's COUNT(*) (issue 4);
// at most 3x the algebra (issue 18).
//
//   build-bench/bench/bench_build
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bitmap_floor.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/floors.h"
#include "bench/sql_baseline.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"

namespace segments::bench {
namespace {

sqlite3* PlainDatabase(size_t contacts) {
  static auto* const dbs = new std::map<size_t, SqliteHandle>();
  auto it = dbs->find(contacts);
  if (it == dbs->end()) {
    absl::StatusOr<SqliteHandle> db = OpenPlainDatabase(contacts);
    if (!db.ok()) {
      Progress(db.status().ToString());
      return nullptr;
    }
    it = dbs->emplace(contacts, *std::move(db)).first;
  }
  return it->second.get();
}

const PostingFloor& Postings(size_t contacts) {
  static auto* const floors =
      new std::map<size_t, std::unique_ptr<PostingFloor>>();
  std::unique_ptr<PostingFloor>& f = (*floors)[contacts];
  if (f == nullptr) {
    const int64_t start = NowNs();
    f = PostingFloor::Build(contacts);
    Progress(absl::StrCat("postings of ", contacts, " contacts in ",
                          SecondsSince(start), " s"));
  }
  return *f;
}

void BM_BuildBesideSql(benchmark::State& state) {
  const size_t contacts = static_cast<size_t>(state.range(0));
  const BuildCase& c = BuildCases()[static_cast<size_t>(state.range(1))];
  state.SetLabel(c.name);
  Workspace& ws = EngineWorkspace(contacts);
  if (!EnsureSegmentCount(ws, 0).ok()) {
    return state.SkipWithError("cannot clear segments");
  }
  sqlite3* db = PlainDatabase(contacts);
  if (db == nullptr) return state.SkipWithError("no SQLite baseline");
  absl::StatusOr<FloorPlan> plan = Postings(contacts).Plan(c.filter);
  if (!plan.ok()) return state.SkipWithError(plan.status().ToString().c_str());

  // Wall-clock and thread CPU time of each; CPU time is immune to the
  // descheduling a shared machine adds.
  Latencies create, preview, sql, algebra, create_cpu, preview_cpu, sql_cpu;
  uint64_t members = 0;
  int run = 0;
  for (auto _ : state) {
    SegmentDraft draft{absl::StrCat("build-", c.name, "-", run++), c.filter};
    const int64_t c0 = ThreadCpuNs(), t0 = NowNs();
    absl::StatusOr<SegmentView> view = ws.CreateSegment(draft);
    const int64_t c1 = ThreadCpuNs(), t1 = NowNs();
    absl::StatusOr<PreviewResult> p =
        ws.Preview(c.filter, 0, [] { return false; });
    const int64_t c2 = ThreadCpuNs(), t2 = NowNs();
    absl::StatusOr<int64_t> n = QueryCount(db, c.sql);
    const int64_t c3 = ThreadCpuNs(), t3 = NowNs();
    const Roaring floor = Combine(*plan);
    const int64_t t4 = NowNs();
    if (!view.ok() || !p.ok() || !n.ok()) {
      return state.SkipWithError("a build failed");
    }
    state.PauseTiming();
    const bool deleted = ws.DeleteSegment(view->record.id).ok();
    state.ResumeTiming();
    if (!deleted) return state.SkipWithError("cannot delete the segment");
    members = view->member_count;
    if (p->member_count != members || static_cast<uint64_t>(*n) != members ||
        floor.cardinality() != members) {
      return state.SkipWithError(absl::StrCat("counts differ: create ", members,
                                              ", preview ", p->member_count,
                                              ", sql ", *n, ", algebra ",
                                              floor.cardinality())
                                     .c_str());
    }
    create.Add(t1 - t0);
    preview.Add(t2 - t1);
    sql.Add(t3 - t2);
    algebra.Add(t4 - t3);
    create_cpu.Add(c1 - c0);
    preview_cpu.Add(c2 - c1);
    sql_cpu.Add(c3 - c2);
  }
  const double create_ms = create.PercentileUs(50) / 1000;
  const double preview_ms = preview.PercentileUs(50) / 1000;
  const double sql_ms = sql.PercentileUs(50) / 1000;
  state.counters["members"] = static_cast<double>(members);
  state.counters["create_p50_ms"] = create_ms;
  state.counters["preview_p50_ms"] = preview_ms;
  state.counters["sql_p50_ms"] = sql_ms;
  state.counters["sql_over_create"] = create_ms > 0 ? sql_ms / create_ms : 0;
  state.counters["sql_over_preview"] = preview_ms > 0 ? sql_ms / preview_ms : 0;
  const double algebra_ms = algebra.PercentileUs(50) / 1000;
  state.counters["algebra_p50_ms"] = algebra_ms;
  ReportRatio(state, "create_over_algebra", create_ms, algebra_ms);
  ReportRatio(state, "preview_over_algebra", preview_ms, algebra_ms);
  const double create_cpu_ms = create_cpu.PercentileUs(50) / 1000;
  const double preview_cpu_ms = preview_cpu.PercentileUs(50) / 1000;
  const double sql_cpu_ms = sql_cpu.PercentileUs(50) / 1000;
  state.counters["create_cpu_ms"] = create_cpu_ms;
  state.counters["preview_cpu_ms"] = preview_cpu_ms;
  state.counters["sql_cpu_ms"] = sql_cpu_ms;
  state.counters["cpu_sql_over_create"] =
      create_cpu_ms > 0 ? sql_cpu_ms / create_cpu_ms : 0;
}

void BuildArgs(benchmark::internal::Benchmark* b) {
  std::vector<int64_t> sizes = {100000};
  if (BenchContacts() != 100000) {
    sizes.push_back(static_cast<int64_t>(BenchContacts()));
  }
  for (int64_t n : sizes) {
    for (size_t i = 0; i < BuildCases().size(); ++i) {
      b->Args({n, static_cast<int64_t>(i)});
    }
  }
}
BENCHMARK(BM_BuildBesideSql)
    ->ArgNames({"contacts", "case"})
    ->Apply(BuildArgs)
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2);

}  // namespace
}  // namespace segments::bench
