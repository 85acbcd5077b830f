// Membership over time checked against a brute-force replay of the full
// change log (tests/testing/history_replay.h): random contact writes, batch
// upserts, rule updates, renames, plan downgrades and upgrades, deletions,
// clock moves with ApplyDueFlips and restarts, over the in-memory store;
// then, for random segments, moments and contacts, every bucket's entered,
// left and member_count and member_at and the contact's events equal the
// replay. Then the log is pruned and what is before the horizon must be
// OUT_OF_RANGE while what is after it still matches. The same over SQLite
// is in tests/storage/differential_history_sqlite_test.cc.
#include <cstdint>
#include <cstdio>
#include <memory>

#include "gtest/gtest.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/history_replay.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/workspace_harness.h"
#include "tests/testing/workspace_ops.h"

namespace segments::testing {
namespace {

// Random operations, the replay observing the segments after each.
::testing::AssertionResult RunObserved(Harness& h, HistoryReplay& replay,
                                       int steps) {
  SequenceOptions options;
  for (int i = 0; i < steps; ++i) {
    const Op op = RandomOp(h, options);
    RETURN_IF_FAILED(Do(h, op, /*fail=*/false)
                     << "step " << i << " " << OpName(op));
    RETURN_IF_FAILED(replay.Observe(h.ws()));
  }
  return ::testing::AssertionSuccess();
}

class DifferentialHistory : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DifferentialHistory, EveryAnswerMatchesAReplayOfTheLog) {
  const uint64_t seed = Seed(GetParam());
  SCOPED_TRACE(SeedTrace(seed));
  auto storage = std::make_shared<MemoryStorage>();
  MemoryCatalogStore catalog(storage);
  Harness h(seed, kBase, SegmentShape(), &catalog);
  HistoryReplay replay;
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 300));
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(h.CreateSegment(false));
  ASSERT_TRUE(replay.Observe(h.ws()));
  ASSERT_TRUE(RunObserved(h, replay, 700));
  ASSERT_TRUE(h.CheckChangeLog());  // the log itself is what the shadow says

  ASSERT_TRUE(replay.LoadLog(catalog, Harness::kWorkspace));
  ASSERT_TRUE(replay.Check(h.ws(), h.now(), seed, 400));
  const HistoryReplay::Stats& st = replay.stats();
  std::printf(
      "seed %llu: %zu events; %lld buckets (%lld with events, %lld "
      "before creation), %lld member_at (%lld members)\n",
      static_cast<unsigned long long>(seed), replay.log().size(),
      static_cast<long long>(st.buckets),
      static_cast<long long>(st.nonempty_buckets),
      static_cast<long long>(st.before_creation),
      static_cast<long long>(st.members_at),
      static_cast<long long>(st.was_member));
  // The run asked what it is for.
  EXPECT_GT(st.nonempty_buckets, 100);
  EXPECT_GT(st.before_creation, 10);
  EXPECT_GT(st.was_member, 20);
  EXPECT_GT(st.members_at - st.was_member, 20);

  // Retention: the oldest half of the log's time span is pruned.
  ASSERT_FALSE(replay.log().empty());
  const UnixSeconds horizon =
      replay.log().front().time +
      (replay.log().back().time - replay.log().front().time) / 2;
  storage->PruneChangesBefore(Harness::kWorkspace, horizon);
  ASSERT_TRUE(replay.Check(h.ws(), h.now(), seed + 1, 300, horizon));
  EXPECT_GT(replay.stats().not_retained, 10);
}

INSTANTIATE_TEST_SUITE_P(Seeds, DifferentialHistory,
                         ::testing::Values(1301, 1302, 1303));

}  // namespace
}  // namespace segments::testing
