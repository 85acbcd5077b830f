// A burst of flips (more contacts flipping in one second than are evaluated
// one by one) is matched by bitmap algebra over the index, each condition
// evaluated once per moment for every segment that uses it
// (core/engine/internal/time_writes.cc). After the burst, every segment holds
// what a segment built from scratch with its filter holds.
#include <memory>
#include <string>
#include <vector>

#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/pages.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IdsOf;
using ::segments::testing::IsOk;

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

using ::segments::testing::Cond;
using ::segments::testing::SegmentOf;

class TimeBurstTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ws =
        testing::OpenMemoryWorkspace(storage_, Plan::kPro, &clock_, Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  std::vector<ContactId> Members(SegmentId id) {
    std::vector<ContactId> all;
    ContactId after = 0;
    while (true) {
      auto page = ws_->ListMembers(id, after, 1000, ContactView::kId);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) return all;
      for (ContactId m : IdsOf(*page)) all.push_back(m);
      if (!page->more) return all;
      after = page->items.back().id;
    }
  }

  FakeClock clock_{kNow};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Workspace> ws_;
};

TEST_F(TimeBurstTest, SegmentsSharingARuleMatchScratchBuildsAfterABurst) {
  // 400 contacts; 300 of them engaged in the same second, 7 days minus 10 s
  // ago, so they all leave "within the last 7 days" in 11 s: far more than
  // the 64 the workspace evaluates one by one.
  const UnixSeconds burst = kNow - 7 * kDay + 10;
  std::vector<ContactDraft> drafts;
  for (int i = 0; i < 400; ++i) {
    ContactDraft d;
    d.email = "c" + std::to_string(i) + "@x.com";
    d.country = i % 3 == 0 ? "DE" : "FR";
    d.lead_score = i % 100;
    d.tags = {i % 2 == 0 ? "even" : "odd"};
    d.created_at = kNow - (i % 20) * kDay;
    d.last_engaged_at = i < 300 ? burst : kNow - (i % 5) * kDay;
    drafts.push_back(std::move(d));
  }
  ASSERT_THAT(ws_->BatchUpsertContacts(drafts, {}), IsOk());

  const ConditionSpec within =
      Cond("last_engaged_at", Operator::kWithinLastDays, {int64_t{7}});
  const ConditionSpec more =
      Cond("last_engaged_at", Operator::kMoreThanDaysAgo, {int64_t{7}});
  const std::vector<SegmentDraft> segments = {
      SegmentOf("within", {within}),
      SegmentOf("more", {more}),
      SegmentOf("within, score",
                {within,
                 Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{40}})}),
      SegmentOf(
          "more, score",
          {more, Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{40}})}),
      SegmentOf("within, DE", {within, Cond("country", Operator::kEquals,
                                            {std::string("DE")})}),
      SegmentOf(
          "any of within, even",
          {Cond("tags", Operator::kHasAny, {std::string("even")}), within},
          Match::kAny),
      SegmentOf(
          "any of more, score",
          {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{90}}), more},
          Match::kAny),
      // Two windows; the other one does not flip now.
      SegmentOf("within, created 10 days",
                {within,
                 Cond("created_at", Operator::kWithinLastDays, {int64_t{10}})}),
      // The same rule twice in one filter.
      SegmentOf("within twice", {within, within}),
  };
  std::vector<SegmentId> ids;
  for (const SegmentDraft& s : segments) {
    auto view = ws_->CreateSegment(s);
    ASSERT_THAT(view, IsOk());
    ids.push_back(view->record.id);
  }
  ASSERT_EQ(Members(ids[0]).size(), 400u);  // everyone, before the burst

  clock_.Set(burst + 7 * kDay + 1);
  ASSERT_THAT(ws_->ApplyDueFlips(), IsOk());
  ASSERT_EQ(ws_->time_applied_until(), clock_.Now());
  EXPECT_EQ(Members(ids[0]).size(), 100u);
  EXPECT_EQ(Members(ids[1]).size(), 300u);
  for (size_t i = 0; i < segments.size(); ++i) {
    SegmentDraft scratch = segments[i];
    scratch.display_name += " (built after)";
    auto view = ws_->CreateSegment(scratch);
    ASSERT_THAT(view, IsOk());
    EXPECT_EQ(Members(ids[i]), Members(view->record.id))
        << segments[i].display_name;
  }
}

}  // namespace
}  // namespace segments
