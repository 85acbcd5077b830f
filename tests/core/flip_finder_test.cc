#include "core/time/flip_finder.h"

#include <limits>
#include <map>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/index/contact_table.h"
#include "core/index/evaluator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int64_t kDay = kSecondsPerDay;

Filter RuleOf(Field field, Operator op, int64_t days) {
  Filter f;
  Condition c;
  c.field = field;
  c.op = op;
  c.numbers = {days};
  f.conditions.push_back(c);
  return f;
}

TEST(TimeWindow, FlipMomentIsWhenBothOperatorsChangeTheirAnswer) {
  for (Field field : {Field::kCreatedAt, Field::kLastEngagedAt}) {
    for (int64_t days : {1, 30, 3650}) {
      const TimeWindow w{field, days};
      Contact c;
      c.id = 1;
      c.email = "a@x.com";
      c.created_at = kNow - 5;
      c.last_engaged_at = kNow - 5;
      const UnixSeconds at = w.FlipMoment(kNow - 5);
      const Filter within = RuleOf(field, Operator::kWithinLastDays, days);
      const Filter ago = RuleOf(field, Operator::kMoreThanDaysAgo, days);
      EXPECT_TRUE(FilterMatches(within, c, at - 1));
      EXPECT_FALSE(FilterMatches(within, c, at));
      EXPECT_FALSE(FilterMatches(ago, c, at - 1));
      EXPECT_TRUE(FilterMatches(ago, c, at));
    }
  }
}

TEST(TimeWindow, WindowsOfAFilterAreItsDistinctRelativeRules) {
  Filter f = RuleOf(Field::kLastEngagedAt, Operator::kWithinLastDays, 30);
  f.conditions.push_back(
      RuleOf(Field::kLastEngagedAt, Operator::kMoreThanDaysAgo, 30)
          .conditions[0]);
  f.conditions.push_back(
      RuleOf(Field::kCreatedAt, Operator::kWithinLastDays, 7).conditions[0]);
  Condition before;
  before.field = Field::kCreatedAt;
  before.op = Operator::kBefore;
  before.numbers = {kNow};
  f.conditions.push_back(before);
  EXPECT_THAT(WindowsOf(f),
              ::testing::ElementsAre(TimeWindow{Field::kCreatedAt, 7},
                                     TimeWindow{Field::kLastEngagedAt, 30}));
}

// Random contacts around the windows' edges, and the flips a brute force
// finds by computing every contact's flip moment under every window.
class FlipFinderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> offset(-40 * kDay, 2 * kDay);
    for (ContactId id = 1; id <= 3000; ++id) {
      Contact c;
      c.id = id;
      c.email = absl::StrCat("c", id, "@x.com");
      // Many share a second, as an import does.
      c.created_at = id % 10 == 0 ? kNow - 30 * kDay : kNow + offset(rng);
      if (id % 3 != 0) c.last_engaged_at = kNow + offset(rng);
      table_.Put(c);
      index_.Add(c);
      contacts_.push_back(c);
    }
  }

  std::map<UnixSeconds, FlipsByWindow> BruteForce(UnixSeconds after,
                                                  UnixSeconds until) const {
    std::map<UnixSeconds, FlipsByWindow> out;
    for (const TimeWindow& w : windows_) {
      for (const Contact& c : contacts_) {
        std::optional<UnixSeconds> t =
            w.field == Field::kCreatedAt ? c.created_at : c.last_engaged_at;
        if (!t.has_value()) continue;
        const UnixSeconds at = w.FlipMoment(*t);
        if (at > after && at <= until) out[at][w].add(c.id);
      }
    }
    return out;
  }

  std::optional<UnixSeconds> BruteNext(UnixSeconds after) const {
    std::optional<UnixSeconds> next;
    for (const auto& [at, unused] :
         BruteForce(after, std::numeric_limits<int32_t>::max())) {
      next = at;
      break;
    }
    return next;
  }

  std::vector<TimeWindow> windows_ = {{Field::kCreatedAt, 1},
                                      {Field::kCreatedAt, 30},
                                      {Field::kLastEngagedAt, 7},
                                      {Field::kLastEngagedAt, 30}};
  ContactTable table_;
  AttributeIndex index_;
  std::vector<Contact> contacts_;
};

TEST_F(FlipFinderTest, FindsExactlyTheFlipsOfAnInterval) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> start(-5 * kDay, 40 * kDay);
  std::uniform_int_distribution<int64_t> length(0, 3 * kDay);
  for (int i = 0; i < 200; ++i) {
    const UnixSeconds after = kNow + start(rng);
    // Seconds, hours and days at a time; zero-length too.
    const UnixSeconds until = after + (i % 3 == 0 ? i % 5 : length(rng));
    ASSERT_EQ(FindFlips(index_, table_, windows_, after, until),
              BruteForce(after, until))
        << "(" << after << ", " << until << "]";
  }
}

TEST_F(FlipFinderTest, ConsecutiveIntervalsSplitTheFlipsWithoutGapOrRepeat) {
  std::map<UnixSeconds, FlipsByWindow> joined;
  UnixSeconds t = kNow - kDay;
  for (int step = 0; step < 100; ++step) {
    const UnixSeconds next = t + (step % 7) * 3 * 3600 + 1;
    for (auto& [at, by_window] : FindFlips(index_, table_, windows_, t, next)) {
      for (auto& [w, ids] : by_window) {
        ASSERT_TRUE((joined[at][w] & ids).isEmpty()) << "a flip found twice";
        joined[at][w] |= ids;
      }
    }
    t = next;
  }
  EXPECT_EQ(joined, BruteForce(kNow - kDay, t));
}

TEST_F(FlipFinderTest, NextFlipIsTheFirstOneLater) {
  for (UnixSeconds after : {kNow - 50 * kDay, kNow, kNow + 1, kNow + 29 * kDay,
                            kNow + 30 * kDay, kNow + 31 * kDay + 5}) {
    EXPECT_EQ(NextFlip(index_, table_, windows_, after), BruteNext(after))
        << after;
  }
  // Past the last flip there is none.
  EXPECT_EQ(NextFlip(index_, table_, windows_, kNow + 400 * kDay),
            std::nullopt);
  EXPECT_EQ(NextFlip(index_, table_, {}, kNow), std::nullopt);
}

TEST_F(FlipFinderTest, ABurstDueInOneSecondIsOneGroup) {
  // Every tenth contact was created at the same second.
  const TimeWindow w{Field::kCreatedAt, 30};
  const UnixSeconds at = w.FlipMoment(kNow - 30 * kDay);
  const auto flips = FindFlips(index_, table_, {w}, at - 1, at);
  ASSERT_EQ(flips.size(), 1u);
  EXPECT_EQ(flips.begin()->first, at);
  EXPECT_GE(flips.begin()->second.at(w).cardinality(), 300u);
}

}  // namespace
}  // namespace segments
