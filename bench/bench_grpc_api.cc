// What gRPC itself costs a unary call, by API: one trivial method served on
// the synchronous API, the same on the callback API, and gRPC's own health
// check (a callback method), alternated call by call on one server with as
// many completion queues as segments-server uses. The difference between
// the first two is what a synchronous method pays to hand each call to a
// handler thread (docs/decisions.md, "Which calls run on the callback API").
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/engine_fixture.h"
#include "bench/stats.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "segments/bench/ping.grpc.pb.h"

namespace segments::bench {
namespace {

using ::segments::bench::PingRequest;
using ::segments::bench::PingResponse;

class SyncPingService final : public SyncPing::Service {
  grpc::Status Ping(grpc::ServerContext* /*context*/,
                    const PingRequest* request,
                    PingResponse* response) override {
    response->set_value(request->value());
    return grpc::Status::OK;
  }
};

class CallbackPingService final : public CallbackPing::CallbackService {
  grpc::ServerUnaryReactor* Ping(grpc::CallbackServerContext* context,
                                 const PingRequest* request,
                                 PingResponse* response) override {
    response->set_value(request->value());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

template <typename Stub>
grpc::Status Ping(Stub& stub, int64_t value) {
  grpc::ClientContext context;
  PingRequest request;
  request.set_value(value);
  PingResponse response;
  return stub.Ping(&context, request, &response);
}

grpc::Status Health(grpc::health::v1::Health::Stub& stub) {
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  return stub.Check(&context, request, &response);
}

void BM_SyncBesideCallback(benchmark::State& state) {
  grpc::EnableDefaultHealthCheckService(true);
  SyncPingService sync;
  CallbackPingService callback;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&sync);
  builder.RegisterService(&callback);
  // As segments-server sets it (server/server.cc).
  builder.SetSyncServerOption(
      grpc::ServerBuilder::NUM_CQS,
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return state.SkipWithError("no server");
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto sync_stub = SyncPing::NewStub(channel);
  auto callback_stub = CallbackPing::NewStub(channel);

  Latencies health_ns, sync_ns, callback_ns;
  int64_t value = 0;
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    grpc::Status h = Health(*health);
    const int64_t t1 = NowNs();
    grpc::Status s = Ping(*sync_stub, ++value);
    const int64_t t2 = NowNs();
    grpc::Status c = Ping(*callback_stub, value);
    const int64_t t3 = NowNs();
    if (!h.ok() || !s.ok() || !c.ok()) return state.SkipWithError("RPC failed");
    health_ns.Add(t1 - t0);
    sync_ns.Add(t2 - t1);
    callback_ns.Add(t3 - t2);
  }
  ReportPercentiles(state, health_ns, "health_");
  ReportPercentiles(state, sync_ns, "sync_");
  ReportPercentiles(state, callback_ns, "callback_");
  const double callback_p50 = callback_ns.PercentileUs(50);
  if (callback_p50 > 0) {
    state.counters["sync_over_callback_p50"] =
        sync_ns.PercentileUs(50) / callback_p50;
    state.counters["sync_minus_callback_p50_us"] =
        sync_ns.PercentileUs(50) - callback_p50;
  }
  server->Shutdown();
}
BENCHMARK(BM_SyncBesideCallback)->UseRealTime()->MinTime(5);

}  // namespace
}  // namespace segments::bench
