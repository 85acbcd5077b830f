// Graceful shutdown: calls in flight finish (or never started), writes are
// all or nothing, and the databases are closed so the data directory can be
// opened again at once.
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

TEST(ShutdownTest, BatchInFlightIsAllOrNothing) {
  constexpr int kContacts = 5000;
  TestServer server;
  std::string key = server.CreateWorkspace("S", v1::STARTER).api_key;
  v1::BatchUpsertContactsRequest request;
  for (int i = 0; i < kContacts; ++i) {
    *request.add_contacts() =
        MakeContact(absl::StrCat("c", i, "@example.com"), "Germany");
  }
  grpc::Status status;
  std::atomic<bool> sent{false};
  std::thread client([&] {
    auto stub = v1::ContactService::NewStub(server.channel());
    v1::BatchUpsertContactsResponse response;
    sent = true;
    status = stub->BatchUpsertContacts(Ctx(key).get(), request, &response);
  });
  while (!sent) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(20));
  server.Stop();  // Shutdown with a 5 s grace period.
  client.join();
  EXPECT_THAT(
      status.error_code(),
      ::testing::AnyOf(grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE,
                       grpc::StatusCode::CANCELLED))
      << status.error_message();

  server.Start();
  // Either every contact is there, or none is.
  int found = 0;
  for (uint64_t id : {uint64_t{1}, uint64_t{kContacts}}) {
    v1::GetContactRequest get;
    get.set_id(id);
    v1::Contact contact;
    if (server.contacts().GetContact(Ctx(key).get(), get, &contact).ok())
      ++found;
  }
  if (status.ok()) {
    EXPECT_EQ(found, 2);
  } else {
    EXPECT_TRUE(found == 0 || found == 2) << found;
  }
}

TEST(ShutdownTest, IsIdempotentAndReleasesTheDataDirectory) {
  TestServer server;
  std::string key = server.CreateWorkspace("S", v1::STARTER).api_key;
  server.Stop();
  server.Stop();
  server.Start();  // would fail if the directory were still locked
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  EXPECT_THAT(
      server.segments().ListSegments(Ctx(key).get(), request, &response),
      GrpcOk());
}

TEST(ShutdownTest, SecondServerOnTheSameDirectoryIsRefused) {
  TestServer server;
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.data_dir = server.data_dir();
  absl::StatusOr<std::unique_ptr<SegmentsServer>> second =
      SegmentsServer::Start(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
}

}  // namespace
}  // namespace segments::testing
