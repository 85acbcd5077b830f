// gMock matchers for absl::Status and absl::StatusOr, named like the ones
// later Abseil releases ship: IsOk(), StatusIs(code), StatusIs(code, msg).
#ifndef SEGMENTS_TESTS_TESTING_STATUS_MATCHERS_H_
#define SEGMENTS_TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace segments::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(s.message()), result_listener);
}

MATCHER_P(IsOkAndHolds, matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

}  // namespace segments::testing

// Asserts that a StatusOr is OK and yields its value.
#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                       \
  ASSERT_OK_AND_ASSIGN_IMPL_(SEGMENTS_TEST_CONCAT_(statusor_, __LINE__), lhs, \
                             expr)
#define SEGMENTS_TEST_CONCAT_INNER_(a, b) a##b
#define SEGMENTS_TEST_CONCAT_(a, b) SEGMENTS_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  ASSERT_TRUE(statusor.ok()) << statusor.status();      \
  lhs = std::move(statusor).value()

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::segments::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::segments::testing::IsOk())

#endif  // SEGMENTS_TESTS_TESTING_STATUS_MATCHERS_H_
