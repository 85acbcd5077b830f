// Count: in-process (Workspace::CountMembers, the cached cardinality) and over
// gRPC on loopback beside grpc.health.v1.Health/Check, the cheapest RPC the
// same server answers. Goals (issue 4): in-process under 100 ns; count RPC
// p50 within 1.2x of the empty RPC (issue 4), at most 1.0x (issue 18).
//
//   build-bench/bench/bench_count
#include <grpcpp/grpcpp.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine_fixture.h"
#include "bench/grpc_fixture.h"
#include "bench/sqlite_dataset.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "segments/v1/segments.grpc.pb.h"

namespace segments::bench {
namespace {

constexpr size_t kSegments = 200;

void BM_CountInProcess(benchmark::State& state) {
  Workspace& ws = EngineWorkspace(BenchContacts());
  absl::StatusOr<std::vector<SegmentId>> ids =
      EnsureSegmentCount(ws, static_cast<size_t>(state.range(0)));
  if (!ids.ok() || ids->empty()) {
    state.SkipWithError("cannot create the segments");
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<MemberCount> count = ws.CountMembers((*ids)[i]);
    benchmark::DoNotOptimize(count);
    if (++i == ids->size()) i = 0;
  }
  state.counters["contacts"] = static_cast<double>(BenchContacts());
}
BENCHMARK(BM_CountInProcess)->ArgName("segments")->Arg(kSegments);

// The server of the RPC benchmarks: the cached dataset of BenchContacts()
// contacts and 200 segments (ids 1..200), served as it is (read-only use).
struct RpcFixture {
  std::unique_ptr<BenchServer> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
  std::unique_ptr<v1::SegmentService::Stub> segments;
};

RpcFixture* Rpc() {
  static RpcFixture* const fixture = [] {
    auto* f = new RpcFixture();
    absl::StatusOr<CachedDataset> data =
        EnsureServerDataset(BenchContacts(), kSegments);
    if (!data.ok()) {
      Progress(data.status().ToString());
      return f;
    }
    const int64_t start = NowNs();
    absl::StatusOr<std::unique_ptr<BenchServer>> server = BenchServer::Start(
        data->path, SqliteOptions::Synchronous::kFull, /*owns_dir=*/false);
    if (!server.ok()) {
      Progress(server.status().ToString());
      return f;
    }
    if (absl::Status s = (*server)->OpenBenchWorkspace(); !s.ok()) {
      Progress(s.ToString());
      return f;
    }
    Progress(absl::StrCat("server up and workspace open in ",
                          SecondsSince(start), " s"));
    f->server = *std::move(server);
    f->channel = f->server->NewChannel(0);
    f->health = grpc::health::v1::Health::NewStub(f->channel);
    f->segments = v1::SegmentService::NewStub(f->channel);
    return f;
  }();
  return fixture;
}

// Both calls carry the same authorization header (the health service ignores
// it), so the requests differ only in what the server does with them.
grpc::Status HealthCheck(RpcFixture& f) {
  return bench::HealthCheck(*f.health);
}

grpc::Status CountRpc(RpcFixture& f, SegmentId id, uint64_t* members) {
  grpc::ClientContext context;
  Authorize(context);
  v1::CountSegmentMembersRequest request;
  request.set_segment_id(id);
  v1::CountSegmentMembersResponse response;
  grpc::Status status =
      f.segments->CountSegmentMembers(&context, request, &response);
  *members = response.member_count();
  return status;
}

void BM_RpcHealthCheck(benchmark::State& state) {
  RpcFixture& f = *Rpc();
  if (f.server == nullptr) return state.SkipWithError("no server");
  Latencies latencies;
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    grpc::Status status = HealthCheck(f);
    latencies.Add(NowNs() - t0);
    if (!status.ok()) return state.SkipWithError("health check failed");
  }
  ReportPercentiles(state, latencies, "");
}
BENCHMARK(BM_RpcHealthCheck)->UseRealTime()->MinTime(2);

void BM_RpcCount(benchmark::State& state) {
  RpcFixture& f = *Rpc();
  if (f.server == nullptr) return state.SkipWithError("no server");
  Latencies latencies;
  SegmentId id = 1;
  uint64_t members = 0;
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    grpc::Status status = CountRpc(f, id, &members);
    latencies.Add(NowNs() - t0);
    if (!status.ok()) return state.SkipWithError("count failed");
    benchmark::DoNotOptimize(members);
    id = id % kSegments + 1;
  }
  ReportPercentiles(state, latencies, "");
}
BENCHMARK(BM_RpcCount)->UseRealTime()->MinTime(2);

// Alternates the empty RPC with `call` (returning a grpc::Status) in one
// loop, so that machine noise hits both alike, and runs `after` untimed
// after each pair; reports health_ and `prefix` percentiles and ratio_p50 =
// call p50 / health p50. Skips the benchmark when an RPC fails.
template <typename Call, typename After>
void AlternateWithHealth(benchmark::State& state, RpcFixture& f,
                         const char* prefix, Call call, After after) {
  Latencies health, measured;
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    grpc::Status h = HealthCheck(f);
    const int64_t t1 = NowNs();
    grpc::Status c = call();
    const int64_t t2 = NowNs();
    if (!h.ok() || !c.ok()) return state.SkipWithError("RPC failed");
    health.Add(t1 - t0);
    measured.Add(t2 - t1);
    after();
  }
  ReportPercentiles(state, health, "health_");
  ReportPercentiles(state, measured, prefix);
  const double health_p50 = health.PercentileUs(50);
  state.counters["ratio_p50"] =
      health_p50 > 0 ? measured.PercentileUs(50) / health_p50 : 0;
}

// The goal's figure: the count alternated with the empty RPC.
void BM_RpcCountBesideHealth(benchmark::State& state) {
  RpcFixture& f = *Rpc();
  if (f.server == nullptr) return state.SkipWithError("no server");
  SegmentId id = 1;
  uint64_t members = 0;
  AlternateWithHealth(
      state, f, "count_", [&] { return CountRpc(f, id, &members); },
      [&] { id = id % kSegments + 1; });
}
BENCHMARK(BM_RpcCountBesideHealth)->UseRealTime()->MinTime(5);

// Listings (issue 16): one page of ListSegmentMembers after another through
// a big segment (the largest of the 200, by its count), following
// next_page_token and starting again at the end, alternated with the empty
// RPC. Arg 0: ids, 1,000 a page; arg 1: full contacts, 100 a page.
void BM_RpcListMembersBesideHealth(benchmark::State& state) {
  RpcFixture& f = *Rpc();
  if (f.server == nullptr) return state.SkipWithError("no server");
  const bool full = state.range(0) == 1;
  SegmentId biggest = 1;
  uint64_t most = 0;
  for (SegmentId id = 1; id <= kSegments; ++id) {
    uint64_t members = 0;
    if (!CountRpc(f, id, &members).ok()) return state.SkipWithError("count");
    if (members > most) {
      biggest = id;
      most = members;
    }
  }
  v1::ListSegmentMembersRequest request;
  request.set_segment_id(biggest);
  request.set_view(full ? v1::FULL : v1::IDS);
  request.set_page_size(full ? 100 : 1000);
  size_t listed = 0;
  v1::ListSegmentMembersResponse response;
  AlternateWithHealth(
      state, f, "page_",
      [&] {
        grpc::ClientContext context;
        Authorize(context);
        return f.segments->ListSegmentMembers(&context, request, &response);
      },
      [&] {
        listed += static_cast<size_t>(full ? response.contacts_size()
                                           : response.contact_ids_size());
        request.set_page_token(response.next_page_token());
        response = v1::ListSegmentMembersResponse();  // each call a new one
      });
  state.counters["members"] = static_cast<double>(most);
  state.counters["per_page"] =
      static_cast<double>(listed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RpcListMembersBesideHealth)
    ->ArgName("full")
    ->Arg(0)
    ->Arg(1)
    ->UseRealTime()
    ->MinTime(3);

}  // namespace
}  // namespace segments::bench
