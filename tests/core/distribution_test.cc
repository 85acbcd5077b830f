// Nearest-rank percentiles of an ordered index's keys within a base set.
#include "core/analytics/distribution.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments::analytics {
namespace {

using ::testing::Optional;

// Keys 1..10, key k held by contacts 10k..10k+k-1 (k contacts each).
std::map<int64_t, Roaring> Postings() {
  std::map<int64_t, Roaring> out;
  for (int64_t k = 1; k <= 10; ++k) {
    for (uint32_t i = 0; i < k; ++i) {
      out[k].add(static_cast<uint32_t>(10 * k) + i);
    }
  }
  return out;
}

TEST(KeyDistribution, NearestRankPercentiles) {
  const std::map<int64_t, Roaring> postings = Postings();
  const KeyDistribution all(postings, nullptr);
  EXPECT_EQ(all.total(), 55);
  // Ranks: ceil(p/100 * 55); the keys' cumulative counts are 1, 3, 6, 10,
  // 15, 21, 28, 36, 45, 55.
  EXPECT_THAT(all.Percentile(1), Optional(1));     // rank 1
  EXPECT_THAT(all.Percentile(50), Optional(7));    // rank 28
  EXPECT_THAT(all.Percentile(51), Optional(8));    // rank 29
  EXPECT_THAT(all.Percentile(75), Optional(9));    // rank 42
  EXPECT_THAT(all.Percentile(100), Optional(10));  // rank 55
}

TEST(KeyDistribution, WithinABaseSet) {
  const std::map<int64_t, Roaring> postings = Postings();
  Roaring base;
  base.add(10);  // key 1
  base.add(90);  // key 9
  base.add(91);  // key 9
  base.add(5);   // no key
  const KeyDistribution some(postings, &base);
  EXPECT_EQ(some.total(), 3);
  EXPECT_THAT(some.Percentile(33), Optional(1));
  EXPECT_THAT(some.Percentile(34), Optional(9));
  const Roaring none;
  EXPECT_EQ(KeyDistribution(postings, &none).Percentile(50), std::nullopt);
}

}  // namespace
}  // namespace segments::analytics
