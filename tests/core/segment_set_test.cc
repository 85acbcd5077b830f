// SegmentSet::MayChange, the update path's pre-selection of the segments a
// contact change can move: it may leave out only segments whose answer is
// the same for both versions of the contact. Random filters (groups,
// references, every catalog operator) over random pairs of versions that
// differ in a random mask of fields, each checked against FilterMatches on
// both versions.
#include "core/engine/internal/segment_set.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/internal/membership_diff.h"
#include "core/engine/internal/reference_answers.h"
#include "core/index/evaluator.h"
#include "gtest/gtest.h"
#include "tests/testing/brute_force.h"
#include "tests/testing/random_data.h"

namespace segments::engine {
namespace {

using testing::RandomData;

constexpr UnixSeconds kNow = 1'717'200'000;

// Installs `count` segments of random filters; from the tenth on, some
// refer to earlier ones.
void InstallRandomSegments(RandomData& rd, int count, SegmentSet* set) {
  testing::FilterShape shape;
  shape.max_conditions = 6;
  shape.group_percent = 20;
  for (int i = 1; i <= count; ++i) {
    std::vector<SegmentId> earlier;
    for (int j = 1; j < i && i > 10; ++j) earlier.push_back(j);
    shape.reference_percent = earlier.empty() ? 0 : 10;
    absl::StatusOr<Filter> filter =
        ValidateFilter(rd.Filter(shape, earlier), "filter");
    ASSERT_TRUE(filter.ok()) << filter.status();
    SegmentRecord record;
    record.id = static_cast<SegmentId>(i);
    record.display_name = "s" + std::to_string(i);
    record.filter = *std::move(filter);
    record.state =
        rd.Percent(90) ? SegmentState::kActive : SegmentState::kPlanRestricted;
    set->Install(MakeSegmentEntry(std::move(record), Roaring()));
  }
  set->RebuildReaders();
}

TEST(SegmentSetMayChangeTest, KeepsEverySegmentWhoseAnswerDiffers) {
  RandomData rd(/*seed=*/1616, kNow);
  SegmentSet set;
  InstallRandomSegments(rd, 120, &set);
  int differing = 0, left_out = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Contact before =
        testing::ReferenceApplyDraft(rd.Draft(), {}, nullptr, rd.Now());
    before.id = 7;
    // The other version: a random mask of fields from another draft (an
    // empty mask: every field).
    const Contact after = testing::ReferenceApplyDraft(
        rd.Draft(), rd.ContactMask(), &before, rd.Now());
    const UnixSeconds now = rd.Now();
    const ContactFieldSet changed = DiffFields(before, after);
    const std::vector<const SegmentEntry*> may =
        set.MayChange(changed, before, after, now);
    ASSERT_TRUE(
        std::is_sorted(may.begin(), may.end(),
                       [](const SegmentEntry* a, const SegmentEntry* b) {
                         return a->record.id < b->record.id;
                       }));
    // Only active segments reading a changed field.
    const std::vector<const SegmentEntry*> reading = set.Reading(changed);
    for (const SegmentEntry* s : may) {
      EXPECT_TRUE(
          std::binary_search(reading.begin(), reading.end(), s,
                             [](const SegmentEntry* a, const SegmentEntry* b) {
                               return a->record.id < b->record.id;
                             }))
          << "segment " << s->record.id;
    }
    const ContactReferences was_refs(set, before, now);
    const ContactReferences is_refs(set, after, now);
    for (const auto& [sid, s] : set.entries()) {
      if (s->record.state != SegmentState::kActive) continue;
      const bool was = FilterMatches(s->record.filter, before, now, &was_refs);
      const bool is = FilterMatches(s->record.filter, after, now, &is_refs);
      const bool kept = std::find(may.begin(), may.end(), s.get()) != may.end();
      if (was != is) {
        ++differing;
        EXPECT_TRUE(kept) << "segment " << sid << " left out; trial " << trial
                          << "\nfilter: "
                          << testing::DescribeFilter(ToSpec(s->record.filter))
                          << "\nbefore: " << testing::DescribeContact(before)
                          << "\nafter: " << testing::DescribeContact(after);
      } else if (!kept) {
        ++left_out;
      }
    }
  }
  // The test means something: answers moved, and segments were skipped.
  EXPECT_GT(differing, 1000);
  EXPECT_GT(left_out, 10000);
}

TEST(SegmentSetMayChangeTest, ComparisonsAtTheirBoundsAndNegated) {
  // Number and enum comparisons are answered from a range kept beside the
  // rule: each operator at and beside its bound, negated, and unset enums.
  RandomData rd(/*seed=*/7, kNow);
  SegmentSet set;
  auto add = [&](SegmentId id, const std::string& field, int op,
                 std::vector<RawValue> values) {
    FilterSpec spec;
    spec.match = static_cast<int>(Match::kAll);
    spec.conditions.push_back({field, op, std::move(values)});
    absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
    ASSERT_TRUE(filter.ok()) << field << " " << op << ": " << filter.status();
    SegmentRecord record;
    record.id = id;
    record.display_name = "s" + std::to_string(id);
    record.filter = *std::move(filter);
    set.Install(MakeSegmentEntry(std::move(record), Roaring()));
  };
  SegmentId next = 1;
  for (Operator op : {Operator::kEquals, Operator::kNotEquals,
                      Operator::kGreaterThan, Operator::kGreaterOrEqual,
                      Operator::kLessThan, Operator::kLessOrEqual}) {
    add(next++, "lead_score", static_cast<int>(op), {RawValue(int64_t{50})});
    add(next++, "lifecycle_stage", static_cast<int>(op),
        {RawValue(std::string("MQL"))});
  }
  add(next++, "lead_score", static_cast<int>(Operator::kBetween),
      {RawValue(int64_t{40}), RawValue(int64_t{60})});
  add(next++, "engagement_trend", static_cast<int>(Operator::kIsSet), {});
  add(next++, "engagement_trend", static_cast<int>(Operator::kIsNotSet), {});
  // IN of an enum: read from the condition (ConditionMatches).
  add(next++, "lifecycle_stage", static_cast<int>(Operator::kIn),
      {RawValue(std::string("LEAD")), RawValue(std::string("SQL"))});
  set.RebuildReaders();
  const std::vector<int32_t> scores = {39, 40, 41, 49, 50, 51, 59, 60, 61};
  const std::vector<LifecycleStage> stages = {
      LifecycleStage{}, LifecycleStage::kLead, LifecycleStage::kMql,
      LifecycleStage::kSql};
  const std::vector<EngagementTrend> trends = {EngagementTrend{},
                                               EngagementTrend::kRising};
  int checked = 0;
  for (int32_t s1 : scores) {
    for (int32_t s2 : scores) {
      for (size_t l1 = 0; l1 < stages.size(); ++l1) {
        for (size_t l2 = 0; l2 < stages.size(); ++l2) {
          Contact before, after;
          before.id = after.id = 1;
          before.lead_score = s1;
          after.lead_score = s2;
          before.lifecycle_stage = stages[l1];
          after.lifecycle_stage = stages[l2];
          before.engagement_trend = trends[l1 % 2];
          after.engagement_trend = trends[l2 % 2];
          const std::vector<const SegmentEntry*> may =
              set.MayChange(DiffFields(before, after), before, after, kNow);
          for (const auto& [sid, s] : set.entries()) {
            const bool was = FilterMatches(s->record.filter, before, kNow);
            const bool is = FilterMatches(s->record.filter, after, kNow);
            const bool kept =
                std::find(may.begin(), may.end(), s.get()) != may.end();
            // Exact for a segment of one comparison: kept iff it moves.
            EXPECT_EQ(kept, was != is)
                << "segment " << sid << " scores " << s1 << "->" << s2
                << " stages " << l1 << "->" << l2;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 81 * 16 * 16);
}

}  // namespace
}  // namespace segments::engine
