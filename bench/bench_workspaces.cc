// Many workspaces on one node (issue 16): a server over the cached data
// directory of SEGMENTS_BENCH_WORKSPACES workspaces (default 10,000) of 1,000
// contacts and 5 segments each (many_workspaces_dataset.h), with the
// default registry options (at most 1,000 open, 8 GiB). In order, in one
// process that holds nothing else:
//
// - BM_Start: SegmentsServer::Start until the first health check answers:
//   the catalog is read, no workspace is opened. Resident memory, open
//   descriptors and threads after it.
// - BM_FirstCallToAColdWorkspace: one CountSegmentMembers to each of 1,000
//   workspaces never opened (the call waits for the open), p50/p99, beside a
//   second call to the same workspace (open by then).
// - BM_HotCallsWhileColdOpen: count calls to 10 open workspaces, alone and
//   while another client opens cold workspaces back to back; three rounds of
//   each, alternated. Ratio: the hot p50 during the opens over the hot p50
//   alone.
// - BM_EveryWorkspaceOnce: one call to each remaining workspace, past the
//   1,000 that stay open (so the least recently used are closed), then
//   memory, descriptors and threads again.
//
// Descriptors and threads are the whole process's: the benchmark's client
// channels (a few descriptors, gRPC's client threads) are included.
//
//   build-bench/bench/bench_workspaces
//   SEGMENTS_BENCH_WORKSPACES=1000 build-bench/bench/bench_workspaces  # quick
#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/engine_fixture.h"
#include "bench/grpc_fixture.h"
#include "bench/many_workspaces_dataset.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "segments/v1/segments.grpc.pb.h"

namespace segments::bench {
namespace {

constexpr size_t kContactsEach = 1000;
constexpr size_t kSegmentsEach = 5;
constexpr size_t kHot = 10;
constexpr size_t kColdSample = 1000;
constexpr int kRounds = 3;
constexpr int kHotCallsPerRound = 3000;

size_t WorkspaceCount() {
  const size_t n = EnvCount("SEGMENTS_BENCH_WORKSPACES", 0);
  return n > kHot + kColdSample ? n : 10000;
}

std::string& DataDir() {
  static auto* const dir = new std::string();
  return *dir;
}

size_t CountEntries(const char* dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

void ReportProcess(benchmark::State& state, const char* prefix) {
  malloc_trim(0);
  const std::string p(prefix);
  state.counters[p + "rss_MB"] = ResidentBytes() / 1e6;
  // SQLite's own heap (page caches, schemas, prepared statements).
  state.counters[p + "sqlite_MB"] = sqlite3_memory_used() / 1e6;
  state.counters[p + "fds"] =
      static_cast<double>(CountEntries("/proc/self/fd"));
  state.counters[p + "threads"] =
      static_cast<double>(CountEntries("/proc/self/task"));
}

// The server and one client per role, shared by the benchmarks in order.
struct Node {
  std::unique_ptr<BenchServer> server;
  std::unique_ptr<grpc::health::v1::Health::Stub> health;
  std::unique_ptr<v1::SegmentService::Stub> calls;
  // The client that opens cold workspaces during BM_HotCallsWhileColdOpen.
  std::unique_ptr<v1::SegmentService::Stub> opener;
  // Workspaces kHot.. not called yet; wraps around to kHot at the end.
  std::atomic<size_t> next_cold{kHot};
};

Node& TheNode() {
  static auto* const node = new Node();
  return *node;
}

size_t TakeCold() {
  const size_t n = WorkspaceCount();
  size_t i = TheNode().next_cold.fetch_add(1);
  return kHot + (i - kHot) % (n - kHot);
}

// CountSegmentMembers of one of workspace `ws`'s segments; its latency in ns,
// or -1 when the call fails.
int64_t TimedCount(v1::SegmentService::Stub& stub, size_t ws, uint64_t call) {
  grpc::ClientContext context;
  Authorize(context, ManyWorkspacesKey(ws));
  v1::CountSegmentMembersRequest request;
  request.set_segment_id(1 + call % kSegmentsEach);
  v1::CountSegmentMembersResponse response;
  const int64_t t0 = NowNs();
  const grpc::Status status =
      stub.CountSegmentMembers(&context, request, &response);
  const int64_t ns = NowNs() - t0;
  if (!status.ok()) {
    std::fprintf(stderr, "count in workspace %zu: %s\n", ws,
                 status.error_message().c_str());
    return -1;
  }
  return ns;
}

void BM_Start(benchmark::State& state) {
  Node& node = TheNode();
  for (auto _ : state) {
    ReportProcess(state, "before_");
    const int64_t t0 = NowNs();
    absl::StatusOr<std::unique_ptr<BenchServer>> server = BenchServer::Start(
        DataDir(), SqliteOptions::Synchronous::kFull, /*owns_dir=*/false);
    if (!server.ok())
      return state.SkipWithError(server.status().ToString().c_str());
    node.server = *std::move(server);
    std::shared_ptr<grpc::Channel> channel = node.server->NewChannel(0);
    node.health = grpc::health::v1::Health::NewStub(channel);
    if (!HealthCheck(*node.health).ok()) {
      return state.SkipWithError("health check failed");
    }
    state.SetIterationTime(SecondsSince(t0));
    node.calls = v1::SegmentService::NewStub(channel);
    node.opener = v1::SegmentService::NewStub(node.server->NewChannel(1));
    ReportProcess(state, "");
  }
  state.counters["workspaces"] = static_cast<double>(WorkspaceCount());
}
BENCHMARK(BM_Start)->Iterations(1)->UseManualTime()->Unit(
    benchmark::kMillisecond);

void BM_FirstCallToAColdWorkspace(benchmark::State& state) {
  Node& node = TheNode();
  if (node.calls == nullptr) return state.SkipWithError("no server");
  for (auto _ : state) {
    Latencies first, second;
    const int64_t t0 = NowNs();
    for (size_t i = 0; i < kColdSample; ++i) {
      const size_t ws = TakeCold();
      const int64_t cold = TimedCount(*node.calls, ws, 0);
      const int64_t warm = TimedCount(*node.calls, ws, 1);
      if (cold < 0 || warm < 0) return state.SkipWithError("a call failed");
      first.Add(cold);
      second.Add(warm);
    }
    state.SetIterationTime(SecondsSince(t0));
    ReportPercentiles(state, first, "cold_");
    ReportPercentiles(state, second, "then_open_");
    ReportProcess(state, "");
  }
}
BENCHMARK(BM_FirstCallToAColdWorkspace)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// kHotCallsPerRound count calls round-robin over the hot workspaces.
bool HotRound(Latencies& latencies) {
  v1::SegmentService::Stub& stub = *TheNode().calls;
  for (int i = 0; i < kHotCallsPerRound; ++i) {
    const int64_t ns = TimedCount(stub, i % kHot, i);
    if (ns < 0) return false;
    latencies.Add(ns);
  }
  return true;
}

void BM_HotCallsWhileColdOpen(benchmark::State& state) {
  Node& node = TheNode();
  if (node.calls == nullptr) return state.SkipWithError("no server");
  for (auto _ : state) {
    Latencies warmup;
    if (!HotRound(warmup)) return state.SkipWithError("a hot call failed");
    Latencies alone, during, opens;
    const int64_t t0 = NowNs();
    for (int round = 0; round < kRounds; ++round) {
      if (!HotRound(alone)) return state.SkipWithError("a hot call failed");
      std::atomic<bool> stop{false};
      std::atomic<bool> failed{false};
      std::thread opener([&] {
        while (!stop.load()) {
          const int64_t ns = TimedCount(*node.opener, TakeCold(), 0);
          if (ns < 0) {
            failed = true;
            return;
          }
          opens.Add(ns);
        }
      });
      const bool ok = HotRound(during);
      stop = true;
      opener.join();
      if (!ok || failed) return state.SkipWithError("a call failed");
    }
    state.SetIterationTime(SecondsSince(t0));
    state.counters["cold_opens"] = static_cast<double>(opens.size());
    const double alone_p50 = alone.PercentileUs(50);
    const double during_p50 = during.PercentileUs(50);
    ReportPercentiles(state, alone, "hot_alone_");
    ReportPercentiles(state, during, "hot_during_opens_");
    ReportPercentiles(state, opens, "cold_during_");
    state.counters["ratio_p50"] = during_p50 / alone_p50;
  }
}
BENCHMARK(BM_HotCallsWhileColdOpen)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_EveryWorkspaceOnce(benchmark::State& state) {
  Node& node = TheNode();
  if (node.calls == nullptr) return state.SkipWithError("no server");
  for (auto _ : state) {
    const size_t n = WorkspaceCount();
    size_t calls = 0;
    const int64_t t0 = NowNs();
    while (node.next_cold.load() < n) {
      if (TimedCount(*node.calls, TakeCold(), 0) < 0) {
        return state.SkipWithError("a call failed");
      }
      ++calls;
    }
    const double seconds = SecondsSince(t0);
    state.SetIterationTime(seconds);
    state.counters["calls"] = static_cast<double>(calls);
    state.counters["opens_per_s"] = calls / seconds;
    ReportProcess(state, "");
  }
}
BENCHMARK(BM_EveryWorkspaceOnce)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segments::bench

int main(int argc, char** argv) {
  namespace bench = segments::bench;
  absl::StatusOr<bench::CachedDataset> data =
      bench::EnsureManyWorkspacesDataset(
          bench::WorkspaceCount(), bench::kContactsEach, bench::kSegmentsEach);
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
    return 1;
  }
  if (data->built_now) {
    // The start figures are of a process that built nothing.
    bench::Progress("re-executing for a clean process");
    execv("/proc/self/exe", argv);
    std::perror("execv");
    return 1;
  }
  bench::DataDir() = data->path;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  bench::TheNode().server.reset();
  return 0;
}
