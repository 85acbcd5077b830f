// ToGrpcStatus: codes one to one, message kept, violations and ErrorInfo as
// google.rpc details.
#include "server/status_util.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/retry_pushback.h"
#include "tests/server/test_server.h"

namespace segments {
namespace {

TEST(ToGrpcStatus, OkIsOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(ToGrpcStatus, CodesMapOneToOne) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), "why");
    grpc::Status out = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(out.error_code()), code);
    const bool server_failure =
        code == 2 || code == 13 || code == 14 || code == 15;
    if (server_failure) continue;  // see ServerFailuresHaveAFixedText
    EXPECT_EQ(out.error_message(), "why");
    EXPECT_TRUE(out.error_details().empty());
  }
}

// UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS and storage failures tell the
// client what to do, and nothing of the server's files or SQL (which go to
// the log, escaped, under the error id the client is given).
TEST(ToGrpcStatus, ServerFailuresHaveAFixedTextAndAreLogged) {
  struct Case {
    absl::Status status;
    grpc::StatusCode code;
    const char* reason;
  };
  const std::string secret =
      "/srv/data/workspaces/7.db: `INSERT INTO x`\nforged";
  const Case cases[] = {
      {WithStorageFailure(absl::UnavailableError(secret),
                          StorageFailure::kUnavailable),
       grpc::StatusCode::UNAVAILABLE, "STORAGE_UNAVAILABLE"},
      {WithStorageFailure(absl::UnavailableError(secret),
                          StorageFailure::kBusy),
       grpc::StatusCode::UNAVAILABLE, "STORAGE_BUSY"},
      {WithStorageFailure(absl::DataLossError(secret),
                          StorageFailure::kCorrupt),
       grpc::StatusCode::DATA_LOSS, "DATA_CORRUPT"},
      {WithStorageFailure(absl::FailedPreconditionError(secret),
                          StorageFailure::kOther),
       grpc::StatusCode::FAILED_PRECONDITION, "STORAGE_FAILED_PRECONDITION"},
      {absl::DataLossError(secret), grpc::StatusCode::DATA_LOSS,
       "DATA_CORRUPT"},
      {absl::InternalError(secret), grpc::StatusCode::INTERNAL, "INTERNAL"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    ::testing::internal::CaptureStderr();
    grpc::Status out = ToGrpcStatus(c.status);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(out.error_code(), c.code);
    EXPECT_THAT(out.error_message(),
                ::testing::Not(::testing::HasSubstr("/srv")));
    EXPECT_THAT(out.error_message(),
                ::testing::Not(::testing::HasSubstr("INSERT")));
    EXPECT_THAT(out.error_details(),
                ::testing::Not(::testing::HasSubstr("/srv")));
    google::rpc::Status details;
    ASSERT_TRUE(details.ParseFromString(out.error_details()));
    ASSERT_EQ(details.details_size(), 1);
    google::rpc::ErrorInfo info;
    ASSERT_TRUE(details.details(0).UnpackTo(&info));
    EXPECT_EQ(info.reason(), c.reason);
    const std::string id = info.metadata().at("error_id");
    EXPECT_THAT(out.error_message(), ::testing::HasSubstr("error " + id));
    // The log has the details, on one line.
    EXPECT_THAT(log, ::testing::HasSubstr("error " + id + " ("));
    EXPECT_THAT(log, ::testing::HasSubstr("/srv/data/workspaces/7.db"));
    EXPECT_THAT(log, ::testing::HasSubstr("\\nforged"));
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1);
  }
}

TEST(ToGrpcStatus, ViolationsBecomeBadRequest) {
  absl::Status status = InvalidArgumentError(
      {{"segment.filter.conditions[0].values[0]", "bad value"},
       {"segment.display_name", "x"}});
  grpc::Status out = ToGrpcStatus(status);
  EXPECT_EQ(out.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  EXPECT_EQ(details.code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(details.message(), out.error_message());
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 2);
  EXPECT_EQ(bad_request.field_violations(0).field(),
            "segment.filter.conditions[0].values[0]");
  EXPECT_EQ(bad_request.field_violations(0).description(), "bad value");
  EXPECT_EQ(bad_request.field_violations(1).field(), "segment.display_name");
}

TEST(ToGrpcStatus, ErrorInfoKeepsReasonDomainAndMetadata) {
  absl::Status status =
      WithErrorInfo(absl::PermissionDeniedError("upgrade"),
                    {"PLAN_UPGRADE_REQUIRED",
                     {{"required_plan", "GROWTH"}, {"field", "lead_score"}}});
  grpc::Status out = ToGrpcStatus(status);
  EXPECT_EQ(out.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(details.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(info.domain(), "segments.v1");
  EXPECT_EQ(info.metadata().at("required_plan"), "GROWTH");
  EXPECT_EQ(info.metadata().at("field"), "lead_score");
}

// Far more violations than fit, each with long strings (and bytes that
// gRPC percent-encodes): the details keep the first ones and say how many
// more there are, and the whole error fits a default client's 8 KiB.
std::string RepeatE(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "\u00e9";
  return s;
}

TEST(ToGrpcStatus, ManyViolationsAreCappedToFitDefaultMetadataLimit) {
  std::vector<FieldViolation> violations;
  for (int i = 0; i < 10000; ++i) {
    violations.push_back(
        {absl::StrCat("contacts[", i, "].company", std::string(400, '%')),
         absl::StrCat(std::string(500, '\n'), RepeatE(700))});
  }
  grpc::Status out = ToGrpcStatus(InvalidArgumentError(violations));
  EXPECT_EQ(out.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(ErrorMetadataWireBytes(out), kMaxErrorMetadataBytes);
  EXPECT_LE(out.error_message().size(), kMaxErrorMessageBytes + 3);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  const int n = bad_request.field_violations_size();
  ASSERT_GE(n, 2);
  EXPECT_EQ(
      bad_request.field_violations(0).field().rfind("contacts[0].company", 0),
      0u);
  const auto& tail = bad_request.field_violations(n - 1);
  EXPECT_EQ(tail.field(), "");
  EXPECT_THAT(tail.description(), ::testing::HasSubstr(absl::StrCat(
                                      "and ", 10000 - (n - 1), " more")));
}

TEST(ToGrpcStatus, ViolationsThatFitAreAllListed) {
  std::vector<FieldViolation> violations;
  for (int i = 0; i < 20; ++i) {
    violations.push_back({absl::StrCat("contacts[", i, "].email"), "bad"});
  }
  grpc::Status out = ToGrpcStatus(InvalidArgumentError(violations));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(out.error_details()));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(details.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(bad_request.field_violations_size(), 20);
}

// Through a real server to a client with gRPC's default channel settings
// (8 KiB metadata limit): 10,000 bad entries with long values are
// INVALID_ARGUMENT with their details, not RESOURCE_EXHAUSTED.
TEST(ErrorDetails, FitADefaultClientForTenThousandBadEntries) {
  testing::TestServer server;
  const std::string key = server.CreateWorkspace("E", v1::GROWTH).api_key;
  auto channel = grpc::CreateChannel(server.dial_address(),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::ContactService::NewStub(channel);
  v1::BatchUpsertContactsRequest request;
  for (int i = 0; i < 10000; ++i) {
    v1::Contact* c = request.add_contacts();
    c->set_email(absl::StrCat(std::string(200, 'x'), i, " not an email"));
    c->set_company(std::string(300, 'c'));
    c->add_tags(std::string(100, 't'));
  }
  v1::BatchUpsertContactsResponse response;
  grpc::Status status =
      stub->BatchUpsertContacts(testing::Ctx(key).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  std::vector<std::string> fields = testing::ViolationFields(status);
  ASSERT_GE(fields.size(), 10u);
  EXPECT_EQ(fields.front(), "contacts[0].email");
  EXPECT_EQ(fields.back(), "");
}

// The RetryInfo of an UNAVAILABLE answer, as gRPC's retries read it
// (grpc-retry-pushback-ms): whole milliseconds; nothing for other codes or
// without the hint.
TEST(RetryPushback, IsTheRetryInfoOfAnUnavailableAnswerInMilliseconds) {
  EXPECT_EQ(RetryPushbackOf(ToGrpcStatus(WorkspaceNotOwnedError(
                7, "is served by node b", absl::Milliseconds(3333)))),
            "3333");
  EXPECT_EQ(RetryPushbackOf(ToGrpcStatus(
                WithRetryDelay(absl::UnavailableError("x"), absl::Seconds(2)))),
            "2000");
  EXPECT_EQ(RetryPushbackOf(ToGrpcStatus(absl::UnavailableError("x"))),
            std::nullopt);
  EXPECT_EQ(RetryPushbackOf(ToGrpcStatus(WithRetryDelay(
                absl::ResourceExhaustedError("x"), absl::Seconds(2)))),
            std::nullopt);
  EXPECT_EQ(RetryPushbackOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x",
                                         "not a google.rpc.Status")),
            std::nullopt);
}

}  // namespace
}  // namespace segments
