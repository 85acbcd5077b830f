// Demo mode: the well-known key reaches a seeded workspace with segments that
// have members; a restart does not seed again.
#include "server/demo.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(DemoContacts, AreDeterministic) {
  std::vector<ContactDraft> a = DemoContacts(50, 1700000000);
  std::vector<ContactDraft> b = DemoContacts(50, 1700000000);
  ASSERT_EQ(a.size(), 50u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].email, b[i].email);
    EXPECT_EQ(a[i].country, b[i].country);
    EXPECT_EQ(a[i].tags, b[i].tags);
    EXPECT_EQ(a[i].lead_score, b[i].lead_score);
    EXPECT_EQ(a[i].created_at, b[i].created_at);
  }
}

std::vector<v1::Segment> ListSegments(TestServer& server) {
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  EXPECT_THAT(server.segments().ListSegments(Ctx(kDemoApiKey).get(), request,
                                             &response),
              GrpcOk());
  return {response.segments().begin(), response.segments().end()};
}

TEST(DemoMode, SeedsOnceAndServesTheDemoKey) {
  TestServer server([](ServerOptions& o) { o.demo = true; });
  std::vector<v1::Segment> segments = ListSegments(server);
  ASSERT_GE(segments.size(), 3u);
  bool hot_leads = false;
  for (const v1::Segment& s : segments) {
    EXPECT_GT(s.member_count(), 0u) << s.display_name();
    if (s.display_name() == "Hot leads") {
      hot_leads = true;
      EXPECT_EQ(s.kind(), v1::SMART);
    }
  }
  EXPECT_TRUE(hot_leads);
  v1::GetContactRequest get;
  get.set_id(kDemoContactCount);
  v1::Contact last;
  ASSERT_THAT(server.contacts().GetContact(Ctx(kDemoApiKey).get(), get, &last),
              GrpcOk());
  get.set_id(kDemoContactCount + 1);
  EXPECT_THAT(server.contacts().GetContact(Ctx(kDemoApiKey).get(), get, &last),
              GrpcIs(grpc::StatusCode::NOT_FOUND));

  // A change made in the demo survives a restart: it is not seeded again.
  v1::DeleteSegmentRequest del;
  del.set_id(segments[0].id());
  google::protobuf::Empty empty;
  ASSERT_THAT(
      server.segments().DeleteSegment(Ctx(kDemoApiKey).get(), del, &empty),
      GrpcOk());
  server.Restart();
  EXPECT_EQ(ListSegments(server).size(), segments.size() - 1);
  EXPECT_THAT(server.contacts().GetContact(Ctx(kDemoApiKey).get(), get, &last),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
}

TEST(DemoMode, ExamplesUseTheDemoKeyAndAddress) {
  DemoInfo info;
  info.workspace_id = 1;
  info.segments = {{1, "Customers in Germany"}, {2, "Hot leads"}};
  std::string text = DemoExamples(info, "127.0.0.1:50051", std::nullopt);
  EXPECT_THAT(text, HasSubstr("grpcurl -plaintext 127.0.0.1:50051 list"));
  EXPECT_THAT(text, HasSubstr("-H 'authorization: Bearer sk_demo_local_only'"));
  EXPECT_THAT(text,
              HasSubstr("segments.v1.SegmentService/CountSegmentMembers"));
  EXPECT_THAT(text, HasSubstr("segments.v1.SegmentService/ListSegmentMembers"));
  EXPECT_THAT(text, HasSubstr("segments.v1.ContactService/CreateContact"));
  EXPECT_THAT(text, HasSubstr("\"from_now\": true"));
  EXPECT_THAT(
      text, HasSubstr("segments.v1.ChangeFeedService/WatchMembershipChanges"));
  EXPECT_THAT(
      text,
      HasSubstr("segments.v1.AudienceSnapshotService/CreateAudienceSnapshot"));
  EXPECT_THAT(text, HasSubstr("segments.v1.ContactService/UpdateContact"));
  EXPECT_THAT(text,
              HasSubstr("segments.v1.AnalyticsService/GetSegmentBreakdown"));
}

// Segment names are the users' (a demo segment can be renamed): printed
// escaped, a newline cannot start a forged log line and a NUL cannot cut
// the output short.
TEST(DemoMode, ExamplesEscapeSegmentNames) {
  DemoInfo info;
  info.workspace_id = 1;
  info.segments = {
      {1, "Hot\n2026-01-01T00:00:00Z segments-server: admin key is x"},
      {2, std::string("cut\0here \"quoted\"", 17)}};
  std::string text = DemoExamples(info, "127.0.0.1:50051", std::nullopt);
  EXPECT_THAT(text, Not(HasSubstr("\n2026-01-01")));
  EXPECT_THAT(text, HasSubstr("1=\"Hot\\n2026-01-01T00:00:00Z"));
  EXPECT_THAT(text, HasSubstr("2=\"cut\\x00here \\\"quoted\\\"\""));
  EXPECT_EQ(text.find('\0'), std::string::npos);
}

TEST(NoDemoMode, DemoKeyIsUnknown) {
  TestServer server;
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  EXPECT_THAT(server.segments().ListSegments(Ctx(kDemoApiKey).get(), request,
                                             &response),
              GrpcIs(grpc::StatusCode::UNAUTHENTICATED));
}

}  // namespace
}  // namespace segments::testing
