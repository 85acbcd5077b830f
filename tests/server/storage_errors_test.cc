// Storage failures as a client sees them, injected with the fault VFS
// (tests/testing/fault_vfs.h) under a real server: each is a code that says
// what to do, the reply names no file and no SQL, a failed write changes
// nothing, and health reports NOT_SERVING while commits fail.
#include <sqlite3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"
#include "tests/testing/fault_vfs.h"

namespace segments::testing {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

class StorageErrorsTest : public ::testing::Test {
 protected:
  StorageErrorsTest()
      : faults_(FaultVfs::Install(/*make_default=*/true)),
        server_([](ServerOptions& o) {
          o.health_probe_interval = absl::Hours(1);  // only writes flip it
        }) {}
  void SetUp() override {
    key_ = server_.CreateWorkspace("F", v1::GROWTH).api_key;
    ASSERT_THAT(Create("first@x.example"), GrpcOk());
  }
  void TearDown() override { faults_.Clear(); }

  grpc::Status Create(const std::string& email) {
    v1::CreateContactRequest request;
    *request.mutable_contact() = MakeContact(email, "Germany");
    v1::Contact out;
    return server_.contacts().CreateContact(Ctx(key_).get(), request, &out);
  }
  int ContactCount() {
    v1::PreviewSegmentRequest request;
    *request.mutable_filter() =
        MakeSegment("all", {MakeCondition("email", v1::Condition::CONTAINS,
                                          {StringValue("@")})})
            .filter();
    v1::PreviewSegmentResponse response;
    EXPECT_THAT(
        server_.segments().PreviewSegment(Ctx(key_).get(), request, &response),
        GrpcOk());
    return static_cast<int>(response.member_count());
  }
  HealthCheckResponse::ServingStatus Health() {
    auto stub = grpc::health::v1::Health::NewStub(server_.channel());
    HealthCheckRequest request;
    HealthCheckResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub->Check(&context, request, &response).ok());
    return response.status();
  }
  // The failure told a client what to do and nothing of the server's files.
  void ExpectScrubbed(const grpc::Status& status) {
    EXPECT_THAT(status.error_message(), Not(HasSubstr(server_.data_dir())));
    EXPECT_THAT(status.error_message(), Not(HasSubstr(".db")));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("INSERT")));
    EXPECT_THAT(status.error_message(), Not(HasSubstr("COMMIT")));
    EXPECT_THAT(status.error_details(), Not(HasSubstr(server_.data_dir())));
  }

  FaultVfs& faults_;
  TestServer server_;
  std::string key_;
};

TEST_F(StorageErrorsTest, WriteIoErrorIsUnavailableAndChangesNothing) {
  faults_.Fail(FaultVfs::Op::kWrite, SQLITE_IOERR_WRITE, "/workspaces/");
  grpc::Status status = Create("second@x.example");
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE));
  ExpectScrubbed(status);
  std::optional<google::rpc::ErrorInfo> info = ErrorInfoOf(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "STORAGE_UNAVAILABLE");
  EXPECT_GT(faults_.injected(), 0);
  // Still failing: the same answer, never DATA_LOSS.
  EXPECT_THAT(Create("third@x.example"), GrpcIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(Health(), HealthCheckResponse::NOT_SERVING);
  faults_.Clear();
  EXPECT_EQ(ContactCount(), 1);
  // The disk is back: the retry succeeds and health follows.
  EXPECT_THAT(Create("second@x.example"), GrpcOk());
  EXPECT_EQ(Health(), HealthCheckResponse::SERVING);
  EXPECT_EQ(ContactCount(), 2);
}

TEST_F(StorageErrorsTest, SyncIoErrorIsUnavailable) {
  faults_.Fail(FaultVfs::Op::kSync, SQLITE_IOERR_FSYNC, "/workspaces/");
  grpc::Status status = Create("second@x.example");
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE));
  ExpectScrubbed(status);
  EXPECT_EQ(Health(), HealthCheckResponse::NOT_SERVING);
  faults_.Clear();
  EXPECT_THAT(Create("third@x.example"), GrpcOk());
  EXPECT_EQ(Health(), HealthCheckResponse::SERVING);
}

TEST_F(StorageErrorsTest, FullDiskIsUnavailable) {
  faults_.Fail(FaultVfs::Op::kWrite, SQLITE_FULL, "/workspaces/");
  grpc::Status status = Create("second@x.example");
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE));
  ExpectScrubbed(status);
  EXPECT_EQ(Health(), HealthCheckResponse::NOT_SERVING);
  faults_.Clear();
  EXPECT_EQ(ContactCount(), 1);
}

TEST_F(StorageErrorsTest, BatchOnAFailingDiskChangesNothing) {
  faults_.Fail(FaultVfs::Op::kWrite, SQLITE_IOERR_WRITE, "/workspaces/",
               /*count=*/-1, /*skip=*/3);
  v1::BatchUpsertContactsRequest request;
  for (int i = 0; i < 2000; ++i) {
    *request.add_contacts() = MakeContact(absl::StrCat("b", i, "@x.example"));
  }
  v1::BatchUpsertContactsResponse response;
  grpc::Status status = server_.contacts().BatchUpsertContacts(
      Ctx(key_).get(), request, &response);
  EXPECT_THAT(status, GrpcIs(grpc::StatusCode::UNAVAILABLE));
  ExpectScrubbed(status);
  faults_.Clear();
  EXPECT_EQ(ContactCount(), 1);
  EXPECT_THAT(server_.contacts().BatchUpsertContacts(Ctx(key_).get(), request,
                                                     &response),
              GrpcOk());
  EXPECT_EQ(ContactCount(), 2001);
}

// Without a write to prove the disk is back, the periodic probe does.
TEST(StorageHealthProbe, ProbeFlipsHealthBackWhenTheDiskRecovers) {
  FaultVfs& faults = FaultVfs::Install(/*make_default=*/true);
  TestServer server([](ServerOptions& o) {
    o.health_probe_interval = absl::Milliseconds(50);
  });
  const std::string key = server.CreateWorkspace("P", v1::GROWTH).api_key;
  faults.Fail(FaultVfs::Op::kWrite, SQLITE_IOERR_WRITE);
  v1::CreateContactRequest request;
  *request.mutable_contact() = MakeContact("p@x.example");
  v1::Contact out;
  EXPECT_THAT(server.contacts().CreateContact(Ctx(key).get(), request, &out),
              GrpcIs(grpc::StatusCode::UNAVAILABLE));
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  auto health = [&] {
    HealthCheckRequest check;
    HealthCheckResponse response;
    grpc::ClientContext context;
    EXPECT_TRUE(stub->Check(&context, check, &response).ok());
    return response.status();
  };
  // The probe fails too while the disk does.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(health(), HealthCheckResponse::NOT_SERVING);
  faults.Clear();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (health() != HealthCheckResponse::SERVING && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(health(), HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace segments::testing
