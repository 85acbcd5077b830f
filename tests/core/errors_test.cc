#include "core/base/errors.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";
constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";

TEST(Violations, NoneIsOk) {
  Violations v;
  EXPECT_TRUE(v.empty());
  EXPECT_THAT(v.ToStatus(), IsOk());
}

TEST(Violations, CarriesEveryViolationInOrder) {
  Violations v;
  v.Add("filter.conditions[2].values[0]", "must not be empty");
  v.Add("filter.match", "unknown match 7");
  v.Add("filter.conditions[3].field", "unknown field");
  absl::Status s = v.ToStatus();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(s.message(),
            "filter.conditions[2].values[0]: must not be empty (and 2 more)");
  EXPECT_THAT(
      GetFieldViolations(s),
      ElementsAre(
          FieldViolation{"filter.conditions[2].values[0]", "must not be empty"},
          FieldViolation{"filter.match", "unknown match 7"},
          FieldViolation{"filter.conditions[3].field", "unknown field"}));
}

TEST(InvalidFieldError, OneViolationHasAPlainMessage) {
  absl::Status s = InvalidFieldError("contact.email", "is required");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(s.message(), "contact.email: is required");
  EXPECT_THAT(GetFieldViolations(s),
              ElementsAre(FieldViolation{"contact.email", "is required"}));
}

TEST(InvalidArgumentError, EmptyAndUnicodeStringsSurvive) {
  std::vector<FieldViolation> in = {
      {"", ""},
      {"tags[0]", "caf\xC3\xA9 is \xE6\x97\xA5"},
      {std::string(300, 'p'), std::string(1000, 'd')}};
  absl::Status s = InvalidArgumentError(in);
  EXPECT_EQ(GetFieldViolations(s), in);
}

TEST(InvalidArgumentError, PayloadIsTheBadRequestWireFormat) {
  absl::Status s = InvalidFieldError("a", "bc");
  absl::optional<absl::Cord> payload = s.GetPayload(kBadRequestUrl);
  ASSERT_TRUE(payload.has_value());
  // BadRequest{field_violations: [{field: "a", description: "bc"}]}
  EXPECT_EQ(absl::CHexEscape(std::string(*payload)),
            absl::CHexEscape(std::string("\x0A\x07\x0A\x01"
                                         "a\x12\x02"
                                         "bc")));
}

TEST(GetFieldViolations, NoneWithoutAPayload) {
  EXPECT_THAT(GetFieldViolations(absl::OkStatus()), IsEmpty());
  EXPECT_THAT(GetFieldViolations(absl::NotFoundError("x")), IsEmpty());
}

TEST(GetFieldViolations, GarbagePayloadYieldsNothingAndNeverCrashes) {
  for (const std::string& garbage :
       {std::string("\x0A\xFF"), std::string("\x0A\x05\x0A\x09"),
        std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF"),
        std::string("\x0B"), std::string(1, '\0')}) {
    absl::Status s = absl::InvalidArgumentError("x");
    s.SetPayload(kBadRequestUrl, absl::Cord(garbage));
    EXPECT_THAT(GetFieldViolations(s), IsEmpty()) << absl::CHexEscape(garbage);
  }
}

TEST(ErrorInfo, RoundTripsReasonAndMetadata) {
  absl::Status s =
      WithErrorInfo(absl::PermissionDeniedError("upgrade"),
                    {"PLAN_UPGRADE_REQUIRED",
                     {{"required_plan", "GROWTH"}, {"field", "lead_score"}}});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(s.message(), "upgrade");
  ErrorInfo info = GetErrorInfo(s);
  EXPECT_EQ(info.reason, "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(info.metadata,
            (std::map<std::string, std::string>{{"required_plan", "GROWTH"},
                                                {"field", "lead_score"}}));
}

TEST(ErrorInfo, PayloadIsTheErrorInfoWireFormatWithTheDomain) {
  absl::Status s =
      WithErrorInfo(absl::PermissionDeniedError("x"), {"R", {{"k", "v"}}});
  absl::optional<absl::Cord> payload = s.GetPayload(kErrorInfoUrl);
  ASSERT_TRUE(payload.has_value());
  // ErrorInfo{reason: "R", domain: "segments.v1", metadata: {"k": "v"}}
  EXPECT_EQ(absl::CHexEscape(std::string(*payload)),
            absl::CHexEscape(std::string("\x0A\x01R"
                                         "\x12\x0Bsegments.v1"
                                         "\x1A\x06\x0A\x01k\x12\x01v")));
}

TEST(ErrorInfo, EmptyWhenAbsentOrGarbage) {
  EXPECT_EQ(GetErrorInfo(absl::InternalError("x")).reason, "");
  absl::Status s = absl::PermissionDeniedError("x");
  s.SetPayload(kErrorInfoUrl, absl::Cord("\x0A\x10short"));
  ErrorInfo info = GetErrorInfo(s);
  EXPECT_EQ(info.reason, "");
  EXPECT_THAT(info.metadata, IsEmpty());
}

TEST(ErrorInfo, OkStatusStaysOk) {
  absl::Status s = WithErrorInfo(absl::OkStatus(), {"R", {}});
  EXPECT_THAT(s, IsOk());
}

TEST(ErrorInfo, CoexistsWithViolations) {
  absl::Status s = WithErrorInfo(InvalidFieldError("f", "d"), {"R", {}});
  EXPECT_EQ(GetErrorInfo(s).reason, "R");
  EXPECT_THAT(GetFieldViolations(s), ElementsAre(FieldViolation{"f", "d"}));
}

}  // namespace
}  // namespace segments
