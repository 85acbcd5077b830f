// Tests of core/store/store.cc: the records' equality (every field counts)
// and the change log's runs: GroupIntoRuns makes maximal runs and ExpandRuns
// undoes it.
#include "core/store/store.h"

#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/store_helpers.h"

namespace segments {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

MembershipChange Event(uint64_t sequence, ContactId contact,
                       SegmentId segment = 1,
                       ChangeKind kind = ChangeKind::kEntered,
                       ChangeCause cause = ChangeCause::kContactChanged,
                       UnixSeconds time = 100) {
  return {sequence, segment, contact, kind, cause, time};
}

ChangeRun MakeRun(uint64_t first, std::vector<ContactId> ids,
                  SegmentId segment = 1, ChangeKind kind = ChangeKind::kEntered,
                  ChangeCause cause = ChangeCause::kContactChanged,
                  UnixSeconds time = 100) {
  return {first, segment, kind, cause, time, std::move(ids)};
}

// Each mutation of one field makes a copy of `base` unequal to it.
template <typename T>
void ExpectEveryFieldCounts(const T& base,
                            const std::vector<std::function<void(T*)>>& edits) {
  EXPECT_TRUE(base == base);
  for (size_t i = 0; i < edits.size(); ++i) {
    T changed = base;
    edits[i](&changed);
    EXPECT_FALSE(changed == base) << "field " << i;
    EXPECT_FALSE(base == changed) << "field " << i;
  }
}

TEST(StoreRecords, EqualityComparesEveryField) {
  WorkspaceRecord w{1, "Acme", Plan::kGrowth, "hash", 1000};
  ExpectEveryFieldCounts<WorkspaceRecord>(
      w, {[](auto* r) { r->id = 2; }, [](auto* r) { r->display_name = "B"; },
          [](auto* r) { r->plan = Plan::kPro; },
          [](auto* r) { r->key_hash = "other"; },
          [](auto* r) { r->create_time = 1; }});

  SegmentRecord s;
  s.id = 1;
  s.display_name = "S";
  s.frozen_members = "bytes";
  s.frozen_as_of = 3;
  ExpectEveryFieldCounts<SegmentRecord>(
      s,
      {[](auto* r) { r->id = 2; }, [](auto* r) { r->display_name = "T"; },
       [](auto* r) { r->filter.match = Match::kAny; },
       [](auto* r) { r->state = SegmentState::kPlanRestricted; },
       [](auto* r) { r->create_time = 5; }, [](auto* r) { r->update_time = 5; },
       [](auto* r) { r->frozen_members.clear(); },
       [](auto* r) { r->frozen_as_of = 4; }});

  ExpectEveryFieldCounts<MembershipChange>(
      Event(1, 2),
      {[](auto* c) { c->sequence = 9; }, [](auto* c) { c->segment_id = 9; },
       [](auto* c) { c->contact_id = 9; },
       [](auto* c) { c->kind = ChangeKind::kLeft; },
       [](auto* c) { c->cause = ChangeCause::kTime; },
       [](auto* c) { c->time = 9; }});

  ExpectEveryFieldCounts<ChangeRun>(
      MakeRun(1, {2, 3}), {[](auto* r) { r->first_sequence = 9; },
                           [](auto* r) { r->segment_id = 9; },
                           [](auto* r) { r->kind = ChangeKind::kLeft; },
                           [](auto* r) { r->cause = ChangeCause::kTime; },
                           [](auto* r) { r->time = 9; },
                           [](auto* r) {
                             r->contact_ids = {3, 2};
                           }});

  ExpectEveryFieldCounts<WorkspaceCounters>(
      WorkspaceCounters{5, 6, 7}, {[](auto* c) { c->next_contact_id = 1; },
                                   [](auto* c) { c->next_segment_id = 1; },
                                   [](auto* c) { c->last_sequence = 1; }});
}

TEST(ChangeRun, LastSequence) {
  EXPECT_EQ(MakeRun(10, {1}).last_sequence(), 10u);
  EXPECT_EQ(MakeRun(10, {1, 2, 3}).last_sequence(), 12u);
}

TEST(GroupIntoRuns, NoEventsNoRuns) {
  EXPECT_THAT(GroupIntoRuns({}), IsEmpty());
  EXPECT_THAT(ExpandRuns({}), IsEmpty());
}

TEST(GroupIntoRuns, ConsecutiveEventsOfOneKindShareARun) {
  EXPECT_THAT(GroupIntoRuns({Event(7, 3)}), ElementsAre(MakeRun(7, {3})));
  EXPECT_THAT(GroupIntoRuns({Event(7, 3), Event(8, 1), Event(9, 2)}),
              ElementsAre(MakeRun(7, {3, 1, 2})));
}

// A run ends where the sequence skips, or the segment, kind, cause or time
// changes; equal neighbours after a break start a new run.
TEST(GroupIntoRuns, EachDifferenceStartsANewRun) {
  const std::vector<MembershipChange> events = {
      Event(1, 10),
      Event(2, 11),
      Event(4, 12),  // gap
      Event(5, 13, 2),
      Event(6, 14, 2, ChangeKind::kLeft),
      Event(7, 15, 2, ChangeKind::kLeft, ChangeCause::kTime),
      Event(8, 16, 2, ChangeKind::kLeft, ChangeCause::kTime, 101),
      Event(9, 17, 2, ChangeKind::kLeft, ChangeCause::kTime, 101),
      Event(10, 18),  // as the first run, but not adjacent to it
  };
  EXPECT_THAT(
      GroupIntoRuns(events),
      ElementsAre(
          MakeRun(1, {10, 11}), MakeRun(4, {12}), MakeRun(5, {13}, 2),
          MakeRun(6, {14}, 2, ChangeKind::kLeft),
          MakeRun(7, {15}, 2, ChangeKind::kLeft, ChangeCause::kTime),
          MakeRun(8, {16, 17}, 2, ChangeKind::kLeft, ChangeCause::kTime, 101),
          MakeRun(10, {18})));
  EXPECT_EQ(ExpandRuns(GroupIntoRuns(events)), events);
}

// Events out of order (which a store refuses) are not reordered: a
// sequence that goes back starts a new run.
TEST(GroupIntoRuns, KeepsTheOrderGiven) {
  EXPECT_THAT(GroupIntoRuns({Event(3, 1), Event(4, 2), Event(2, 3)}),
              ElementsAre(MakeRun(3, {1, 2}), MakeRun(2, {3})));
  EXPECT_THAT(GroupIntoRuns({Event(3, 1), Event(3, 2)}),
              ElementsAre(MakeRun(3, {1}), MakeRun(3, {2})));
}

TEST(ExpandRuns, NumbersEachRunsEventsFromItsFirstSequence) {
  EXPECT_THAT(
      ExpandRuns({MakeRun(5, {9, 8}), MakeRun(20, {1}, 3, ChangeKind::kLeft,
                                              ChangeCause::kPlanChanged, 7)}),
      ElementsAre(
          Event(5, 9), Event(6, 8),
          Event(20, 1, 3, ChangeKind::kLeft, ChangeCause::kPlanChanged, 7)));
}

// Random logs: grouping then expanding gives the log back; the runs are
// maximal (no two neighbours could be one run), and expanding then grouping
// maximal runs gives them back.
TEST(GroupIntoRuns, IsTheInverseOfExpandRunsAndMaximal) {
  std::mt19937 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<MembershipChange> events;
    uint64_t sequence = 1 + rng() % 5;
    const int n = static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      // Few distinct values, so that runs form and break.
      events.push_back(
          Event(sequence, 1 + rng() % 4, 1 + rng() % 2,
                rng() % 4 ? ChangeKind::kEntered : ChangeKind::kLeft,
                rng() % 4 ? ChangeCause::kContactChanged : ChangeCause::kTime,
                100 + rng() % 2));
      sequence += rng() % 8 ? 1 : 2;
    }
    const std::vector<ChangeRun> runs = GroupIntoRuns(events);
    ASSERT_EQ(ExpandRuns(runs), events) << trial;
    for (size_t i = 0; i < runs.size(); ++i) {
      ASSERT_FALSE(runs[i].contact_ids.empty());
      if (i == 0) continue;
      const ChangeRun& a = runs[i - 1];
      const ChangeRun& b = runs[i];
      EXPECT_FALSE(b.first_sequence == a.last_sequence() + 1 &&
                   b.segment_id == a.segment_id && b.kind == a.kind &&
                   b.cause == a.cause && b.time == a.time)
          << "runs " << i - 1 << " and " << i << " could be one";
    }
    EXPECT_EQ(GroupIntoRuns(ExpandRuns(runs)), runs) << trial;
  }
}

}  // namespace
}  // namespace segments
