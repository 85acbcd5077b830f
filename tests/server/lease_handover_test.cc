// Several servers over one PostgreSQL database, each with a node id
// (ServerOptions::node_id, --node_id; docs/scale-out.md): a workspace is
// served by the node holding its lease; another node answers UNAVAILABLE
// with reason WORKSPACE_NOT_OWNED and a google.rpc.RetryInfo. A drained
// node (SegmentsServer::Shutdown, as SIGTERM does) hands its workspaces
// over at once; a node whose renewals fail stops serving before its lease
// lapses, cannot commit after, and its workspaces move to the node that
// asks next. Every acknowledged write and every segment is there on the
// new node, a feed consumer resumes there without a gap, a time flip due
// during a handover is applied exactly once, and a sleeping workspace whose
// node stopped wakes on another node without any call.
//
// Short ttls (450-600 ms) keep each case to a few seconds. Skipped where
// PostgreSQL is not installed (tests/testing/postgres_server.h). Feed
// streams over gRPC: excluded under TSan by scripts/test.sh, as the other
// feed tests are.
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/time/time_window.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "segments/v1/feed.grpc.pb.h"
#include "storage/postgres/pg_conn.h"
#include "tests/server/test_server.h"
#include "tests/testing/postgres_server.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;

// The RetryInfo of a failed call, if any.
std::optional<absl::Duration> RetryDelayOf(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return std::nullopt;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      return absl::Seconds(retry.retry_delay().seconds()) +
             absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return std::nullopt;
}

// UNAVAILABLE, WORKSPACE_NOT_OWNED, with a retry delay of `retry`.
void ExpectNotOwned(const grpc::Status& status, absl::Duration retry) {
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE));
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value()) << status.error_message();
  EXPECT_EQ(info->reason(), "WORKSPACE_NOT_OWNED");
  EXPECT_EQ(RetryDelayOf(status), retry);
}

// One consumer of the change feed of one workspace on one node.
struct Watch {
  Watch(TestServer& node, const std::string& key, uint64_t after)
      : context(Ctx(key)),
        stub(v1::ChangeFeedService::NewStub(node.channel())) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::WatchMembershipChangesRequest request;
    request.set_after_sequence(after);
    last_sequence = after;
    reader = stub->WatchMembershipChanges(context.get(), request);
  }
  // One message into `events`; false once the stream ended.
  bool Next() {
    v1::WatchMembershipChangesResponse r;
    if (!reader->Read(&r)) return false;
    for (const v1::MembershipChangeRun& run : r.runs()) {
      for (int i = 0; i < run.contact_ids_size(); ++i) {
        const uint64_t sequence = run.first_sequence() + i;
        EXPECT_EQ(sequence, last_sequence + 1) << "a gap or a duplicate";
        last_sequence = sequence;
        events.push_back(run);
        events.back().set_first_sequence(sequence);
        events.back().clear_contact_ids();
        events.back().add_contact_ids(run.contact_ids(i));
      }
    }
    last_sequence = std::max<uint64_t>(last_sequence, r.last_sequence());
    return true;
  }
  bool ReadThrough(uint64_t sequence) {
    while (last_sequence < sequence) {
      if (!Next()) return false;
    }
    return true;
  }
  grpc::Status End() {
    while (Next()) {
    }
    return reader->Finish();
  }

  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<v1::ChangeFeedService::Stub> stub;
  std::unique_ptr<grpc::ClientReader<v1::WatchMembershipChangesResponse>>
      reader;
  uint64_t last_sequence = 0;
  std::vector<v1::MembershipChangeRun> events;  // one contact each
};

class LeaseHandoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    PostgresServer* pg = PostgresServer::Shared(&why_not);
    if (pg == nullptr) GTEST_SKIP() << why_not;
    absl::StatusOr<std::string> uri = pg->FreshUri();
    ASSERT_TRUE(uri.ok()) << uri.status();
    uri_ = *uri;
  }

  std::unique_ptr<TestServer> Node(const std::string& name,
                                   absl::Duration ttl = absl::Milliseconds(600),
                                   bool renew = true) {
    return std::make_unique<TestServer>([=](ServerOptions& o) {
      o.store = uri_;
      o.node_id = name;
      o.lease_ttl = ttl;
      o.renew_leases = renew;
    });
  }

  static grpc::Status Upsert(TestServer& node, const std::string& key,
                             int first, int n, const std::string& country) {
    v1::BatchUpsertContactsRequest batch;
    for (int i = first; i < first + n; ++i) {
      *batch.add_contacts() =
          MakeContact(absl::StrCat("user", i, "@example.com"), country);
    }
    v1::BatchUpsertContactsResponse response;
    return node.contacts().BatchUpsertContacts(Ctx(key).get(), batch,
                                               &response);
  }
  static uint64_t CreateSegment(TestServer& node, const std::string& key,
                                const std::string& country) {
    v1::CreateSegmentRequest create;
    *create.mutable_segment() =
        MakeSegment(country, {MakeCondition("country", v1::Condition::EQUALS,
                                            {StringValue(country)})});
    v1::Segment segment;
    EXPECT_THAT(node.segments().CreateSegment(Ctx(key).get(), create, &segment),
                GrpcOk());
    return segment.id();
  }
  static grpc::Status Count(TestServer& node, const std::string& key,
                            uint64_t segment,
                            v1::CountSegmentMembersResponse* response) {
    v1::CountSegmentMembersRequest request;
    request.set_segment_id(segment);
    return node.segments().CountSegmentMembers(Ctx(key).get(), request,
                                               response);
  }
  // The members of `segment` as `node` lists them.
  static std::set<uint64_t> Members(TestServer& node, const std::string& key,
                                    uint64_t segment) {
    std::set<uint64_t> out;
    v1::ListSegmentMembersRequest request;
    request.set_segment_id(segment);
    request.set_page_size(1000);
    while (true) {
      v1::ListSegmentMembersResponse response;
      EXPECT_THAT(node.segments().ListSegmentMembers(Ctx(key).get(), request,
                                                     &response),
                  GrpcOk());
      out.insert(response.contact_ids().begin(), response.contact_ids().end());
      if (response.next_page_token().empty()) return out;
      request.set_page_token(response.next_page_token());
    }
  }
  // Retries `call` while it is UNAVAILABLE (as the documented retry
  // policy does), for up to `within`; returns the last status.
  template <typename Call>
  static grpc::Status Retrying(Call call,
                               absl::Duration within = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + within;
    while (true) {
      grpc::Status s = call();
      if (s.error_code() != grpc::StatusCode::UNAVAILABLE ||
          absl::Now() > deadline) {
        return s;
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  std::string uri_;
};

// The drain: while node a serves the workspace, node b tells its callers
// to retry; once a shuts down (SIGTERM's path) b serves it on the first
// call, with everything a acknowledged, and a's feed consumer resumes on
// b from its last sequence with no gap.
TEST_F(LeaseHandoverTest, ADrainedNodeHandsItsWorkspacesOverAtOnce) {
  std::unique_ptr<TestServer> a = Node("node-a");
  std::unique_ptr<TestServer> b = Node("node-b");
  TestServer::CreatedWorkspace ws = a->CreateWorkspace("moving", v1::PRO);
  const std::string& key = ws.api_key;
  const uint64_t de = CreateSegment(*a, key, "DE");
  const uint64_t fr = CreateSegment(*a, key, "FR");
  ASSERT_THAT(Upsert(*a, key, 0, 300, "DE"), GrpcOk());
  ASSERT_THAT(Upsert(*a, key, 300, 200, "FR"), GrpcOk());
  ASSERT_THAT(Upsert(*a, key, 0, 100, "FR"), GrpcOk());  // 100 move over
  const std::set<uint64_t> de_on_a = Members(*a, key, de);
  const std::set<uint64_t> fr_on_a = Members(*a, key, fr);
  ASSERT_EQ(de_on_a.size(), 200u);
  ASSERT_EQ(fr_on_a.size(), 300u);
  v1::CountSegmentMembersResponse count;
  ASSERT_THAT(Count(*a, key, de, &count), GrpcOk());
  const uint64_t head = count.as_of_sequence();

  Watch on_a(*a, key, 0);
  ASSERT_TRUE(on_a.ReadThrough(head));
  const uint64_t seen = on_a.last_sequence;

  // b: a workspace created after it started, held by a. (b's callers now
  // want it: a would give it up within two renewals without calls, as
  // ALeaseFollowsTheCalls tests; the drain comes first.)
  ExpectNotOwned(Count(*b, key, de, &count), absl::Milliseconds(200));
  ExpectNotOwned(Upsert(*b, key, 1000, 1, "DE"), absl::Milliseconds(200));
  {
    // The hint also as the trailer gRPC's own retries wait for.
    std::unique_ptr<grpc::ClientContext> context = Ctx(key);
    v1::CountSegmentMembersRequest request;
    request.set_segment_id(de);
    ExpectNotOwned(
        b->segments().CountSegmentMembers(context.get(), request, &count),
        absl::Milliseconds(200));
    const auto& trailers = context->GetServerTrailingMetadata();
    auto pushback = trailers.find("grpc-retry-pushback-ms");
    ASSERT_NE(pushback, trailers.end());
    EXPECT_EQ(std::string(pushback->second.data(), pushback->second.size()),
              "200");
  }

  a->Shutdown(absl::Seconds(5));  // stores wake times, releases the leases
  EXPECT_THAT(on_a.End(), GrpcIs(grpc::StatusCode::UNAVAILABLE));

  // No ttl to wait out: the very first call is served.
  EXPECT_EQ(Members(*b, key, de), de_on_a);
  EXPECT_EQ(Members(*b, key, fr), fr_on_a);
  ASSERT_THAT(Upsert(*b, key, 500, 10, "DE"), GrpcOk());
  ASSERT_THAT(Count(*b, key, de, &count), GrpcOk());
  EXPECT_EQ(count.member_count(), 210u);

  Watch on_b(*b, key, seen);
  ASSERT_TRUE(on_b.ReadThrough(count.as_of_sequence()));
  ASSERT_EQ(on_b.events.size(), 10u);
  EXPECT_EQ(on_b.events.front().first_sequence(), seen + 1);
  for (const v1::MembershipChangeRun& e : on_b.events) {
    EXPECT_EQ(e.segment_id(), de);
    EXPECT_EQ(e.kind(), v1::ENTERED);
  }
  on_b.context->TryCancel();

  // a, started again, finds b serving it.
  a->Stop();
  a->Start();
  ExpectNotOwned(Count(*a, key, de, &count), absl::Milliseconds(200));
}

// Ownership follows the calls, as nginx routes them (docs/scale-out.md):
// the node that creates a workspace keeps nothing of it; a workspace
// whose calls now go to another node moves there within two renewal
// periods of its last call, its feed consumer resuming there without a
// gap; and back again when the calls go back.
TEST_F(LeaseHandoverTest, ALeaseFollowsTheCalls) {
  std::unique_ptr<TestServer> a = Node("node-a");
  std::unique_ptr<TestServer> b = Node("node-b");
  TestServer::CreatedWorkspace ws = b->CreateWorkspace("routed", v1::PRO);
  const std::string& key = ws.api_key;
  // Created on b, first called on a: a serves it at once.
  const uint64_t de = CreateSegment(*a, key, "DE");
  ASSERT_THAT(Upsert(*a, key, 0, 100, "DE"), GrpcOk());
  v1::CountSegmentMembersResponse count;
  ASSERT_THAT(Count(*a, key, de, &count), GrpcOk());
  Watch on_a(*a, key, 0);
  ASSERT_TRUE(on_a.ReadThrough(count.as_of_sequence()));

  // The calls go to b now (a proxy's ring changed): refused at first, then
  // served, with a's feed ended to resume on b.
  // (Two renewal periods are 400 ms; the bound is for loaded machines.)
  ASSERT_THAT(Retrying([&] { return Upsert(*b, key, 100, 10, "DE"); },
                       absl::Seconds(10)),
              GrpcOk());
  EXPECT_THAT(on_a.End(), GrpcIs(grpc::StatusCode::UNAVAILABLE));
  ASSERT_THAT(Count(*b, key, de, &count), GrpcOk());
  EXPECT_EQ(count.member_count(), 110u);
  Watch on_b(*b, key, on_a.last_sequence);
  ASSERT_TRUE(on_b.ReadThrough(count.as_of_sequence()));
  EXPECT_EQ(on_a.events.size() + on_b.events.size(), 110u);
  on_b.context->TryCancel();

  // And back to a.
  ASSERT_THAT(Retrying([&] { return Upsert(*a, key, 110, 10, "DE"); },
                       absl::Seconds(10)),
              GrpcOk());
  ASSERT_THAT(Count(*a, key, de, &count), GrpcOk());
  EXPECT_EQ(count.member_count(), 120u);
  ExpectNotOwned(Count(*b, key, de, &count), absl::Milliseconds(200));
}

// A node whose renewals fail (renew_leases off: none is sent) stops
// serving the workspace before its lease lapses, ending its feed streams
// with UNAVAILABLE; the next node that is asked takes it over with every
// acknowledged write; the first then cannot commit. A time flip that falls
// due in the handover is applied exactly once.
TEST_F(LeaseHandoverTest, ANodeThatCannotRenewStopsServingAndCannotCommit) {
  const absl::Duration ttl = absl::Milliseconds(450);
  std::unique_ptr<TestServer> a = Node("node-a", ttl, /*renew=*/false);
  std::unique_ptr<TestServer> b = Node("node-b", ttl);
  TestServer::CreatedWorkspace ws = a->CreateWorkspace("lapsing", v1::PRO);
  const std::string& key = ws.api_key;
  const absl::Time start = absl::Now();

  // Engaged 30 days minus 1 s ago: leaves "engaged" at `due`, 1-2 s from
  // now, while no node serves the workspace (a stops at about 2/3 of the
  // ttl; b is asked only after `due`, unless its wake scan opens it first).
  const UnixSeconds engaged =
      absl::ToUnixSeconds(start) - 30 * kSecondsPerDay + 1;
  const UnixSeconds due = engaged + 30 * kSecondsPerDay + 1;
  v1::CreateSegmentRequest create_segment;
  *create_segment.mutable_segment() = MakeSegment(
      "engaged",
      {MakeCondition("last_engaged_at", v1::Condition::WITHIN_LAST_DAYS,
                     {NumberValue(30)})});
  v1::Segment engaged_segment;
  ASSERT_THAT(a->segments().CreateSegment(Ctx(key).get(), create_segment,
                                          &engaged_segment),
              GrpcOk());
  v1::CreateContactRequest create_contact;
  *create_contact.mutable_contact() = MakeContact("flip@example.com");
  create_contact.mutable_contact()->mutable_last_engaged_at()->set_seconds(
      engaged);
  v1::Contact flipping;
  ASSERT_THAT(
      a->contacts().CreateContact(Ctx(key).get(), create_contact, &flipping),
      GrpcOk());
  const uint64_t de = CreateSegment(*a, key, "DE");
  ASSERT_THAT(Upsert(*a, key, 0, 50, "DE"), GrpcOk());
  ASSERT_LT(absl::Now() - start, ttl / 3) << "setup outlived the lease";
  Watch on_a(*a, key, 0);
  ASSERT_TRUE(on_a.Next());

  // a gives it up by its own clock: the stream ends, told to retry.
  const grpc::Status ended = on_a.End();
  EXPECT_LT(absl::Now() - start, ttl + absl::Seconds(1));
  ExpectNotOwned(ended, ttl / 3);
  EXPECT_THAT(ended.error_message(), HasSubstr("no longer served"));

  // b takes it once the lease has lapsed in the database.
  while (absl::Now() < absl::FromUnixSeconds(due) + absl::Milliseconds(300)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  v1::CountSegmentMembersResponse count;
  ASSERT_THAT(Retrying([&] { return Count(*b, key, de, &count); }), GrpcOk());
  EXPECT_EQ(count.member_count(), 50u);
  EXPECT_EQ(Members(*b, key, de).size(), 50u);
  // a cannot take it back, nor commit anything.
  ExpectNotOwned(Upsert(*a, key, 100, 5, "DE"), ttl / 3);
  ExpectNotOwned(Count(*a, key, de, &count), ttl / 3);

  // The flip: once, though it fell due between the two owners.
  ASSERT_THAT(Count(*b, key, engaged_segment.id(), &count), GrpcOk());
  EXPECT_EQ(count.member_count(), 0u);
  ASSERT_THAT(Upsert(*b, key, 50, 1, "DE"), GrpcOk());
  ASSERT_THAT(Count(*b, key, de, &count), GrpcOk());
  Watch on_b(*b, key, 0);
  ASSERT_TRUE(on_b.ReadThrough(count.as_of_sequence()));
  on_b.context->TryCancel();
  int entered = 0, left = 0, de_entered = 0;
  for (const v1::MembershipChangeRun& e : on_b.events) {
    if (e.segment_id() == de) {
      ++de_entered;
      continue;
    }
    ASSERT_EQ(e.segment_id(), engaged_segment.id());
    ASSERT_EQ(e.contact_ids(0), flipping.id());
    if (e.kind() == v1::ENTERED) ++entered;
    if (e.kind() == v1::LEFT) {
      ++left;
      EXPECT_EQ(e.cause(), v1::TIME);
      EXPECT_EQ(e.time().seconds(), due);
    }
  }
  EXPECT_EQ(entered, 1);
  EXPECT_EQ(left, 1);
  EXPECT_EQ(de_entered, 51);
}

// A workspace closed with a flip ahead (its node drained) is woken by
// another node's scan when the flip falls due, with no call for it.
TEST_F(LeaseHandoverTest, ASleepingWorkspaceWakesOnAnotherNode) {
  std::unique_ptr<TestServer> a = Node("node-a");
  std::unique_ptr<TestServer> b = Node("node-b");
  TestServer::CreatedWorkspace ws = a->CreateWorkspace("asleep", v1::PRO);
  const std::string& key = ws.api_key;
  const UnixSeconds engaged =
      absl::ToUnixSeconds(absl::Now()) - 30 * kSecondsPerDay + 1;
  const UnixSeconds due = engaged + 30 * kSecondsPerDay + 1;
  v1::CreateContactRequest create_contact;
  *create_contact.mutable_contact() = MakeContact("flip@example.com");
  create_contact.mutable_contact()->mutable_last_engaged_at()->set_seconds(
      engaged);
  v1::Contact contact;
  ASSERT_THAT(
      a->contacts().CreateContact(Ctx(key).get(), create_contact, &contact),
      GrpcOk());
  v1::CreateSegmentRequest create_segment;
  *create_segment.mutable_segment() = MakeSegment(
      "engaged",
      {MakeCondition("last_engaged_at", v1::Condition::WITHIN_LAST_DAYS,
                     {NumberValue(30)})});
  v1::Segment segment;
  ASSERT_THAT(
      a->segments().CreateSegment(Ctx(key).get(), create_segment, &segment),
      GrpcOk());
  ASSERT_EQ(segment.member_count(), 1u);
  a->Stop();  // closes it: its wake time is `due`, its lease released

  // Nothing asks b for it; the flip must still land in the shared log.
  absl::StatusOr<std::unique_ptr<PgConn>> conn = PgConn::Connect(uri_);
  ASSERT_TRUE(conn.ok()) << conn.status();
  PgParams p;
  p.Int(static_cast<int64_t>(ws.workspace.id()));
  int64_t applied_until = 0;
  const absl::Time deadline = absl::FromUnixSeconds(due) + absl::Seconds(5);
  while (absl::Now() < deadline) {
    absl::StatusOr<PgResult> r = (*conn)->Query(
        "SELECT time_applied_until FROM workspace_state WHERE "
        "workspace_id = $1",
        p);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->rows(), 1);
    applied_until = r->Int(0, 0);
    if (applied_until >= due) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GE(applied_until, due) << "no node woke the workspace";
  v1::CountSegmentMembersResponse count;
  ASSERT_THAT(Count(*b, key, segment.id(), &count), GrpcOk());
  EXPECT_EQ(count.member_count(), 0u);
}

// Admin calls on any node see the workspaces of every node; those that
// need the workspace's engine (a key rotation) are for its owner, and
// told to retry elsewhere; a workspace deleted on one node stops serving
// on the node that had it open.
TEST_F(LeaseHandoverTest, AdminCallsWorkAcrossNodes) {
  std::unique_ptr<TestServer> a = Node("node-a");
  std::unique_ptr<TestServer> b = Node("node-b");
  TestServer::CreatedWorkspace ws = a->CreateWorkspace("admin", v1::STARTER);
  const uint64_t segment = CreateSegment(*a, ws.api_key, "DE");

  v1::GetWorkspaceRequest get;
  get.set_id(ws.workspace.id());
  v1::Workspace got;
  ASSERT_THAT(b->admin().GetWorkspace(Ctx(kTestAdminKey).get(), get, &got),
              GrpcOk());
  EXPECT_EQ(got.display_name(), "admin");

  v1::RotateWorkspaceKeyRequest rotate;
  rotate.set_id(ws.workspace.id());
  v1::RotateWorkspaceKeyResponse rotated;
  ExpectNotOwned(
      b->admin().RotateWorkspaceKey(Ctx(kTestAdminKey).get(), rotate, &rotated),
      absl::Milliseconds(200));
  ASSERT_THAT(
      a->admin().RotateWorkspaceKey(Ctx(kTestAdminKey).get(), rotate, &rotated),
      GrpcOk());
  v1::CountSegmentMembersResponse count;
  EXPECT_THAT(Count(*a, ws.api_key, segment, &count),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_THAT(Count(*a, rotated.api_key(), segment, &count), GrpcOk());

  v1::DeleteWorkspaceRequest remove;
  remove.set_id(ws.workspace.id());
  google::protobuf::Empty empty;
  ASSERT_THAT(
      b->admin().DeleteWorkspace(Ctx(kTestAdminKey).get(), remove, &empty),
      GrpcOk());
  EXPECT_THAT(Count(*b, rotated.api_key(), segment, &count),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  // a notices at its next renewal (the lease went with the workspace).
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  grpc::Status on_a;
  do {
    absl::SleepFor(absl::Milliseconds(50));
    on_a = Count(*a, rotated.api_key(), segment, &count);
  } while (on_a.ok() && absl::Now() < deadline);
  EXPECT_THAT(on_a, GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

}  // namespace
}  // namespace segments::testing
