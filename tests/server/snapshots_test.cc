// AudienceSnapshotService over a real loopback channel: a sender freezes a
// segment and pages through it (IDS and FULL), the pages stay the same
// while another thread writes contacts, across a restart, and the errors
// with their field paths, limits and codes.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segments/v1/snapshots.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr UnixSeconds kStart = 1'800'000'000;

class SnapshotsServerTest : public ::testing::Test {
 protected:
  explicit SnapshotsServerTest(
      std::function<void(ServerOptions&)> customize = nullptr)
      : server_([this, customize](ServerOptions& o) {
          o.clock = &clock_;
          if (customize) customize(o);
        }) {
    const TestServer::CreatedWorkspace ws =
        server_.CreateWorkspace("Acme", v1::GROWTH);
    key_ = ws.api_key;
    workspace_id_ = ws.workspace.id();
    Connect();
  }

  void Connect() {
    snapshots_ = v1::AudienceSnapshotService::NewStub(server_.channel());
  }

  uint64_t CreateContact(std::string email, std::string country) {
    v1::CreateContactRequest req;
    *req.mutable_contact() = MakeContact(std::move(email), std::move(country));
    v1::Contact out;
    EXPECT_THAT(server_.contacts().CreateContact(Ctx(key_).get(), req, &out),
                GrpcOk());
    return out.id();
  }

  // The segment of the contacts in DE, then contacts 1..n, every third in
  // DE (each of those is logged entering it).
  uint64_t Populate(int n) {
    v1::CreateSegmentRequest req;
    *req.mutable_segment() = MakeSegment(
        "de",
        {MakeCondition("country", v1::Condition::EQUALS, {StringValue("DE")})});
    v1::Segment out;
    EXPECT_THAT(server_.segments().CreateSegment(Ctx(key_).get(), req, &out),
                GrpcOk());
    for (int i = 1; i <= n; ++i) {
      CreateContact(absl::StrCat("c", i, "@x.com"), i % 3 == 0 ? "DE" : "FR");
    }
    return out.id();
  }

  grpc::Status Create(uint64_t segment, v1::AudienceSnapshot* out,
                      std::optional<int64_t> ttl = {}) {
    v1::CreateAudienceSnapshotRequest req;
    req.mutable_snapshot()->set_segment_id(segment);
    if (ttl.has_value())
      req.mutable_snapshot()->mutable_ttl()->set_seconds(*ttl);
    return snapshots_->CreateAudienceSnapshot(Ctx(key_).get(), req, out);
  }

  grpc::Status Get(uint64_t id, v1::AudienceSnapshot* out) {
    v1::GetAudienceSnapshotRequest req;
    req.set_id(id);
    return snapshots_->GetAudienceSnapshot(Ctx(key_).get(), req, out);
  }

  // Every page of a snapshot's members, page by page.
  std::vector<v1::ListAudienceSnapshotMembersResponse> Pages(
      uint64_t id, int page_size, v1::MemberView view = v1::IDS) {
    std::vector<v1::ListAudienceSnapshotMembersResponse> pages;
    v1::ListAudienceSnapshotMembersRequest req;
    req.set_snapshot_id(id);
    req.set_page_size(page_size);
    req.set_view(view);
    while (true) {
      v1::ListAudienceSnapshotMembersResponse page;
      grpc::Status s =
          snapshots_->ListAudienceSnapshotMembers(Ctx(key_).get(), req, &page);
      EXPECT_THAT(s, GrpcOk());
      if (!s.ok()) return pages;
      pages.push_back(page);
      if (page.next_page_token().empty()) return pages;
      req.set_page_token(page.next_page_token());
    }
  }

  static std::vector<uint64_t> IdsOf(
      const std::vector<v1::ListAudienceSnapshotMembersResponse>& pages) {
    std::vector<uint64_t> ids;
    for (const auto& p : pages) {
      ids.insert(ids.end(), p.contact_ids().begin(), p.contact_ids().end());
      for (const v1::Contact& c : p.contacts()) ids.push_back(c.id());
    }
    return ids;
  }

  FakeClock clock_{kStart};
  TestServer server_;
  std::string key_;
  uint64_t workspace_id_ = 0;
  std::unique_ptr<v1::AudienceSnapshotService::Stub> snapshots_;
};

TEST_F(SnapshotsServerTest, FreezesASegmentAndPagesThroughIt) {
  const uint64_t seg = Populate(30);
  v1::AudienceSnapshot snap;
  ASSERT_THAT(Create(seg, &snap), GrpcOk());
  EXPECT_EQ(snap.id(), 1u);
  EXPECT_EQ(snap.segment_id(), seg);
  EXPECT_EQ(snap.member_count(), 10u);
  EXPECT_EQ(snap.create_time().seconds(), kStart);
  EXPECT_EQ(snap.expire_time().seconds(), kStart + 7 * 86400);
  v1::CountSegmentMembersRequest count_req;
  count_req.set_segment_id(seg);
  v1::CountSegmentMembersResponse count;
  ASSERT_THAT(server_.segments().CountSegmentMembers(Ctx(key_).get(), count_req,
                                                     &count),
              GrpcOk());
  EXPECT_EQ(snap.as_of_sequence(), count.as_of_sequence());
  EXPECT_EQ(snap.as_of_sequence(), 10u);  // the ten entries

  const auto pages = Pages(snap.id(), 4);
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_THAT(IdsOf(pages), ElementsAre(3, 6, 9, 12, 15, 18, 21, 24, 27, 30));

  v1::ListAudienceSnapshotsRequest list_req;
  v1::ListAudienceSnapshotsResponse list;
  ASSERT_THAT(
      snapshots_->ListAudienceSnapshots(Ctx(key_).get(), list_req, &list),
      GrpcOk());
  ASSERT_EQ(list.snapshots_size(), 1);
  EXPECT_EQ(list.snapshots(0).id(), snap.id());
  EXPECT_TRUE(list.next_page_token().empty());
}

TEST_F(SnapshotsServerTest, DriftAndTheFullViewOfContactsChangedSince) {
  const uint64_t seg = Populate(9);  // members 3, 6, 9
  v1::AudienceSnapshot snap;
  ASSERT_THAT(Create(seg, &snap), GrpcOk());
  v1::DeleteContactRequest del;
  del.set_id(6);
  google::protobuf::Empty empty;
  ASSERT_THAT(server_.contacts().DeleteContact(Ctx(key_).get(), del, &empty),
              GrpcOk());
  CreateContact("late@x.com", "DE");

  v1::AudienceSnapshot now;
  ASSERT_THAT(Get(snap.id(), &now), GrpcOk());
  EXPECT_EQ(now.member_count(), 3u);
  EXPECT_EQ(now.left_count(), 1u);
  EXPECT_EQ(now.entered_count(), 1u);
  EXPECT_FALSE(now.segment_deleted());

  const auto pages = Pages(snap.id(), 2, v1::FULL);
  EXPECT_THAT(IdsOf(pages), ElementsAre(3, 6, 9));
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_EQ(pages[0].contacts(0).email(), "c3@x.com");
  EXPECT_EQ(pages[0].contacts(1).email(), "");  // deleted: id only
  EXPECT_FALSE(pages[0].contacts(1).has_created_at());
  EXPECT_THAT(pages[0].deleted_contact_ids(), ElementsAre(6));
  EXPECT_THAT(pages[1].deleted_contact_ids(), IsEmpty());
  EXPECT_TRUE(pages[0].contact_ids().empty());
}

TEST_F(SnapshotsServerTest, PagesStayIdenticalUnderConcurrentWrites) {
  const uint64_t seg = Populate(300);
  v1::AudienceSnapshot snap;
  ASSERT_THAT(Create(seg, &snap), GrpcOk());
  const std::vector<uint64_t> first = IdsOf(Pages(snap.id(), 7));
  ASSERT_EQ(first.size(), 100u);

  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::thread writer([&] {
    auto contacts = v1::ContactService::NewStub(server_.channel());
    for (int i = 0; !stop.load(); ++i) {
      v1::UpdateContactRequest up;
      up.mutable_contact()->set_id(1 + i % 300);
      up.mutable_contact()->set_country(i % 2 ? "DE" : "FR");
      up.mutable_update_mask()->add_paths("country");
      v1::Contact out;
      if (contacts->UpdateContact(Ctx(key_).get(), up, &out).ok()) ++writes;
      v1::CreateContactRequest create;
      *create.mutable_contact() =
          MakeContact(absl::StrCat("w", i, "@x.com"), "DE");
      if (contacts->CreateContact(Ctx(key_).get(), create, &out).ok()) ++writes;
    }
  });
  for (int round = 0; round < 5; ++round) {
    EXPECT_THAT(IdsOf(Pages(snap.id(), 7)), ElementsAreArray(first));
    EXPECT_THAT(IdsOf(Pages(snap.id(), 13)), ElementsAreArray(first));
  }
  stop = true;
  writer.join();
  EXPECT_GT(writes.load(), 0);
  v1::AudienceSnapshot after;
  ASSERT_THAT(Get(snap.id(), &after), GrpcOk());
  EXPECT_EQ(after.member_count(), 100u);
  EXPECT_GT(after.left_count() + after.entered_count(), 0u);
}

TEST_F(SnapshotsServerTest, SnapshotsSurviveARestart) {
  const uint64_t seg = Populate(30);
  v1::AudienceSnapshot snap;
  ASSERT_THAT(Create(seg, &snap), GrpcOk());
  const auto before = Pages(snap.id(), 4, v1::FULL);
  server_.Restart();
  Connect();
  const auto after = Pages(snap.id(), 4, v1::FULL);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), before[i].SerializeAsString());
  }
  v1::AudienceSnapshot back;
  ASSERT_THAT(Get(snap.id(), &back), GrpcOk());
  EXPECT_EQ(back.SerializeAsString(), snap.SerializeAsString());
}

TEST_F(SnapshotsServerTest, ErrorsNameTheirFields) {
  const uint64_t seg = Populate(3);
  v1::AudienceSnapshot out;
  grpc::Status no_segment = Create(0, &out);
  EXPECT_THAT(no_segment, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(no_segment), ElementsAre("snapshot.segment_id"));
  EXPECT_THAT(Create(99, &out), GrpcIs(grpc::StatusCode::NOT_FOUND));

  grpc::Status zero_ttl = Create(seg, &out, 0);
  EXPECT_THAT(zero_ttl, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(zero_ttl), ElementsAre("snapshot.ttl"));
  grpc::Status long_ttl = Create(seg, &out, 31 * 86400);
  EXPECT_THAT(long_ttl, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(long_ttl.error_message(), HasSubstr("max_snapshot_ttl"));

  v1::CreateAudienceSnapshotRequest past;
  past.mutable_snapshot()->set_segment_id(seg);
  past.mutable_snapshot()->mutable_expire_time()->set_seconds(kStart - 1);
  grpc::Status in_past =
      snapshots_->CreateAudienceSnapshot(Ctx(key_).get(), past, &out);
  EXPECT_THAT(ViolationFields(in_past), ElementsAre("snapshot.expire_time"));

  EXPECT_THAT(Get(0, &out), GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(Get(5, &out), GrpcIs(grpc::StatusCode::NOT_FOUND));

  // Nothing was created by any of them.
  v1::ListAudienceSnapshotsResponse list;
  ASSERT_THAT(snapshots_->ListAudienceSnapshots(
                  Ctx(key_).get(), v1::ListAudienceSnapshotsRequest(), &list),
              GrpcOk());
  EXPECT_EQ(list.snapshots_size(), 0);

  ASSERT_THAT(Create(seg, &out), GrpcOk());
  v1::ListAudienceSnapshotMembersRequest bad;
  bad.set_snapshot_id(out.id());
  bad.set_page_size(1001);
  bad.set_page_token("nope");
  bad.set_view(static_cast<v1::MemberView>(7));
  v1::ListAudienceSnapshotMembersResponse page;
  grpc::Status bad_list =
      snapshots_->ListAudienceSnapshotMembers(Ctx(key_).get(), bad, &page);
  EXPECT_THAT(bad_list, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(
      ViolationFields(bad_list),
      ::testing::UnorderedElementsAre("view", "page_size", "page_token"));

  // A token of a segment listing is not one of this listing.
  v1::ListSegmentMembersRequest seg_members;
  seg_members.set_segment_id(seg);
  seg_members.set_page_size(1);
  v1::ListSegmentMembersResponse seg_page;
  CreateContact("more@x.com", "DE");
  ASSERT_THAT(server_.segments().ListSegmentMembers(Ctx(key_).get(),
                                                    seg_members, &seg_page),
              GrpcOk());
  ASSERT_FALSE(seg_page.next_page_token().empty());
  v1::ListAudienceSnapshotMembersRequest foreign;
  foreign.set_snapshot_id(out.id());
  foreign.set_page_token(seg_page.next_page_token());
  EXPECT_THAT(
      snapshots_->ListAudienceSnapshotMembers(Ctx(key_).get(), foreign, &page),
      GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));

  v1::DeleteAudienceSnapshotRequest del;
  del.set_id(out.id());
  google::protobuf::Empty empty;
  EXPECT_THAT(snapshots_->DeleteAudienceSnapshot(Ctx(key_).get(), del, &empty),
              GrpcOk());
  EXPECT_THAT(snapshots_->DeleteAudienceSnapshot(Ctx(key_).get(), del, &empty),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(SnapshotsServerTest, OtherWorkspacesSeeNothing) {
  const uint64_t seg = Populate(3);
  v1::AudienceSnapshot snap;
  ASSERT_THAT(Create(seg, &snap), GrpcOk());
  const std::string other =
      server_.CreateWorkspace("Other", v1::GROWTH).api_key;
  v1::GetAudienceSnapshotRequest req;
  req.set_id(snap.id());
  v1::AudienceSnapshot out;
  EXPECT_THAT(snapshots_->GetAudienceSnapshot(Ctx(other).get(), req, &out),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_THAT(snapshots_->GetAudienceSnapshot(Ctx("").get(), req, &out),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(SnapshotsServerTest, APlanRestrictedSegmentIsRefused) {
  Populate(3);
  v1::CreateSegmentRequest req;
  *req.mutable_segment() = MakeSegment(
      "hot", {MakeCondition("lead_score", v1::Condition::GREATER_OR_EQUAL,
                            {NumberValue(0)})});
  v1::Segment smart;
  ASSERT_THAT(server_.segments().CreateSegment(Ctx(key_).get(), req, &smart),
              GrpcOk());
  v1::SetPlanRequest plan;
  plan.set_id(workspace_id_);
  plan.set_plan(v1::STARTER);
  v1::Workspace ws;
  ASSERT_THAT(server_.admin().SetPlan(Ctx(kTestAdminKey).get(), plan, &ws),
              GrpcOk());
  v1::AudienceSnapshot out;
  grpc::Status refused = Create(smart.id(), &out);
  EXPECT_THAT(refused, GrpcIs(grpc::StatusCode::FAILED_PRECONDITION));
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(refused);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "SEGMENT_PLAN_RESTRICTED");
}

TEST_F(SnapshotsServerTest, ExpiredSnapshotsDisappear) {
  const uint64_t seg = Populate(3);
  v1::AudienceSnapshot snap;
  ASSERT_THAT(Create(seg, &snap, 60), GrpcOk());
  clock_.Advance(60);
  v1::AudienceSnapshot out;
  EXPECT_THAT(Get(snap.id(), &out), GrpcIs(grpc::StatusCode::NOT_FOUND));
  v1::ListAudienceSnapshotsResponse list;
  ASSERT_THAT(snapshots_->ListAudienceSnapshots(
                  Ctx(key_).get(), v1::ListAudienceSnapshotsRequest(), &list),
              GrpcOk());
  EXPECT_EQ(list.snapshots_size(), 0);
}

class SnapshotLimitServerTest : public SnapshotsServerTest {
 protected:
  SnapshotLimitServerTest()
      : SnapshotsServerTest(
            [](ServerOptions& o) { o.limits.max_snapshots = 2; }) {}
};

TEST_F(SnapshotLimitServerTest, OneOverTheLimitIsResourceExhausted) {
  const uint64_t seg = Populate(3);
  v1::AudienceSnapshot out;
  ASSERT_THAT(Create(seg, &out), GrpcOk());
  ASSERT_THAT(Create(seg, &out), GrpcOk());
  grpc::Status over = Create(seg, &out);
  EXPECT_THAT(over, GrpcIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(over.error_message(), HasSubstr("max_snapshots"));

  v1::ListAudienceSnapshotsRequest req;
  req.set_page_size(1);
  v1::ListAudienceSnapshotsResponse first, second;
  ASSERT_THAT(snapshots_->ListAudienceSnapshots(Ctx(key_).get(), req, &first),
              GrpcOk());
  ASSERT_EQ(first.snapshots_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  req.set_page_token(first.next_page_token());
  ASSERT_THAT(snapshots_->ListAudienceSnapshots(Ctx(key_).get(), req, &second),
              GrpcOk());
  ASSERT_EQ(second.snapshots_size(), 1);
  EXPECT_EQ(second.snapshots(0).id(), 2u);
  EXPECT_TRUE(second.next_page_token().empty());
}

}  // namespace
}  // namespace segments::testing
