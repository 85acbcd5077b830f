// "Enroll then follow" is exact (SPEC §6): a segment's members as listed at
// sequence S, plus the feed's events after S, are its members now, for
// every segment and every S, over random contact writes, batch upserts,
// rule updates, renames, deletions, plan changes, time flips and restarts
// (the differential harness checks every step against its brute force).
#include <map>
#include <set>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/pages.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/workspace_harness.h"
#include "tests/testing/workspace_ops.h"

namespace segments::testing {
namespace {

using Members = std::map<SegmentId, std::set<ContactId>>;

// Every active segment's members, as the workspace lists them.
Members ListActive(Workspace& ws) {
  Members out;
  SegmentId after_segment = 0;
  while (true) {
    Page<SegmentView> segments = ws.ListSegments(after_segment, 1000);
    for (const SegmentView& s : segments.items) {
      if (s.record.state != SegmentState::kActive) continue;
      std::set<ContactId>& members = out[s.record.id];
      ContactId after = 0;
      while (true) {
        auto page = ws.ListMembers(s.record.id, after, 1000, ContactView::kId);
        EXPECT_THAT(page, IsOk());
        if (!page.ok()) break;
        for (ContactId id : IdsOf(*page)) members.insert(id);
        if (!page->more) break;
        after = page->items.back().id;
      }
    }
    if (!segments.more) return out;
    after_segment = segments.items.back().record.id;
  }
}

// The feed after `after`, `max_events` at a time, folded onto `members`: a
// deleted segment is dropped; a segment created since (not in `members`)
// is ignored, its build having no events of its own.
::testing::AssertionResult Follow(Workspace& ws, uint64_t after,
                                  size_t max_events, Members* members) {
  std::set<SegmentId> deleted;
  while (true) {
    absl::StatusOr<FeedBatch> batch = ws.feed().Read(after, {}, max_events);
    if (!batch.ok()) {
      return ::testing::AssertionFailure()
             << "Read(" << after << "): " << batch.status();
    }
    for (const ChangeRun& run : batch->runs) {
      if (run.first_sequence != after + 1) {
        return ::testing::AssertionFailure()
               << "run at " << run.first_sequence << " after " << after;
      }
      after = run.last_sequence();
      auto it = members->find(run.segment_id);
      if (deleted.count(run.segment_id) != 0) {
        return ::testing::AssertionFailure()
               << "segment " << run.segment_id << " has events after its "
               << "deletion, at " << run.first_sequence;
      }
      if (run.kind == ChangeKind::kSegmentDeleted) {
        deleted.insert(run.segment_id);
        if (it != members->end()) members->erase(it);
        continue;
      }
      if (it == members->end()) continue;
      for (ContactId c : run.contact_ids) {
        const bool changed = run.kind == ChangeKind::kEntered
                                 ? it->second.insert(c).second
                                 : it->second.erase(c) == 1;
        if (!changed) {
          return ::testing::AssertionFailure()
                 << "event " << run.first_sequence << " of segment "
                 << run.segment_id << " for contact " << c
                 << " does not change its membership";
        }
      }
    }
    if (batch->last_sequence != after) {
      return ::testing::AssertionFailure()
             << "batch ends at " << batch->last_sequence << ", its last run at "
             << after;
    }
    if (batch->caught_up) return ::testing::AssertionSuccess();
  }
}

TEST(FeedExactness, MembersAtSPlusTheFeedAfterSAreTheMembersNow) {
  const uint64_t seed = Seed(31);
  SCOPED_TRACE(SeedTrace(seed));
  Harness h(seed, kBase, SegmentShape());
  ASSERT_TRUE(h.Open());
  SequenceOptions options;
  struct Mark {
    uint64_t sequence;
    Members members;
  };
  std::vector<Mark> marks;
  for (int step = 0; step < 700; ++step) {
    const Op op = RandomOp(h, options);
    ASSERT_TRUE(Do(h, op, op == Op::kAdvanceTime && h.can_fail()))
        << "step " << step << " " << OpName(op);
    if (step % 25 == 0) {
      marks.push_back({h.ws().feed().head(), ListActive(h.ws())});
    }
  }
  ASSERT_TRUE(h.CheckEverything());
  ASSERT_TRUE(h.CheckChangeLog());
  const Members now = ListActive(h.ws());
  const uint64_t head = h.ws().feed().head();
  int compared = 0;
  for (Mark& mark : marks) {
    SCOPED_TRACE(::testing::Message() << "as of sequence " << mark.sequence);
    const size_t max_events = 1 + h.rd().Uniform(0, 300);
    ASSERT_TRUE(Follow(h.ws(), mark.sequence, max_events, &mark.members));
    for (const auto& [id, members] : mark.members) {
      auto it = now.find(id);
      if (it == now.end()) continue;  // restricted now: frozen, not listed
      EXPECT_EQ(members, it->second) << "segment " << id;
      ++compared;
    }
  }
  EXPECT_GT(compared, 100) << "too few segments lived from a mark to the end";
  EXPECT_GT(head, 1000u) << "too few changes";
}

}  // namespace
}  // namespace segments::testing
