// Recommendations for a goal through the Workspace facade, on a dataset of
// known structure: active and quiet customers, open leads with lead scores
// 0..399, old subscribers who engaged long ago or never, and new
// subscribers. Each goal's candidates must select what the goal means
// (checked by the brute-force evaluator over the contacts, not by the
// engine), be savable as they are with the same count, differ from each
// other, name their figures, and come out the same for the same data.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/status_matchers.h"

namespace segments::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

constexpr int kActiveCustomers = 100;
constexpr int kQuietCustomers = 200;
constexpr int kLeads = 400;
constexpr int kOldSubscribers = 300;
constexpr int kNewSubscribers = 150;

int Wire(LifecycleStage s) { return static_cast<int>(s); }

class RecommendationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open(Plan::kPro);
    ASSERT_THAT(ws_->BatchUpsertContacts(Dataset(), {}), IsOk());
    for (ContactId id = 1;; ++id) {
      absl::StatusOr<Contact> c = ws_->GetContact(id);
      if (!c.ok()) break;
      contacts_.push_back(*c);
    }
  }

  void Open(Plan plan) {
    ws_.reset();
    auto ws = testing::OpenMemoryWorkspace(storage_, plan, &clock_, Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  static std::vector<ContactDraft> Dataset() {
    std::vector<ContactDraft> out;
    auto add = [&](LifecycleStage stage, int64_t created_days_ago,
                   std::optional<int64_t> engaged_days_ago) {
      ContactDraft d;
      d.email = absl::StrCat("c", out.size() + 1, "@example.com");
      d.lifecycle_stage = Wire(stage);
      d.created_at = kNow - created_days_ago * kDay - 3600;
      if (engaged_days_ago.has_value()) {
        d.last_engaged_at = kNow - *engaged_days_ago * kDay - 60;
      }
      out.push_back(d);
      return &out.back();
    };
    for (int i = 0; i < kActiveCustomers; ++i) {
      ContactDraft* d = add(LifecycleStage::kCustomer, 400 + i, i % 10);
      d->engagement_score = 60 + i % 40;
      d->engagement_trend = i % 2 ? 1 : 2;            // RISING, STABLE
      d->conversion_likelihood = i % 3 == 0 ? 3 : 1;  // LIKELY, LOW
      d->lead_score = 50;
    }
    for (int i = 0; i < kQuietCustomers; ++i) {
      ContactDraft* d = add(LifecycleStage::kCustomer, 500 + i, 60 + i * 2);
      d->engagement_score = i % 20;
      d->engagement_trend = i % 2 ? 3 : 2;  // DECLINING, STABLE
      d->lead_score = 20 + i % 60;
    }
    for (int i = 0; i < kLeads; ++i) {
      const LifecycleStage stage = i % 3 == 0   ? LifecycleStage::kLead
                                   : i % 3 == 1 ? LifecycleStage::kMql
                                                : LifecycleStage::kSql;
      // A quarter of the leads engaged lately, the others never: most of
      // the contacts who ever engaged have gone quiet since.
      std::optional<int64_t> engaged;
      if (i % 4 == 0) engaged = i % 30;
      ContactDraft* d = add(stage, 200 + i, engaged);
      d->lead_score = i;
      d->engagement_score = i % 100;
      d->engagement_trend = i % 4 == 0 ? 1 : 2;
      d->conversion_likelihood = i >= 350 ? 4 : 2;  // VERY_LIKELY, POSSIBLE
    }
    for (int i = 0; i < kOldSubscribers; ++i) {
      std::optional<int64_t> engaged;
      if (i % 3 != 0) engaged = 100 + i % 200;
      add(LifecycleStage::kSubscriber, 500 + i, engaged);
    }
    for (int i = 0; i < kNewSubscribers; ++i) {
      std::optional<int64_t> engaged;
      if (i % 2 == 0) engaged = 0;
      ContactDraft* d = add(LifecycleStage::kSubscriber, i % 5, engaged);
      d->engagement_score = i % 2 == 0 ? 50 : 0;
      d->lead_score = i % 40;
    }
    return out;
  }

  std::vector<analytics::Candidate> Recommend(analytics::Goal goal) {
    absl::StatusOr<RecommendationAnswer> got =
        ws_->RecommendSegments(static_cast<int>(goal));
    EXPECT_THAT(got, IsOk());
    return got.ok() ? got->candidates : std::vector<analytics::Candidate>{};
  }

  // The candidate's members by brute force.
  std::vector<Contact> MembersOf(const analytics::Candidate& c) {
    std::vector<Contact> out;
    for (const Contact& contact : contacts_) {
      if (BruteForceMatches(c.filter, contact, kNow)) out.push_back(contact);
    }
    return out;
  }

  // What every goal's candidates must be: at most five, exact counts,
  // distinct, savable unchanged with the same count, figures named.
  void CheckCandidates(const std::vector<analytics::Candidate>& candidates) {
    ASSERT_FALSE(candidates.empty());
    ASSERT_LE(candidates.size(), analytics::kMaxRecommendations);
    std::set<std::vector<ContactId>> seen;
    for (const analytics::Candidate& c : candidates) {
      SCOPED_TRACE(c.display_name + ": " + DescribeFilter(c.filter));
      const std::vector<Contact> members = MembersOf(c);
      EXPECT_EQ(c.member_count, members.size());
      EXPECT_GT(c.member_count, 0);
      EXPECT_DOUBLE_EQ(c.share, static_cast<double>(members.size()) /
                                    static_cast<double>(contacts_.size()));
      std::vector<ContactId> ids;
      for (const Contact& m : members) ids.push_back(m.id);
      EXPECT_TRUE(seen.insert(ids).second) << "repeats an earlier candidate";
      EXPECT_THAT(c.rationale, HasSubstr(absl::StrCat(c.member_count, " of ",
                                                      contacts_.size())));
      SegmentDraft draft;
      draft.display_name = c.display_name;
      draft.filter = c.filter;
      absl::StatusOr<SegmentView> saved = ws_->CreateSegment(draft);
      ASSERT_THAT(saved, IsOk());
      EXPECT_EQ(saved->member_count, c.member_count);
      ASSERT_THAT(ws_->DeleteSegment(saved->record.id), IsOk());
    }
  }

  FakeClock clock_{kNow};
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Workspace> ws_;
  std::vector<Contact> contacts_;
};

bool QuietFor(const Contact& c, int64_t days) {
  return c.last_engaged_at.has_value() &&
         *c.last_engaged_at < kNow - days * kDay;
}

TEST_F(RecommendationsTest, ReengageSelectsContactsEngagedBeforeNotRecently) {
  const auto candidates = Recommend(analytics::Goal::kReengage);
  CheckCandidates(candidates);
  for (const analytics::Candidate& c : candidates) {
    for (const Contact& m : MembersOf(c)) {
      // Everyone engaged in the last 30 days is active; the rest engaged
      // 60 days ago or more.
      EXPECT_TRUE(QuietFor(m, 30)) << c.display_name << ": " << m.id;
    }
  }
  EXPECT_THAT(candidates[0].rationale, HasSubstr("median"));
}

TEST_F(RecommendationsTest, WinBackSelectsCustomersGoneQuiet) {
  const auto candidates = Recommend(analytics::Goal::kWinBack);
  CheckCandidates(candidates);
  for (const analytics::Candidate& c : candidates) {
    for (const Contact& m : MembersOf(c)) {
      EXPECT_EQ(m.lifecycle_stage, LifecycleStage::kCustomer) << m.id;
      EXPECT_TRUE(QuietFor(m, 30)) << c.display_name << ": " << m.id;
    }
  }
}

TEST_F(RecommendationsTest, ConvertLeadsSelectsTheTopOfTheOpenLeads) {
  const auto candidates = Recommend(analytics::Goal::kConvertLeads);
  CheckCandidates(candidates);
  for (const analytics::Candidate& c : candidates) {
    for (const Contact& m : MembersOf(c)) {
      EXPECT_GE(m.lifecycle_stage, LifecycleStage::kLead) << m.id;
      EXPECT_LE(m.lifecycle_stage, LifecycleStage::kSql) << m.id;
    }
  }
  // The leads score 0..399: the 75th percentile (nearest rank, the 300th
  // score) is 299, so the first candidate is the 101 leads from 299 up.
  const std::vector<Contact> first = MembersOf(candidates[0]);
  ASSERT_THAT(first, SizeIs(101));
  for (const Contact& m : first) EXPECT_GE(m.lead_score, 299);
  EXPECT_THAT(candidates[0].rationale, HasSubstr("299"));
}

TEST_F(RecommendationsTest, NurtureSelectsNewUnqualifiedContacts) {
  const auto candidates = Recommend(analytics::Goal::kNurtureNew);
  CheckCandidates(candidates);
  for (const analytics::Candidate& c : candidates) {
    for (const Contact& m : MembersOf(c)) {
      EXPECT_GE(m.created_at, kNow - 7 * kDay) << m.id;
      EXPECT_LT(m.lifecycle_stage, LifecycleStage::kMql) << m.id;
    }
  }
  // The newest tenth of the 1,150 contacts are among the new subscribers,
  // created 0..4 days ago, 30 a day: whole days of them, at least 115.
  EXPECT_GE(candidates[0].member_count, 115);
  EXPECT_LE(candidates[0].member_count, kNewSubscribers);
  EXPECT_EQ(candidates[0].member_count % 30, 0);
}

TEST_F(RecommendationsTest, UpsellSelectsEngagedCustomers) {
  const auto candidates = Recommend(analytics::Goal::kUpsell);
  CheckCandidates(candidates);
  for (const analytics::Candidate& c : candidates) {
    for (const Contact& m : MembersOf(c)) {
      EXPECT_EQ(m.lifecycle_stage, LifecycleStage::kCustomer) << m.id;
    }
  }
  // The most engaged quarter of the customers are active ones.
  for (const Contact& m : MembersOf(candidates[0])) {
    EXPECT_GE(m.engagement_score, 60) << m.id;
  }
}

// The same data gives the same answer: twice in a row, and after a
// restart that rebuilds every index from the stored rows.
TEST_F(RecommendationsTest, SameDataSameRecommendations) {
  auto describe = [](const std::vector<analytics::Candidate>& cs) {
    std::string out;
    for (const analytics::Candidate& c : cs) {
      absl::StrAppend(&out, c.display_name, "|", DescribeFilter(c.filter), "|",
                      c.member_count, "|", c.rationale, "\n");
    }
    return out;
  };
  for (int goal = 1; goal <= analytics::kMaxGoal; ++goal) {
    const auto g = static_cast<analytics::Goal>(goal);
    const std::string first = describe(Recommend(g));
    EXPECT_EQ(describe(Recommend(g)), first);
    Open(Plan::kPro);
    EXPECT_EQ(describe(Recommend(g)), first) << "after a restart";
  }
}

// A candidate that repeats an existing segment says so: the segment comes
// first among its overlaps, alike at 100%, and the rationale names it.
TEST_F(RecommendationsTest, OverlapWithExistingSegmentsIsShown) {
  const auto before = Recommend(analytics::Goal::kWinBack);
  ASSERT_FALSE(before.empty());
  EXPECT_TRUE(before[0].overlaps.empty());
  SegmentDraft draft;
  draft.display_name = "Lapsed customers";
  draft.filter = before[0].filter;
  ASSERT_OK_AND_ASSIGN(SegmentView saved, ws_->CreateSegment(draft));
  SegmentDraft customers;
  customers.display_name = "Customers";
  customers.filter = {static_cast<int>(Match::kAll),
                      {{"lifecycle_stage",
                        static_cast<int>(Operator::kEquals),
                        {std::string("CUSTOMER")}}}};
  ASSERT_OK_AND_ASSIGN(SegmentView all_customers,
                       ws_->CreateSegment(customers));
  const auto after = Recommend(analytics::Goal::kWinBack);
  ASSERT_FALSE(after.empty());
  ASSERT_THAT(after[0].overlaps, SizeIs(2));
  EXPECT_EQ(after[0].overlaps[0].id, saved.record.id);
  EXPECT_EQ(after[0].overlaps[0].jaccard, 1.0);
  EXPECT_EQ(after[0].overlaps[0].intersection, after[0].member_count);
  EXPECT_EQ(after[0].overlaps[1].id, all_customers.record.id);
  EXPECT_EQ(after[0].overlaps[1].intersection, after[0].member_count);
  EXPECT_THAT(after[0].rationale, HasSubstr("\"Lapsed customers\" (100.0%"));
}

// No data for a goal: no candidates, not an error.
TEST(RecommendationsEmpty, AnEmptyWorkspaceGetsNoCandidates) {
  FakeClock clock(kNow);
  MemoryCatalogStore catalog(std::make_shared<MemoryStorage>());
  auto store = catalog.OpenWorkspace(1);
  ASSERT_THAT(store, IsOk());
  ASSERT_OK_AND_ASSIGN(
      auto ws, Workspace::Open(1, Plan::kPro, std::move(store).value(), &clock,
                               Limits()));
  for (int goal = 1; goal <= analytics::kMaxGoal; ++goal) {
    ASSERT_OK_AND_ASSIGN(RecommendationAnswer got, ws->RecommendSegments(goal));
    EXPECT_TRUE(got.candidates.empty()) << goal;
  }
}

}  // namespace
}  // namespace segments::testing
