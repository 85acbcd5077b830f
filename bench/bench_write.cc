// Writes end to end, through gRPC into the SQLite store:
// - BM_BatchUpsert: batches of 10,000 new contacts, contacts/s, with
//   synchronous FULL and NORMAL, into an empty workspace (base:0) and into the
//   cached workspace of BenchContacts() contacts and 200 segments (base:1,
//   where every new contact is evaluated against the segments and its
//   entries are logged), asking for the basic view of the response (ids and
//   emails; full_view:0) or the full one (every contact echoed whole).
//   Goal (issue 4): >= 100k/s NORMAL, >= 50k/s FULL.
// - BM_ConcurrentUpdates: 1 or 16 clients, each on its own connection,
//   sending single-contact lead_score updates as fast as they are answered;
//   total updates/s. With group commit, 16 clients should share fsyncs.
//   It uses only the public API, so it runs the same before and after group
//   commit.
// Beside what the work cannot avoid (issue 18, bench/floors.h), each in the
// same loop as its figure:
// - BM_BatchUpsertBesideFloor: the batch upsert at 1M + 200 segments, basic
//   view, beside (a) upserting the same rows into an empty database of the
//   workspace schema with the store's prepared statement in one transaction
//   at the same synchronous, and (b) parsing the same request bytes. Goal:
//   the call <= 2 (a) + (b).
// - BM_UpdateBesideFloor: one UpdateContact at FULL beside an empty RPC
//   (Health/Check) and a single-row commit at FULL. Goal: <= 1.3x their sum.
// - BM_GroupCommitBesideFsync: 16 clients' updates at FULL for 2 s, then the
//   disk's fsyncs/s for 1 s; ratio = commits/s over fsyncs/s (goal: close
//   to 1; issue 18 sets no number).
// - BM_RpcLoad: a whole import through the API, as issue 16 measures it at
//   ten million contacts: SEGMENTS_BENCH_LOAD_CONTACTS new contacts
//   (default BenchContacts()) in batches of 10,000, basic view, NORMAL, into
//   a workspace holding SEGMENTS_BENCH_SEGMENTS segments (default 200) and no
//   contacts, so that every contact is matched against every segment as it
//   arrives. One iteration, the calls' wall time only (the client builds each
//   request with the clock stopped): contacts/s, the batches' p50 and p99,
//   and the process's resident memory grown per contact.
// Every configuration (dataset, synchronous) works on its own copy of the
// cached dataset, removed afterwards; its trial runs share it.
// The clients run in this process, on the same cores as the server.
//
//   build-bench/bench/bench_write
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/floors.h"
#include "bench/grpc_fixture.h"
#include "bench/sqlite_dataset.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "core/stats/engine_stats.h"

namespace segments::bench {
namespace {

constexpr size_t kSegments = 200;
constexpr int kBatch = 10000;

SqliteOptions::Synchronous SyncOf(int64_t arg) {
  return arg == 0 ? SqliteOptions::Synchronous::kFull
                  : SqliteOptions::Synchronous::kNormal;
}

// The server of the current configuration (see EnsureServer).
struct WriteFixture {
  std::unique_ptr<BenchServer> server;
  bool with_data = false;
  SqliteOptions::Synchronous sync = SqliteOptions::Synchronous::kFull;
  uint64_t contacts = 0;  // generated contacts in the dataset copied
  uint64_t next_new = 0;  // generator index of the next contact to create
  std::string scratch;    // holds data/; removed with the fixture
  std::string error;      // non-empty when the server could not start
};
WriteFixture* g_fixture = nullptr;

void StopServer() {
  if (g_fixture == nullptr) return;
  g_fixture->server.reset();
  if (!g_fixture->scratch.empty()) RemoveTree(g_fixture->scratch);
  delete g_fixture;
  g_fixture = nullptr;
}

// Serves a copy of the cached dataset (`with_data`: BenchContacts() contacts
// and 200 segments; else an empty workspace) with `sync`. Google Benchmark
// calls Setup before every trial run of a benchmark (also while it sizes the
// iteration count), so a server with the same configuration is kept and
// reused; main() stops the last one.
void EnsureServer(bool with_data, SqliteOptions::Synchronous sync) {
  if (g_fixture != nullptr && g_fixture->with_data == with_data &&
      g_fixture->sync == sync && g_fixture->server != nullptr) {
    return;
  }
  StopServer();
  g_fixture = new WriteFixture();
  g_fixture->with_data = with_data;
  g_fixture->sync = sync;
  const size_t contacts = with_data ? BenchContacts() : 0;
  absl::StatusOr<CachedDataset> data =
      EnsureServerDataset(contacts, with_data ? kSegments : 0);
  absl::StatusOr<std::string> scratch = MakeScratchDir("write");
  if (!data.ok() || !scratch.ok()) {
    g_fixture->error =
        !data.ok() ? data.status().ToString() : scratch.status().ToString();
    return;
  }
  g_fixture->scratch = *scratch;
  const std::string dir = *scratch + "/data";
  const int64_t start = NowNs();
  if (absl::Status s = CopyTree(data->path, dir); !s.ok()) {
    g_fixture->error = s.ToString();
    return;
  }
  absl::StatusOr<std::unique_ptr<BenchServer>> server =
      BenchServer::Start(dir, sync, /*owns_dir=*/false);
  if (!server.ok()) {
    g_fixture->error = server.status().ToString();
    return;
  }
  if (absl::Status s = (*server)->OpenBenchWorkspace(); !s.ok()) {
    g_fixture->error = s.ToString();
    return;
  }
  Progress(absl::StrCat("copied and opened ", contacts, " contacts in ",
                        SecondsSince(start), " s"));
  g_fixture->server = *std::move(server);
  g_fixture->contacts = contacts;
}

// Generator index of the next new contact; trial runs continue where the
// previous one stopped.
uint64_t& NextNewContact() {
  uint64_t& next = g_fixture->next_new;
  if (next < g_fixture->contacts) next = g_fixture->contacts;
  return next;
}

// A batch of `count` new contacts from generator index *next on, on `arena`
// (10,000 contacts are 10,000 messages to allocate: a client importing in
// bulk keeps them on an arena).
v1::BatchUpsertContactsRequest* NewBatchRequest(google::protobuf::Arena* arena,
                                                bool basic_view, uint64_t* next,
                                                int count = kBatch) {
  auto* request =
      google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsRequest>(
          arena);
  request->set_view(basic_view ? v1::CONTACT_VIEW_BASIC
                               : v1::CONTACT_VIEW_FULL);
  const ContactGenerator gen;
  for (int i = 0; i < count; ++i) {
    DraftToProto(gen.Make((*next)++), request->add_contacts());
  }
  return request;
}

// Sends `request` with the clock running (resumed for the call, paused
// after it) and adds the call's wall time to `latencies`; the response lives
// on `arena`. "" when every contact was created, else what went wrong.
std::string TimedBatchCall(v1::ContactService::Stub& stub,
                           const v1::BatchUpsertContactsRequest& request,
                           google::protobuf::Arena* arena,
                           benchmark::State& state, Latencies* latencies) {
  auto* response =
      google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsResponse>(
          arena);
  grpc::ClientContext context;
  Authorize(context);
  state.ResumeTiming();
  const int64_t t0 = NowNs();
  grpc::Status status = stub.BatchUpsertContacts(&context, request, response);
  latencies->Add(NowNs() - t0);
  state.PauseTiming();
  if (!status.ok()) return status.error_message();
  if (static_cast<int>(response->created_count()) != request.contacts_size()) {
    return "contacts were not all created";
  }
  return "";
}

void SetupBatch(const benchmark::State& state) {
  EnsureServer(state.range(1) == 1, SyncOf(state.range(0)));
}

void BM_BatchUpsert(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  const bool basic_view = state.range(2) == 0;
  state.SetLabel(absl::StrCat(state.range(0) == 0 ? "FULL" : "NORMAL",
                              state.range(1) == 1 ? ", 200 segments" : "",
                              basic_view ? ", basic view" : ", full view"));
  auto stub = v1::ContactService::NewStub(g_fixture->server->NewChannel(0));
  uint64_t& next = NextNewContact();
  Latencies latencies;
  for (auto _ : state) {
    state.PauseTiming();
    google::protobuf::Arena arena;
    const std::string error =
        TimedBatchCall(*stub, *NewBatchRequest(&arena, basic_view, &next),
                       &arena, state, &latencies);
    if (!error.empty()) return state.SkipWithError(error.c_str());
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["batch_p50_ms"] = latencies.PercentileUs(50) / 1000;
}
BENCHMARK(BM_BatchUpsert)
    ->ArgNames({"normal", "base", "full_view"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Setup(SetupBatch)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5);

// One UpdateContact of a random contact's lead_score (of ids 1..contacts).
grpc::Status UpdateRandomLeadScore(v1::ContactService::Stub& stub, Rng& rng,
                                   uint64_t contacts) {
  static const ContactGenerator* const gen = new ContactGenerator();
  v1::UpdateContactRequest request;
  request.mutable_contact()->set_id(1 + rng.Below(contacts));
  request.mutable_contact()->set_lead_score(
      static_cast<int32_t>(gen->RandomLeadScore(rng)));
  request.mutable_update_mask()->add_paths("lead_score");
  v1::Contact response;
  grpc::ClientContext context;
  Authorize(context);
  return stub.UpdateContact(&context, request, &response);
}

void SetupConcurrent(const benchmark::State& state) {
  EnsureServer(/*with_data=*/true, SyncOf(state.range(0)));
}

void BM_ConcurrentUpdates(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  state.SetLabel(state.range(0) == 0 ? "FULL" : "NORMAL");
  // Each client has its own connection.
  auto stub = v1::ContactService::NewStub(
      g_fixture->server->NewChannel(state.thread_index()));
  Rng rng(FreshSeed());
  const uint64_t contacts = g_fixture->contacts;
  Latencies latencies;
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    grpc::Status status = UpdateRandomLeadScore(*stub, rng, contacts);
    latencies.Add(NowNs() - t0);
    if (!status.ok()) {
      return state.SkipWithError(status.error_message().c_str());
    }
  }
  state.SetItemsProcessed(state.iterations());
  ReportPercentiles(state, latencies, "");
}
BENCHMARK(BM_ConcurrentUpdates)
    ->ArgName("normal")
    ->Arg(0)
    ->Arg(1)
    ->Setup(SetupConcurrent)
    ->Threads(1)
    ->Threads(16)
    ->UseRealTime()
    ->MinTime(5);

// A fresh, empty database of the workspace schema for the floors, beside
// the server's data directory (same file system); removed on destruction.
class FloorDb {
 public:
  explicit FloorDb(SqliteOptions::Synchronous sync) {
    static int n = 0;
    path_ = absl::StrCat(g_fixture->scratch, "/floor-", n++, ".db");
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        OpenEmptyWorkspaceDb(path_, sync);
    if (db.ok()) db_ = *std::move(db);
  }
  ~FloorDb() {
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(path_ + suffix, ec);
    }
  }
  FloorDb(const FloorDb&) = delete;
  FloorDb& operator=(const FloorDb&) = delete;
  SqliteDb* get() const { return db_.get(); }

 private:
  std::string path_;
  std::unique_ptr<SqliteDb> db_;
};

void BM_BatchUpsertBesideFloor(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  const SqliteOptions::Synchronous sync = SyncOf(state.range(0));
  state.SetLabel(absl::StrCat(state.range(0) == 0 ? "FULL" : "NORMAL",
                              ", 200 segments, basic view"));
  auto stub = v1::ContactService::NewStub(g_fixture->server->NewChannel(0));
  uint64_t& next = NextNewContact();
  Latencies call, inserts, parse;
  for (auto _ : state) {
    state.PauseTiming();
    google::protobuf::Arena arena;
    const uint64_t first = next;
    v1::BatchUpsertContactsRequest* request =
        NewBatchRequest(&arena, /*basic_view=*/true, &next);
    const std::string bytes = request->SerializeAsString();
    const std::vector<Contact> rows = NormalizedContacts(first, kBatch);
    const std::string error =
        TimedBatchCall(*stub, *request, &arena, state, &call);
    if (!error.empty()) return state.SkipWithError(error.c_str());
    // (b): the server parses the same bytes into an arena.
    google::protobuf::Arena parse_arena;
    auto* parsed =
        google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsRequest>(
            &parse_arena);
    const int64_t t1 = NowNs();
    const bool parsed_ok = parsed->ParseFromString(bytes);
    parse.Add(NowNs() - t1);
    // (a): the same rows into an empty copy of the schema.
    FloorDb floor(sync);
    absl::StatusOr<int64_t> insert_ns =
        floor.get() == nullptr ? absl::InternalError("no floor database")
                               : TimedContactInserts(*floor.get(), rows);
    if (!parsed_ok || !insert_ns.ok()) {
      return state.SkipWithError("the floor failed");
    }
    inserts.Add(*insert_ns);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  const double call_ms = call.PercentileUs(50) / 1000;
  const double inserts_ms = inserts.PercentileUs(50) / 1000;
  const double parse_ms = parse.PercentileUs(50) / 1000;
  state.counters["call_p50_ms"] = call_ms;
  state.counters["inserts_p50_ms"] = inserts_ms;
  state.counters["parse_p50_ms"] = parse_ms;
  ReportRatio(state, "ratio_p50", call_ms, 2 * inserts_ms + parse_ms);
}
BENCHMARK(BM_BatchUpsertBesideFloor)
    ->ArgName("normal")
    ->Arg(0)
    ->Arg(1)
    ->Setup(SetupConcurrent)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(3);

void BM_UpdateBesideFloor(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  state.SetLabel("FULL, 200 segments");
  auto channel = g_fixture->server->NewChannel(0);
  auto stub = v1::ContactService::NewStub(channel);
  auto health = grpc::health::v1::Health::NewStub(channel);
  FloorDb floor(SqliteOptions::Synchronous::kFull);
  if (floor.get() == nullptr) return state.SkipWithError("no floor database");
  std::vector<Contact> row = NormalizedContacts(0, 1);
  // The server's WAL is reset by its checkpoints and then overwritten; a WAL
  // that only grows makes every fdatasync journal a new file size (3 ms
  // instead of 0.3 on this disk). So the floor checkpoints as SQLite does by
  // default, and its WAL is grown to that steady size before the clock runs.
  sqlite3_wal_autocheckpoint(floor.get()->raw(), 1000);
  for (int i = 0; i < 500; ++i) {
    if (!TimedContactInserts(*floor.get(), row).ok()) {
      return state.SkipWithError("the floor's warm-up failed");
    }
  }
  Rng rng(FreshSeed());
  Latencies update, empty, commit;
  const AtomicHistogram::Snapshot commits_before =
      EngineStats::Get().commit_seconds.Read();
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    grpc::Status u = UpdateRandomLeadScore(*stub, rng, g_fixture->contacts);
    const int64_t t1 = NowNs();
    grpc::Status h = HealthCheck(*health);
    const int64_t t2 = NowNs();
    row[0].lead_score = static_cast<int32_t>(rng.Below(101));
    absl::StatusOr<int64_t> c = TimedContactInserts(*floor.get(), row);
    if (!u.ok() || !h.ok() || !c.ok()) {
      return state.SkipWithError("an update, health check or commit failed");
    }
    update.Add(t1 - t0);
    empty.Add(t2 - t1);
    commit.Add(*c);
  }
  const double update_us = update.PercentileUs(50);
  const double empty_us = empty.PercentileUs(50);
  const double commit_us = commit.PercentileUs(50);
  state.counters["update_p50_us"] = update_us;
  state.counters["empty_rpc_p50_us"] = empty_us;
  state.counters["commit_p50_us"] = commit_us;
  // The server's own store commits (the update's rows, its change runs and
  // their index, the counters), mean: the part of the update spent in SQLite.
  const AtomicHistogram::Snapshot commits =
      EngineStats::Get().commit_seconds.Read();
  if (commits.count > commits_before.count) {
    state.counters["server_commit_mean_us"] =
        (commits.sum - commits_before.sum) * 1e6 /
        static_cast<double>(commits.count - commits_before.count);
  }
  ReportRatio(state, "ratio_p50", update_us, empty_us + commit_us);
}
BENCHMARK(BM_UpdateBesideFloor)
    ->ArgName("normal")
    ->Arg(0)
    ->Setup(SetupConcurrent)
    ->UseRealTime()
    ->MinTime(3);

void BM_GroupCommitBesideFsync(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  constexpr int kClients = 16;
  state.SetLabel("FULL, 16 clients");
  std::vector<std::unique_ptr<v1::ContactService::Stub>> stubs;
  for (int i = 0; i < kClients; ++i) {
    stubs.push_back(
        v1::ContactService::NewStub(g_fixture->server->NewChannel(100 + i)));
  }
  double updates_per_s = 0, commits_per_s = 0, fsyncs_per_s = 0;
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> updates{0}, failed{0};
    const uint64_t commits_before =
        EngineStats::Get().commit_group_size.Read().count;
    const int64_t start = NowNs();
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        Rng rng(FreshSeed());
        while (!stop.load()) {
          grpc::Status s =
              UpdateRandomLeadScore(*stubs[i], rng, g_fixture->contacts);
          (s.ok() ? updates : failed)++;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    for (std::thread& t : clients) t.join();
    const double seconds = SecondsSince(start);
    const uint64_t commits =
        EngineStats::Get().commit_group_size.Read().count - commits_before;
    absl::StatusOr<double> fsyncs = FsyncsPerSecond(g_fixture->scratch, 1.0);
    if (failed > 0 || !fsyncs.ok()) {
      return state.SkipWithError("an update or the fsync probe failed");
    }
    state.SetIterationTime(seconds);
    updates_per_s += static_cast<double>(updates) / seconds;
    commits_per_s += static_cast<double>(commits) / seconds;
    fsyncs_per_s += *fsyncs;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["updates_per_s"] = updates_per_s / n;
  state.counters["commits_per_s"] = commits_per_s / n;
  state.counters["fsyncs_per_s"] = fsyncs_per_s / n;
  ReportRatio(state, "commits_over_fsyncs", commits_per_s, fsyncs_per_s);
}
BENCHMARK(BM_GroupCommitBesideFsync)
    ->ArgName("normal")
    ->Arg(0)
    ->Setup(SetupConcurrent)
    ->Iterations(2)
    ->UseManualTime();

void BM_RpcLoad(benchmark::State& state) {
  const size_t contacts =
      EnvCount("SEGMENTS_BENCH_LOAD_CONTACTS", BenchContacts());
  const size_t segments = EnvCount("SEGMENTS_BENCH_SEGMENTS", kSegments);
  state.SetLabel(absl::StrCat(contacts, " contacts into ", segments,
                              " segments, NORMAL, basic view"));
  StopServer();  // one server at a time: this one is the whole machine's
  absl::StatusOr<CachedDataset> data = EnsureServerDataset(0, segments);
  absl::StatusOr<std::string> scratch = MakeScratchDir("load");
  if (!data.ok() || !scratch.ok()) {
    return state.SkipWithError("the empty dataset could not be made");
  }
  const std::string dir = *scratch + "/data";
  absl::StatusOr<std::unique_ptr<BenchServer>> server =
      CopyTree(data->path, dir).ok()
          ? BenchServer::Start(dir, SqliteOptions::Synchronous::kNormal,
                               /*owns_dir=*/false)
          : absl::InternalError("the dataset could not be copied");
  if (!server.ok() || !(*server)->OpenBenchWorkspace().ok()) {
    RemoveTree(*scratch);
    return state.SkipWithError("the server did not start");
  }
  auto stub = v1::ContactService::NewStub((*server)->NewChannel(0));
  Latencies batches;
  std::string error;
  const int64_t rss_before = ResidentBytes();
  for (auto _ : state) {
    uint64_t next = 0;
    while (next < contacts && error.empty()) {
      google::protobuf::Arena arena;
      const int count =
          static_cast<int>(std::min<uint64_t>(kBatch, contacts - next));
      error = TimedBatchCall(
          *stub, *NewBatchRequest(&arena, /*basic_view=*/true, &next, count),
          &arena, state, &batches);
      state.ResumeTiming();
    }
    const int64_t calls_ns = batches.SumNs();
    state.SetIterationTime(static_cast<double>(calls_ns) * 1e-9);
    if (error.empty() && calls_ns > 0) {
      state.counters["contacts_per_s"] = static_cast<double>(contacts) /
                                         (static_cast<double>(calls_ns) * 1e-9);
    }
  }
  const int64_t rss_after = ResidentBytes();
  server->reset();
  RemoveTree(*scratch);
  if (!error.empty()) return state.SkipWithError(error.c_str());
  state.counters["batch_p50_ms"] = batches.PercentileUs(50) / 1000;
  state.counters["batch_p99_ms"] = batches.PercentileUs(99) / 1000;
  if (rss_before >= 0 && rss_after >= 0 && contacts > 0) {
    state.counters["rss_bytes_per_contact"] =
        static_cast<double>(rss_after - rss_before) /
        static_cast<double>(contacts);
  }
}
BENCHMARK(BM_RpcLoad)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace segments::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  segments::bench::StopServer();
  benchmark::Shutdown();
  return 0;
}
