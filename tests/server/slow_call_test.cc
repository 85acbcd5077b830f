// Slow calls are logged, one line each; other calls log nothing.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/test_server.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string LogOfOneListSegments(absl::Duration threshold) {
  TestServer server(
      [threshold](ServerOptions& o) { o.slow_call_threshold = threshold; });
  std::string key = server.CreateWorkspace("L", v1::STARTER).api_key;
  ::testing::internal::CaptureStderr();
  v1::ListSegmentsRequest request;
  v1::ListSegmentsResponse response;
  grpc::Status status =
      server.segments().ListSegments(Ctx(key).get(), request, &response);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(status, GrpcOk());
  return log;
}

TEST(SlowCallTest, LoggedOverTheThreshold) {
  EXPECT_THAT(
      LogOfOneListSegments(absl::Nanoseconds(1)),
      HasSubstr("slow call: /segments.v1.SegmentService/ListSegments took"));
}

TEST(SlowCallTest, QuietUnderTheThreshold) {
  EXPECT_THAT(LogOfOneListSegments(absl::Seconds(30)),
              Not(HasSubstr("slow call")));
}

}  // namespace
}  // namespace segments::testing
