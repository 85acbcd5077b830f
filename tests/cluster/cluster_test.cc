// The cluster of docs/scale-out.md, as processes: PostgreSQL, three
// segments-server nodes with leases (--node_id, --lease_ttl_ms 2000),
// nginx in front with deploy/nginx/segments.conf, clients through nginx
// with deploy/grpc/service_config.json. Each case starts a cluster of its
// own (tests/cluster/cluster.h) and stops it at the end.
//
// Skipped only where PostgreSQL's or nginx's binaries cannot be installed
// (scripts/install-deps.sh installs both).
#include "tests/cluster/cluster.h"

#include <signal.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segments/v1/contacts.grpc.pb.h"
#include "segments/v1/feed.pb.h"
#include "server/auth.h"
#include "tests/cluster/cluster_client.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::Each;
using ::testing::SizeIs;

#define ASSERT_OK(expr)                          \
  do {                                           \
    const absl::Status status_ = StatusOf(expr); \
    ASSERT_TRUE(status_.ok()) << status_;        \
  } while (false)

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

constexpr absl::Duration kLeaseTtl = absl::Seconds(2);

std::unique_ptr<Cluster> StartCluster() {
  ClusterOptions options;
  options.lease_ttl = kLeaseTtl;
  absl::StatusOr<std::unique_ptr<Cluster>> cluster =
      Cluster::Start(std::move(options));
  if (!cluster.ok()) {
    if (absl::IsFailedPrecondition(cluster.status())) {
      // Printed for ctest's SKIP_REGULAR_EXPRESSION ("... not installed").
      std::cout << cluster.status().message() << "\n";
      return nullptr;
    }
    ADD_FAILURE() << cluster.status();
    return nullptr;
  }
  return *std::move(cluster);
}

#define START_CLUSTER_OR_SKIP(var)                          \
  std::unique_ptr<Cluster> var = StartCluster();            \
  if (var == nullptr) {                                     \
    if (HasFailure()) return;                               \
    GTEST_SKIP() << "PostgreSQL or nginx is not installed"; \
  }

// LastNodeOf once nginx has logged the calls answered so far (where a test
// does not count its calls: retries are calls too).
int SettledNodeOf(const Cluster& cluster, uint64_t workspace) {
  absl::SleepFor(absl::Milliseconds(300));
  return cluster.LastNodeOf(workspace);
}

v1::Segment EveryoneSegment() {
  return MakeSegment("everyone",
                     {MakeCondition("email", v1::Condition::ENDS_WITH,
                                    {StringValue("@example.com")})});
}

// Calls until one succeeds or `timeout` passes (the service config retries
// each call 5 times within about 3 s; a failover may take longer).
template <typename F>
auto Eventually(F call, absl::Duration timeout = absl::Seconds(20))
    -> decltype(call()) {
  const absl::Time deadline = absl::Now() + timeout;
  auto result = call();
  while (!result.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    result = call();
  }
  return result;
}

// Routing and serving (deploy/nginx/segments.conf): nginx sends every call
// of one workspace to one node, the workspaces spread over the nodes, and
// each serves there from its first call, whichever node created it (the
// creator gives a new workspace up at once; docs/scale-out.md).
TEST(ClusterTest, EveryWorkspaceServesFromTheNodeItsKeyRoutesTo) {
  START_CLUSTER_OR_SKIP(cluster);
  auto channel = cluster->ProxyChannel(/*retries=*/false);
  constexpr int kWorkspaces = 12;
  std::vector<ClusterWorkspace> workspaces;
  size_t calls = 0;  // through nginx, each one line of its log
  for (int w = 0; w < kWorkspaces; ++w) {
    ++calls;
    absl::StatusOr<ClusterWorkspace> ws = CreateClusterWorkspace(
        channel, kClusterAdminKey, "routed " + std::to_string(w));
    ASSERT_TRUE(ws.ok()) << ws.status();
    // The key carries the workspace, as nginx's map reads it.
    EXPECT_EQ(RoutingHintOf(ws->api_key), ws->id) << ws->api_key;
    workspaces.push_back(*ws);
  }
  // Admin calls carry no workspace: they all went to one node.
  std::set<std::string> admin_nodes;
  for (const RoutedCall& r : cluster->RoutedCalls(calls)) {
    EXPECT_EQ(r.grpc_status, "0") << r.upstream();
    admin_nodes.insert(r.upstream());
  }
  ASSERT_THAT(admin_nodes, SizeIs(1));

  // Without retries: each call is served by the node nginx picks.
  for (int w = 0; w < kWorkspaces; ++w) {
    const ClusterWorkspace& ws = workspaces[w];
    ASSERT_OK(Upsert(channel, ws.api_key, NumberedContacts("c", 0, 20 + w)));
    absl::StatusOr<v1::Segment> everyone =
        CreateSegment(channel, ws.api_key, EveryoneSegment());
    ASSERT_TRUE(everyone.ok()) << everyone.status();
    for (int call = 0; call < 2; ++call) {
      absl::StatusOr<uint64_t> count =
          CountMembers(channel, ws.api_key, everyone->id());
      ASSERT_TRUE(count.ok()) << count.status();
      EXPECT_EQ(*count, static_cast<uint64_t>(20 + w));
    }
    calls += 4;
  }
  // A forged prefix routes like a real one but authenticates nothing.
  v1::GetContactRequest get;
  get.set_id(1);
  v1::Contact contact;
  const std::string forged =
      "sk_" + WorkspaceRoutingId(workspaces[0].id) + "_" + std::string(64, 'a');
  grpc::Status refused = v1::ContactService::NewStub(channel)->GetContact(
      KeyContext(forged).get(), get, &contact);
  ++calls;
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED)
      << refused.error_message();

  // nginx's log: every call of a workspace went to one node and was
  // answered by it (a gRPC status in its trailers, not a proxy error), and
  // the workspaces spread over more than one node.
  std::map<std::string, std::set<std::string>> nodes_of;
  std::set<std::string> used;
  for (const RoutedCall& r : cluster->RoutedCalls(calls)) {
    if (r.workspace.empty() || r.workspace == "admin") continue;
    nodes_of[r.workspace].insert(r.tried.begin(), r.tried.end());
    used.insert(r.tried.begin(), r.tried.end());
    EXPECT_NE(cluster->NodeAt(r.upstream()), -1) << r.upstream();
    EXPECT_NE(r.grpc_status, "")
        << "no node answered a call of " << r.workspace;
  }
  EXPECT_THAT(nodes_of, SizeIs(kWorkspaces));
  for (const auto& [ws, nodes] : nodes_of) {
    EXPECT_THAT(nodes, SizeIs(1)) << "workspace " << ws;
  }
  EXPECT_GE(used.size(), 2u);
}

// nginx's side of a failover: the calls of a killed node's workspaces go
// to the next node on the ring (grpc_next_upstream error), answered by a
// node rather than a proxy error; the other workspaces stay where they were.
TEST(ClusterTest, NginxSendsAKilledNodesWorkspacesToTheNextNode) {
  START_CLUSTER_OR_SKIP(cluster);
  auto channel = cluster->ProxyChannel(/*retries=*/false);
  std::vector<ClusterWorkspace> workspaces;
  std::map<uint64_t, int> before;
  size_t calls = 0;
  for (int w = 0; w < 9; ++w) {
    absl::StatusOr<ClusterWorkspace> ws = CreateClusterWorkspace(
        channel, kClusterAdminKey, "moved " + std::to_string(w));
    ASSERT_TRUE(ws.ok()) << ws.status();
    (void)CountMembers(channel, ws->api_key, 1);
    calls += 2;
    before[ws->id] = cluster->LastNodeOf(ws->id, calls);
    ASSERT_NE(before[ws->id], -1);
    workspaces.push_back(*ws);
  }
  const int victim = before[workspaces[0].id];
  cluster->Kill(victim);
  for (int round = 0; round < 2; ++round) {
    for (const ClusterWorkspace& ws : workspaces) {
      (void)CountMembers(channel, ws.api_key, 1);
      const std::vector<RoutedCall> logged = cluster->RoutedCalls(++calls);
      ASSERT_EQ(logged.size(), calls);
      const RoutedCall& last = logged.back();
      ASSERT_EQ(last.workspace, WorkspaceRoutingId(ws.id));
      EXPECT_FALSE(last.grpc_status.empty())
          << "no node answered workspace " << ws.id << " after the kill";
      const int now = cluster->NodeAt(last.upstream());
      if (before[ws.id] == victim) {
        EXPECT_NE(now, victim) << "workspace " << ws.id;
        EXPECT_NE(now, -1);
      } else {
        EXPECT_EQ(now, before[ws.id]) << "workspace " << ws.id << " moved";
      }
    }
  }
}

// One workspace's writer: batches of 10 new contacts through nginx, each
// batch either acknowledged or not (then it may or may not have been
// applied, but only whole).
struct Writer {
  ClusterWorkspace ws;
  absl::Mutex mu;
  std::vector<int64_t> acked ABSL_GUARDED_BY(mu);
  std::vector<int64_t> unacked ABSL_GUARDED_BY(mu);
  std::vector<absl::Time> ack_times ABSL_GUARDED_BY(mu);
  absl::Status last_error ABSL_GUARDED_BY(mu);
  std::thread thread;
};
constexpr int64_t kBatch = 10;

void RunWriter(Writer* w, const std::shared_ptr<grpc::Channel>& channel,
               const std::atomic<bool>* stop) {
  for (int64_t b = 0; !stop->load(); ++b) {
    absl::Status s =
        Upsert(channel, w->ws.api_key,
               NumberedContacts("w", b * kBatch, kBatch), absl::Seconds(5));
    absl::MutexLock lock(&w->mu);
    if (s.ok()) {
      w->acked.push_back(b);
      w->ack_times.push_back(absl::Now());
    } else {
      w->unacked.push_back(b);
      w->last_error = s;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

// How the node serving workspace 0 goes while writers and a feed consumer
// run through nginx.
enum class Handover { kSigkill, kDrain };

// The handover under load of the two cases below: 6 workspaces of 2,000
// contacts and 3 segments, a writer each and a feed consumer of workspace
// 0, all through nginx; then workspace 0's node is killed or drained.
void WritesAndAFeedSurviveAHandover(Cluster* cluster, Handover how) {
  auto channel = cluster->ProxyChannel();
  constexpr int kWorkspaces = 6;
  constexpr int64_t kInitial = 2000;
  std::vector<std::unique_ptr<Writer>> writers;
  std::map<uint64_t, std::vector<v1::Segment>> segments;
  std::vector<ClusterWorkspace> created_workspaces;
  for (int w = 0; w < kWorkspaces; ++w) {
    absl::StatusOr<ClusterWorkspace> ws = CreateClusterWorkspace(
        channel, kClusterAdminKey, "failover " + std::to_string(w));
    ASSERT_TRUE(ws.ok()) << ws.status();
    created_workspaces.push_back(*ws);
  }
  for (const ClusterWorkspace& created_ws : created_workspaces) {
    const ClusterWorkspace* ws = &created_ws;
    ASSERT_OK(Eventually([&] {
      return Upsert(channel, ws->api_key,
                    NumberedContacts("init", 0, kInitial));
    }));
    for (const v1::Segment& s :
         {EveryoneSegment(),
          MakeSegment("germany",
                      {MakeCondition("country", v1::Condition::EQUALS,
                                     {StringValue("DE")})}),
          MakeSegment("hot",
                      {MakeCondition("lead_score", v1::Condition::GREATER_THAN,
                                     {NumberValue(50)})})}) {
      absl::StatusOr<v1::Segment> created =
          CreateSegment(channel, ws->api_key, s);
      ASSERT_TRUE(created.ok()) << created.status();
      segments[ws->id].push_back(*created);
    }
    writers.push_back(std::make_unique<Writer>());
    writers.back()->ws = *ws;
  }
  // The victim: the node serving workspace 0; its workspaces are the ones
  // nginx sent there.
  const int victim = SettledNodeOf(*cluster, writers[0]->ws.id);
  ASSERT_NE(victim, -1) << cluster->AccessLog();
  std::vector<Writer*> moved;
  for (auto& w : writers) {
    if (SettledNodeOf(*cluster, w->ws.id) == victim) moved.push_back(w.get());
  }

  // A feed consumer of workspace 0 through nginx, resuming after each end.
  const ClusterWorkspace feed_ws = writers[0]->ws;
  const std::vector<uint64_t> feed_segments = {segments[feed_ws.id][0].id(),
                                               segments[feed_ws.id][1].id()};
  FeedCancel feed_cancel;
  FeedLog consumed;
  std::atomic<uint64_t> consumed_until{0};
  std::vector<grpc::StatusCode> feed_ends;
  std::thread consumer([&] {
    auto feed_channel = cluster->ProxyChannel();
    while (!feed_cancel.cancelled()) {
      grpc::Status end =
          FollowFeed(feed_channel, feed_ws.api_key, feed_segments,
                     &consumed_until, &consumed, &feed_cancel);
      if (feed_cancel.cancelled()) break;
      feed_ends.push_back(end.error_code());
      absl::SleepFor(absl::Milliseconds(100));
    }
  });

  std::atomic<bool> stop{false};
  for (auto& w : writers) {
    Writer* p = w.get();
    auto writer_channel = cluster->ProxyChannel();
    p->thread = std::thread(
        [p, writer_channel, &stop] { RunWriter(p, writer_channel, &stop); });
  }
  // Threads end on every way out, a failed ASSERT too.
  auto join_all = absl::MakeCleanup([&] {
    stop = true;
    for (auto& w : writers) {
      if (w->thread.joinable()) w->thread.join();
    }
    feed_cancel.Cancel();
    if (consumer.joinable()) consumer.join();
  });
  absl::SleepFor(absl::Seconds(2));
  if (how == Handover::kSigkill) {
    cluster->Kill(victim);
  } else {
    ASSERT_TRUE(cluster->Terminate(victim, absl::Seconds(20)).has_value());
  }
  // From the node's exit (a drain answers calls until then).
  const absl::Time killed_at = absl::Now();
  // Each moved workspace serves again: its first acknowledged write after
  // the kill.
  absl::Duration worst = absl::ZeroDuration();
  for (Writer* w : moved) {
    absl::Time served_at = absl::InfiniteFuture();
    const absl::Time deadline = killed_at + absl::Seconds(30);
    while (served_at == absl::InfiniteFuture() && absl::Now() < deadline) {
      {
        absl::MutexLock lock(&w->mu);
        for (absl::Time t : w->ack_times) {
          if (t > killed_at) {
            served_at = t;
            break;
          }
        }
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (served_at == absl::InfiniteFuture()) {
      absl::MutexLock lock(&w->mu);
      // Where nginx sent its calls: "<nodes tried> grpc <status>" -> calls.
      std::map<std::string, int> routed_calls;
      for (const RoutedCall& r : cluster->RoutedCalls()) {
        if (r.workspace != WorkspaceRoutingId(w->ws.id)) continue;
        std::vector<std::string> nodes;
        for (const std::string& t : r.tried) {
          nodes.push_back(absl::StrCat("node", cluster->NodeAt(t)));
        }
        ++routed_calls[absl::StrCat(absl::StrJoin(nodes, ","), " grpc ",
                                    r.grpc_status)];
      }
      std::string routed;
      for (const auto& [where, n] : routed_calls) {
        absl::StrAppend(&routed, "\n  ", where, ": ", n, " calls");
      }
      ADD_FAILURE() << "workspace " << w->ws.id
                    << " did not serve again within 30 s: " << w->last_error
                    << "; its calls through nginx:" << routed;
      break;
    }
    worst = std::max(worst, served_at - killed_at);
  }
  // The bound: one lease TTL for the dead node's lease to lapse (none for
  // a drain, which releases it), plus the clients' backoff (up to 2 s) and
  // a load.
  std::cout << moved.size() << " workspaces moved off node " << victim
            << (how == Handover::kSigkill ? " (SIGKILL)" : " (SIGTERM)")
            << "; the last served again after " << worst << "\n";
  EXPECT_LE(worst, kLeaseTtl + absl::Seconds(5));
  absl::SleepFor(absl::Seconds(1));
  stop = true;
  for (auto& w : writers) w->thread.join();

  const absl::Time now = absl::Now();
  for (auto& w : writers) {
    absl::MutexLock lock(&w->mu);
    SCOPED_TRACE("workspace " + std::to_string(w->ws.id));
    EXPECT_GT(w->acked.size(), 10u);
    absl::StatusOr<std::vector<v1::Contact>> all = Eventually([&] {
      return AllMembers(channel, w->ws.api_key, segments[w->ws.id][0].id());
    });
    ASSERT_TRUE(all.ok()) << all.status();
    std::map<std::string, v1::Contact> by_email;
    for (const v1::Contact& c : *all) {
      EXPECT_TRUE(by_email.emplace(c.email(), c).second)
          << c.email() << " twice";
    }
    // No acknowledged write lost; every write whole or not at all; the
    // values those written.
    auto present = [&](int64_t b) {
      int found = 0;
      for (const v1::Contact& c : NumberedContacts("w", b * kBatch, kBatch)) {
        auto it = by_email.find(c.email());
        if (it == by_email.end()) continue;
        ++found;
        EXPECT_EQ(it->second.country(), c.country()) << c.email();
        EXPECT_EQ(it->second.lead_score(), c.lead_score()) << c.email();
      }
      return found;
    };
    size_t expected = kInitial;
    for (int64_t b : w->acked) {
      EXPECT_EQ(present(b), kBatch) << "acknowledged batch " << b << " lost";
      expected += kBatch;
    }
    for (int64_t b : w->unacked) {
      const int found = present(b);
      EXPECT_TRUE(found == 0 || found == kBatch)
          << "batch " << b << " applied in part: " << found;
      expected += found;
    }
    EXPECT_EQ(by_email.size(), expected);
    // Every segment equals a recompute from the contacts read back.
    for (const v1::Segment& s : segments[w->ws.id]) {
      absl::StatusOr<std::vector<v1::Contact>> members = Eventually(
          [&] { return AllMembers(channel, w->ws.api_key, s.id()); });
      ASSERT_TRUE(members.ok()) << members.status();
      std::set<uint64_t> ids;
      for (const v1::Contact& c : *members) ids.insert(c.id());
      absl::StatusOr<std::set<uint64_t>> recomputed =
          RecomputeMembers(s, *all, now);
      ASSERT_TRUE(recomputed.ok()) << recomputed.status();
      EXPECT_EQ(ids, *recomputed) << "segment " << s.display_name();
    }
  }

  // The consumer resumed without a gap: what it kept equals one replay of
  // the whole log, up to the newest change.
  uint64_t newest = 0;
  ASSERT_OK(Eventually([&] {
    return CountMembers(channel, feed_ws.api_key, feed_segments[0],
                        absl::Seconds(30), &newest);
  }));
  const absl::Time caught_up_by = absl::Now() + absl::Seconds(20);
  while (consumed_until.load() < newest && absl::Now() < caught_up_by) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  std::move(join_all).Invoke();
  EXPECT_GE(consumed_until.load(), newest);
  if (SettledNodeOf(*cluster, feed_ws.id) != victim) {
    // Workspace 0 was on the victim: its stream ended and resumed.
    EXPECT_FALSE(feed_ends.empty());
  }
  // A drain ends the stream with UNAVAILABLE; a node killed mid-stream
  // makes nginx reset it, which gRPC reads as INTERNAL: a consumer behind
  // nginx resumes after either.
  if (how == Handover::kDrain) {
    EXPECT_THAT(feed_ends, Each(grpc::StatusCode::UNAVAILABLE));
  } else {
    EXPECT_THAT(feed_ends, Each(::testing::AnyOf(grpc::StatusCode::UNAVAILABLE,
                                                 grpc::StatusCode::INTERNAL)));
  }
  FeedCancel replay_cancel;
  FeedLog replayed;
  std::atomic<uint64_t> replayed_until{0};
  std::thread replayer([&] {
    while (!replay_cancel.cancelled()) {
      FollowFeed(channel, feed_ws.api_key, feed_segments, &replayed_until,
                 &replayed, &replay_cancel);
    }
  });
  while (replayed_until.load() < consumed_until.load() &&
         absl::Now() < caught_up_by + absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  replay_cancel.Cancel();
  replayer.join();
  EXPECT_EQ(consumed.size(), replayed.size());
  EXPECT_TRUE(consumed == replayed) << "the resumed feed differs from a replay";
  // Every contact entered "everyone" once: no write applied twice.
  std::map<uint64_t, int> entered;
  for (const auto& [sequence, run] : replayed) {
    if (run.segment_id != feed_segments[0]) continue;
    for (uint64_t id : run.contact_ids) {
      entered[id] += run.kind == v1::ENTERED ? 1 : -1;
    }
  }
  for (const auto& [id, n] : entered) EXPECT_EQ(n, 1) << "contact " << id;
}

// SIGKILL: the dead node's leases lapse after a TTL; the next call nginx
// routes to the next node takes each workspace there (or, when a node's
// wake scan took it first, that node gives it up to the calls).
TEST(ClusterTest, AKilledNodesWorkspacesServeFromTheOthersWithNothingLost) {
  START_CLUSTER_OR_SKIP(cluster);
  WritesAndAFeedSurviveAHandover(cluster.get(), Handover::kSigkill);
}

// A drain (SIGTERM) releases every lease: the next call nginx routes to
// the next node takes each workspace there, with nothing lost.
TEST(ClusterTest, ADrainedNodesWorkspacesServeFromTheOthersWithNothingLost) {
  START_CLUSTER_OR_SKIP(cluster);
  WritesAndAFeedSurviveAHandover(cluster.get(), Handover::kDrain);
}

TEST(ClusterTest, APausedNodeCannotCommitAfterItsLeaseLapsed) {
  START_CLUSTER_OR_SKIP(cluster);
  auto channel = cluster->ProxyChannel();
  absl::StatusOr<ClusterWorkspace> ws =
      CreateClusterWorkspace(channel, kClusterAdminKey, "paused");
  ASSERT_TRUE(ws.ok()) << ws.status();
  ASSERT_OK(Eventually([&] {
    return Upsert(channel, ws->api_key, NumberedContacts("init", 0, 100));
  }));
  absl::StatusOr<v1::Segment> everyone =
      CreateSegment(channel, ws->api_key, EveryoneSegment());
  ASSERT_TRUE(everyone.ok()) << everyone.status();
  const int paused = SettledNodeOf(*cluster, ws->id);
  ASSERT_NE(paused, -1);
  const int other = (paused + 1) % cluster->nodes();

  cluster->Pause(paused);
  // A write sent to the paused node waits in its socket.
  absl::Status late_write;
  std::thread late([&] {
    late_write =
        Upsert(cluster->NodeChannel(paused, /*retries=*/false), ws->api_key,
               NumberedContacts("late", 0, 5), absl::Seconds(20));
  });
  absl::SleepFor(kLeaseTtl + absl::Milliseconds(500));
  // Another node takes the lapsed lease and serves.
  auto other_channel = cluster->NodeChannel(other);
  ASSERT_OK(Eventually([&] {
    return Upsert(other_channel, ws->api_key, NumberedContacts("taken", 0, 5));
  }));
  cluster->Resume(paused);
  late.join();
  EXPECT_FALSE(late_write.ok()) << "the paused node committed after losing "
                                   "its lease";
  // Only the new owner's writes are there.
  absl::StatusOr<std::vector<v1::Contact>> all = Eventually(
      [&] { return AllMembers(other_channel, ws->api_key, everyone->id()); });
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(*all, SizeIs(105));
  for (const v1::Contact& c : *all) {
    EXPECT_FALSE(absl::StartsWith(c.email(), "late")) << c.email();
  }
  // And a write the resumed node takes after it noticed is refused too.
  absl::Status after = Upsert(cluster->NodeChannel(paused, false), ws->api_key,
                              NumberedContacts("late", 5, 5));
  EXPECT_FALSE(after.ok());
}

}  // namespace
}  // namespace segments::testing
