// The change feed over gRPC (issue 13), on a copy of the cached dataset
// (BenchContacts() contacts, 200 segments), synchronous=NORMAL:
// - BM_FeedReplay: one client replays the whole log from sequence 0 to the
//   head; events/s. The log is made first by batches of new contacts
//   entering the segments they match (about 2,000,000 events per 100,000
//   contacts). Goal: >= 5M events/s.
// - BM_BatchUpsertWithFollowers/followers:0|16/decode:0|1: batches of
//   10,000 new contacts while 0 or 16 clients (each on its own connection
//   and thread) follow the feed live; contacts/s. Goal: with 16 within 10%
//   of 0. The clients run in this process, on the same two cores as the
//   server: decode:1 clients parse every message, as consumers here would;
//   decode:0 clients only receive the bytes, which leaves the server's own
//   cost (consumers run on other machines in a deployment).
//
//   build-bench/bench/bench_feed
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
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
#include "segments/v1/feed.grpc.pb.h"
#include "segments/v1/segments.grpc.pb.h"

namespace segments::bench {
namespace {

constexpr size_t kSegments = 200;
constexpr int kBatch = 10000;
// Batches written before the replay benchmark: its log.
constexpr int kLogBatches = 10;

struct FeedFixture {
  std::unique_ptr<BenchServer> server;
  uint64_t next_new = 0;  // generator index of the next contact to create
  uint64_t head = 0;      // the last sequence, after the log was written
  std::string scratch;
  std::string error;
};
FeedFixture* g_fixture = nullptr;

void StopServer() {
  if (g_fixture == nullptr) return;
  g_fixture->server.reset();
  if (!g_fixture->scratch.empty()) RemoveTree(g_fixture->scratch);
  delete g_fixture;
  g_fixture = nullptr;
}

// One batch of new contacts; false (and `error`) when it failed.
bool WriteBatch(v1::ContactService::Stub& stub, uint64_t* next,
                std::string* error) {
  google::protobuf::Arena arena;
  auto* request =
      google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsRequest>(
          &arena);
  request->set_view(v1::CONTACT_VIEW_BASIC);
  const ContactGenerator gen;
  for (int i = 0; i < kBatch; ++i) {
    DraftToProto(gen.Make((*next)++), request->add_contacts());
  }
  auto* response =
      google::protobuf::Arena::CreateMessage<v1::BatchUpsertContactsResponse>(
          &arena);
  grpc::ClientContext context;
  Authorize(context);
  grpc::Status status = stub.BatchUpsertContacts(&context, *request, response);
  if (!status.ok()) *error = status.error_message();
  return status.ok();
}

// The newest sequence, from a count.
uint64_t Head(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::SegmentService::NewStub(channel);
  v1::CountSegmentMembersRequest request;
  request.set_segment_id(1);
  v1::CountSegmentMembersResponse response;
  grpc::ClientContext context;
  Authorize(context);
  return stub->CountSegmentMembers(&context, request, &response).ok()
             ? response.as_of_sequence()
             : 0;
}

void EnsureServer() {
  if (g_fixture != nullptr) return;
  g_fixture = new FeedFixture();
  const size_t contacts = BenchContacts();
  absl::StatusOr<CachedDataset> data = EnsureServerDataset(contacts, kSegments);
  absl::StatusOr<std::string> scratch = MakeScratchDir("feed");
  if (!data.ok() || !scratch.ok()) {
    g_fixture->error =
        !data.ok() ? data.status().ToString() : scratch.status().ToString();
    return;
  }
  g_fixture->scratch = *scratch;
  const std::string dir = *scratch + "/data";
  if (absl::Status s = CopyTree(data->path, dir); !s.ok()) {
    g_fixture->error = s.ToString();
    return;
  }
  absl::StatusOr<std::unique_ptr<BenchServer>> server = BenchServer::Start(
      dir, SqliteOptions::Synchronous::kNormal, /*owns_dir=*/false);
  if (!server.ok()) {
    g_fixture->error = server.status().ToString();
    return;
  }
  g_fixture->server = *std::move(server);
  g_fixture->next_new = contacts;
  auto channel = g_fixture->server->NewChannel(0);
  auto stub = v1::ContactService::NewStub(channel);
  const int64_t start = NowNs();
  for (int b = 0; b < kLogBatches; ++b) {
    if (!WriteBatch(*stub, &g_fixture->next_new, &g_fixture->error)) {
      g_fixture->server.reset();
      return;
    }
  }
  g_fixture->head = Head(channel);
  Progress(absl::StrCat("logged ", g_fixture->head, " events in ",
                        SecondsSince(start), " s"));
}

void Setup(const benchmark::State&) { EnsureServer(); }

// Reads `reader` until a message reaches `head`; the events received.
uint64_t ReadThrough(
    grpc::ClientReader<v1::WatchMembershipChangesResponse>& reader,
    uint64_t head) {
  uint64_t events = 0;
  v1::WatchMembershipChangesResponse r;
  while (reader.Read(&r)) {
    for (const auto& run : r.runs()) events += run.contact_ids_size();
    if (r.last_sequence() >= head) break;
  }
  return events;
}

void BM_FeedReplay(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  auto stub = v1::ChangeFeedService::NewStub(g_fixture->server->NewChannel(1));
  uint64_t events = 0;
  for (auto _ : state) {
    grpc::ClientContext context;
    Authorize(context);
    v1::WatchMembershipChangesRequest request;
    auto reader = stub->WatchMembershipChanges(&context, request);
    const uint64_t got = ReadThrough(*reader, g_fixture->head);
    if (got != g_fixture->head) {
      return state.SkipWithError("the replay did not reach the head");
    }
    events += got;
    context.TryCancel();
    (void)reader->Finish();
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["events"] = static_cast<double>(g_fixture->head);
}
BENCHMARK(BM_FeedReplay)
    ->Setup(Setup)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5);

// WatchMembershipChanges read as bytes, not decoded.
std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> RawFeedReader(
    const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext* context,
    const v1::WatchMembershipChangesRequest& request) {
  const grpc::internal::RpcMethod method(
      "/segments.v1.ChangeFeedService/WatchMembershipChanges",
      grpc::internal::RpcMethod::SERVER_STREAMING);
  return std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>>(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
          channel.get(), method, context, request));
}

// The serialized size of every message of a replay of the whole log, up to
// the one that reaches the head (decoded once, untimed).
std::vector<size_t> ReplayMessageSizes(v1::ChangeFeedService::Stub& stub) {
  grpc::ClientContext context;
  Authorize(context);
  v1::WatchMembershipChangesRequest request;
  auto reader = stub.WatchMembershipChanges(&context, request);
  std::vector<size_t> sizes;
  v1::WatchMembershipChangesResponse r;
  while (reader->Read(&r)) {
    sizes.push_back(r.ByteSizeLong());
    if (r.last_sequence() >= g_fixture->head) break;
  }
  context.TryCancel();
  (void)reader->Finish();
  return sizes;
}

// BM_FeedReplay beside what its bytes cost to send (issue 18): each
// iteration replays the whole log as bytes (no decoding: the server's and
// the transport's work), then writes messages of the same sizes through a
// loopback TCP connection (bench/floors.h). ratio = replay / socket.
void BM_FeedReplayBesideSocket(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  auto channel = g_fixture->server->NewChannel(2);
  auto stub = v1::ChangeFeedService::NewStub(channel);
  const std::vector<size_t> sizes = ReplayMessageSizes(*stub);
  uint64_t total = 0;
  for (size_t n : sizes) total += n;
  double replay_s = 0, socket_s = 0;
  for (auto _ : state) {
    grpc::ClientContext context;
    Authorize(context);
    const int64_t t0 = NowNs();
    auto reader =
        RawFeedReader(channel, &context, v1::WatchMembershipChangesRequest());
    grpc::ByteBuffer message;
    size_t messages = 0;
    while (messages < sizes.size() && reader->Read(&message)) ++messages;
    const double replay = SecondsSince(t0);
    context.TryCancel();
    (void)reader->Finish();
    if (messages != sizes.size()) {
      return state.SkipWithError("the replay ended early");
    }
    absl::StatusOr<int64_t> socket_ns = TimedSocketTransfer(sizes);
    if (!socket_ns.ok()) {
      return state.SkipWithError(socket_ns.status().ToString().c_str());
    }
    state.SetIterationTime(replay);
    replay_s += replay;
    socket_s += static_cast<double>(*socket_ns) * 1e-9;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["messages"] = static_cast<double>(sizes.size());
  state.counters["MB"] = static_cast<double>(total) / 1e6;
  state.counters["replay_ms"] = replay_s / n * 1e3;
  state.counters["socket_ms"] = socket_s / n * 1e3;
  ReportRatio(state, "ratio", replay_s, socket_s);
}
BENCHMARK(BM_FeedReplayBesideSocket)
    ->Setup(Setup)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5);

// One live follower on its own connection until `context` is cancelled:
// decoding every message (as a consumer in this process would) or only
// receiving its bytes (the server's work alone, as when consumers run on
// other machines). Adds what it got to `events` or `bytes`.
void Follow(const std::shared_ptr<grpc::Channel>& channel,
            grpc::ClientContext* context, bool decode,
            std::atomic<uint64_t>* events, std::atomic<uint64_t>* bytes) {
  v1::WatchMembershipChangesRequest request;
  request.set_from_now(true);
  if (decode) {
    auto stub = v1::ChangeFeedService::NewStub(channel);
    auto reader = stub->WatchMembershipChanges(context, request);
    v1::WatchMembershipChangesResponse r;
    while (reader->Read(&r)) {
      uint64_t n = 0;
      for (const auto& run : r.runs()) n += run.contact_ids_size();
      *events += n;
    }
    (void)reader->Finish();
    return;
  }
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader =
      RawFeedReader(channel, context, request);
  grpc::ByteBuffer message;
  while (reader->Read(&message)) *bytes += message.Length();
  (void)reader->Finish();
}

void BM_BatchUpsertWithFollowers(benchmark::State& state) {
  if (g_fixture->server == nullptr) {
    return state.SkipWithError(g_fixture->error.c_str());
  }
  const int followers = static_cast<int>(state.range(0));
  const bool decode = state.range(1) != 0;
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> bytes{0};
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::thread> threads;
  for (int f = 0; f < followers; ++f) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    grpc::ClientContext* context = contexts.back().get();
    context->AddMetadata("authorization",
                         std::string("Bearer ") + kBenchApiKey);
    threads.emplace_back(Follow, g_fixture->server->NewChannel(10 + f), context,
                         decode, &events, &bytes);
  }
  auto stub = v1::ContactService::NewStub(g_fixture->server->NewChannel(0));
  std::string error;
  for (auto _ : state) {
    if (!WriteBatch(*stub, &g_fixture->next_new, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
  }
  for (auto& c : contexts) c->TryCancel();
  for (std::thread& t : threads) t.join();
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.SetLabel(followers == 0 ? "no followers"
                 : decode       ? absl::StrCat(followers, " decoding followers")
                                : absl::StrCat(followers, " raw followers"));
  if (followers > 0 && decode) {
    state.counters["events_per_follower"] =
        static_cast<double>(events.load()) / followers;
  } else if (followers > 0) {
    state.counters["bytes_per_follower"] =
        static_cast<double>(bytes.load()) / followers;
  }
}
// Alternated, so that the machine's drift hits every variant alike.
BENCHMARK(BM_BatchUpsertWithFollowers)
    ->ArgNames({"followers", "decode"})
    ->Args({0, 0})
    ->Args({16, 1})
    ->Args({16, 0})
    ->Args({0, 0})
    ->Args({16, 1})
    ->Args({16, 0})
    ->Setup(Setup)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
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
