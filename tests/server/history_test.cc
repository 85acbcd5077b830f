// segments.v1.MembershipHistoryService through a real loopback channel, on
// a fake clock: a segment's hourly history across a contact's entry and
// exit, a contact's membership at moments before, between and after, a
// deleted contact's history, and the errors: NOT_FOUND (segment, contact,
// another workspace's segment), INVALID_ARGUMENT (bucket limit, missing
// fields, granularity), OUT_OF_RANGE before changes_pruned_before (written
// into the workspace's database directly, as the pruning does).
#include <memory>
#include <string>

#include "core/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segments/v1/history.grpc.pb.h"
#include "storage/sqlite_db.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// 2023-11-14T22:00:00Z, on an hour.
constexpr UnixSeconds kStart = 1'699'999'200;
constexpr int64_t kHour = 3600;

class HistoryServerTest : public ::testing::Test {
 protected:
  HistoryServerTest()
      : clock_(kStart + 10),
        server_([this](ServerOptions& o) { o.clock = &clock_; }),
        ws_(server_.CreateWorkspace("Acme", v1::STARTER)),
        history_(v1::MembershipHistoryService::NewStub(server_.channel())) {}

  uint64_t CreateSegment(const std::string& country) {
    v1::CreateSegmentRequest request;
    *request.mutable_segment() = MakeSegment(
        "in " + country, {MakeCondition("country", v1::Condition::EQUALS,
                                        {StringValue(country)})});
    v1::Segment segment;
    EXPECT_THAT(server_.segments().CreateSegment(Ctx(ws_.api_key).get(),
                                                 request, &segment),
                GrpcOk());
    return segment.id();
  }
  uint64_t CreateContact(const std::string& email, const std::string& country) {
    v1::CreateContactRequest request;
    *request.mutable_contact() = MakeContact(email, country);
    v1::Contact contact;
    EXPECT_THAT(server_.contacts().CreateContact(Ctx(ws_.api_key).get(),
                                                 request, &contact),
                GrpcOk());
    return contact.id();
  }
  void MoveContact(uint64_t id, const std::string& country) {
    v1::UpdateContactRequest request;
    request.mutable_contact()->set_id(id);
    request.mutable_contact()->set_country(country);
    request.mutable_update_mask()->add_paths("country");
    v1::Contact contact;
    EXPECT_THAT(server_.contacts().UpdateContact(Ctx(ws_.api_key).get(),
                                                 request, &contact),
                GrpcOk());
  }
  grpc::Status SegmentHistory(uint64_t segment, UnixSeconds start,
                              UnixSeconds end, v1::HistoryGranularity g,
                              v1::GetSegmentHistoryResponse* response) {
    v1::GetSegmentHistoryRequest request;
    request.set_segment_id(segment);
    request.mutable_start_time()->set_seconds(start);
    request.mutable_end_time()->set_seconds(end);
    request.set_granularity(g);
    return history_->GetSegmentHistory(Ctx(ws_.api_key).get(), request,
                                       response);
  }
  grpc::Status ContactHistory(uint64_t segment, uint64_t contact,
                              std::optional<UnixSeconds> at,
                              v1::GetContactMembershipHistoryResponse* out) {
    v1::GetContactMembershipHistoryRequest request;
    request.set_segment_id(segment);
    request.set_contact_id(contact);
    if (at.has_value()) request.mutable_at_time()->set_seconds(*at);
    return history_->GetContactMembershipHistory(Ctx(ws_.api_key).get(),
                                                 request, out);
  }

  FakeClock clock_;
  TestServer server_;
  TestServer::CreatedWorkspace ws_;
  std::unique_ptr<v1::MembershipHistoryService::Stub> history_;
};

TEST_F(HistoryServerTest, HourlyBucketsFollowEntriesAndExits) {
  CreateContact("before@x.com", "de");  // in the initial build: no event
  const uint64_t de = CreateSegment("de");
  clock_.Set(kStart + kHour + 5);
  const uint64_t ada = CreateContact("ada@x.com", "de");  // enters
  clock_.Set(kStart + 2 * kHour + 7);
  MoveContact(ada, "fr");  // leaves
  clock_.Set(kStart + 3 * kHour + 1);

  v1::GetSegmentHistoryResponse response;
  ASSERT_THAT(SegmentHistory(de, kStart - kHour, kStart + 3 * kHour + 30,
                             v1::HOUR, &response),
              GrpcOk());
  // Before creation, the creation hour (the build's member), ada's entry,
  // her exit, and the hour that holds now.
  ASSERT_EQ(response.buckets_size(), 5);
  auto summary = [](const v1::HistoryBucket& b) {
    return std::vector<int64_t>{
        b.segment_existed(), static_cast<int64_t>(b.entered()),
        static_cast<int64_t>(b.left()), static_cast<int64_t>(b.member_count())};
  };
  EXPECT_EQ(response.buckets(0).start_time().seconds(), kStart - kHour);
  EXPECT_THAT(summary(response.buckets(0)), ElementsAre(0, 0, 0, 0));
  EXPECT_THAT(summary(response.buckets(1)), ElementsAre(1, 0, 0, 1));
  EXPECT_THAT(summary(response.buckets(2)), ElementsAre(1, 1, 0, 2));
  EXPECT_THAT(summary(response.buckets(3)), ElementsAre(1, 0, 1, 1));
  EXPECT_THAT(summary(response.buckets(4)), ElementsAre(1, 0, 0, 1));
  EXPECT_GT(response.as_of_sequence(), 0u);
  EXPECT_FALSE(response.has_retained_since());

  // By UTC day: ada entered on 2023-11-14 (23:00:05) and left on the 15th
  // (00:00:07), the day that holds now.
  ASSERT_THAT(
      SegmentHistory(de, kStart, kStart + 3 * kHour, v1::DAY, &response),
      GrpcOk());
  ASSERT_EQ(response.buckets_size(), 2);
  EXPECT_EQ(response.buckets(0).start_time().seconds(), 1'699'920'000);
  EXPECT_THAT(summary(response.buckets(0)), ElementsAre(1, 1, 0, 2));
  EXPECT_THAT(summary(response.buckets(1)), ElementsAre(1, 0, 1, 1));
}

TEST_F(HistoryServerTest, ContactMembershipAtMomentsAndItsEvents) {
  const uint64_t de = CreateSegment("de");
  clock_.Set(kStart + 100);
  const uint64_t ada = CreateContact("ada@x.com", "de");
  clock_.Set(kStart + 200);
  MoveContact(ada, "fr");
  clock_.Set(kStart + 300);

  v1::GetContactMembershipHistoryResponse r;
  ASSERT_THAT(ContactHistory(de, ada, kStart + 99, &r), GrpcOk());
  EXPECT_FALSE(r.member_at_time());
  ASSERT_THAT(ContactHistory(de, ada, kStart + 100, &r), GrpcOk());
  EXPECT_TRUE(r.member_at_time());  // "at T": after the events at T
  ASSERT_THAT(ContactHistory(de, ada, kStart + 199, &r), GrpcOk());
  EXPECT_TRUE(r.member_at_time());
  ASSERT_THAT(ContactHistory(de, ada, std::nullopt, &r), GrpcOk());
  EXPECT_FALSE(r.member_at_time());
  EXPECT_EQ(r.at_time().seconds(), kStart + 300);
  ASSERT_EQ(r.events_size(), 2);
  EXPECT_EQ(r.events(0).kind(), v1::MembershipEvent::ENTERED);
  EXPECT_EQ(r.events(0).cause(), v1::MembershipEvent::CONTACT_CHANGED);
  EXPECT_EQ(r.events(0).time().seconds(), kStart + 100);
  EXPECT_EQ(r.events(1).kind(), v1::MembershipEvent::LEFT);
  EXPECT_LT(r.events(0).sequence(), r.events(1).sequence());

  // A deleted contact's history is still answered from the log.
  const uint64_t bob = CreateContact("bob@x.com", "de");
  clock_.Set(kStart + 400);
  v1::DeleteContactRequest del;
  del.set_id(bob);
  google::protobuf::Empty empty;
  ASSERT_THAT(
      server_.contacts().DeleteContact(Ctx(ws_.api_key).get(), del, &empty),
      GrpcOk());
  ASSERT_THAT(ContactHistory(de, bob, kStart + 399, &r), GrpcOk());
  EXPECT_TRUE(r.member_at_time());
  ASSERT_EQ(r.events_size(), 2);
  EXPECT_EQ(r.events(1).cause(), v1::MembershipEvent::CONTACT_DELETED);
}

TEST_F(HistoryServerTest, OutsideTheWorkspaceIsNotFound) {
  const uint64_t de = CreateSegment("de");
  const uint64_t ada = CreateContact("ada@x.com", "de");
  v1::GetSegmentHistoryResponse h;
  EXPECT_THAT(SegmentHistory(de + 100, kStart, kStart + 1, v1::HOUR, &h),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  v1::GetContactMembershipHistoryResponse c;
  EXPECT_THAT(ContactHistory(de, ada + 100, std::nullopt, &c),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  // Another workspace's segment, with its own key.
  const TestServer::CreatedWorkspace other =
      server_.CreateWorkspace("Other", v1::STARTER);
  v1::GetSegmentHistoryRequest request;
  request.set_segment_id(de);
  request.mutable_start_time()->set_seconds(kStart);
  request.mutable_end_time()->set_seconds(kStart + 1);
  request.set_granularity(v1::HOUR);
  EXPECT_THAT(
      history_->GetSegmentHistory(Ctx(other.api_key).get(), request, &h),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
}

TEST_F(HistoryServerTest, TooManyBucketsAndBadFieldsAreInvalidArgument) {
  const uint64_t de = CreateSegment("de");
  clock_.Set(kStart + 40 * 24 * kHour);
  v1::GetSegmentHistoryResponse h;
  const grpc::Status many =
      SegmentHistory(de, kStart, kStart + 745 * kHour, v1::HOUR, &h);
  EXPECT_THAT(many, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(many.error_message(), HasSubstr("max_history_buckets"));
  EXPECT_THAT(ViolationFields(many), ElementsAre("end_time"));
  EXPECT_THAT(SegmentHistory(de, kStart, kStart + 744 * kHour, v1::HOUR, &h),
              GrpcOk());
  EXPECT_EQ(h.buckets_size(), 744);

  v1::GetSegmentHistoryRequest bare;
  const grpc::Status missing =
      history_->GetSegmentHistory(Ctx(ws_.api_key).get(), bare, &h);
  EXPECT_THAT(missing, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(missing), ElementsAre("segment_id", "start_time",
                                                    "end_time", "granularity"));
  v1::GetContactMembershipHistoryResponse c;
  EXPECT_THAT(ViolationFields(ContactHistory(de, 0, std::nullopt, &c)),
              ElementsAre("contact_id"));
}

TEST_F(HistoryServerTest, BeforeThePrunedHorizonIsOutOfRange) {
  const uint64_t de = CreateSegment("de");
  const uint64_t ada = CreateContact("ada@x.com", "de");
  clock_.Set(kStart + 10 * 24 * kHour);
  const UnixSeconds horizon = kStart + 3 * 24 * kHour;
  {
    // What the log's pruning writes, in the workspace's own database.
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(server_.data_dir() + "/workspaces/" +
                           std::to_string(ws_.workspace.id()) + ".db",
                       /*create=*/false, /*busy_timeout_ms=*/5000);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)
                    ->Exec("INSERT INTO meta (key, value) VALUES "
                           "('changes_pruned_before', " +
                           std::to_string(horizon) + ")")
                    .ok());
  }
  v1::GetSegmentHistoryResponse h;
  const grpc::Status before =
      SegmentHistory(de, horizon - 1, horizon + kHour, v1::HOUR, &h);
  EXPECT_THAT(before, GrpcIs(grpc::StatusCode::OUT_OF_RANGE));
  const std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(before);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "HISTORY_NOT_RETAINED");
  EXPECT_EQ(info->metadata().at("oldest_time_seconds"),
            std::to_string(horizon));
  EXPECT_EQ(info->metadata().at("oldest_time"), "2023-11-17T22:00:00Z");

  ASSERT_THAT(SegmentHistory(de, horizon, horizon + kHour, v1::HOUR, &h),
              GrpcOk());
  EXPECT_EQ(h.retained_since().seconds(), horizon);
  ASSERT_EQ(h.buckets_size(), 1);
  EXPECT_EQ(h.buckets(0).member_count(), 1u);

  v1::GetContactMembershipHistoryResponse c;
  EXPECT_THAT(ContactHistory(de, ada, horizon - 1, &c),
              GrpcIs(grpc::StatusCode::OUT_OF_RANGE));
  ASSERT_THAT(ContactHistory(de, ada, horizon, &c), GrpcOk());
  EXPECT_TRUE(c.member_at_time());
}

}  // namespace
}  // namespace segments::testing
