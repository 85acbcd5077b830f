// AnalyticsService over a real loopback channel: every RPC on a workspace
// of known contents (counts computed here from the contacts it was sent),
// empty segments, unknown ids, another workspace's ids (NOT_FOUND), plan
// gates (PERMISSION_DENIED with ErrorInfo), limits (11 segments, 10,001
// ids: INVALID_ARGUMENT at the field, naming the limit), and the export
// streamed in chunks, put back together and read by CRoaring's C API, id
// by id against the member listing.
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "roaring/roaring.h"
#include "segments/v1/analytics.grpc.pb.h"
#include "segments/v1/snapshots.grpc.pb.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

constexpr UnixSeconds kStart = 1'800'000'000;
constexpr int kContacts = 3000;

const char* const kCountries[] = {"DE", "FR", "US", "ES", "IT"};

// Contact i (1-based, the id it gets): country by i % 5, stage by i % 3
// (SUBSCRIBER, LEAD, MQL), tag "vip" on every seventh, trend RISING on
// every fourth.
v1::Contact ContactNumber(int i) {
  v1::Contact c = MakeContact(absl::StrCat("c", i, "@x.com"), kCountries[i % 5],
                              static_cast<v1::LifecycleStage>(1 + i % 3));
  if (i % 7 == 0) c.add_tags("vip");
  if (i % 4 == 0) c.set_engagement_trend(v1::RISING);
  c.set_lead_score(i % 100);
  return c;
}

class AnalyticsServerTest : public ::testing::Test {
 protected:
  AnalyticsServerTest()
      : server_([this](ServerOptions& o) { o.clock = &clock_; }) {
    key_ = server_.CreateWorkspace("Acme", v1::GROWTH).api_key;
    other_key_ = server_.CreateWorkspace("Globex", v1::PRO).api_key;
    analytics_ = v1::AnalyticsService::NewStub(server_.channel());
  }

  void Import(const std::string& key, int n) {
    v1::BatchUpsertContactsRequest req;
    for (int i = 1; i <= n; ++i) *req.add_contacts() = ContactNumber(i);
    req.set_view(v1::CONTACT_VIEW_BASIC);
    v1::BatchUpsertContactsResponse out;
    ASSERT_THAT(
        server_.contacts().BatchUpsertContacts(Ctx(key).get(), req, &out),
        GrpcOk());
  }

  uint64_t Segment(const std::string& key, std::string name,
                   std::vector<v1::Condition> conditions) {
    v1::CreateSegmentRequest req;
    *req.mutable_segment() =
        MakeSegment(std::move(name), std::move(conditions));
    v1::Segment out;
    EXPECT_THAT(server_.segments().CreateSegment(Ctx(key).get(), req, &out),
                GrpcOk());
    return out.id();
  }

  uint64_t CountryIs(const std::string& key, const std::string& country) {
    return Segment(key, "in " + country,
                   {MakeCondition("country", v1::Condition::EQUALS,
                                  {StringValue(country)})});
  }

  std::vector<uint64_t> ListedMembers(uint64_t segment) {
    std::vector<uint64_t> ids;
    v1::ListSegmentMembersRequest req;
    req.set_segment_id(segment);
    req.set_page_size(1000);
    while (true) {
      v1::ListSegmentMembersResponse page;
      EXPECT_THAT(
          server_.segments().ListSegmentMembers(Ctx(key_).get(), req, &page),
          GrpcOk());
      ids.insert(ids.end(), page.contact_ids().begin(),
                 page.contact_ids().end());
      if (page.next_page_token().empty()) return ids;
      req.set_page_token(page.next_page_token());
    }
  }

  // Every message of an export, and its status.
  grpc::Status Export(const std::string& key,
                      const v1::ExportMembersRequest& req,
                      std::vector<v1::ExportMembersResponse>* messages) {
    auto ctx = Ctx(key);
    auto reader = analytics_->ExportMembers(ctx.get(), req);
    v1::ExportMembersResponse m;
    while (reader->Read(&m)) messages->push_back(m);
    return reader->Finish();
  }

  // The bytes of an export put back together, read by CRoaring's C API.
  static std::vector<uint32_t> ReadBack(
      const std::vector<v1::ExportMembersResponse>& messages) {
    std::string bytes;
    for (const auto& m : messages) {
      EXPECT_EQ(m.offset(), bytes.size());
      bytes += m.chunk();
    }
    EXPECT_EQ(bytes.size(), messages.at(0).total_bytes());
    roaring_bitmap_t* r =
        roaring_bitmap_portable_deserialize_safe(bytes.data(), bytes.size());
    EXPECT_NE(r, nullptr);
    if (r == nullptr) return {};
    EXPECT_EQ(roaring_bitmap_portable_size_in_bytes(r), bytes.size());
    std::vector<uint32_t> ids(roaring_bitmap_get_cardinality(r));
    roaring_bitmap_to_uint32_array(r, ids.data());
    roaring_bitmap_free(r);
    return ids;
  }

  FakeClock clock_{kStart};
  TestServer server_;
  std::string key_;
  std::string other_key_;
  std::unique_ptr<v1::AnalyticsService::Stub> analytics_;
};

TEST_F(AnalyticsServerTest, ContactSegmentsAndMembershipChecks) {
  Import(key_, 100);
  const uint64_t de = CountryIs(key_, "DE");
  const uint64_t fr = CountryIs(key_, "FR");
  const uint64_t vip = Segment(
      key_, "vip",
      {MakeCondition("tags", v1::Condition::HAS_ANY, {StringValue("vip")})});

  v1::ListContactSegmentsRequest req;
  req.set_contact_id(35);  // 35 % 5 == 0: DE; 35 % 7 == 0: vip
  req.set_include_names(true);
  v1::ListContactSegmentsResponse out;
  ASSERT_THAT(analytics_->ListContactSegments(Ctx(key_).get(), req, &out),
              GrpcOk());
  ASSERT_EQ(out.segments_size(), 2);
  EXPECT_EQ(out.segments(0).id(), de);
  EXPECT_EQ(out.segments(0).display_name(), "in DE");
  EXPECT_EQ(out.segments(1).id(), vip);

  v1::CheckMembershipRequest check;
  check.set_segment_id(fr);
  // 1 and 6 are FR; 2 is not; 500 and 2^40 are no contact at all.
  for (uint64_t id : {uint64_t{1}, uint64_t{2}, uint64_t{6}, uint64_t{500},
                      uint64_t{1} << 40, uint64_t{1}}) {
    check.add_contact_ids(id);
  }
  v1::CheckMembershipResponse answer;
  ASSERT_THAT(analytics_->CheckMembership(Ctx(key_).get(), check, &answer),
              GrpcOk());
  EXPECT_THAT(answer.is_member(),
              ElementsAre(true, false, true, false, false, true));
  EXPECT_EQ(answer.member_count(), 3);
}

TEST_F(AnalyticsServerTest, BreakdownOverGrpc) {
  Import(key_, kContacts);
  const uint64_t de = CountryIs(key_, "DE");
  v1::GetSegmentBreakdownRequest req;
  req.set_segment_id(de);
  req.set_top_n(3);
  v1::GetSegmentBreakdownResponse out;
  ASSERT_THAT(analytics_->GetSegmentBreakdown(Ctx(key_).get(), req, &out),
              GrpcOk());
  // Every fifth contact is in DE; their stages, trends and tags by count.
  std::map<std::string, uint64_t> stages, trends;
  uint64_t members = 0, vip = 0;
  for (int i = 1; i <= kContacts; ++i) {
    if (i % 5 != 0) continue;
    ++members;
    stages[v1::LifecycleStage_Name(1 + i % 3)]++;
    trends[i % 4 == 0 ? "RISING" : ""]++;
    vip += i % 7 == 0 ? 1 : 0;
  }
  EXPECT_EQ(out.member_count(), members);
  ASSERT_EQ(out.dimensions_size(), 9);  // GROWTH: every dimension
  const v1::DimensionBreakdown& stage = out.dimensions(0);
  EXPECT_EQ(stage.dimension(), "lifecycle_stage");
  ASSERT_EQ(stage.values_size(), 5);
  for (const v1::BreakdownValue& v : stage.values()) {
    EXPECT_EQ(v.count(), stages[v.value()]) << v.value();
    EXPECT_DOUBLE_EQ(v.share(), static_cast<double>(v.count()) / members);
    EXPECT_FALSE(v.unset());
  }
  const v1::DimensionBreakdown& trend = out.dimensions(1);
  EXPECT_EQ(trend.dimension(), "engagement_trend");
  ASSERT_EQ(trend.values_size(), 4);
  EXPECT_EQ(trend.values(0).value(), "RISING");
  EXPECT_EQ(trend.values(0).count(), trends["RISING"]);
  EXPECT_TRUE(trend.values(3).unset());
  EXPECT_EQ(trend.values(3).count(), trends[""]);
  EXPECT_EQ(trend.unset_count(), trends[""]);
  const v1::DimensionBreakdown& country = out.dimensions(3);
  EXPECT_EQ(country.dimension(), "country");
  ASSERT_EQ(country.values_size(), 1);
  EXPECT_EQ(country.values(0).value(), "de");
  EXPECT_EQ(country.values(0).count(), members);
  EXPECT_DOUBLE_EQ(country.values(0).share(), 1.0);
  const v1::DimensionBreakdown& tags = out.dimensions(8);
  EXPECT_EQ(tags.dimension(), "tags");
  ASSERT_EQ(tags.values_size(), 1);
  EXPECT_EQ(tags.values(0).count(), vip);
  EXPECT_EQ(tags.unset_count(), members - vip);

  req.add_dimensions("tags");
  req.add_dimensions("lifecycle_stage");
  ASSERT_THAT(analytics_->GetSegmentBreakdown(Ctx(key_).get(), req, &out),
              GrpcOk());
  ASSERT_EQ(out.dimensions_size(), 2);
  EXPECT_EQ(out.dimensions(0).dimension(), "tags");
  EXPECT_EQ(out.dimensions(1).dimension(), "lifecycle_stage");
}

TEST_F(AnalyticsServerTest, OverlapOverGrpc) {
  Import(key_, 300);
  const uint64_t de = CountryIs(key_, "DE");
  const uint64_t fr = CountryIs(key_, "FR");
  const uint64_t vip = Segment(
      key_, "vip",
      {MakeCondition("tags", v1::Condition::HAS_ANY, {StringValue("vip")})});
  v1::GetSegmentOverlapRequest req;
  for (uint64_t id : {vip, de, fr}) req.add_segment_ids(id);
  v1::GetSegmentOverlapResponse out;
  ASSERT_THAT(analytics_->GetSegmentOverlap(Ctx(key_).get(), req, &out),
              GrpcOk());
  uint64_t n_vip = 0, n_de = 0, vip_de = 0, vip_fr = 0;
  for (int i = 1; i <= 300; ++i) {
    n_vip += i % 7 == 0;
    n_de += i % 5 == 0;
    vip_de += i % 35 == 0;
    vip_fr += i % 7 == 0 && i % 5 == 1;
  }
  EXPECT_THAT(out.segment_ids(), ElementsAre(vip, de, fr));
  EXPECT_THAT(out.member_counts(), ElementsAre(n_vip, n_de, 60));
  EXPECT_THAT(out.exclusive_counts(),
              ElementsAre(n_vip - vip_de - vip_fr, n_de - vip_de, 60 - vip_fr));
  ASSERT_EQ(out.pairs_size(), 3);
  EXPECT_EQ(out.pairs(0).first_segment_id(), vip);
  EXPECT_EQ(out.pairs(0).second_segment_id(), de);
  EXPECT_EQ(out.pairs(0).intersection_count(), vip_de);
  EXPECT_EQ(out.pairs(0).union_count(), n_vip + n_de - vip_de);
  EXPECT_EQ(out.pairs(2).intersection_count(), 0);  // DE and FR
  EXPECT_EQ(out.intersection_count(), 0);
  EXPECT_EQ(out.union_count(), n_vip + n_de + 60 - vip_de - vip_fr);
  ASSERT_EQ(out.regions_size(), 7);
  EXPECT_THAT(out.regions(0).segment_ids(), ElementsAre(vip));
  EXPECT_EQ(out.regions(0).count(), n_vip - vip_de - vip_fr);
  EXPECT_THAT(out.regions(2).segment_ids(), ElementsAre(vip, de));
  EXPECT_EQ(out.regions(2).count(), vip_de);
  EXPECT_THAT(out.regions(6).segment_ids(), ElementsAre(vip, de, fr));
  EXPECT_EQ(out.regions(6).count(), 0);
}

TEST_F(AnalyticsServerTest, ExportStreamsChunksThatCRoaringReads) {
  Import(key_, kContacts);
  const uint64_t de = CountryIs(key_, "DE");
  v1::ExportMembersRequest req;
  req.set_segment_id(de);
  req.set_max_chunk_bytes(1024);
  std::vector<v1::ExportMembersResponse> messages;
  ASSERT_THAT(Export(key_, req, &messages), GrpcOk());
  ASSERT_GT(messages.size(), 1);  // 600 ids as an array: about 1.2 KB
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_LE(messages[i].chunk().size(), 1024);
    if (i > 0) {
      EXPECT_EQ(messages[i].total_bytes(), 0);
    }
  }
  EXPECT_EQ(messages[0].member_count(), kContacts / 5);
  const std::vector<uint64_t> listed = ListedMembers(de);
  EXPECT_THAT(ReadBack(messages), ElementsAreArray(listed));

  v1::CountSegmentMembersRequest count_req;
  count_req.set_segment_id(de);
  v1::CountSegmentMembersResponse count;
  ASSERT_THAT(server_.segments().CountSegmentMembers(Ctx(key_).get(), count_req,
                                                     &count),
              GrpcOk());
  EXPECT_EQ(messages[0].as_of_sequence(), count.as_of_sequence());

  // One message with the default chunk size; a snapshot exports its
  // frozen members with its own as_of_sequence.
  auto snapshots = v1::AudienceSnapshotService::NewStub(server_.channel());
  v1::CreateAudienceSnapshotRequest snap_req;
  snap_req.mutable_snapshot()->set_segment_id(de);
  v1::AudienceSnapshot snap;
  ASSERT_THAT(
      snapshots->CreateAudienceSnapshot(Ctx(key_).get(), snap_req, &snap),
      GrpcOk());
  v1::CreateContactRequest late;
  *late.mutable_contact() = MakeContact("late@x.com", "DE");
  v1::Contact created;
  ASSERT_THAT(server_.contacts().CreateContact(Ctx(key_).get(), late, &created),
              GrpcOk());
  v1::ExportMembersRequest of_snap;
  of_snap.set_snapshot_id(snap.id());
  messages.clear();
  ASSERT_THAT(Export(key_, of_snap, &messages), GrpcOk());
  ASSERT_EQ(messages.size(), 1);
  EXPECT_EQ(messages[0].as_of_sequence(), snap.as_of_sequence());
  EXPECT_THAT(ReadBack(messages), ElementsAreArray(listed));
}

// After a restart no workspace is open: an export then opens it on a
// thread of the service's own, not on the gRPC thread that read the call,
// and streams the same members as before; several at once all finish, and
// a bad key or a bad request still gets its error from that path.
TEST_F(AnalyticsServerTest, ExportsOpenAClosedWorkspaceFirst) {
  Import(key_, kContacts);
  const uint64_t de = CountryIs(key_, "DE");
  const std::vector<uint64_t> listed = ListedMembers(de);
  ASSERT_EQ(listed.size(), kContacts / 5);
  server_.Restart();
  analytics_ = v1::AnalyticsService::NewStub(server_.channel());

  v1::ExportMembersRequest req;
  req.set_segment_id(de);
  req.set_max_chunk_bytes(1024);
  std::vector<std::vector<v1::ExportMembersResponse>> messages(6);
  std::vector<grpc::Status> statuses(messages.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < messages.size(); ++i) {
    clients.emplace_back(
        [&, i] { statuses[i] = Export(key_, req, &messages[i]); });
  }
  for (std::thread& t : clients) t.join();
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_THAT(statuses[i], GrpcOk()) << i;
    EXPECT_EQ(messages[i].at(0).member_count(), listed.size()) << i;
    EXPECT_THAT(ReadBack(messages[i]), ElementsAreArray(listed)) << i;
  }

  server_.Restart();
  analytics_ = v1::AnalyticsService::NewStub(server_.channel());
  std::vector<v1::ExportMembersResponse> none;
  EXPECT_THAT(Export("sk_0", req, &none),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
  v1::ExportMembersRequest no_source;
  EXPECT_THAT(Export(key_, no_source, &none),
              GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(none.empty());
}

// A client that cancels mid-stream ends it (CANCELLED), and the server
// serves on; a stream its client stopped reading does not hold a shutdown
// up.
TEST_F(AnalyticsServerTest, ACancelledExportEndsAndTheServerServesOn) {
  Import(key_, kContacts);
  const uint64_t everyone =
      Segment(key_, "everyone",
              {MakeCondition("lead_score", v1::Condition::GREATER_OR_EQUAL,
                             {NumberValue(0)})});
  // Every third contact: about 2 KiB of bitmap, a few 1 KiB chunks.
  const uint64_t thirds =
      Segment(key_, "subscribers",
              {MakeCondition("lifecycle_stage", v1::Condition::EQUALS,
                             {StringValue("SUBSCRIBER")})});
  v1::ExportMembersRequest req;
  req.set_segment_id(thirds);
  req.set_max_chunk_bytes(1024);
  auto ctx = Ctx(key_);
  auto reader = analytics_->ExportMembers(ctx.get(), req);
  v1::ExportMembersResponse first;
  ASSERT_TRUE(reader->Read(&first));
  EXPECT_GT(first.total_bytes(), 1024);
  ctx->TryCancel();
  v1::ExportMembersResponse rest;
  while (reader->Read(&rest)) {
  }
  EXPECT_THAT(reader->Finish(), GrpcIs(grpc::StatusCode::CANCELLED));

  v1::ExportMembersRequest again;
  again.set_segment_id(everyone);
  std::vector<v1::ExportMembersResponse> messages;
  ASSERT_THAT(Export(key_, again, &messages), GrpcOk());
  EXPECT_EQ(ReadBack(messages).size(), static_cast<size_t>(kContacts));

  auto open_ctx = Ctx(key_);
  auto open = analytics_->ExportMembers(open_ctx.get(), req);
  ASSERT_TRUE(open->Read(&first));  // and then not read any further
  const absl::Time before = absl::Now();
  server_.Stop(absl::Seconds(2));
  EXPECT_LT(absl::Now() - before, absl::Seconds(10));
  // The transport may have taken the whole bitmap before the stop (then
  // the stream finished OK) or not (then it was ended): either way, done.
  while (open->Read(&rest)) {
  }
  open->Finish();
}

TEST_F(AnalyticsServerTest, EmptySegmentsAndUnknownIds) {
  Import(key_, 10);
  const uint64_t none = CountryIs(key_, "NZ");
  v1::GetSegmentBreakdownRequest b;
  b.set_segment_id(none);
  v1::GetSegmentBreakdownResponse breakdown;
  ASSERT_THAT(analytics_->GetSegmentBreakdown(Ctx(key_).get(), b, &breakdown),
              GrpcOk());
  EXPECT_EQ(breakdown.member_count(), 0);
  EXPECT_EQ(breakdown.dimensions(0).values(0).share(), 0);
  v1::ExportMembersRequest e;
  e.set_segment_id(none);
  std::vector<v1::ExportMembersResponse> messages;
  ASSERT_THAT(Export(key_, e, &messages), GrpcOk());
  ASSERT_EQ(messages.size(), 1);
  EXPECT_EQ(messages[0].member_count(), 0);
  EXPECT_TRUE(ReadBack(messages).empty());
  v1::CheckMembershipRequest check;
  check.set_segment_id(none);
  check.add_contact_ids(1);
  check.add_contact_ids(99);
  v1::CheckMembershipResponse answer;
  ASSERT_THAT(analytics_->CheckMembership(Ctx(key_).get(), check, &answer),
              GrpcOk());
  EXPECT_THAT(answer.is_member(), ElementsAre(false, false));
  v1::ListContactSegmentsRequest contact;
  contact.set_contact_id(11);
  v1::ListContactSegmentsResponse segments;
  EXPECT_THAT(
      analytics_->ListContactSegments(Ctx(key_).get(), contact, &segments),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
}

// Ids of another workspace are NOT_FOUND, exactly as ids that never
// existed; a membership check never answers about its contacts.
TEST_F(AnalyticsServerTest, AnotherWorkspacesIdsAreNotFound) {
  Import(key_, 10);
  Import(other_key_, 50);
  const uint64_t mine = CountryIs(key_, "DE");
  CountryIs(other_key_, "DE");
  const uint64_t theirs = CountryIs(other_key_, "FR");  // id 2 there only
  ASSERT_NE(theirs, mine);

  v1::GetSegmentBreakdownRequest b;
  b.set_segment_id(theirs);
  v1::GetSegmentBreakdownResponse breakdown;
  EXPECT_THAT(analytics_->GetSegmentBreakdown(Ctx(key_).get(), b, &breakdown),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  v1::GetSegmentOverlapRequest o;
  o.add_segment_ids(mine);
  o.add_segment_ids(theirs);
  v1::GetSegmentOverlapResponse overlap;
  EXPECT_THAT(analytics_->GetSegmentOverlap(Ctx(key_).get(), o, &overlap),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  v1::CheckMembershipRequest check;
  check.set_segment_id(theirs);
  check.add_contact_ids(1);
  v1::CheckMembershipResponse answer;
  EXPECT_THAT(analytics_->CheckMembership(Ctx(key_).get(), check, &answer),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  v1::ExportMembersRequest e;
  e.set_segment_id(theirs);
  std::vector<v1::ExportMembersResponse> messages;
  EXPECT_THAT(Export(key_, e, &messages), GrpcIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(messages.empty());
  v1::ListContactSegmentsRequest contact;
  contact.set_contact_id(40);  // theirs: this workspace has 10
  v1::ListContactSegmentsResponse segments;
  EXPECT_THAT(
      analytics_->ListContactSegments(Ctx(key_).get(), contact, &segments),
      GrpcIs(grpc::StatusCode::NOT_FOUND));
  // Their contact 45 is in their DE segment; here it is no contact at all.
  check.set_segment_id(mine);
  check.clear_contact_ids();
  check.add_contact_ids(45);
  ASSERT_THAT(analytics_->CheckMembership(Ctx(key_).get(), check, &answer),
              GrpcOk());
  EXPECT_THAT(answer.is_member(), ElementsAre(false));
  v1::ListContactSegmentsRequest unauthenticated;
  unauthenticated.set_contact_id(1);
  EXPECT_THAT(analytics_->ListContactSegments(Ctx("").get(), unauthenticated,
                                              &segments),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(AnalyticsServerTest, LimitsNameTheFieldAndTheLimit) {
  Import(key_, 10);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 11; ++i)
    ids.push_back(CountryIs(key_, absl::StrCat("C", i)));
  v1::GetSegmentOverlapRequest o;
  for (uint64_t id : ids) o.add_segment_ids(id);
  v1::GetSegmentOverlapResponse overlap;
  grpc::Status s = analytics_->GetSegmentOverlap(Ctx(key_).get(), o, &overlap);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(s), ElementsAre("segment_ids"));
  EXPECT_THAT(s.error_message(), HasSubstr("max_overlap_segments"));
  o.mutable_segment_ids()->RemoveLast();  // ten is the limit
  EXPECT_THAT(analytics_->GetSegmentOverlap(Ctx(key_).get(), o, &overlap),
              GrpcOk());
  EXPECT_TRUE(overlap.regions().empty());  // more than four: no Venn regions

  v1::CheckMembershipRequest check;
  check.set_segment_id(ids[0]);
  for (int i = 1; i <= 10001; ++i) check.add_contact_ids(i);
  v1::CheckMembershipResponse answer;
  s = analytics_->CheckMembership(Ctx(key_).get(), check, &answer);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(s), ElementsAre("contact_ids"));
  EXPECT_THAT(s.error_message(), HasSubstr("max_membership_check_ids"));
  check.mutable_contact_ids()->RemoveLast();
  ASSERT_THAT(analytics_->CheckMembership(Ctx(key_).get(), check, &answer),
              GrpcOk());
  EXPECT_EQ(answer.is_member_size(), 10000);

  // Every violation of a request at once.
  check.set_segment_id(0);
  check.set_contact_ids(3, 0);
  s = analytics_->CheckMembership(Ctx(key_).get(), check, &answer);
  EXPECT_THAT(ViolationFields(s), ElementsAre("segment_id", "contact_ids[3]"));
  v1::GetSegmentBreakdownRequest b;
  b.add_dimensions("email");
  b.set_top_n(101);
  v1::GetSegmentBreakdownResponse breakdown;
  s = analytics_->GetSegmentBreakdown(Ctx(key_).get(), b, &breakdown);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(s),
              ElementsAre("segment_id", "dimensions[0]", "top_n"));
  v1::ExportMembersRequest e;
  e.set_max_chunk_bytes(10);
  std::vector<v1::ExportMembersResponse> messages;
  s = Export(key_, e, &messages);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(ViolationFields(s), ElementsAre("source", "max_chunk_bytes"));
  v1::RecommendSegmentsRequest r;
  v1::RecommendSegmentsResponse rec;
  s = analytics_->RecommendSegments(Ctx(other_key_).get(), r, &rec);
  EXPECT_THAT(ViolationFields(s), ElementsAre("goal"));
}

TEST_F(AnalyticsServerTest, RecommendationsArePro) {
  Import(key_, 50);
  Import(other_key_, kContacts);
  v1::RecommendSegmentsRequest req;
  req.set_goal(v1::CONVERT_LEADS);
  v1::RecommendSegmentsResponse out;
  grpc::Status s = analytics_->RecommendSegments(Ctx(key_).get(), req, &out);
  EXPECT_THAT(s, GrpcIs(grpc::StatusCode::PERMISSION_DENIED));
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(s);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(info->metadata().at("required_plan"), "PRO");

  // PRO: each candidate saved as it is has the count it was shown with.
  ASSERT_THAT(analytics_->RecommendSegments(Ctx(other_key_).get(), req, &out),
              GrpcOk());
  ASSERT_GT(out.recommendations_size(), 0);
  for (const v1::SegmentRecommendation& r : out.recommendations()) {
    v1::CreateSegmentRequest create;
    create.mutable_segment()->set_display_name(r.display_name());
    *create.mutable_segment()->mutable_filter() = r.filter();
    v1::Segment saved;
    ASSERT_THAT(
        server_.segments().CreateSegment(Ctx(other_key_).get(), create, &saved),
        GrpcOk())
        << r.display_name();
    EXPECT_EQ(saved.member_count(), r.member_count()) << r.rationale();
    EXPECT_FALSE(r.rationale().empty());
  }
}

}  // namespace
}  // namespace segments::testing
