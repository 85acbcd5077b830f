#include "core/model/paging.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Paths(const absl::Status& status) {
  std::vector<std::string> paths;
  for (const FieldViolation& v : GetFieldViolations(status)) {
    paths.push_back(v.field);
  }
  return paths;
}

TEST(ResolvePageSize, ZeroMeansTheDefault) {
  ASSERT_OK_AND_ASSIGN(size_t n, ResolvePageSize(0, 1000, "page_size"));
  EXPECT_EQ(n, kDefaultPageSize);
  // A configured maximum below the default caps it.
  ASSERT_OK_AND_ASSIGN(n, ResolvePageSize(0, 10, "page_size"));
  EXPECT_EQ(n, 10u);
}

TEST(ResolvePageSize, UpToTheMaximumIsTakenAsIs) {
  for (int64_t v : {1, 99, 1000}) {
    ASSERT_OK_AND_ASSIGN(size_t n, ResolvePageSize(v, 1000, "page_size"));
    EXPECT_EQ(n, static_cast<size_t>(v));
  }
}

TEST(ResolvePageSize, NegativeIsRefusedAtThePath) {
  absl::StatusOr<size_t> r = ResolvePageSize(-1, 1000, "page_size");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Paths(r.status()), ElementsAre("page_size"));
}

TEST(ResolvePageSize, OverTheMaximumIsRefusedNamingTheLimit) {
  absl::StatusOr<size_t> r = ResolvePageSize(1001, 1000, "request.page_size");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("at most 1000")));
  EXPECT_THAT(Paths(r.status()), ElementsAre("request.page_size"));
  EXPECT_THAT(ResolvePageSize(INT64_MAX, 1000, "p"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PageToken, RoundTripsWithinItsScope) {
  for (uint64_t id :
       {uint64_t{0}, uint64_t{1}, uint64_t{4294967295}, UINT64_MAX}) {
    const std::string token = EncodePageToken("members/12", id);
    ASSERT_OK_AND_ASSIGN(uint64_t back,
                         DecodePageToken(token, "members/12", "page_token"));
    EXPECT_EQ(back, id);
  }
}

TEST(PageToken, EmptyMeansTheStart) {
  ASSERT_OK_AND_ASSIGN(uint64_t id, DecodePageToken("", "segments", "t"));
  EXPECT_EQ(id, 0u);
}

TEST(PageToken, IsOpaqueAndUrlSafe) {
  const std::string token = EncodePageToken("members/12", 345);
  EXPECT_THAT(token, Not(HasSubstr("members")));
  EXPECT_THAT(token, Not(HasSubstr("345")));
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
}

TEST(PageToken, AnotherScopeIsRefusedAtThePath) {
  const std::string token = EncodePageToken("members/1", 10);
  for (const char* other : {"members/12", "members/", "segments", ""}) {
    absl::StatusOr<uint64_t> r = DecodePageToken(token, other, "page_token");
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << other;
    EXPECT_THAT(Paths(r.status()), ElementsAre("page_token")) << other;
  }
}

TEST(PageToken, ScopesMayContainColons) {
  const std::string token = EncodePageToken("snap:a:b", 9);
  ASSERT_OK_AND_ASSIGN(uint64_t id, DecodePageToken(token, "snap:a:b", "t"));
  EXPECT_EQ(id, 9u);
  EXPECT_THAT(DecodePageToken(token, "snap:a", "t"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PageToken, MalformedTokensAreRefusedAtThePath) {
  auto b64 = [](const std::string& s) { return absl::WebSafeBase64Escape(s); };
  std::vector<std::string> bad = {
      "!!!",                                    // not base64
      "a",                                      // not a whole base64 quantum
      b64("segments:5"),                        // no version prefix
      b64("p2:segments:5"),                     // another version
      b64("p1:segments"),                       // no id
      b64("p1:segments:"),                      // empty id
      b64("p1:segments:-5"),                    // signed
      b64("p1:segments:+5"),                    // signed
      b64("p1:segments:05"),                    // not canonical
      b64("p1:segments: 5"),                    // padded
      b64("p1:segments:5x"),                    // trailing junk
      b64("p1:segments:18446744073709551616"),  // overflows uint64
      b64(std::string("p1:segments:5\0", 14)),
  };
  // Other spellings of a valid token, which absl's decoder alone accepts.
  const std::string good = EncodePageToken("segments", 5);
  ASSERT_THAT(DecodePageToken(good, "segments", "page_token"), IsOkAndHolds(5));
  bad.push_back(good + "=");                                // padded
  bad.push_back(good.substr(0, 4) + " " + good.substr(4));  // whitespace
  bad.push_back(good + "\n");
  // The last character of a partial quantum carries unused low bits:
  // setting one spells the same bytes.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string stray = good;
  stray.back() = alphabet[alphabet.find(stray.back()) ^ 1];
  std::string same, plain;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(good, &plain));
  ASSERT_TRUE(absl::WebSafeBase64Unescape(stray, &same));
  ASSERT_EQ(same, plain) << "not a stray bit: " << stray;
  bad.push_back(stray);
  for (const std::string& token : bad) {
    absl::StatusOr<uint64_t> r =
        DecodePageToken(token, "segments", "page_token");
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << token;
    EXPECT_THAT(Paths(r.status()), ElementsAre("page_token")) << token;
  }
}

}  // namespace
}  // namespace segments
