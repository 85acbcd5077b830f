// AtomicHistogram (core/stats/histogram.h): which bucket a value lands in,
// the count and sum, and observations from several threads at once.
#include "core/stats/histogram.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::ElementsAre;

TEST(AtomicHistogram, AValueOnABoundCountsInThatBucket) {
  AtomicHistogram h({1, 2, 4});
  h.Observe(0.5);  // <= 1
  h.Observe(1);    // <= 1: Prometheus' buckets are "less or equal"
  h.Observe(1.5);  // <= 2
  h.Observe(4);    // <= 4
  h.Observe(4.01);
  h.Observe(100);  // above every bound
  const AtomicHistogram::Snapshot s = h.Read();
  EXPECT_THAT(s.upper_bounds, ElementsAre(1, 2, 4));
  EXPECT_THAT(s.counts, ElementsAre(2, 1, 1, 2));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1 + 1.5 + 4 + 4.01 + 100);
}

TEST(AtomicHistogram, StartsEmpty) {
  AtomicHistogram h({0.1});
  const AtomicHistogram::Snapshot s = h.Read();
  EXPECT_THAT(s.counts, ElementsAre(0, 0));
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0);
}

TEST(AtomicHistogram, ObservationsFromManyThreadsAreAllCounted) {
  AtomicHistogram h({1, 10});
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.Observe(t % 2 == 0 ? 1 : 5);
    });
  }
  for (std::thread& t : threads) t.join();
  const AtomicHistogram::Snapshot s = h.Read();
  EXPECT_THAT(s.counts, ElementsAre(2 * kEach, 2 * kEach, 0));
  EXPECT_EQ(s.count, uint64_t{kThreads} * kEach);
  // Whole numbers add exactly in a double up to 2^53.
  EXPECT_EQ(s.sum, 2.0 * kEach * 1 + 2.0 * kEach * 5);
}

}  // namespace
}  // namespace segments
