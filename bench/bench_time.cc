// Time-driven flips of relative date rules (issue 12), at BenchContacts()
// contacts and 200 segments, 100 of them relative (14 distinct windows:
// created_at and last_engaged_at, 7 to 365 days). Goals:
// - idle cost: the flip machinery uses under 1% of a core per hour of wall
//   time (BM_IdleHour simulates hours with a FakeClock, flip by flip;
//   BM_IdleWallClock measures the process over real seconds);
// - writes are not made slower by time (BM_UpdateBesideTwins: one update on
//   a workspace with the 100 relative segments, alternated call by call with
//   one whose 100 segments are the same filters with absolute dates);
// - lag: due moment -> change visible in CountMembers, p99 <= 100 ms
//   (BM_Lag, SystemClock and a FlipScheduler);
// - burst: 100,000 contacts flipping in the same second in 20 segments
//   applied in <= 200 ms, and readers' count latency meanwhile (BM_Burst,
//   engine only and over SQLite FULL);
// - memory: <= 16 bytes per contact per timestamp field, independent of the
//   number of relative segments (BM_TimestampIndexMemory,
//   BM_RelativeSegmentMemory).
// Results and how to read them: docs/benchmarks.md, "Time-driven flips
// (issue 12)".
//
//   build-bench/bench/bench_time
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/sqlite_dataset.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "core/base/clock.h"
#include "core/engine/workspace.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_table.h"
#include "core/time/flip_finder.h"
#include "core/time/flip_scheduler.h"
#include "core/time/time_window.h"
#include "storage/sqlite_workspace_store.h"

namespace segments::bench {
namespace {

constexpr size_t kSegments = 200;
constexpr size_t kTimeSegments = 100;
constexpr size_t kBurstSegments = 20;      // the first 20 relative segments
constexpr int64_t kBurstWindowDays = 7;    // their window: last_engaged_at, 7
constexpr size_t kBurstContacts = 100000;  // every 10th contact
constexpr int64_t kWindowDays[] = {7, 14, 30, 60, 90, 180, 365};

int64_t AllocatedBytes() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

int64_t ProcessCpuNs() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  auto ns = [](const timeval& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_usec * 1000;
  };
  return ns(u.ru_utime) + ns(u.ru_stime);
}

// Profiling only the timed part: with SEGMENTS_PERF_CTL naming perf's
// control FIFO (perf record -D -1 --control fifo:<path>), the burst writes
// "enable" before the timed ApplyDueFlips and "disable" after it.
void PerfControl(const char* command) {
  static const char* const path = std::getenv("SEGMENTS_PERF_CTL");
  if (path == nullptr) return;
  if (std::FILE* f = std::fopen(path, "w")) {
    std::fputs(command, f);
    std::fputs("\n", f);
    std::fclose(f);
  }
}

// Engine only: accepts and drops every commit, counting the membership
// changes it carried.
class CountingStore : public WorkspaceStore {
 public:
  absl::StatusOr<WorkspaceData> LoadStreaming(const ContactSink&) override {
    return WorkspaceData();
  }
  absl::Status Commit(const WorkspaceWrite& write) override {
    uint64_t n = 0;
    for (const ChangeRun& run : write.changes) n += run.contact_ids.size();
    changes.fetch_add(n);
    commits.fetch_add(1);
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(uint64_t,
                                                            size_t) override {
    return std::vector<MembershipChange>();
  }
  std::atomic<uint64_t> changes{0};
  std::atomic<uint64_t> commits{0};
};

// How the 100 time segments state their dates: relative rules, or the same
// filters with the absolute dates they meant at `now` (the "twins": same
// members, no windows, nothing for time to move).
enum class Dates { kRelative, kAbsolute };

ConditionSpec DateCond(const std::string& field, bool within, int64_t days,
                       Dates dates, UnixSeconds now) {
  if (dates == Dates::kRelative) {
    return Cond(field,
                within ? Operator::kWithinLastDays : Operator::kMoreThanDaysAgo,
                {int64_t{days}});
  }
  // WITHIN_LAST_DAYS n: t >= now - n days; MORE_THAN_DAYS_AGO n: t < that.
  const UnixSeconds edge = now - days * kSecondsPerDay;
  return within ? Cond(field, Operator::kAfter, {TimestampValue{edge - 1}})
                : Cond(field, Operator::kBefore, {TimestampValue{edge}});
}

// The 100 time segments. 0-19 (the burst's): last_engaged_at within / more
// than 7 days ago (alternating) and lead_score >= 2i. 20-99: each of the 14
// windows (created_at / last_engaged_at x 7, 14, 30, 60, 90, 180, 365 days)
// in four forms: alone, "more than", with a country, in an ANY group beside
// tags and lead_score.
std::vector<SegmentDraft> TimeSegments(Dates dates, UnixSeconds now) {
  std::vector<SegmentDraft> out;
  const char* const prefix = dates == Dates::kRelative ? "rel" : "abs";
  for (size_t r = 0; r < kTimeSegments; ++r) {
    SegmentDraft s;
    s.display_name = absl::StrCat("time-", prefix, "-", r);
    if (r < kBurstSegments) {
      s.filter = AllOf({DateCond("last_engaged_at", r % 2 == 0,
                                 kBurstWindowDays, dates, now),
                        Cond("lead_score", Operator::kGreaterOrEqual,
                             {int64_t{2 * static_cast<int64_t>(r)}})});
    } else {
      const size_t i = r - kBurstSegments;
      const int64_t days = kWindowDays[i % 7];
      const std::string field =
          (i / 7) % 2 == 0 ? "last_engaged_at" : "created_at";
      switch (i % 4) {
        case 0:
          s.filter = AllOf({DateCond(field, true, days, dates, now)});
          break;
        case 1:
          s.filter = AllOf({DateCond(field, false, days, dates, now)});
          break;
        case 2:
          s.filter = AllOf(
              {DateCond(field, true, days, dates, now),
               Cond("country", Operator::kEquals, {Countries()[i % 10]})});
          break;
        default:
          s.filter = AnyOf(
              {Cond("tags", Operator::kHasAny,
                    {TagByRank(i % 50), TagByRank(50 + i % 50)}),
               Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{80}}),
               DateCond(field, true, days, dates, now)});
          break;
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

// The 100 other segments: SegmentGenerator's, skipping its two kinds with
// relative rules (4: created_at WITHIN_LAST_DAYS; 8: an ANY group with
// last_engaged_at WITHIN_LAST_DAYS).
std::vector<SegmentDraft> PlainSegments() {
  std::vector<SegmentDraft> out;
  const SegmentGenerator gen;
  for (uint64_t i = 0; out.size() < kSegments - kTimeSegments; ++i) {
    if (i % 9 == 4 || i % 9 == 8) continue;
    out.push_back(gen.Make(i));
  }
  return out;
}

// The 14 windows of TimeSegments (the burst's is among them); with
// `one_day`, also last_engaged_at within 1 day (BM_Lag's probe segment),
// whose boundary day is the densest of all.
std::vector<TimeWindow> AllWindows(bool one_day = false) {
  std::vector<TimeWindow> w;
  for (Field f : {Field::kCreatedAt, Field::kLastEngagedAt}) {
    for (int64_t d : kWindowDays) w.push_back(TimeWindow{f, d});
  }
  if (one_day) w.push_back(TimeWindow{Field::kLastEngagedAt, 1});
  std::sort(w.begin(), w.end());
  return w;
}

// Loads generated contacts [0, n) with their timestamps moved by `shift`
// seconds (0: as generated around kBenchNow).
absl::Status LoadShifted(Workspace& ws, size_t n, int64_t shift) {
  if (shift == 0) return LoadContacts(ws, 0, n);
  const ContactGenerator gen;
  for (size_t done = 0; done < n; done += kLoadChunk) {
    std::vector<ContactDraft> chunk =
        gen.MakeRange(done, std::min(kLoadChunk, n - done));
    for (ContactDraft& d : chunk) {
      if (d.created_at.has_value()) *d.created_at += shift;
      if (d.last_engaged_at.has_value()) *d.last_engaged_at += shift;
    }
    absl::StatusOr<BatchUpsertResult> r =
        ws.BatchUpsertContacts(std::move(chunk), {}, ContactView::kIdAndEmail);
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

enum class Backing { kEngine, kSqlite };

struct TimeEngine {
  std::unique_ptr<Clock> clock;
  FakeClock* fake = nullptr;  // when the clock is a FakeClock
  std::unique_ptr<FlipScheduler> scheduler;
  CountingStore* counting = nullptr;  // owned by ws; engine backing only
  std::string dir;                    // SQLite backing only
  std::unique_ptr<Workspace> ws;
  std::vector<SegmentId> time_ids;  // the 100 time segments, in order
  SegmentId probe = 0;              // BM_Lag's segment, when made

  ~TimeEngine() {
    ws.reset();  // before the scheduler
    scheduler.reset();
    if (!dir.empty()) RemoveTree(dir);
  }
};

struct EngineOptions {
  Backing backing = Backing::kEngine;
  Dates dates = Dates::kRelative;
  bool system_clock = false;  // SystemClock + FlipScheduler, data shifted
};

std::unique_ptr<TimeEngine> BuildTimeEngine(const EngineOptions& o) {
  auto e = std::make_unique<TimeEngine>();
  int64_t shift = 0;
  if (o.system_clock) {
    e->clock = std::make_unique<SystemClock>();
    shift = e->clock->Now() - kBenchNow;
    e->scheduler = std::make_unique<FlipScheduler>(e->clock.get());
  } else {
    auto fake = std::make_unique<FakeClock>(kBenchNow);
    e->fake = fake.get();
    e->clock = std::move(fake);
  }
  std::unique_ptr<WorkspaceStore> store;
  if (o.backing == Backing::kEngine) {
    auto counting = std::make_unique<CountingStore>();
    e->counting = counting.get();
    store = std::move(counting);
  } else {
    absl::StatusOr<std::string> dir = MakeScratchDir("time-burst");
    if (!dir.ok()) return nullptr;
    e->dir = *dir;
    SqliteOptions options;  // FULL, as the service runs by default
    absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> s =
        SqliteWorkspaceStore::Create(*dir + "/1.db", options, 1);
    if (!s.ok()) {
      Progress(s.status().ToString());
      return nullptr;
    }
    store = *std::move(s);
  }
  absl::StatusOr<std::unique_ptr<Workspace>> ws =
      Workspace::Open(1, Plan::kPro, std::move(store), e->clock.get(), Limits(),
                      e->scheduler.get());
  if (!ws.ok()) return nullptr;
  e->ws = *std::move(ws);
  const int64_t start = NowNs();
  const size_t contacts = BenchContacts();
  if (absl::Status s = LoadShifted(*e->ws, contacts, shift); !s.ok()) {
    Progress(s.ToString());
    return nullptr;
  }
  for (const SegmentDraft& d : PlainSegments()) {
    if (!e->ws->CreateSegment(d).ok()) return nullptr;
  }
  for (const SegmentDraft& d : TimeSegments(o.dates, e->clock->Now())) {
    absl::StatusOr<SegmentView> v = e->ws->CreateSegment(d);
    if (!v.ok()) {
      Progress(v.status().ToString());
      return nullptr;
    }
    e->time_ids.push_back(v->record.id);
  }
  Progress(absl::StrCat("time workspace (",
                        o.backing == Backing::kEngine ? "engine" : "SQLite",
                        o.dates == Dates::kRelative ? ", relative" : ", twins",
                        o.system_clock ? ", system clock" : "", ") of ",
                        contacts, " contacts and ", kSegments,
                        " segments ready in ", SecondsSince(start), " s"));
  return e;
}

// Fixtures built on first use and kept (each ~1 GB at 1M contacts).
TimeEngine& Engine(const std::string& name, const EngineOptions& o) {
  static auto* engines = new std::map<std::string, std::unique_ptr<TimeEngine>>;
  auto it = engines->find(name);
  if (it == engines->end()) {
    std::unique_ptr<TimeEngine> e = BuildTimeEngine(o);
    if (e == nullptr) {
      std::fprintf(stderr, "cannot build the time fixture %s\n", name.c_str());
      std::abort();
    }
    it = engines->emplace(name, std::move(e)).first;
  }
  return *it->second;
}
TimeEngine& RelativeEngine() { return Engine("relative", {}); }
TimeEngine& TwinEngine() {
  EngineOptions o;
  o.dates = Dates::kAbsolute;
  return Engine("twins", o);
}

// ---------------------------------------------------------------------------
// Memory of the ordered timestamp index, the only per-contact state flips
// read: an AttributeIndex and ContactTable over the generated contacts with
// their timestamps, beside the same with every created_at 0 and
// last_engaged_at unset (one day bucket holding everyone).

struct StandaloneIndex {
  AttributeIndex index;
  ContactTable table;
};

std::unique_ptr<StandaloneIndex> BuildStandalone(size_t n, bool timestamps) {
  auto s = std::make_unique<StandaloneIndex>();
  const ContactGenerator gen;
  std::vector<Contact> batch;
  for (size_t done = 0; done < n; done += kLoadChunk) {
    batch.clear();
    const size_t m = std::min(kLoadChunk, n - done);
    for (size_t i = 0; i < m; ++i) {
      const ContactDraft d = gen.Make(done + i);
      Contact c;
      c.id = static_cast<ContactId>(done + i + 1);
      c.email = absl::StrCat("c", done + i, "@example.com");
      if (timestamps) {
        c.created_at = d.created_at.value_or(0);
        c.last_engaged_at = d.last_engaged_at;
      }
      batch.push_back(std::move(c));
    }
    std::vector<const Contact*> pointers;
    for (const Contact& c : batch) pointers.push_back(&c);
    s->index.AddBatch(pointers);
    s->table.InsertBatch(pointers);
  }
  return s;
}

StandaloneIndex& Standalone() {
  static StandaloneIndex* s = BuildStandalone(BenchContacts(), true).release();
  return *s;
}

void BM_TimestampIndexMemory(benchmark::State& state) {
  const size_t n = BenchContacts();
  size_t with_engaged = 0;
  const ContactGenerator gen;
  for (size_t i = 0; i < n; ++i) {
    if (gen.Make(i).last_engaged_at.has_value()) ++with_engaged;
  }
  int64_t without = 0, with = 0;
  for (auto _ : state) {
    const int64_t a0 = AllocatedBytes();
    auto flat = BuildStandalone(n, false);
    const int64_t a1 = AllocatedBytes();
    auto real = BuildStandalone(n, true);
    const int64_t a2 = AllocatedBytes();
    without = a1 - a0;
    with = a2 - a1;
  }
  const double extra = static_cast<double>(with - without);
  state.counters["index_table_flat_MB"] = without / 1e6;
  state.counters["index_table_real_MB"] = with / 1e6;
  // Both timestamp fields' day buckets and their columns of the table.
  state.counters["B_per_contact_both_fields"] = extra / n;
  state.counters["B_per_contact_per_field"] = extra / (n + with_engaged);
  state.counters["contacts_engaged"] = static_cast<double>(with_engaged);
}
BENCHMARK(BM_TimestampIndexMemory)->Iterations(1)->Unit(benchmark::kSecond);

// The work of one wake, by piece, on the standalone index with the 14
// windows: NextFlip (what next_flip_due recomputes), and FindFlips of one
// second (what a wake prepares).
void BM_NextFlip(benchmark::State& state) {
  StandaloneIndex& s = Standalone();
  const std::vector<TimeWindow> windows = AllWindows(state.range(0) == 15);
  UnixSeconds t = kBenchNow;
  for (auto _ : state) {
    const std::optional<UnixSeconds> next =
        NextFlip(s.index, s.table, windows, t);
    benchmark::DoNotOptimize(next);
    t = next.value_or(t + 1);
  }
  state.counters["windows"] = static_cast<double>(windows.size());
}
BENCHMARK(BM_NextFlip)
    ->ArgName("windows")
    ->Arg(14)
    ->Arg(15)
    ->Unit(benchmark::kMicrosecond);

void BM_FindFlipsOneSecond(benchmark::State& state) {
  StandaloneIndex& s = Standalone();
  const std::vector<TimeWindow> windows = AllWindows(state.range(0) == 15);
  UnixSeconds t = kBenchNow;
  for (auto _ : state) {
    auto flips = FindFlips(s.index, s.table, windows, t, t + 1);
    benchmark::DoNotOptimize(flips);
    ++t;
  }
}
BENCHMARK(BM_FindFlipsOneSecond)
    ->ArgName("windows")
    ->Arg(14)
    ->Arg(15)
    ->Unit(benchmark::kMicrosecond);

// Flips per hour of the generated dataset under the 14 windows, for the
// first hours after kBenchNow: (contact, window) flips and distinct due
// seconds (the wakes a timer needs at most).
void BM_FlipsPerHour(benchmark::State& state) {
  StandaloneIndex& s = Standalone();
  const std::vector<TimeWindow> windows = AllWindows();
  double flips = 0, seconds = 0;
  int hours = 0;
  UnixSeconds t = kBenchNow;
  for (auto _ : state) {
    const auto by_second = FindFlips(s.index, s.table, windows, t, t + 3600);
    for (const auto& [at, by_window] : by_second) {
      for (const auto& [w, ids] : by_window) flips += ids.cardinality();
    }
    seconds += by_second.size();
    ++hours;
    t += 3600;
  }
  state.counters["flips_per_hour"] = flips / hours;
  state.counters["due_seconds_per_hour"] = seconds / hours;
}
BENCHMARK(BM_FlipsPerHour)->Iterations(6)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// Writes: one UpdateContact on the workspace with 100 relative segments,
// alternated call by call with the same on the twins' workspace (the same
// filters with absolute dates: same members, same fields read, no windows).
// The difference is what time costs a write: CatchUp's fast path, the next
// flip of the written contact (NextDueOf over the windows), LowerNextDue,
// and "was a member" read from the bitmap for relative segments.

void BM_UpdateBesideTwins(benchmark::State& state) {
  const bool engaged = state.range(0) == 1;
  state.SetLabel(engaged ? "last_engaged_at := now" : "lead_score");
  TimeEngine& rel = RelativeEngine();
  TimeEngine& twin = TwinEngine();
  const size_t contacts = BenchContacts();
  const ContactGenerator gen;
  Rng rng(FreshSeed());
  const std::vector<std::string> mask = {engaged ? "last_engaged_at"
                                                 : "lead_score"};
  Latencies rel_cpu, twin_cpu, rel_wall, twin_wall;
  ContactDraft draft;
  uint64_t round = 0;
  for (auto _ : state) {
    const ContactId id = static_cast<ContactId>(1 + rng.Below(contacts));
    if (engaged) {
      // A different second each time, so the write is never a no-op.
      draft.last_engaged_at = kBenchNow - static_cast<int64_t>(rng.Below(3600));
    } else {
      draft.lead_score = gen.RandomLeadScore(rng);
    }
    // Alternate which goes first.
    const bool first_rel = (round++ % 2 == 0);
    for (int k = 0; k < 2; ++k) {
      const bool do_rel = (k == 0) == first_rel;
      Workspace& ws = do_rel ? *rel.ws : *twin.ws;
      const int64_t c0 = ThreadCpuNs();
      const int64_t t0 = NowNs();
      absl::StatusOr<Contact> updated = ws.UpdateContact(id, draft, mask);
      const int64_t wall = NowNs() - t0;
      const int64_t cpu = ThreadCpuNs() - c0;
      if (!updated.ok()) {
        return state.SkipWithError(updated.status().ToString().c_str());
      }
      (do_rel ? rel_wall : twin_wall).Add(wall);
      (do_rel ? rel_cpu : twin_cpu).Add(cpu);
    }
  }
  const double rel50 = rel_cpu.PercentileUs(50);
  const double twin50 = twin_cpu.PercentileUs(50);
  state.counters["rel_cpu_p50_us"] = rel50;
  state.counters["twin_cpu_p50_us"] = twin50;
  state.counters["rel_cpu_p99_us"] = rel_cpu.PercentileUs(99);
  state.counters["twin_cpu_p99_us"] = twin_cpu.PercentileUs(99);
  state.counters["rel_p50_us"] = rel_wall.PercentileUs(50);
  state.counters["twin_p50_us"] = twin_wall.PercentileUs(50);
  state.counters["rel_over_twin_cpu_p50"] = rel50 / twin50;
}
BENCHMARK(BM_UpdateBesideTwins)
    ->ArgName("engaged")
    ->Arg(0)
    ->Arg(1)
    ->MinTime(3)
    ->Unit(benchmark::kMicrosecond);

// Memory the flip machinery adds per relative segment: the twins'
// workspace drops its 100 absolute-date segments and creates the 100
// relative ones (same members). The difference of the two deltas is what
// relative rules cost beyond the membership bitmaps.
void BM_RelativeSegmentMemory(benchmark::State& state) {
  TimeEngine& twin = TwinEngine();
  int64_t freed = 0, added = 0;
  for (auto _ : state) {
    malloc_trim(0);
    const int64_t a0 = AllocatedBytes();
    for (SegmentId id : twin.time_ids) {
      if (!twin.ws->DeleteSegment(id).ok()) {
        return state.SkipWithError("cannot delete");
      }
    }
    const int64_t a1 = AllocatedBytes();
    twin.time_ids.clear();
    for (const SegmentDraft& d : TimeSegments(Dates::kRelative, kBenchNow)) {
      absl::StatusOr<SegmentView> v = twin.ws->CreateSegment(d);
      if (!v.ok()) return state.SkipWithError("cannot create");
      twin.time_ids.push_back(v->record.id);
    }
    const int64_t a2 = AllocatedBytes();
    freed = a0 - a1;
    added = a2 - a1;
  }
  state.counters["twins_MB"] = freed / 1e6;
  state.counters["relative_MB"] = added / 1e6;
  state.counters["extra_B_per_relative_segment"] =
      static_cast<double>(added - freed) / kTimeSegments;
  state.counters["extra_B_per_contact"] =
      static_cast<double>(added - freed) / BenchContacts();
}
BENCHMARK(BM_RelativeSegmentMemory)->Iterations(1)->Unit(benchmark::kSecond);

// ---------------------------------------------------------------------------
// Idle cost: an hour of the clock per iteration, flip by flip: the FakeClock
// is set to next_flip_due() and ApplyDueFlips runs, as the timer thread
// would at each due moment. CPU is this thread's (the whole of the work).

void BM_IdleHour(benchmark::State& state) {
  TimeEngine& e = RelativeEngine();
  double wakes = 0, cpu_ns = 0, changes = 0, commits = 0, max_wake_us = 0;
  int hours = 0;
  Latencies wake_cpu;
  for (auto _ : state) {
    const UnixSeconds end = e.fake->Now() + 3600;
    const uint64_t changes0 = e.counting->changes.load();
    const uint64_t commits0 = e.counting->commits.load();
    const int64_t c0 = ThreadCpuNs();
    while (true) {
      const std::optional<UnixSeconds> next = e.ws->next_flip_due();
      if (!next.has_value() || *next > end) break;
      e.fake->Set(std::max(*next, e.fake->Now()));
      const int64_t w0 = ThreadCpuNs();
      if (!e.ws->ApplyDueFlips().ok()) return state.SkipWithError("apply");
      wake_cpu.Add(ThreadCpuNs() - w0);
      ++wakes;
    }
    e.fake->Set(end);
    if (!e.ws->ApplyDueFlips().ok()) return state.SkipWithError("apply");
    cpu_ns += ThreadCpuNs() - c0;
    changes += e.counting->changes.load() - changes0;
    commits += e.counting->commits.load() - commits0;
    ++hours;
  }
  max_wake_us = wake_cpu.PercentileUs(100);
  state.counters["cpu_ms_per_hour"] = cpu_ns / 1e6 / hours;
  state.counters["core_pct"] = cpu_ns / 1e9 / (3600.0 * hours) * 100;
  state.counters["wakes_per_hour"] = wakes / hours;
  state.counters["changes_per_hour"] = changes / hours;
  state.counters["commits_per_hour"] = commits / hours;
  state.counters["wake_cpu_p50_us"] = wake_cpu.PercentileUs(50);
  state.counters["wake_cpu_p99_us"] = wake_cpu.PercentileUs(99);
  state.counters["wake_cpu_max_us"] = max_wake_us;
}
BENCHMARK(BM_IdleHour)->Iterations(3)->Unit(benchmark::kSecond);

// ---------------------------------------------------------------------------
// Burst: kBurstContacts contacts (every 10th) get the same last_engaged_at,
// which leaves the 20 burst segments' window at one second. Each iteration
// sets it (untimed, a batch upsert), applies time up to the second before,
// then times the ApplyDueFlips that applies the burst, while a reader thread
// calls CountMembers on the burst segments in a loop.

std::vector<ContactDraft> BurstDrafts(UnixSeconds engaged) {
  std::vector<ContactDraft> out;
  const ContactGenerator gen;
  const size_t n = std::min(kBurstContacts, BenchContacts() / 10);
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ContactDraft d;
    d.email = gen.Make(i * 10).email;
    d.last_engaged_at = engaged;
    out.push_back(std::move(d));
  }
  return out;
}

void RunBurst(benchmark::State& state, TimeEngine& e, bool with_reader) {
  Workspace& ws = *e.ws;
  const std::vector<SegmentId> burst(e.time_ids.begin(),
                                     e.time_ids.begin() + kBurstSegments);
  Latencies apply, apply_cpu, idle_reads, burst_reads;
  double changes = 0, max_read_us = 0;
  for (auto _ : state) {
    // Due in 10 s: engaged 7 days minus 10 s ago.
    const UnixSeconds due = e.fake->Now() + 11;
    const UnixSeconds engaged = due - kBurstWindowDays * kSecondsPerDay - 1;
    std::vector<ContactDraft> drafts = BurstDrafts(engaged);
    for (size_t i = 0; i < drafts.size(); i += kLoadChunk) {
      std::vector<ContactDraft> chunk(
          drafts.begin() + i,
          drafts.begin() + std::min(drafts.size(), i + kLoadChunk));
      if (!ws.BatchUpsertContacts(std::move(chunk), {"last_engaged_at"},
                                  ContactView::kIdAndEmail)
               .ok()) {
        return state.SkipWithError("cannot set the burst");
      }
    }
    e.fake->Set(due - 1);
    if (!ws.ApplyDueFlips().ok()) return state.SkipWithError("apply");
    std::vector<int64_t> before;
    for (SegmentId s : burst) {
      before.push_back(static_cast<int64_t>(ws.CountMembers(s)->member_count));
    }

    std::atomic<int> phase{0};                   // 0 idle, 1 burst, 2 stop
    std::vector<std::pair<int, int64_t>> reads;  // (phase, ns)
    reads.reserve(8'000'000);
    std::thread reader([&] {
      size_t i = 0;
      while (with_reader) {
        const int p = phase.load(std::memory_order_relaxed);
        if (p == 2) break;
        const int64_t t0 = NowNs();
        absl::StatusOr<MemberCount> c = ws.CountMembers(burst[i++ % 20]);
        const int64_t t1 = NowNs();
        benchmark::DoNotOptimize(c);
        if (reads.size() < reads.capacity()) reads.push_back({p, t1 - t0});
      }
    });
    absl::SleepFor(absl::Milliseconds(100));
    e.fake->Set(due);
    phase.store(1);
    PerfControl("enable");
    const int64_t c0 = ThreadCpuNs();
    const int64_t t0 = NowNs();
    const absl::Status applied = ws.ApplyDueFlips();
    const int64_t t1 = NowNs();
    apply_cpu.Add(ThreadCpuNs() - c0);
    PerfControl("disable");
    phase.store(2);
    reader.join();
    if (!applied.ok()) return state.SkipWithError(applied.ToString().c_str());
    state.SetIterationTime((t1 - t0) * 1e-9);
    apply.Add(t1 - t0);
    for (const auto& [p, ns] : reads) {
      (p == 0 ? idle_reads : burst_reads).Add(ns);
      if (p == 1) max_read_us = std::max(max_read_us, ns / 1e3);
    }
    for (size_t i = 0; i < burst.size(); ++i) {
      const int64_t after =
          static_cast<int64_t>(ws.CountMembers(burst[i])->member_count);
      changes += static_cast<double>(std::abs(after - before[i]));
    }
  }
  state.counters["apply_p50_ms"] = apply.PercentileUs(50) / 1e3;
  state.counters["apply_max_ms"] = apply.PercentileUs(100) / 1e3;
  // The applying thread's CPU: the machine's other load and the reader
  // (on the same two cores) lengthen the wall time, not this.
  state.counters["apply_cpu_p50_ms"] = apply_cpu.PercentileUs(50) / 1e3;
  state.counters["count_moves_per_burst"] = changes / state.iterations();
  state.counters["idle_read_p99_us"] = idle_reads.PercentileUs(99);
  state.counters["burst_read_p50_us"] = burst_reads.PercentileUs(50);
  state.counters["burst_read_p99_us"] = burst_reads.PercentileUs(99);
  state.counters["burst_read_max_us"] = max_read_us;
  state.counters["burst_reads"] = static_cast<double>(burst_reads.size());
  if (e.counting != nullptr) {
    state.counters["changes_total"] =
        static_cast<double>(e.counting->changes.load());
  }
}

// Arg 1 = 0: without the reader thread (the apply alone on the two cores).
void BM_Burst(benchmark::State& state) {
  const bool with_reader = state.range(1) == 1;
  if (state.range(0) == 0) {
    state.SetLabel(with_reader ? "engine only" : "engine only, no reader");
    RunBurst(state, RelativeEngine(), with_reader);
  } else {
    state.SetLabel(with_reader ? "SQLite FULL" : "SQLite FULL, no reader");
    EngineOptions o;
    o.backing = Backing::kSqlite;
    RunBurst(state, Engine("sqlite", o), with_reader);
  }
}
BENCHMARK(BM_Burst)
    ->ArgNames({"sqlite", "reader"})
    ->ArgsProduct({{0, 1}, {1, 0}})
    ->Iterations(5)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// Lag, SystemClock and a FlipScheduler (engine only): the dataset shifted to
// the real now, and a probe segment (tags HAS_ANY probe, last_engaged_at
// WITHIN_LAST_DAYS 1) whose kProbes contacts flip out one per second. A
// reader polls CountMembers every 200 us; the lag of a flip is the moment
// the count first shows it minus the start of its due second.

constexpr int kProbes = 45;

TimeEngine& SystemEngine() {
  EngineOptions o;
  o.system_clock = true;
  TimeEngine& e = Engine("system", o);
  if (e.probe == 0) {
    SegmentDraft d;
    d.display_name = "time-probe";
    d.filter = AllOf(
        {Cond("tags", Operator::kHasAny, {std::string("probe")}),
         Cond("last_engaged_at", Operator::kWithinLastDays, {int64_t{1}})});
    absl::StatusOr<SegmentView> v = e.ws->CreateSegment(d);
    if (!v.ok()) std::abort();
    e.probe = v->record.id;
  }
  return e;
}

void BM_Lag(benchmark::State& state) {
  TimeEngine& e = SystemEngine();
  Workspace& ws = *e.ws;
  Latencies lag;
  double missed = 0;
  for (auto _ : state) {
    const UnixSeconds first = e.clock->Now() + 3;
    for (int k = 0; k < kProbes; ++k) {
      ContactDraft d;
      d.tags = {"probe"};
      // Flips at first + k: t + 1 day + 1 = first + k.
      d.last_engaged_at = first + k - kSecondsPerDay - 1;
      if (!ws.UpdateContact(static_cast<ContactId>(1 + k), d,
                            {"tags", "last_engaged_at"})
               .ok()) {
        return state.SkipWithError("cannot arm the probes");
      }
    }
    uint64_t last = ws.CountMembers(e.probe)->member_count;
    if (last != kProbes) return state.SkipWithError("probes not members");
    const absl::Time deadline = absl::FromUnixSeconds(first + kProbes + 5);
    while (last > 0 && absl::Now() < deadline) {
      const uint64_t c = ws.CountMembers(e.probe)->member_count;
      const absl::Time seen = absl::Now();
      for (uint64_t gone = kProbes - last; gone < kProbes - c; ++gone) {
        const absl::Time due =
            absl::FromUnixSeconds(first + static_cast<int64_t>(gone));
        lag.Add(absl::ToInt64Nanoseconds(seen - due));
      }
      last = c;
      absl::SleepFor(absl::Microseconds(200));
    }
    missed += static_cast<double>(last);
  }
  state.counters["flips"] = static_cast<double>(lag.size());
  state.counters["lag_p50_ms"] = lag.PercentileUs(50) / 1e3;
  state.counters["lag_p99_ms"] = lag.PercentileUs(99) / 1e3;
  state.counters["lag_max_ms"] = lag.PercentileUs(100) / 1e3;
  state.counters["lag_min_ms"] = lag.PercentileUs(0.0001) / 1e3;
  state.counters["not_seen"] = missed;
  state.counters["scheduler_runs"] = static_cast<double>(e.scheduler->runs());
}
BENCHMARK(BM_Lag)->Iterations(2)->Unit(benchmark::kSecond);

// Idle over real time: the same workspace with nothing but its realistic
// flips and the timer, the benchmark thread asleep; CPU of the whole
// process over the interval.
void BM_IdleWallClock(benchmark::State& state) {
  TimeEngine& e = SystemEngine();
  const int seconds = static_cast<int>(state.range(0));
  double cpu_ns = 0, runs = 0;
  for (auto _ : state) {
    const uint64_t r0 = e.scheduler->runs();
    const int64_t c0 = ProcessCpuNs();
    absl::SleepFor(absl::Seconds(seconds));
    cpu_ns += ProcessCpuNs() - c0;
    runs += e.scheduler->runs() - r0;
  }
  const double wall_s = seconds * static_cast<double>(state.iterations());
  state.counters["core_pct"] = cpu_ns / 1e9 / wall_s * 100;
  state.counters["cpu_ms_per_hour"] = cpu_ns / 1e6 / wall_s * 3600;
  state.counters["task_runs_per_hour"] = runs / wall_s * 3600;
}
BENCHMARK(BM_IdleWallClock)
    ->Arg(30)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace segments::bench
