// What a Workspace records in EngineStats (core/stats/engine_stats.h): its
// commits (latency, failures), the size of its contact write groups, and
// the time flips it applies with their lag. EngineStats is process-wide, so
// each test compares values before and after what it does.
#include "core/stats/engine_stats.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/base/clock.h"
#include "core/engine/workspace.h"
#include "core/model/field_catalog.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::SegmentOf;

constexpr UnixSeconds kNow = 1'800'000'000;

struct Counts {
  uint64_t commits = 0;
  uint64_t failed = 0;
  uint64_t groups = 0;
  uint64_t groups_of_one = 0;
  uint64_t flips = 0;
  uint64_t lag_runs = 0;
  double lag_sum = 0;
  uint64_t lag_within_1s = 0;

  static Counts Now() {
    EngineStats& s = EngineStats::Get();
    Counts c;
    c.commits = s.commit_seconds.Read().count;
    c.failed = s.commits_failed.load();
    const AtomicHistogram::Snapshot groups = s.commit_group_size.Read();
    c.groups = groups.count;
    c.groups_of_one = groups.counts[0];
    c.flips = s.time_flips_applied.load();
    const AtomicHistogram::Snapshot lag = s.time_flip_lag_seconds.Read();
    c.lag_runs = lag.count;
    c.lag_sum = lag.sum;
    c.lag_within_1s = lag.counts[0] + lag.counts[1];  // <= 0, <= 1
    return c;
  }
};

class EngineStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ws = testing::OpenMemoryWorkspace(storage_, Plan::kGrowth, &clock_,
                                           Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  ContactDraft Contact(std::string email, UnixSeconds engaged) {
    ContactDraft d;
    d.email = std::move(email);
    d.last_engaged_at = engaged;
    return d;
  }

  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  FakeClock clock_{kNow};
  std::unique_ptr<Workspace> ws_;
};

TEST_F(EngineStatsTest, AWriteIsOneCommitInAGroupOfOne) {
  const Counts before = Counts::Now();
  ASSERT_THAT(ws_->CreateContact(Contact("a@example.com", kNow)), IsOk());
  const Counts after = Counts::Now();
  EXPECT_EQ(after.commits - before.commits, 1u);
  EXPECT_EQ(after.groups - before.groups, 1u);
  EXPECT_EQ(after.groups_of_one - before.groups_of_one, 1u);
  EXPECT_EQ(after.failed, before.failed);
}

TEST_F(EngineStatsTest, AFailedCommitIsCounted) {
  storage_->FailNextCommits(1);
  const Counts before = Counts::Now();
  EXPECT_FALSE(ws_->CreateContact(Contact("a@example.com", kNow)).ok());
  const Counts after = Counts::Now();
  EXPECT_EQ(after.failed - before.failed, 1u);
  EXPECT_EQ(after.commits - before.commits, 1u);
}

TEST_F(EngineStatsTest, TimeFlipsAreCountedWithTheirLag) {
  // Engaged now: in "engaged within 1 day" until a day from now.
  ASSERT_THAT(
      ws_->CreateSegment(SegmentOf(
          "engaged", {ConditionSpec{"last_engaged_at",
                                    static_cast<int>(Operator::kWithinLastDays),
                                    {int64_t{1}}}})),
      IsOk());
  for (const char* email : {"a@example.com", "b@example.com"}) {
    ASSERT_THAT(ws_->CreateContact(Contact(email, kNow)), IsOk());
  }
  const std::optional<UnixSeconds> due = ws_->next_flip_due();
  ASSERT_TRUE(due.has_value());

  // The timer on time: both leave at the due second, lag 0.
  const Counts before = Counts::Now();
  clock_.Set(*due);
  ASSERT_THAT(ws_->ApplyDueFlips(), IsOk());
  Counts after = Counts::Now();
  EXPECT_EQ(after.flips - before.flips, 2u);
  EXPECT_EQ(after.lag_runs - before.lag_runs, 1u);  // one run: same second
  EXPECT_EQ(after.lag_within_1s - before.lag_within_1s, 1u);
  EXPECT_EQ(after.lag_sum, before.lag_sum);

  // Late by an hour (a stopped server): the lag says so.
  ASSERT_THAT(ws_->CreateContact(Contact("c@example.com", clock_.Now())),
              IsOk());
  const std::optional<UnixSeconds> next = ws_->next_flip_due();
  ASSERT_TRUE(next.has_value());
  const Counts late_before = Counts::Now();
  clock_.Set(*next + 3600);
  ASSERT_THAT(ws_->ApplyDueFlips(), IsOk());
  after = Counts::Now();
  EXPECT_EQ(after.flips - late_before.flips, 1u);
  EXPECT_EQ(after.lag_runs - late_before.lag_runs, 1u);
  EXPECT_DOUBLE_EQ(after.lag_sum - late_before.lag_sum, 3600);
}

// Not EngineStats, but read by the same exporter: the segments by state.
TEST_F(EngineStatsTest, SegmentsAreCountedByState) {
  auto cond = [](std::string field, Operator op, RawValue v) {
    return ConditionSpec{std::move(field), static_cast<int>(op), {v}};
  };
  ASSERT_THAT(ws_->CreateSegment(SegmentOf(
                  "germany", {cond("country", Operator::kEquals, "DE")})),
              IsOk());
  ASSERT_THAT(
      ws_->CreateSegment(SegmentOf(
          "hot", {cond("lead_score", Operator::kGreaterOrEqual, int64_t{70})})),
      IsOk());
  SegmentStateCounts counts = ws_->CountSegmentsByState();
  EXPECT_EQ(counts.active, 2u);
  EXPECT_EQ(counts.plan_restricted, 0u);
  // STARTER does not allow scoring fields: "hot" is frozen.
  ASSERT_THAT(ws_->SetPlan(Plan::kStarter), IsOk());
  counts = ws_->CountSegmentsByState();
  EXPECT_EQ(counts.active, 1u);
  EXPECT_EQ(counts.plan_restricted, 1u);
}

}  // namespace
}  // namespace segments
