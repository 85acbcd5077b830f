// The cluster of docs/scale-out.md on this machine (issue 17): PostgreSQL,
// three segments-server nodes with leases, nginx in front with
// deploy/nginx/segments.conf (tests/cluster/cluster.h).
//
//   BM_CountThroughNginxBesideDirect  a count RPC through nginx and the
//       same count straight to the node serving the workspace, alternated
//       in one loop: proxy_p50_us, direct_p50_us, their ratio and
//       difference (the proxy's cost).
//   BM_FailoverTime/<contacts>  SIGKILL of the node serving a workspace of
//       <contacts> contacts -> the first successful count for it through
//       nginx (counts without client retries, every 10 ms), as a client
//       sees it. With --lease_ttl_ms 3000, of which the lease's lapse is
//       most, then the new owner's load from PostgreSQL.
//   BM_BatchUpsertPostgresBesideSqlite/<batch>  BatchUpsertContacts of
//       <batch> new contacts through gRPC, straight to a PostgreSQL node
//       and to a SQLite node (both without durability: the test
//       PostgreSQL runs with fsync off, SQLite with NORMAL), alternated.
//
// Needs PostgreSQL's server binaries and nginx (scripts/install-deps.sh).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/stats.h"
#include "benchmark/benchmark.h"
#include "tests/cluster/cluster.h"
#include "tests/cluster/cluster_client.h"
#include "tests/server/test_server.h"

namespace segments::bench {
namespace {

using testing::Cluster;
using testing::ClusterOptions;
using testing::ClusterWorkspace;

constexpr absl::Duration kLeaseTtl = absl::Seconds(3);
constexpr int64_t kUpsertBatch = 10000;

int64_t NowNs() { return absl::ToUnixNanos(absl::Now()); }

absl::StatusOr<std::unique_ptr<Cluster>> StartCluster() {
  ClusterOptions options;
  options.lease_ttl = kLeaseTtl;
  return Cluster::Start(options);
}

// A workspace of `contacts` contacts and a segment of about a fifth of
// them, written through nginx, and the node that serves it (the one its key
// routes to: the lease follows the routing, docs/scale-out.md).
struct ServedWorkspace {
  ClusterWorkspace ws;
  int node = -1;
  uint64_t segment_id = 0;
};

absl::StatusOr<ServedWorkspace> MakeServedWorkspace(Cluster& cluster,
                                                    int64_t contacts) {
  auto channel = cluster.ProxyChannel();
  absl::StatusOr<ClusterWorkspace> ws = testing::CreateClusterWorkspace(
      channel, testing::kClusterAdminKey, "bench");
  if (!ws.ok()) return ws.status();
  absl::StatusOr<v1::Segment> segment = testing::CreateSegment(
      channel, ws->api_key,
      testing::MakeSegment(
          "germany", {testing::MakeCondition("country", v1::Condition::EQUALS,
                                             {testing::StringValue("DE")})}));
  if (!segment.ok()) return segment.status();
  ServedWorkspace out;
  out.ws = *ws;
  out.segment_id = segment->id();
  for (int64_t first = 0; first < contacts; first += kUpsertBatch) {
    absl::Status s = testing::Upsert(
        channel, ws->api_key,
        testing::NumberedContacts("c", first,
                                  std::min(kUpsertBatch, contacts - first)),
        absl::Minutes(2));
    if (!s.ok()) return s;
  }
  absl::SleepFor(absl::Milliseconds(200));  // nginx logs after answering
  out.node = cluster.LastNodeOf(ws->id);
  if (out.node == -1) return absl::InternalError("nginx logged no node");
  return out;
}

void BM_CountThroughNginxBesideDirect(benchmark::State& state) {
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = StartCluster();
  if (!cluster.ok()) {
    return state.SkipWithError(cluster.status().ToString().c_str());
  }
  absl::StatusOr<ServedWorkspace> served =
      MakeServedWorkspace(**cluster, state.range(0));
  if (!served.ok()) {
    return state.SkipWithError(served.status().ToString().c_str());
  }
  auto proxy = (*cluster)->ProxyChannel();
  auto direct = (*cluster)->NodeChannel(served->node);
  Latencies through_nginx, straight;
  for (auto _ : state) {
    int64_t t0 = NowNs();
    absl::StatusOr<uint64_t> a =
        testing::CountMembers(proxy, served->ws.api_key, served->segment_id);
    through_nginx.Add(NowNs() - t0);
    t0 = NowNs();
    absl::StatusOr<uint64_t> b =
        testing::CountMembers(direct, served->ws.api_key, served->segment_id);
    straight.Add(NowNs() - t0);
    if (!a.ok() || !b.ok() || *a != *b) {
      return state.SkipWithError("a count failed or the two differ");
    }
  }
  const double proxy_p50 = through_nginx.PercentileUs(50);
  const double direct_p50 = straight.PercentileUs(50);
  ReportPercentiles(state, through_nginx, "proxy_");
  ReportPercentiles(state, straight, "direct_");
  state.counters["ratio_p50"] = direct_p50 > 0 ? proxy_p50 / direct_p50 : 0;
  state.counters["proxy_cost_us"] = proxy_p50 - direct_p50;
}
BENCHMARK(BM_CountThroughNginxBesideDirect)
    ->Arg(100000)
    ->UseRealTime()
    ->MinTime(3)
    ->Unit(benchmark::kMicrosecond);

void BM_FailoverTime(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<Cluster>> cluster = StartCluster();
    if (!cluster.ok()) {
      return state.SkipWithError(cluster.status().ToString().c_str());
    }
    absl::StatusOr<ServedWorkspace> served =
        MakeServedWorkspace(**cluster, state.range(0));
    if (!served.ok()) {
      return state.SkipWithError(served.status().ToString().c_str());
    }
    auto proxy = (*cluster)->ProxyChannel(/*retries=*/false);
    state.ResumeTiming();
    const absl::Time killed_at = absl::Now();
    (*cluster)->Kill(served->node);
    absl::Time served_at = absl::InfiniteFuture();
    const absl::Time deadline = killed_at + absl::Seconds(120);
    while (absl::Now() < deadline) {
      if (testing::CountMembers(proxy, served->ws.api_key, served->segment_id,
                                absl::Seconds(60))
              .ok()) {
        served_at = absl::Now();
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    state.PauseTiming();
    if (served_at == absl::InfiniteFuture()) {
      return state.SkipWithError("not served again within 120 s");
    }
    state.counters["failover_s"] = absl::ToDoubleSeconds(served_at - killed_at);
    state.counters["lease_ttl_s"] = absl::ToDoubleSeconds(kLeaseTtl);
    cluster->reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_FailoverTime)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

// BatchUpsertContacts of <batch> new contacts per call, straight to a
// PostgreSQL node of the cluster and to a SQLite node, alternated in one
// loop; contacts per second of each and their ratio.
void BM_BatchUpsertPostgresBesideSqlite(benchmark::State& state) {
  ClusterOptions options;
  options.lease_ttl = kLeaseTtl;
  options.sqlite_node = true;
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(options);
  if (!cluster.ok()) {
    return state.SkipWithError(cluster.status().ToString().c_str());
  }
  absl::StatusOr<ServedWorkspace> on_postgres =
      MakeServedWorkspace(**cluster, 0);
  if (!on_postgres.ok()) {
    return state.SkipWithError(on_postgres.status().ToString().c_str());
  }
  auto sqlite = (*cluster)->SqliteChannel();
  absl::StatusOr<ClusterWorkspace> on_sqlite = testing::CreateClusterWorkspace(
      sqlite, testing::kClusterAdminKey, "bench sqlite");
  if (!on_sqlite.ok()) {
    return state.SkipWithError(on_sqlite.status().ToString().c_str());
  }
  auto postgres = (*cluster)->NodeChannel(on_postgres->node);
  const int64_t batch = state.range(0);
  int64_t postgres_ns = 0, sqlite_ns = 0, first = 0;
  for (auto _ : state) {
    const std::vector<v1::Contact> contacts =
        testing::NumberedContacts("u", first, batch);
    first += batch;
    int64_t t0 = NowNs();
    absl::Status a = testing::Upsert(postgres, on_postgres->ws.api_key,
                                     contacts, absl::Minutes(1));
    postgres_ns += NowNs() - t0;
    t0 = NowNs();
    absl::Status b =
        testing::Upsert(sqlite, on_sqlite->api_key, contacts, absl::Minutes(1));
    sqlite_ns += NowNs() - t0;
    if (!a.ok() || !b.ok()) return state.SkipWithError("an upsert failed");
  }
  const double contacts = static_cast<double>(first);
  state.counters["postgres_contacts_per_s"] =
      postgres_ns > 0 ? contacts * 1e9 / static_cast<double>(postgres_ns) : 0;
  state.counters["sqlite_contacts_per_s"] =
      sqlite_ns > 0 ? contacts * 1e9 / static_cast<double>(sqlite_ns) : 0;
  state.counters["sqlite_over_postgres"] =
      postgres_ns > 0 && sqlite_ns > 0
          ? static_cast<double>(postgres_ns) / static_cast<double>(sqlite_ns)
          : 0;
}
BENCHMARK(BM_BatchUpsertPostgresBesideSqlite)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime()
    ->MinTime(2)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segments::bench

BENCHMARK_MAIN();
