#include "core/engine/workspace.h"

#include <memory>
#include <string>
#include <vector>

#include "core/base/errors.h"
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
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr UnixSeconds kNow = 1'800'000'000;

ContactDraft Draft(std::string email, std::string country = "",
                   std::vector<std::string> tags = {}) {
  ContactDraft d;
  d.email = std::move(email);
  d.country = std::move(country);
  d.tags = std::move(tags);
  return d;
}

using ::segments::testing::Cond;
using ::segments::testing::SegmentOf;

SegmentDraft InCountry(std::string name, std::string country) {
  return SegmentOf(std::move(name),
                   {Cond("country", Operator::kEquals, {std::move(country)})});
}

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(Plan::kGrowth); }

  // Opens (or reopens, as after a restart) the workspace over the same data.
  void Reopen(Plan plan) {
    ws_.reset();
    auto ws = testing::OpenMemoryWorkspace(storage_, plan, &clock_, limits_);
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  // Every member of a segment, through paging.
  std::vector<ContactId> Members(SegmentId id, size_t page_size = 2) {
    std::vector<ContactId> all;
    ContactId after = 0;
    while (true) {
      auto page = ws_->ListMembers(id, after, page_size, ContactView::kId);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) return all;
      for (ContactId m : IdsOf(*page)) all.push_back(m);
      if (!page->more) return all;
      after = page->items.back().id;
    }
  }

  std::vector<MembershipChange> Changes() {
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(1);
    EXPECT_THAT(store, IsOk());
    auto changes = (*store)->ReadChanges(0, 1'000'000);
    EXPECT_THAT(changes, IsOk());
    return changes.ok() ? *changes : std::vector<MembershipChange>{};
  }

  uint64_t Count(SegmentId id) {
    auto c = ws_->CountMembers(id);
    EXPECT_THAT(c, IsOk());
    return c.ok() ? c->member_count : ~0ull;
  }

  FakeClock clock_{kNow};
  Limits limits_;
  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  std::unique_ptr<Workspace> ws_;
};

TEST_F(WorkspaceTest, NewSegmentEvaluatesExistingContactsBeforeReturning) {
  ASSERT_THAT(ws_->CreateContact(Draft("a@x.com", "DE")), IsOk());
  ASSERT_THAT(ws_->CreateContact(Draft("b@x.com", "FR")), IsOk());
  ASSERT_THAT(ws_->CreateContact(Draft("c@x.com", "de")), IsOk());
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "De")));
  EXPECT_EQ(seg.member_count, 2u);
  EXPECT_EQ(seg.record.state, SegmentState::kActive);
  EXPECT_EQ(seg.kind, SegmentKind::kStandard);
  EXPECT_THAT(Members(seg.record.id), ElementsAre(1u, 3u));
  // The initial build logs no per-contact events.
  EXPECT_THAT(Changes(), IsEmpty());
}

TEST_F(WorkspaceTest, ContactMutationsMoveMembershipAndAreLogged) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com", "DE")));
  EXPECT_EQ(Count(seg.record.id), 1u);

  ContactDraft move = Draft("", "FR");
  ASSERT_OK_AND_ASSIGN(Contact moved,
                       ws_->UpdateContact(a.id, move, {"country"}));
  EXPECT_EQ(moved.country, "FR");
  EXPECT_EQ(moved.email, "a@x.com");  // not in the mask: untouched
  EXPECT_EQ(Count(seg.record.id), 0u);

  ASSERT_THAT(ws_->UpdateContact(a.id, Draft("", "DE"), {"country"}), IsOk());
  ASSERT_THAT(ws_->DeleteContact(a.id), IsOk());
  EXPECT_EQ(Count(seg.record.id), 0u);
  EXPECT_THAT(ws_->GetContact(a.id), StatusIs(absl::StatusCode::kNotFound));

  std::vector<MembershipChange> log = Changes();
  ASSERT_THAT(log, SizeIs(4));
  EXPECT_EQ(log[0].kind, ChangeKind::kEntered);
  EXPECT_EQ(log[1].kind, ChangeKind::kLeft);
  EXPECT_EQ(log[1].cause, ChangeCause::kContactChanged);
  EXPECT_EQ(log[2].kind, ChangeKind::kEntered);
  EXPECT_EQ(log[3].kind, ChangeKind::kLeft);
  EXPECT_EQ(log[3].cause, ChangeCause::kContactDeleted);
  for (size_t i = 0; i < log.size(); ++i) EXPECT_EQ(log[i].sequence, i + 1);
  EXPECT_EQ(ws_->CountMembers(seg.record.id)->as_of_sequence, 4u);
}

TEST_F(WorkspaceTest, UnrelatedFieldChangeLogsNothing) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com", "DE")));
  ContactDraft d;
  d.company = "Acme";
  ASSERT_THAT(ws_->UpdateContact(a.id, d, {"company"}), IsOk());
  EXPECT_THAT(Changes(), SizeIs(1));
  EXPECT_EQ(Count(seg.record.id), 1u);
}

TEST_F(WorkspaceTest, DuplicateEmailIsAlreadyExists) {
  ASSERT_THAT(ws_->CreateContact(Draft("a@x.com")), IsOk());
  EXPECT_THAT(ws_->CreateContact(Draft("  A@X.com ")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(Contact b, ws_->CreateContact(Draft("b@x.com")));
  EXPECT_THAT(ws_->UpdateContact(b.id, Draft("a@x.com"), {"email"}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ws_->GetContact(b.id)->email, "b@x.com");
}

TEST_F(WorkspaceTest, InvalidContactReportsPathAndWritesNothing) {
  ContactDraft bad = Draft("no-at-sign");
  bad.engagement_score = 101;
  auto status = ws_->CreateContact(bad).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<FieldViolation> v = GetFieldViolations(status);
  ASSERT_THAT(v, SizeIs(2));
  EXPECT_EQ(v[0].field, "contact.email");
  EXPECT_EQ(v[1].field, "contact.engagement_score");
  EXPECT_EQ(storage_->commit_count(), 0);
}

TEST_F(WorkspaceTest, UnknownMaskPathIsInvalid) {
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com")));
  auto status =
      ws_->UpdateContact(a.id, Draft("a@x.com"), {"email", "shoe_size"})
          .status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(GetFieldViolations(status), SizeIs(1));
  EXPECT_EQ(GetFieldViolations(status)[0].field, "update_mask.paths[1]");
}

TEST_F(WorkspaceTest, BatchUpsertCreatesAndUpdatesByEmail) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com", "FR")));
  ASSERT_OK_AND_ASSIGN(
      BatchUpsertResult r,
      ws_->BatchUpsertContacts({Draft("A@x.com", "DE"), Draft("b@x.com", "DE"),
                                Draft("b@x.com", "FR"), Draft("c@x.com", "DE")},
                               {}));
  EXPECT_EQ(r.created, 2u);
  EXPECT_EQ(r.updated, 2u);
  ASSERT_THAT(r.contacts, SizeIs(4));
  EXPECT_EQ(r.contacts[0].id, a.id);
  EXPECT_EQ(r.contacts[1].id, r.contacts[2].id);
  EXPECT_EQ(r.contacts[2].country, "FR");
  EXPECT_THAT(Members(seg.record.id), ElementsAre(a.id, r.contacts[3].id));
}

TEST_F(WorkspaceTest, BatchUpsertEchoingIdsAndEmailsStoresWholeContacts) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com", "FR")));
  ASSERT_OK_AND_ASSIGN(
      BatchUpsertResult r,
      ws_->BatchUpsertContacts({Draft("A@x.com", "DE"), Draft("b@x.com", "DE"),
                                Draft("b@x.com", "FR"), Draft("c@x.com", "DE")},
                               {}, ContactView::kIdAndEmail));
  EXPECT_EQ(r.created, 2u);
  EXPECT_EQ(r.updated, 2u);
  ASSERT_THAT(r.contacts, SizeIs(4));
  const std::vector<std::string> emails = {"a@x.com", "b@x.com", "b@x.com",
                                           "c@x.com"};
  for (size_t i = 0; i < emails.size(); ++i) {
    EXPECT_EQ(r.contacts[i].email, emails[i]);
    EXPECT_EQ(r.contacts[i].country, "") << "only ids and emails are echoed";
  }
  EXPECT_EQ(r.contacts[0].id, a.id);
  EXPECT_EQ(r.contacts[1].id, r.contacts[2].id);
  // What is stored is whole, the later entry for b@x.com on top.
  ASSERT_OK_AND_ASSIGN(Contact b, ws_->GetContact(r.contacts[1].id));
  EXPECT_EQ(b.country, "FR");
  ASSERT_OK_AND_ASSIGN(Contact c, ws_->GetContact(r.contacts[3].id));
  EXPECT_EQ(c.country, "DE");
  EXPECT_THAT(Members(seg.record.id), ElementsAre(a.id, r.contacts[3].id));
}

TEST_F(WorkspaceTest, BatchUpsertIsAllOrNothing) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  const int commits = storage_->commit_count();
  ContactDraft bad = Draft("d@x.com", "DE");
  bad.tags = {"ok", ""};
  auto status =
      ws_->BatchUpsertContacts({Draft("a@x.com", "DE"), Draft("bad"), bad}, {})
          .status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<FieldViolation> v = GetFieldViolations(status);
  ASSERT_THAT(v, SizeIs(2));
  EXPECT_EQ(v[0].field, "contacts[1].email");
  EXPECT_EQ(v[1].field, "contacts[2].tags[1]");
  EXPECT_EQ(storage_->commit_count(), commits);
  EXPECT_EQ(Count(seg.record.id), 0u);
  EXPECT_THAT(ws_->GetContact(1), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkspaceTest, BatchOverLimitNamesTheLimit) {
  limits_.max_batch_contacts = 2;
  Reopen(Plan::kGrowth);
  auto status =
      ws_->BatchUpsertContacts(
             {Draft("a@x.com"), Draft("b@x.com"), Draft("c@x.com")}, {})
          .status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               ::testing::HasSubstr("max_batch_contacts")));
  EXPECT_EQ(GetFieldViolations(status)[0].field, "contacts");
}

TEST_F(WorkspaceTest, FailedCommitChangesNothingInMemory) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com", "DE")));
  storage_->FailNextCommits(4);
  EXPECT_THAT(ws_->CreateContact(Draft("b@x.com", "DE")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ws_->UpdateContact(a.id, Draft("", "FR"), {"country"}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ws_->DeleteContact(a.id),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(
      ws_->UpdateSegment(seg.record.id, InCountry("x", "FR"), {"filter"}),
      StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(ws_->GetContact(a.id)->country, "DE");
  EXPECT_THAT(Members(seg.record.id), ElementsAre(a.id));
  // The next create reuses nothing it should not: ids stay dense.
  ASSERT_OK_AND_ASSIGN(Contact b, ws_->CreateContact(Draft("b@x.com", "DE")));
  EXPECT_EQ(b.id, a.id + 1);
  EXPECT_EQ(Changes().back().sequence, 2u);
}

TEST_F(WorkspaceTest, RuleUpdateLogsTheDiff) {
  ASSERT_OK_AND_ASSIGN(Contact a, ws_->CreateContact(Draft("a@x.com", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact b, ws_->CreateContact(Draft("b@x.com", "FR")));
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(
      SegmentView upd,
      ws_->UpdateSegment(seg.record.id, InCountry("ignored", "FR"),
                         {"filter"}));
  EXPECT_EQ(upd.record.display_name, "Germany");
  EXPECT_EQ(upd.member_count, 1u);
  EXPECT_THAT(Members(seg.record.id), ElementsAre(b.id));
  std::vector<MembershipChange> log = Changes();
  ASSERT_THAT(log, SizeIs(2));
  EXPECT_EQ(log[0].contact_id, a.id);
  EXPECT_EQ(log[0].kind, ChangeKind::kLeft);
  EXPECT_EQ(log[0].cause, ChangeCause::kRulesChanged);
  EXPECT_EQ(log[1].contact_id, b.id);
  EXPECT_EQ(log[1].kind, ChangeKind::kEntered);
  EXPECT_EQ(upd.as_of_sequence, 2u);
}

TEST_F(WorkspaceTest, SegmentNamesAreUniqueIgnoringCase) {
  ASSERT_THAT(ws_->CreateSegment(InCountry("Germany", "DE")), IsOk());
  EXPECT_THAT(ws_->CreateSegment(InCountry(" GERMANY ", "FR")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(SegmentView fr,
                       ws_->CreateSegment(InCountry("France", "FR")));
  EXPECT_THAT(ws_->UpdateSegment(fr.record.id, InCountry("germany", "FR"),
                                 {"display_name"}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // Renaming to itself in another case is fine.
  EXPECT_THAT(ws_->UpdateSegment(fr.record.id, InCountry("FRANCE", "FR"),
                                 {"display_name"}),
              IsOk());
}

TEST_F(WorkspaceTest, InvalidSegmentReportsEveryViolation) {
  SegmentDraft d =
      SegmentOf("", {Cond("country", Operator::kHasAny, {std::string("x")}),
                     Cond("shoe_size", Operator::kEquals, {int64_t{3}})});
  auto status = ws_->CreateSegment(d).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<FieldViolation> v = GetFieldViolations(status);
  ASSERT_THAT(v, SizeIs(3));
  EXPECT_EQ(v[0].field, "segment.display_name");
  EXPECT_EQ(v[1].field, "segment.filter.conditions[0].operator");
  EXPECT_EQ(v[2].field, "segment.filter.conditions[1].field");
}

TEST_F(WorkspaceTest, SegmentLimitIsResourceExhausted) {
  limits_.max_segments = 1;
  Reopen(Plan::kGrowth);
  ASSERT_THAT(ws_->CreateSegment(InCountry("a", "DE")), IsOk());
  EXPECT_THAT(ws_->CreateSegment(InCountry("b", "DE")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("max_segments")));
}

TEST_F(WorkspaceTest, PagingReturnsEachMemberOnceInIdOrder) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  std::vector<ContactId> expected;
  for (int i = 0; i < 7; ++i) {
    ASSERT_OK_AND_ASSIGN(
        Contact c, ws_->CreateContact(Draft("c" + std::to_string(i) + "@x.com",
                                            i % 3 ? "DE" : "FR")));
    if (i % 3) expected.push_back(c.id);
  }
  EXPECT_EQ(Members(seg.record.id, 1), expected);
  EXPECT_EQ(Members(seg.record.id, 2), expected);
  EXPECT_EQ(Members(seg.record.id, 100), expected);
  ASSERT_OK_AND_ASSIGN(
      Page<Contact> full,
      ws_->ListMembers(seg.record.id, 0, 2, ContactView::kFull));
  ASSERT_THAT(full.items, SizeIs(2));
  EXPECT_EQ(full.items[0].id, expected[0]);
  EXPECT_EQ(full.items[0].country, "DE");
}

// A segment with a relative date rule reads "was it a member" from its
// bitmap, not its filter (its members may lag the filter as time passes).
// A rename keeps that: it is derived from the record, wherever an entry is
// made (MakeSegmentEntry).
SegmentDraft EngagedWithin30Days(std::string name) {
  return SegmentOf(
      std::move(name),
      {Cond("last_engaged_at", Operator::kWithinLastDays, {int64_t{30}})});
}

ContactDraft EngagedAt(std::string email, UnixSeconds t) {
  ContactDraft d = Draft(std::move(email));
  d.last_engaged_at = t;
  return d;
}

TEST_F(WorkspaceTest, RenamedRelativeSegmentLosesAnAgedOutMemberOnItsUpdate) {
  ASSERT_OK_AND_ASSIGN(
      Contact c, ws_->CreateContact(EngagedAt("a@x.com", kNow - 29 * 86400)));
  ASSERT_OK_AND_ASSIGN(SegmentView s,
                       ws_->CreateSegment(EngagedWithin30Days("engaged")));
  ASSERT_EQ(Members(s.record.id), std::vector<ContactId>{c.id});
  for (const std::vector<std::string>& mask :
       std::vector<std::vector<std::string>>{{"display_name"}, {"filter"}}) {
    SegmentDraft renamed = EngagedWithin30Days("engaged " + mask[0]);
    ASSERT_THAT(ws_->UpdateSegment(s.record.id, renamed, mask), IsOk());
  }
  // Two days on, the rule no longer holds, but nothing has re-evaluated the
  // contact yet; its own update of the field the rule reads must.
  clock_.Advance(2 * 86400);
  ASSERT_THAT(ws_->UpdateContact(c.id, EngagedAt("", kNow - 40 * 86400),
                                 {"last_engaged_at"}),
              IsOk());
  EXPECT_THAT(Members(s.record.id), IsEmpty());
  EXPECT_EQ(Count(s.record.id), 0u);
  // A new segment's first members are its as_of state, not logged events.
  const std::vector<MembershipChange> log = Changes();
  ASSERT_THAT(log, SizeIs(1));
  EXPECT_EQ(log[0].kind, ChangeKind::kLeft);
  EXPECT_EQ(log[0].contact_id, c.id);
}

TEST_F(WorkspaceTest, RenamedRelativeSegmentStillMovesWithTime) {
  // Engaged 29 days ago: not yet "more than 30 days ago".
  ASSERT_OK_AND_ASSIGN(
      Contact c, ws_->CreateContact(EngagedAt("a@x.com", kNow - 29 * 86400)));
  ASSERT_OK_AND_ASSIGN(
      SegmentView s,
      ws_->CreateSegment(SegmentOf(
          "lapsed", {Cond("last_engaged_at", Operator::kMoreThanDaysAgo,
                          {int64_t{30}})})));
  ASSERT_THAT(Members(s.record.id), IsEmpty());
  SegmentDraft renamed;
  renamed.display_name = "lapsed, renamed";
  ASSERT_THAT(ws_->UpdateSegment(s.record.id, renamed, {"display_name"}),
              IsOk());
  // The rule holds a day later: the renamed segment still moves with time
  // (its flip is applied before the next write), and the contact's
  // engaging again takes it out.
  clock_.Advance(2 * 86400);
  ASSERT_THAT(ws_->UpdateContact(c.id, EngagedAt("", clock_.Now()),
                                 {"last_engaged_at"}),
              IsOk());
  EXPECT_THAT(Members(s.record.id), IsEmpty());
  const std::vector<MembershipChange> log = Changes();
  ASSERT_THAT(log, SizeIs(2));
  EXPECT_EQ(log[0].kind, ChangeKind::kEntered);
  EXPECT_EQ(log[0].cause, ChangeCause::kTime);
  EXPECT_EQ(log[0].time, kNow + 86400 + 1);  // (t = now - 29 days) + 30 days
  EXPECT_EQ(log[1].kind, ChangeKind::kLeft);
  EXPECT_EQ(log[1].cause, ChangeCause::kContactChanged);
  EXPECT_EQ(log[1].time, clock_.Now());
}

TEST_F(WorkspaceTest, RestartRestoresEverything) {
  ASSERT_OK_AND_ASSIGN(SegmentView seg,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  ASSERT_OK_AND_ASSIGN(Contact a,
                       ws_->CreateContact(Draft("a@x.com", "DE", {"VIP"})));
  ASSERT_THAT(ws_->CreateContact(Draft("b@x.com", "FR")), IsOk());
  ASSERT_THAT(ws_->DeleteContact(2), IsOk());
  Reopen(Plan::kGrowth);
  EXPECT_THAT(Members(seg.record.id), ElementsAre(a.id));
  EXPECT_EQ(*ws_->GetContact(a.id), a);
  ASSERT_OK_AND_ASSIGN(SegmentView again, ws_->GetSegment(seg.record.id));
  EXPECT_EQ(again.record.display_name, "Germany");
  EXPECT_EQ(again.as_of_sequence, 1u);
  // Ids are never reused, even after a restart.
  ASSERT_OK_AND_ASSIGN(Contact c, ws_->CreateContact(Draft("c@x.com")));
  EXPECT_EQ(c.id, 3u);
}

SegmentDraft HotLeads() {
  return SegmentOf("Hot leads", {Cond("lead_score", Operator::kGreaterOrEqual,
                                      {int64_t{70}})});
}

TEST_F(WorkspaceTest, SmartSegmentNeedsGrowth) {
  Reopen(Plan::kStarter);
  auto status = ws_->CreateSegment(HotLeads()).status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kPermissionDenied));
  ErrorInfo info = GetErrorInfo(status);
  EXPECT_EQ(info.reason, "PLAN_UPGRADE_REQUIRED");
  EXPECT_EQ(info.metadata["required_plan"], "GROWTH");
  EXPECT_EQ(info.metadata["field"], "lead_score");
}

TEST_F(WorkspaceTest, DowngradeFreezesAndUpgradeRebuilds) {
  ContactDraft hot = Draft("hot@x.com");
  hot.lead_score = 90;
  ASSERT_OK_AND_ASSIGN(Contact h, ws_->CreateContact(hot));
  ASSERT_OK_AND_ASSIGN(SegmentView smart, ws_->CreateSegment(HotLeads()));
  ASSERT_OK_AND_ASSIGN(SegmentView standard,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  EXPECT_EQ(smart.kind, SegmentKind::kSmart);

  ASSERT_THAT(ws_->SetPlan(Plan::kStarter), IsOk());
  ASSERT_OK_AND_ASSIGN(SegmentView frozen, ws_->GetSegment(smart.record.id));
  EXPECT_EQ(frozen.record.state, SegmentState::kPlanRestricted);
  EXPECT_EQ(ws_->GetSegment(standard.record.id)->record.state,
            SegmentState::kActive);
  EXPECT_THAT(ws_->ListMembers(smart.record.id, 0, 10, ContactView::kId),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // Frozen: it stops updating, but its count stays readable, across restarts.
  ContactDraft cool = Draft("", "DE");
  cool.lead_score = 10;
  ASSERT_THAT(ws_->UpdateContact(h.id, cool, {"lead_score", "country"}),
              IsOk());
  EXPECT_EQ(Count(smart.record.id), 1u);
  EXPECT_EQ(Count(standard.record.id), 1u);
  Reopen(Plan::kStarter);
  EXPECT_EQ(Count(smart.record.id), 1u);
  EXPECT_EQ(ws_->GetSegment(smart.record.id)->record.state,
            SegmentState::kPlanRestricted);

  ASSERT_THAT(ws_->SetPlan(Plan::kGrowth), IsOk());
  EXPECT_EQ(ws_->GetSegment(smart.record.id)->record.state,
            SegmentState::kActive);
  EXPECT_EQ(Count(smart.record.id), 0u);
  std::vector<MembershipChange> log = Changes();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().cause, ChangeCause::kPlanChanged);
  EXPECT_EQ(log.back().kind, ChangeKind::kLeft);
  EXPECT_EQ(log.back().contact_id, h.id);
}

TEST_F(WorkspaceTest, OpeningUnderALowerPlanRestrictsSegments) {
  ASSERT_OK_AND_ASSIGN(SegmentView smart, ws_->CreateSegment(HotLeads()));
  // As after a crash between the catalog's plan change and the workspace's.
  Reopen(Plan::kStarter);
  EXPECT_EQ(ws_->GetSegment(smart.record.id)->record.state,
            SegmentState::kPlanRestricted);
  Reopen(Plan::kStarter);
  EXPECT_EQ(ws_->GetSegment(smart.record.id)->record.state,
            SegmentState::kPlanRestricted);
}

TEST_F(WorkspaceTest, ListSegmentsPages) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(ws_->CreateSegment(InCountry("s" + std::to_string(i), "DE")),
                IsOk());
  }
  const Page<SegmentView> first = ws_->ListSegments(0, 3);
  EXPECT_THAT(first.items, SizeIs(3));
  EXPECT_TRUE(first.more);
  const Page<SegmentView> page2 =
      ws_->ListSegments(first.items.back().record.id, 3);
  const std::vector<SegmentView>& rest = page2.items;
  EXPECT_THAT(rest, SizeIs(2));
  EXPECT_FALSE(page2.more);
  ASSERT_THAT(ws_->DeleteSegment(rest[0].record.id), IsOk());
  EXPECT_THAT(ws_->GetSegment(rest[0].record.id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->DeleteSegment(rest[0].record.id),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkspaceTest, PreviewCountsAndSamplesWithoutSaving) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(ws_->CreateContact(Draft("c" + std::to_string(i) + "@x.com",
                                         i < 3 ? "DE" : "FR")),
                IsOk());
  }
  const int commits = storage_->commit_count();
  ASSERT_OK_AND_ASSIGN(
      PreviewResult r,
      ws_->Preview(InCountry("x", "de").filter, 2, [] { return false; }));
  EXPECT_EQ(r.member_count, 3u);
  EXPECT_THAT(r.sample, ElementsAre(1u, 2u));
  EXPECT_EQ(storage_->commit_count(), commits);
  EXPECT_THAT(ws_->ListSegments(0, 10).items, IsEmpty());
}

TEST_F(WorkspaceTest, PreviewAppliesValidationAndPlan) {
  auto bad =
      ws_->Preview(SegmentOf("x", {Cond("country", Operator::kIn, {})}).filter,
                   10, [] { return false; });
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(GetFieldViolations(bad.status())[0].field,
            "filter.conditions[0].values");
  Reopen(Plan::kStarter);
  EXPECT_THAT(ws_->Preview(HotLeads().filter, 10, [] { return false; }),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

// Preview checks the deadline before it evaluates and again before it
// replies. An `expired` that is true at once stops it at the first check;
// one that turns true while it evaluates (false on its first call, true on
// its second) stops it at the second. Neither changes anything, and one that
// stays false gets the full answer.
TEST_F(WorkspaceTest, PreviewHonoursTheDeadline) {
  ASSERT_OK_AND_ASSIGN(SegmentView saved,
                       ws_->CreateSegment(InCountry("Germany", "DE")));
  std::vector<ContactDraft> drafts;
  for (int i = 0; i < 5000; ++i) {
    drafts.push_back(
        Draft("c" + std::to_string(i) + "@x.com", i % 2 ? "DE" : "FR"));
  }
  ASSERT_THAT(ws_->BatchUpsertContacts(drafts, {}), IsOk());
  const FilterSpec filter = InCountry("x", "de").filter;
  const int commits = storage_->commit_count();
  const std::vector<MembershipChange> changes = Changes();
  auto expect_unchanged = [&] {
    EXPECT_EQ(storage_->commit_count(), commits);
    EXPECT_EQ(Changes(), changes);
    EXPECT_THAT(ws_->ListSegments(0, 10).items, SizeIs(1));
    EXPECT_EQ(Count(saved.record.id), 2500u);
  };

  int calls = 0;
  EXPECT_THAT(ws_->Preview(filter, 10,
                           [&calls] {
                             ++calls;
                             return true;
                           }),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(calls, 1);  // stopped before evaluating
  expect_unchanged();

  calls = 0;
  EXPECT_THAT(ws_->Preview(filter, 10, [&calls] { return ++calls >= 2; }),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(calls, 2);  // evaluated, then stopped at the second check
  expect_unchanged();

  ASSERT_OK_AND_ASSIGN(PreviewResult r,
                       ws_->Preview(filter, 3, [] { return false; }));
  EXPECT_EQ(r.member_count, 2500u);
  EXPECT_THAT(r.sample, ElementsAre(2u, 4u, 6u));  // i odd: id i + 1
  expect_unchanged();
}

}  // namespace
}  // namespace segments
