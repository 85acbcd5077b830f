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
// Every configuration (dataset, synchronous) works on its own copy of the
// cached dataset, removed afterwards; its trial runs share it.
// The clients run in this process, on the same cores as the server.
//
//   build-bench/bench/bench_write
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/dataset.h"
#include "bench/engine_fixture.h"
#include "bench/grpc_fixture.h"
#include "bench/sqlite_dataset.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"

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
  Progress(absl::StrCat("copied and opened ", contacts, " contacts in ",
                        SecondsSince(start), " s"));
  g_fixture->server = *std::move(server);
  g_fixture->contacts = contacts;
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
  const ContactGenerator gen;
  // Generator index of the next new contact; trial runs continue where the
  // previous one stopped.
  uint64_t& next = g_fixture->next_new;
  if (next < g_fixture->contacts) next = g_fixture->contacts;
  Latencies latencies;
  for (auto _ : state) {
    state.PauseTiming();
    // Request and response live in an arena, as a client importing in bulk
    // would keep them: 10,000 contacts are 10,000 messages to allocate.
    google::protobuf::Arena arena;
    auto* request =
        google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsRequest>(
            &arena);
    request->set_view(basic_view ? v1::CONTACT_VIEW_BASIC
                                 : v1::CONTACT_VIEW_FULL);
    for (int i = 0; i < kBatch; ++i) {
      DraftToProto(gen.Make(next++), request->add_contacts());
    }
    auto* response =
        google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsResponse>(
            &arena);
    grpc::ClientContext context;
    Authorize(context);
    state.ResumeTiming();
    const int64_t t0 = NowNs();
    grpc::Status status =
        stub->BatchUpsertContacts(&context, *request, response);
    latencies.Add(NowNs() - t0);
    if (!status.ok()) {
      return state.SkipWithError(status.error_message().c_str());
    }
    if (response->created_count() != kBatch) {
      return state.SkipWithError("contacts were not all created");
    }
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
  const ContactGenerator gen;
  Rng rng(FreshSeed());
  const uint64_t contacts = g_fixture->contacts;
  Latencies latencies;
  for (auto _ : state) {
    v1::UpdateContactRequest request;
    request.mutable_contact()->set_id(1 + rng.Below(contacts));
    request.mutable_contact()->set_lead_score(
        static_cast<int32_t>(gen.RandomLeadScore(rng)));
    request.mutable_update_mask()->add_paths("lead_score");
    v1::Contact response;
    grpc::ClientContext context;
    Authorize(context);
    const int64_t t0 = NowNs();
    grpc::Status status = stub->UpdateContact(&context, request, &response);
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
