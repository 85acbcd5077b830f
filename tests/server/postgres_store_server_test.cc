// The server over the PostgreSQL store (ServerOptions::store, the --store
// flag): workspaces, contacts and segments written through gRPC live in the
// database (not in the data directory) and are all there after a restart.
// Skipped where PostgreSQL is not installed (tests/testing/
// postgres_server.h).
#include <filesystem>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
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

// Health follows the database, not the local disk: with PostgreSQL down,
// a failed write makes the server NOT_SERVING and the probe keeps it so
// (the data directory's disk is fine throughout); once the database is
// back, the probe's commit makes it SERVING without any call.
TEST(PostgresStoreServerTest, HealthFollowsTheDatabaseNotTheLocalDisk) {
  std::string why_not;
  if (PostgresServer::Shared(&why_not) == nullptr) GTEST_SKIP() << why_not;
  absl::StatusOr<std::unique_ptr<PostgresServer>> pg = PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  absl::StatusOr<std::string> uri = (*pg)->FreshUri();
  ASSERT_TRUE(uri.ok()) << uri.status();
  TestServer server([&](ServerOptions& o) {
    o.store = *uri;
    o.health_probe_interval = absl::Milliseconds(50);
  });
  const std::string key = server.CreateWorkspace("probed", v1::PRO).api_key;
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  auto health = [&] {
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub->Check(&context, check, &response).ok());
    return response.status();
  };
  EXPECT_EQ(health(), grpc::health::v1::HealthCheckResponse::SERVING);

  (*pg)->Stop();
  v1::CreateContactRequest request;
  *request.mutable_contact() = MakeContact("down@example.com");
  v1::Contact out;
  EXPECT_THAT(server.contacts().CreateContact(Ctx(key).get(), request, &out),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));
  // Many probe intervals: the probe commits to PostgreSQL, and fails.
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(health(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);

  ASSERT_TRUE((*pg)->Restart().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (health() != grpc::health::v1::HealthCheckResponse::SERVING &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(health(), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_THAT(server.contacts().CreateContact(Ctx(key).get(), request, &out),
              GrpcOk());
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
