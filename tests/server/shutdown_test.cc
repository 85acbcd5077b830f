// Graceful shutdown: calls in flight finish (or never started), writes are
// all or nothing, and the databases are closed so the data directory can be
// opened again at once.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/drain.h"
#include "tests/server/server_process.h"
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

TEST(ShutdownTest, QueuedCallsFinishWithinTheGracePeriod) {
  // Writes to one workspace run one at a time, so most of these wait in the
  // server when Shutdown begins; every one that was sent must still finish.
  constexpr int kCalls = 24;
  constexpr int kContacts = 100;
  TestServer server;
  std::string key = server.CreateWorkspace("Q", v1::STARTER).api_key;
  std::vector<grpc::Status> statuses(kCalls);
  std::atomic<int> started{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kCalls; ++c) {
    clients.emplace_back([&, c] {
      v1::BatchUpsertContactsRequest request;
      for (int i = 0; i < kContacts; ++i) {
        *request.add_contacts() =
            MakeContact(absl::StrCat("c", c, "-", i, "@example.com"));
      }
      auto stub = v1::ContactService::NewStub(server.channel());
      v1::BatchUpsertContactsResponse response;
      ++started;
      statuses[c] =
          stub->BatchUpsertContacts(Ctx(key).get(), request, &response);
    });
  }
  while (started < kCalls) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(50));  // all sent
  // A grace period long enough for all of them even under a sanitizer.
  server.Stop(absl::Seconds(60));
  for (std::thread& t : clients) t.join();
  int ok = 0;
  for (const grpc::Status& status : statuses) {
    EXPECT_THAT(
        status.error_code(),
        ::testing::AnyOf(grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE))
        << status.error_message();
    if (status.ok()) ++ok;
  }
  std::cout << ok << " of " << kCalls << " queued calls finished OK\n";
}

TEST(ShutdownTest, ChannelzCountsCallsInFlight) {
  TestServer server;
  std::string key = server.CreateWorkspace("C", v1::STARTER).api_key;
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(
        server.segments().ListSegments(Ctx(key).get(), request, &response),
        GrpcOk());
  }
  v1::GetSegmentRequest missing;
  missing.set_id(12345);
  v1::Segment segment;
  EXPECT_THAT(server.segments().GetSegment(Ctx(key).get(), missing, &segment),
              GrpcIs(grpc::StatusCode::NOT_FOUND));
  // Counted as finished once the reply is out; give the server a moment.
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (CoreCallsInFlight() != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(CoreCallsInFlight(), 0);
}

TEST(ShutdownTest, NewCallsDuringShutdownAreUnavailable) {
  TestServer server;
  std::string key = server.CreateWorkspace("N", v1::STARTER).api_key;
  auto channel = server.channel();
  server.Stop();
  auto stub = v1::SegmentService::NewStub(channel);
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  EXPECT_THAT(stub->ListSegments(Ctx(key).get(), request, &response),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));
}

// The time from SIGTERM to the exit of the real binary, with one idle client
// connection open or none.
absl::Duration TimeToStop(bool idle_client, bool watching = false) {
  ServerProcess process({});
  EXPECT_TRUE(process.listening());
  std::shared_ptr<grpc::Channel> channel;
  if (idle_client) {
    channel = grpc::CreateChannel(process.address(),
                                  grpc::InsecureChannelCredentials());
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    EXPECT_TRUE(stub->Check(&context, request, &response).ok());
  }
  grpc::ClientContext watch_context;
  std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>>
      watch;
  if (watching) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    watch = stub->Watch(&watch_context, request);
    EXPECT_TRUE(watch->Read(&response));
  }
  absl::Time start = absl::Now();
  process.Signal(SIGTERM);
  std::optional<int> status = process.WaitForExit(absl::Seconds(20));
  absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(status.has_value());
  if (status.has_value()) {
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << process.Stderr();
  }
  return took;
}

TEST(ShutdownTest, AnIdleClientDoesNotDelaySigterm) {
  absl::Duration without = TimeToStop(false);
  absl::Duration with = TimeToStop(true);
  std::cout << "SIGTERM to exit: " << without << " without a client, " << with
            << " with an idle one\n";
  // gRPC's own wait for the idle client was about 5 s.
  EXPECT_LT(with - without, absl::Seconds(2));
}

TEST(ShutdownTest, AnOpenHealthWatchDoesNotDelaySigterm) {
  absl::Duration without = TimeToStop(false);
  absl::Duration took = TimeToStop(true, true);
  std::cout << "SIGTERM to exit: " << without << " without a client, " << took
            << " with a health Watch open\n";
  EXPECT_LT(took - without, absl::Seconds(2));
}

}  // namespace
}  // namespace segments::testing
