// Nested groups and segments built from segments (issue 14): references
// are kept exact through chains, diamonds and NOT_IN_SEGMENT, in the same
// write as the change that moves them, across rule updates, plan changes
// and restarts; bad references are refused at their paths.
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
using ::testing::UnorderedElementsAre;

constexpr UnixSeconds kNow = 1'800'000'000;

ConditionSpec Group(Match match, std::vector<ConditionSpec> conditions) {
  ConditionSpec c;
  c.group.emplace();
  c.group->match = static_cast<int>(match);
  c.group->conditions = std::move(conditions);
  return c;
}

ConditionSpec Country(std::string country) {
  return Cond("country", Operator::kEquals, {std::move(country)});
}

ConditionSpec Tag(std::string tag) {
  return Cond("tags", Operator::kHasAny, {std::move(tag)});
}

class SegmentReferencesTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(Plan::kGrowth); }

  void Reopen(Plan plan) {
    ws_.reset();
    auto ws = testing::OpenMemoryWorkspace(storage_, plan, &clock_, Limits());
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  ContactId Contact(std::string email, std::string country,
                    std::vector<std::string> tags = {}) {
    ContactDraft d;
    d.email = std::move(email);
    d.country = std::move(country);
    d.tags = std::move(tags);
    auto c = ws_->CreateContact(d);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? c->id : 0;
  }

  SegmentId Segment(std::string name, std::vector<ConditionSpec> conditions,
                    Match match = Match::kAll) {
    auto s = ws_->CreateSegment(
        SegmentOf(std::move(name), std::move(conditions), match));
    EXPECT_THAT(s, IsOk());
    return s.ok() ? s->record.id : 0;
  }

  std::vector<ContactId> Members(SegmentId id) {
    auto page = ws_->ListMembers(id, 0, 1000, ContactView::kId);
    EXPECT_THAT(page, IsOk());
    std::vector<ContactId> out;
    if (page.ok()) {
      for (const segments::Contact& c : page->items) out.push_back(c.id);
    }
    return out;
  }

  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  FakeClock clock_{kNow};
  std::unique_ptr<Workspace> ws_;
};

TEST_F(SegmentReferencesTest, NestedGroupsMatchAsWritten) {
  const ContactId de_vip = Contact("a@x.io", "DE", {"vip"});
  const ContactId fr = Contact("b@x.io", "FR");
  Contact("c@x.io", "US", {"vip"});
  // country DE and vip, or country FR.
  const SegmentId s =
      Segment("nested",
              {Group(Match::kAll, {Country("DE"), Tag("vip")}), Country("FR")},
              Match::kAny);
  EXPECT_THAT(Members(s), ElementsAre(de_vip, fr));
}

TEST_F(SegmentReferencesTest, ChainAndDiamondMoveInTheSameWrite) {
  const ContactId a = Contact("a@x.io", "DE", {"vip"});
  const ContactId b = Contact("b@x.io", "DE");
  const SegmentId de = Segment("de", {Country("DE")});
  const SegmentId vip = Segment("vip", {Tag("vip")});
  const SegmentId de_vip = Segment("de vip", {Ref(de), Ref(vip)});
  const SegmentId de_not_vip =
      Segment("de not vip", {Ref(de), Ref(vip, false)});
  // Diamond: both refer to `de`; the tip refers to both.
  const SegmentId tip =
      Segment("tip", {Ref(de_vip), Ref(de_not_vip)}, Match::kAny);
  EXPECT_THAT(Members(de_vip), ElementsAre(a));
  EXPECT_THAT(Members(de_not_vip), ElementsAre(b));
  EXPECT_THAT(Members(tip), ElementsAre(a, b));

  // One contact update moves the whole chain.
  ContactDraft moved;
  moved.email = "b@x.io";
  moved.country = "FR";
  ASSERT_THAT(ws_->UpdateContact(b, moved, {"country"}), IsOk());
  EXPECT_THAT(Members(de), ElementsAre(a));
  EXPECT_THAT(Members(de_not_vip), ElementsAre());
  EXPECT_THAT(Members(tip), ElementsAre(a));

  // A new contact enters through the references at once.
  const ContactId c = Contact("c@x.io", "DE");
  EXPECT_THAT(Members(tip), ElementsAre(a, c));
  // A delete leaves every level.
  ASSERT_THAT(ws_->DeleteContact(a), IsOk());
  EXPECT_THAT(Members(de_vip), ElementsAre());
  EXPECT_THAT(Members(tip), ElementsAre(c));

  // A restart rebuilds in dependency order and finds the same.
  Reopen(Plan::kGrowth);
  EXPECT_THAT(Members(tip), ElementsAre(c));
  EXPECT_THAT(Members(de_not_vip), ElementsAre(c));
}

TEST_F(SegmentReferencesTest, RuleUpdatePropagatesItsDiffToReferrers) {
  const ContactId de = Contact("a@x.io", "DE");
  const ContactId fr = Contact("b@x.io", "FR");
  const SegmentId base = Segment("base", {Country("DE")});
  const SegmentId not_base = Segment("not base", {Ref(base, false)});
  const SegmentId top = Segment("top", {Ref(not_base)});
  EXPECT_THAT(Members(top), ElementsAre(fr));
  auto updated =
      ws_->UpdateSegment(base, SegmentOf("base", {Country("FR")}), {"filter"});
  ASSERT_THAT(updated, IsOk());
  EXPECT_THAT(Members(not_base), ElementsAre(de));
  EXPECT_THAT(Members(top), ElementsAre(de));
}

TEST_F(SegmentReferencesTest, TimeFlipsMoveReferrersInTheSameWrite) {
  ContactDraft d;
  d.email = "a@x.io";
  d.country = "DE";
  d.last_engaged_at = kNow;
  auto a = ws_->CreateContact(d);
  ASSERT_THAT(a, IsOk());
  const SegmentId recent = Segment(
      "recent",
      {Cond("last_engaged_at", Operator::kWithinLastDays, {int64_t{1}})});
  const SegmentId quiet = Segment("quiet", {Ref(recent, false), Country("DE")});
  const SegmentId top = Segment("top", {Group(Match::kAny, {Ref(quiet)})});
  EXPECT_THAT(Members(top), ElementsAre());
  clock_.Advance(86400 + 1);
  ASSERT_THAT(ws_->ApplyDueFlips(), IsOk());
  EXPECT_THAT(Members(recent), ElementsAre());
  EXPECT_THAT(Members(quiet), ElementsAre(a->id));
  EXPECT_THAT(Members(top), ElementsAre(a->id));
}

TEST_F(SegmentReferencesTest, ABatchOfNewContactsEntersThroughReferences) {
  const SegmentId de = Segment("de", {Country("DE")});
  const SegmentId not_de = Segment("not de", {Ref(de, false)});
  std::vector<ContactDraft> drafts(600);
  for (size_t i = 0; i < drafts.size(); ++i) {
    drafts[i].email = "c" + std::to_string(i) + "@x.io";
    drafts[i].country = i % 3 == 0 ? "DE" : "FR";
  }
  ASSERT_THAT(ws_->BatchUpsertContacts(drafts, {}), IsOk());
  EXPECT_EQ(ws_->CountMembers(de)->member_count, 200u);
  EXPECT_EQ(ws_->CountMembers(not_de)->member_count, 400u);
}

TEST_F(SegmentReferencesTest, BadReferencesAreRefusedAtTheirPaths) {
  const SegmentId a = Segment("a", {Country("DE")});
  const SegmentId b = Segment("b", {Ref(a)});
  // Missing.
  auto missing = ws_->CreateSegment(
      SegmentOf("m", {Country("DE"), Group(Match::kAny, {Ref(99)})}));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(GetFieldViolations(missing.status()).size(), 1u);
  EXPECT_EQ(GetFieldViolations(missing.status())[0].field,
            "segment.filter.conditions[1].group.conditions[0].segment_id");
  // A cycle through b, and one to itself.
  auto cycle = ws_->UpdateSegment(a, SegmentOf("a", {Ref(b)}), {"filter"});
  EXPECT_THAT(cycle, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(GetFieldViolations(cycle.status())[0].field,
            "segment.filter.conditions[0].segment_id");
  auto self = ws_->UpdateSegment(a, SegmentOf("a", {Ref(a)}), {"filter"});
  EXPECT_THAT(self, StatusIs(absl::StatusCode::kInvalidArgument));
  // Too deep: the filter, then four nested groups.
  auto deep = ws_->CreateSegment(SegmentOf(
      "deep",
      {Group(Match::kAll,
             {Group(Match::kAll,
                    {Group(Match::kAll,
                           {Group(Match::kAll, {Country("DE")})})})})}));
  EXPECT_THAT(deep, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(GetFieldViolations(deep.status())[0].field,
            "segment.filter.conditions[0].group.conditions[0].group."
            "conditions[0].group.conditions[0].group");
  EXPECT_THAT(ws_->GetSegment(3), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SegmentReferencesTest, LongChainsAreCheckedForCycles) {
  SegmentId prev = Segment("s0", {Country("DE")});
  const SegmentId first = prev;
  for (int i = 1; i < 200; ++i) {
    prev = Segment("s" + std::to_string(i), {Ref(prev)});
  }
  auto cycle =
      ws_->UpdateSegment(first, SegmentOf("s0", {Ref(prev)}), {"filter"});
  EXPECT_THAT(cycle, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SegmentReferencesTest, DeletingAReferencedSegmentNamesItsReferrers) {
  const SegmentId a = Segment("a", {Country("DE")});
  const SegmentId b = Segment("b", {Ref(a)});
  const SegmentId c = Segment("c", {Ref(a, false)});
  absl::Status refused = ws_->DeleteSegment(a);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition));
  const ErrorInfo info = GetErrorInfo(refused);
  EXPECT_EQ(info.reason, "SEGMENT_REFERENCED");
  EXPECT_EQ(info.metadata.at("referrers"),
            std::to_string(b) + "," + std::to_string(c));
  EXPECT_THAT(ws_->GetSegment(a), IsOk());
  ASSERT_THAT(ws_->DeleteSegment(b), IsOk());
  ASSERT_THAT(ws_->DeleteSegment(c), IsOk());
  EXPECT_THAT(ws_->DeleteSegment(a), IsOk());
}

TEST_F(SegmentReferencesTest, PlanGatingFollowsReferences) {
  Contact("a@x.io", "DE");
  const SegmentId smart = Segment(
      "smart", {Cond("lead_score", Operator::kGreaterOrEqual, {int64_t{0}})});
  const SegmentId referrer = Segment("referrer", {Ref(smart), Country("DE")});
  auto view = ws_->GetSegment(referrer);
  ASSERT_THAT(view, IsOk());
  EXPECT_EQ(view->kind, SegmentKind::kSmart);
  // A downgrade restricts every segment reaching a smart one.
  ASSERT_THAT(ws_->SetPlan(Plan::kStarter), IsOk());
  EXPECT_EQ(ws_->GetSegment(referrer)->record.state,
            SegmentState::kPlanRestricted);
  auto refused = ws_->CreateSegment(SegmentOf("new", {Ref(smart)}));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(GetErrorInfo(refused.status()).metadata.at("field"), "lead_score");
  // Making the referenced segment standard lets the referrer be active
  // again, in the same write.
  ASSERT_THAT(ws_->UpdateSegment(smart, SegmentOf("smart", {Country("DE")}),
                                 {"filter"}),
              IsOk());
  EXPECT_EQ(ws_->GetSegment(referrer)->record.state, SegmentState::kActive);
  EXPECT_EQ(ws_->GetSegment(referrer)->member_count, 1u);
}

}  // namespace
}  // namespace segments
