// core/history/buckets.h: UTC alignment (also before 1970), the bucket
// limit, and the range checks.
#include "core/history/buckets.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::StatusIs;
using ::testing::HasSubstr;

TEST(Buckets, AlignToUtcHoursAndDaysAlsoBefore1970) {
  EXPECT_EQ(AlignDown(7200, 3600), 7200);
  EXPECT_EQ(AlignDown(7199, 3600), 3600);
  EXPECT_EQ(AlignDown(-1, 3600), -3600);
  EXPECT_EQ(AlignDown(-3600, 3600), -3600);
  EXPECT_EQ(AlignUp(7201, 3600), 10800);
  EXPECT_EQ(AlignUp(7200, 3600), 7200);
  EXPECT_EQ(AlignUp(-1, 86400), 0);
  // 2023-11-14T22:13:20Z lies in the day that began at 00:00:00Z.
  EXPECT_EQ(AlignDown(1'700'000'000, 86400), 1'699'920'000);
}

TEST(Buckets, RangeIsWidenedToWholeBuckets) {
  ASSERT_OK_AND_ASSIGN(
      BucketRange r, PlanBuckets(3601, 7201, Granularity::kHour, 100'000, 744));
  EXPECT_EQ(r.start, 3600);
  EXPECT_EQ(r.width, 3600);
  EXPECT_EQ(r.count, 2u);
  EXPECT_EQ(r.reported, 2u);
  EXPECT_EQ(r.EndOf(1), 10800);
}

TEST(Buckets, BucketsAfterNowAreNotReported) {
  // Now is inside the second bucket: the third and fourth are the future.
  ASSERT_OK_AND_ASSIGN(BucketRange r,
                       PlanBuckets(0, 4 * 3600, Granularity::kHour, 3601, 744));
  EXPECT_EQ(r.count, 4u);
  EXPECT_EQ(r.reported, 2u);
}

TEST(Buckets, MoreThanTheLimitIsInvalidArgumentNamingIt) {
  const int64_t hour = 3600;
  EXPECT_OK(PlanBuckets(0, 744 * hour, Granularity::kHour, 1'000'000'000, 744)
                .status());
  EXPECT_THAT(
      PlanBuckets(0, 744 * hour + 1, Granularity::kHour, 1'000'000'000, 744)
          .status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("max_history_buckets")));
  // The same span by days is 31 buckets.
  EXPECT_OK(PlanBuckets(0, 744 * hour, Granularity::kDay, 1'000'000'000, 744)
                .status());
}

TEST(Buckets, EmptyOrFutureRangesAreInvalid) {
  EXPECT_THAT(
      PlanBuckets(10, 10, Granularity::kHour, 100, 744).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("end_time")));
  EXPECT_THAT(
      PlanBuckets(200, 300, Granularity::kHour, 100, 744).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start_time")));
}

}  // namespace
}  // namespace segments
