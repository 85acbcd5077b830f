// The server over the PostgreSQL store (ServerOptions::store, the --store
// flag): workspaces, contacts and segments written through gRPC live in the
// database (not in the data directory) and are all there after a restart.
// Skipped where PostgreSQL is not installed (tests/testing/
// postgres_server.h).
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"
#include "tests/testing/postgres_server.h"

namespace segments::testing {
namespace {

uint64_t Count(TestServer& server, const std::string& key, uint64_t segment) {
  v1::CountSegmentMembersRequest req;
  req.set_segment_id(segment);
  v1::CountSegmentMembersResponse resp;
  EXPECT_THAT(server.segments().CountSegmentMembers(Ctx(key).get(), req, &resp),
              GrpcOk());
  return resp.member_count();
}

TEST(PostgresStoreServerTest, WritesLiveInPostgresAcrossRestarts) {
  std::string why_not;
  PostgresServer* pg = PostgresServer::Shared(&why_not);
  if (pg == nullptr) GTEST_SKIP() << why_not;
  absl::StatusOr<std::string> uri = pg->FreshUri();
  ASSERT_TRUE(uri.ok()) << uri.status();
  TestServer server([&](ServerOptions& o) { o.store = *uri; });
  auto ws = server.CreateWorkspace("on postgres", v1::PRO);

  v1::BatchUpsertContactsRequest batch;
  for (int i = 0; i < 250; ++i) {
    v1::Contact* c = batch.add_contacts();
    c->set_email("user" + std::to_string(i) + "@example.com");
    c->set_country(i % 5 == 0 ? "DE" : "FR");
  }
  v1::BatchUpsertContactsResponse upserted;
  ASSERT_THAT(server.contacts().BatchUpsertContacts(Ctx(ws.api_key).get(),
                                                    batch, &upserted),
              GrpcOk());
  v1::CreateSegmentRequest create;
  *create.mutable_segment() = MakeSegment(
      "Germany",
      {MakeCondition("country", v1::Condition::EQUALS, {StringValue("DE")})});
  v1::Segment segment;
  ASSERT_THAT(
      server.segments().CreateSegment(Ctx(ws.api_key).get(), create, &segment),
      GrpcOk());
  EXPECT_EQ(Count(server, ws.api_key, segment.id()), 50u);

  server.Restart();
  EXPECT_EQ(Count(server, ws.api_key, segment.id()), 50u);
  // Nothing of it is in the data directory.
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/catalog.db"));
  EXPECT_FALSE(std::filesystem::exists(server.data_dir() + "/workspaces"));
}

TEST(PostgresStoreServerTest, AnUnknownStoreIsRefused) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = ::testing::TempDir() + "/unused_store_dir";
  options.store = "mysql://localhost/x";
  absl::StatusOr<std::unique_ptr<SegmentsServer>> started =
      SegmentsServer::Start(options);
  EXPECT_TRUE(absl::IsInvalidArgument(started.status())) << started.status();
}

}  // namespace
}  // namespace segments::testing
