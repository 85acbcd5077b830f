// ToGrpcStatus: codes one to one, message kept, violations and ErrorInfo as
// google.rpc details.
#include "server/status_util.h"

#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

TEST(ToGrpcStatus, OkIsOk) { EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok()); }

TEST(ToGrpcStatus, CodesMapOneToOne) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), "why");
    grpc::Status out = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(out.error_code()), code);
    EXPECT_EQ(out.error_message(), "why");
    EXPECT_TRUE(out.error_details().empty());
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

}  // namespace
}  // namespace segments
