// validate_only on CreateSegment and UpdateSegment (AIP-163, issue 14): the
// impact is reported (who would enter and leave, with samples) exactly as
// the write would then do it, the errors are the write's, and nothing is
// written: no commit, no change event, no sequence moves, memory unchanged
// (the segment, and the segments referring to it).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/base/errors.h"
#include "core/engine/workspace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/drafts.h"
#include "tests/testing/memory_store.h"
#include "tests/testing/memory_workspace.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::Cond;
using ::segments::testing::IsOk;
using ::segments::testing::Ref;
using ::segments::testing::SegmentOf;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr UnixSeconds kNow = 1'800'000'000;

ConditionSpec Country(std::string country) {
  return Cond("country", Operator::kEquals, {std::move(country)});
}

class ValidateOnlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ws = testing::OpenMemoryWorkspace(storage_, Plan::kStarter, &clock_,
                                           Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
    for (int i = 0; i < 130; ++i) {
      ContactDraft d;
      d.email = "c" + std::to_string(i) + "@x.io";
      d.country = i % 3 == 0 ? "DE" : (i % 3 == 1 ? "FR" : "US");
      auto c = ws_->CreateContact(d);
      ASSERT_THAT(c, IsOk());
      ids_.push_back(c->id);
    }
  }

  SegmentId Segment(std::string name, std::vector<ConditionSpec> conditions) {
    auto s = ws_->CreateSegment(SegmentOf(std::move(name), conditions));
    EXPECT_THAT(s, IsOk());
    return s.ok() ? s->record.id : 0;
  }

  std::vector<ContactId> Members(SegmentId id) {
    auto page = ws_->ListMembers(id, 0, 1000, ContactView::kId);
    EXPECT_THAT(page, IsOk());
    std::vector<ContactId> out;
    if (page.ok()) {
      for (const Contact& c : page->items) out.push_back(c.id);
    }
    return out;
  }

  // Everything a validate_only call must leave as it is: the store's
  // commits (rows and change log), every segment's record, count, as_of
  // sequence (the log's head) and members.
  struct State {
    int commits;
    std::vector<SegmentView> views;
    std::vector<std::vector<ContactId>> members;
    bool operator==(const State& o) const {
      if (commits != o.commits || views.size() != o.views.size() ||
          members != o.members)
        return false;
      for (size_t i = 0; i < views.size(); ++i) {
        if (!(views[i].record == o.views[i].record) ||
            views[i].member_count != o.views[i].member_count ||
            views[i].as_of_sequence != o.views[i].as_of_sequence)
          return false;
      }
      return true;
    }
  };
  State Snapshot() {
    State s;
    s.commits = storage_->commit_count();
    Page<SegmentView> page = ws_->ListSegments(0, 1000);
    s.views = page.items;
    for (const SegmentView& v : s.views)
      s.members.push_back(Members(v.record.id));
    return s;
  }
  std::vector<ContactId> Every(int mod, int rem) const {
    std::vector<ContactId> out;
    for (size_t i = 0; i < ids_.size(); ++i) {
      if (static_cast<int>(i % static_cast<size_t>(mod)) == rem)
        out.push_back(ids_[i]);
    }
    return out;
  }

  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  FakeClock clock_{kNow};
  std::unique_ptr<Workspace> ws_;
  std::vector<ContactId> ids_;
};

TEST_F(ValidateOnlyTest, CreateReportsWhatPreviewCountsAndWritesNothing) {
  const SegmentId de = Segment("de", {Country("DE")});
  const State before = Snapshot();
  auto impact =
      ws_->ValidateCreateSegment(SegmentOf("not de", {Ref(de, false)}), 100);
  ASSERT_THAT(impact, IsOk());
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(impact->view.record.id, de + 1);  // the id it would take
  EXPECT_EQ(impact->view.member_count, 86u);
  EXPECT_EQ(impact->entered_count, 86u);
  EXPECT_EQ(impact->left_count, 0u);
  std::vector<ContactId> not_de = Every(3, 1);
  for (ContactId id : Every(3, 2)) not_de.push_back(id);
  std::sort(not_de.begin(), not_de.end());
  not_de.resize(100 < not_de.size() ? 100 : not_de.size());
  EXPECT_EQ(impact->sample_members, not_de);
  EXPECT_EQ(impact->sample_entered, not_de);
  EXPECT_THAT(impact->sample_left, IsEmpty());
  // What Preview says of the same filter.
  auto preview = ws_->Preview(SegmentOf("", {Ref(de, false)}).filter, 100,
                              [] { return false; });
  ASSERT_THAT(preview, IsOk());
  EXPECT_EQ(preview->member_count, impact->view.member_count);
  EXPECT_EQ(preview->sample, impact->sample_members);
  // The write then does what was announced.
  auto created = ws_->CreateSegment(SegmentOf("not de", {Ref(de, false)}));
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->record.id, impact->view.record.id);
  EXPECT_EQ(created->member_count, impact->view.member_count);
}

TEST_F(ValidateOnlyTest, UpdateReportsWhoEntersAndLeavesAndWritesNothing) {
  const SegmentId de = Segment("de", {Country("DE")});
  const SegmentId referrer = Segment("not de", {Ref(de, false)});
  const State before = Snapshot();
  auto impact = ws_->ValidateUpdateSegment(de, SegmentOf("", {Country("FR")}),
                                           {"filter"}, 10);
  ASSERT_THAT(impact, IsOk());
  EXPECT_EQ(Snapshot(), before) << "validate_only changed something";
  EXPECT_EQ(impact->view.record.display_name, "de");
  EXPECT_EQ(impact->view.member_count, 43u);
  EXPECT_EQ(impact->entered_count, 43u);  // the French
  EXPECT_EQ(impact->left_count, 44u);     // the Germans
  std::vector<ContactId> fr = Every(3, 1), de_ids = Every(3, 0);
  fr.resize(10);
  de_ids.resize(10);
  EXPECT_EQ(impact->sample_entered, fr);
  EXPECT_EQ(impact->sample_left, de_ids);
  EXPECT_EQ(impact->sample_members, fr);
  // The referrer is untouched until the write, which then moves both.
  EXPECT_EQ(Members(referrer).size(), 86u);
  ASSERT_THAT(
      ws_->UpdateSegment(de, SegmentOf("", {Country("FR")}), {"filter"}),
      IsOk());
  EXPECT_EQ(Members(de).size(), 43u);
  EXPECT_EQ(Members(referrer).size(), 87u);
}

TEST_F(ValidateOnlyTest, ErrorsAreTheWritesAndChangeNothing) {
  const SegmentId a = Segment("a", {Country("DE")});
  const SegmentId b = Segment("b", {Ref(a)});
  const State before = Snapshot();
  // A cycle, at its path.
  auto cycle =
      ws_->ValidateUpdateSegment(a, SegmentOf("", {Ref(b)}), {"filter"}, 10);
  EXPECT_THAT(cycle, StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(GetFieldViolations(cycle.status()).size(), 1u);
  EXPECT_EQ(GetFieldViolations(cycle.status())[0].field,
            "segment.filter.conditions[0].segment_id");
  // A missing segment, a taken name, a smart field beyond STARTER, a bad
  // mask: as the write answers them.
  EXPECT_THAT(
      ws_->ValidateUpdateSegment(99, SegmentOf("x", {Country("DE")}), {}, 10),
      StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->ValidateCreateSegment(SegmentOf("A", {Country("FR")}), 10),
              StatusIs(absl::StatusCode::kAlreadyExists));
  auto smart = ws_->ValidateCreateSegment(
      SegmentOf("smart",
                {Cond("lead_score", Operator::kGreaterThan, {int64_t{5}})}),
      10);
  EXPECT_THAT(smart, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(GetErrorInfo(smart.status()).reason, "PLAN_UPGRADE_REQUIRED");
  EXPECT_THAT(ws_->ValidateUpdateSegment(a, SegmentOf("x", {Country("DE")}),
                                         {"colour"}, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Snapshot(), before);
}

}  // namespace
}  // namespace segments
