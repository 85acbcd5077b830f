// Audience snapshots through the Workspace facade, over the in-memory store:
// what a campaign sender sees (ids, counts, as_of_sequence, pages, drift),
// the refusals, that a failed or refused write changes nothing, restarts,
// and expiry by the clock and by the workspace's timer.
#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/base/errors.h"
#include "core/engine/workspace.h"
#include "core/time/flip_scheduler.h"
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
using ::segments::testing::SegmentOf;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

ContactDraft Draft(std::string email, std::string country) {
  ContactDraft d;
  d.email = std::move(email);
  d.country = std::move(country);
  return d;
}

SnapshotDraft Of(SegmentId segment, std::optional<int64_t> ttl = {}) {
  SnapshotDraft d;
  d.segment_id = segment;
  d.ttl_seconds = ttl;
  return d;
}

class WorkspaceSnapshotsTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen(FlipScheduler* scheduler = nullptr) {
    ws_.reset();
    auto ws = testing::OpenMemoryWorkspace(storage_, Plan::kGrowth, &clock_,
                                           limits_, scheduler);
    ASSERT_THAT(ws, IsOk());
    ws_ = std::move(ws).value();
  }

  // A segment of the contacts in DE, then contacts 1..n, the even ones in
  // DE: each of those enters, so the log has n/2 events.
  SegmentId Populate(int n) {
    auto s = ws_->CreateSegment(
        SegmentOf("de", {Cond("country", Operator::kEquals, {"DE"})}));
    EXPECT_THAT(s, IsOk());
    for (int i = 1; i <= n; ++i) {
      EXPECT_THAT(ws_->CreateContact(Draft(absl::StrCat("c", i, "@x.com"),
                                           i % 2 == 0 ? "DE" : "FR")),
                  IsOk());
    }
    return s.ok() ? s->record.id : 0;
  }

  // Every member of a snapshot, page by page, with the ids the kFull view
  // reports deleted.
  std::vector<ContactId> Members(SnapshotId id, size_t page_size,
                                 ContactView view = ContactView::kId,
                                 std::vector<ContactId>* deleted = nullptr) {
    std::vector<ContactId> all;
    ContactId after = 0;
    while (true) {
      auto page = ws_->ListSnapshotMembers(id, after, page_size, view);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) return all;
      for (const Contact& c : page->members.items) all.push_back(c.id);
      if (deleted != nullptr) {
        deleted->insert(deleted->end(), page->deleted.begin(),
                        page->deleted.end());
      }
      if (!page->members.more) return all;
      after = page->members.items.back().id;
    }
  }

  // Every member of a segment now, through paging.
  std::vector<ContactId> SegmentMembers(SegmentId id) {
    std::vector<ContactId> all;
    ContactId after = 0;
    while (true) {
      auto page = ws_->ListMembers(id, after, 50, ContactView::kId);
      EXPECT_THAT(page, IsOk());
      if (!page.ok()) return all;
      for (const Contact& c : page->items) all.push_back(c.id);
      if (!page->more) return all;
      after = page->items.back().id;
    }
  }

  // The snapshot rows the store holds.
  std::vector<SnapshotId> StoredSnapshots() {
    MemoryCatalogStore catalog(storage_);
    auto store = catalog.OpenWorkspace(1);
    EXPECT_THAT(store, IsOk());
    auto data = (*store)->LoadStreaming([](const Contact&) {});
    EXPECT_THAT(data, IsOk());
    std::vector<SnapshotId> ids;
    for (const SnapshotRecord& r : data->snapshots) ids.push_back(r.id);
    return ids;
  }

  std::shared_ptr<MemoryStorage> storage_ = std::make_shared<MemoryStorage>();
  FakeClock clock_{kNow};
  Limits limits_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(WorkspaceSnapshotsTest, CreateFreezesTheMembersAsOfTheLastSequence) {
  const SegmentId seg = Populate(10);
  ASSERT_OK_AND_ASSIGN(MemberCount count, ws_->CountMembers(seg));
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
  EXPECT_EQ(v.record.id, 1u);
  EXPECT_EQ(v.record.segment_id, seg);
  EXPECT_EQ(v.record.member_count, 5u);
  EXPECT_EQ(v.record.as_of_sequence, count.as_of_sequence);
  EXPECT_EQ(v.record.as_of_sequence, 5u);  // the five entries
  EXPECT_EQ(v.record.create_time, kNow);
  EXPECT_EQ(v.record.expire_time, kNow + 7 * kDay);
  EXPECT_EQ(v.drift.left, 0u);
  EXPECT_EQ(v.drift.entered, 0u);
  EXPECT_FALSE(v.segment_deleted);
  EXPECT_THAT(Members(v.record.id, 2), ElementsAre(2, 4, 6, 8, 10));
  ASSERT_OK_AND_ASSIGN(SnapshotView again, ws_->GetSnapshot(v.record.id));
  EXPECT_EQ(again.record, v.record);
}

TEST_F(WorkspaceSnapshotsTest, PagesStayTheSameAndDriftIsCountedOnGet) {
  const SegmentId seg = Populate(10);
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
  const std::vector<ContactId> before = Members(v.record.id, 2);
  // 2 and 4 leave, 1 and 3 enter, 11 is new and enters.
  for (ContactId id : {2, 4}) {
    ASSERT_THAT(ws_->UpdateContact(id, Draft("", "FR"), {"country"}), IsOk());
  }
  for (ContactId id : {1, 3}) {
    ASSERT_THAT(ws_->UpdateContact(id, Draft("", "DE"), {"country"}), IsOk());
  }
  ASSERT_THAT(ws_->CreateContact(Draft("new@x.com", "DE")), IsOk());
  EXPECT_THAT(Members(v.record.id, 2), ElementsAreArray(before));
  EXPECT_THAT(Members(v.record.id, 3), ElementsAreArray(before));
  ASSERT_OK_AND_ASSIGN(SnapshotView now, ws_->GetSnapshot(v.record.id));
  EXPECT_EQ(now.record.member_count, 5u);
  EXPECT_EQ(now.drift.left, 2u);
  EXPECT_EQ(now.drift.entered, 3u);
  const Page<SnapshotView> listed = ws_->ListSnapshots(0, 10);
  ASSERT_EQ(listed.items.size(), 1u);
  EXPECT_EQ(listed.items[0].drift.entered, 3u);
}

TEST_F(WorkspaceSnapshotsTest, FullViewListsADeletedContactByIdOnly) {
  const SegmentId seg = Populate(6);
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
  ASSERT_THAT(ws_->UpdateContact(2, Draft("", "US"), {"country"}), IsOk());
  ASSERT_THAT(ws_->DeleteContact(4), IsOk());
  std::vector<ContactId> deleted;
  EXPECT_THAT(Members(v.record.id, 2, ContactView::kFull, &deleted),
              ElementsAre(2, 4, 6));
  EXPECT_THAT(deleted, ElementsAre(4));
  ASSERT_OK_AND_ASSIGN(
      SnapshotMemberPage page,
      ws_->ListSnapshotMembers(v.record.id, 0, 10, ContactView::kFull));
  ASSERT_EQ(page.members.items.size(), 3u);
  EXPECT_EQ(page.members.items[0].country, "US");  // as the contact is now
  EXPECT_EQ(page.members.items[1].id, 4u);
  EXPECT_EQ(page.members.items[1].email, "");
  EXPECT_EQ(page.members.items[2].email, "c6@x.com");
}

TEST_F(WorkspaceSnapshotsTest, ListPagesByIdAndDeleteRemoves) {
  const SegmentId seg = Populate(4);
  for (int i = 0; i < 3; ++i) ASSERT_THAT(ws_->CreateSnapshot(Of(seg)), IsOk());
  const Page<SnapshotView> first = ws_->ListSnapshots(0, 2);
  ASSERT_EQ(first.items.size(), 2u);
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.items[1].record.id, 2u);
  const Page<SnapshotView> second = ws_->ListSnapshots(2, 2);
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_FALSE(second.more);

  ASSERT_THAT(ws_->DeleteSnapshot(2), IsOk());
  EXPECT_THAT(ws_->GetSnapshot(2), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->DeleteSnapshot(2), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->ListSnapshotMembers(2, 0, 10, ContactView::kId),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(StoredSnapshots(), ElementsAre(1, 3));
  // Ids are never reused.
  ASSERT_OK_AND_ASSIGN(SnapshotView next, ws_->CreateSnapshot(Of(seg)));
  EXPECT_EQ(next.record.id, 4u);
}

TEST_F(WorkspaceSnapshotsTest, RefusalsChangeNothing) {
  const SegmentId seg = Populate(4);
  const int commits = storage_->commit_count();
  EXPECT_THAT(ws_->CreateSnapshot(Of(99)),
              StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<SnapshotView> bad = ws_->CreateSnapshot(Of(seg, 0));
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_EQ(GetFieldViolations(bad.status()).size(), 1u);
  EXPECT_EQ(GetFieldViolations(bad.status())[0].field, "snapshot.ttl");
  EXPECT_THAT(ws_->CreateSnapshot(Of(seg, 31 * kDay)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_snapshot_ttl")));
  EXPECT_THAT(ws_->GetSnapshot(1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(storage_->commit_count(), commits);
  EXPECT_THAT(ws_->ListSnapshots(0, 10).items, IsEmpty());
}

TEST_F(WorkspaceSnapshotsTest, AFailedCommitChangesNothing) {
  const SegmentId seg = Populate(4);
  storage_->FailNextCommits(1);
  EXPECT_THAT(ws_->CreateSnapshot(Of(seg)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ws_->ListSnapshots(0, 10).items, IsEmpty());
  EXPECT_THAT(StoredSnapshots(), IsEmpty());
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
  EXPECT_EQ(v.record.id, 1u);

  storage_->FailNextCommits(1);
  EXPECT_THAT(ws_->DeleteSnapshot(1), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ws_->GetSnapshot(1), IsOk());
}

TEST_F(WorkspaceSnapshotsTest, APlanRestrictedSegmentIsRefused) {
  Populate(4);
  ASSERT_OK_AND_ASSIGN(
      SegmentView smart,
      ws_->CreateSegment(SegmentOf(
          "scored", {Cond("lead_score", Operator::kGreaterOrEqual, {0})})));
  ASSERT_OK_AND_ASSIGN(SnapshotView before,
                       ws_->CreateSnapshot(Of(smart.record.id)));
  ASSERT_THAT(ws_->SetPlan(Plan::kStarter), IsOk());
  absl::StatusOr<SnapshotView> refused =
      ws_->CreateSnapshot(Of(smart.record.id));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(GetErrorInfo(refused.status()).reason, "SEGMENT_PLAN_RESTRICTED");
  // One taken before the downgrade is an audience already frozen.
  EXPECT_THAT(Members(before.record.id, 10), ElementsAre(1, 2, 3, 4));
}

TEST_F(WorkspaceSnapshotsTest, TheLimitCountsLiveSnapshotsOnly) {
  limits_.max_snapshots = 2;
  Reopen();
  const SegmentId seg = Populate(2);
  ASSERT_THAT(ws_->CreateSnapshot(Of(seg, 100)), IsOk());
  ASSERT_THAT(ws_->CreateSnapshot(Of(seg)), IsOk());
  EXPECT_THAT(ws_->CreateSnapshot(Of(seg)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("max_snapshots")));
  clock_.Advance(100);  // the first expires
  ASSERT_OK_AND_ASSIGN(SnapshotView third, ws_->CreateSnapshot(Of(seg)));
  EXPECT_EQ(third.record.id, 3u);
  // The expired one was deleted by the same write.
  EXPECT_THAT(StoredSnapshots(), ElementsAre(2, 3));
}

TEST_F(WorkspaceSnapshotsTest, ADeletedSegmentsSnapshotLivesOn) {
  const SegmentId seg = Populate(6);
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
  ASSERT_THAT(ws_->DeleteSegment(seg), IsOk());
  ASSERT_OK_AND_ASSIGN(SnapshotView now, ws_->GetSnapshot(v.record.id));
  EXPECT_TRUE(now.segment_deleted);
  EXPECT_EQ(now.drift.left, 3u);
  EXPECT_EQ(now.drift.entered, 0u);
  EXPECT_THAT(Members(v.record.id, 2), ElementsAre(2, 4, 6));
  EXPECT_THAT(ws_->CreateSnapshot(Of(seg)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WorkspaceSnapshotsTest, SnapshotsSurviveARestart) {
  const SegmentId seg = Populate(8);
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
  ASSERT_THAT(ws_->DeleteContact(2), IsOk());
  const std::vector<ContactId> before = Members(v.record.id, 3);
  Reopen();
  EXPECT_THAT(Members(v.record.id, 3), ElementsAreArray(before));
  ASSERT_OK_AND_ASSIGN(SnapshotView back, ws_->GetSnapshot(v.record.id));
  EXPECT_EQ(back.record, v.record);
  EXPECT_EQ(back.drift.left, 1u);
  ASSERT_OK_AND_ASSIGN(SnapshotView next, ws_->CreateSnapshot(Of(seg)));
  EXPECT_EQ(next.record.id, 2u);
}

TEST_F(WorkspaceSnapshotsTest, ExpiredIsInvisibleAtOnceAndRemovedByAWrite) {
  const SegmentId seg = Populate(2);
  ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg, 60)));
  EXPECT_THAT(ws_->next_snapshot_expiry(), Optional(kNow + 60));
  clock_.Advance(59);
  EXPECT_THAT(ws_->GetSnapshot(v.record.id), IsOk());
  clock_.Advance(1);
  EXPECT_THAT(ws_->GetSnapshot(v.record.id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->ListSnapshotMembers(v.record.id, 0, 10, ContactView::kId),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ws_->ListSnapshots(0, 10).items, IsEmpty());
  EXPECT_THAT(ws_->DeleteSnapshot(v.record.id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(StoredSnapshots(), ElementsAre(v.record.id));  // not yet
  ASSERT_THAT(ws_->RemoveExpiredSnapshots(), IsOk());
  EXPECT_THAT(StoredSnapshots(), IsEmpty());
  EXPECT_EQ(ws_->next_snapshot_expiry(), std::nullopt);
}

// Differential: random contact writes and rule updates between snapshots;
// each snapshot keeps exactly the members the segment had when it was
// taken (read then through ListMembers), and its drift is the set
// difference against the segment's members now, also after a restart.
TEST_F(WorkspaceSnapshotsTest, RandomWritesNeverMoveASnapshot) {
  std::mt19937 rng(13);
  const SegmentId seg = Populate(40);
  struct Taken {
    std::vector<ContactId> members;
    uint64_t as_of = 0;
  };
  std::map<SnapshotId, Taken> taken;
  int created = 0;
  auto check = [&](SnapshotId id, const Taken& t) {
    SCOPED_TRACE(absl::StrCat("snapshot ", id));
    EXPECT_THAT(Members(id, 1 + rng() % 9), ElementsAreArray(t.members));
    ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->GetSnapshot(id));
    EXPECT_EQ(v.record.member_count, t.members.size());
    EXPECT_EQ(v.record.as_of_sequence, t.as_of);
    const std::vector<ContactId> live = SegmentMembers(seg);
    std::vector<ContactId> left, entered;
    std::set_difference(t.members.begin(), t.members.end(), live.begin(),
                        live.end(), std::back_inserter(left));
    std::set_difference(live.begin(), live.end(), t.members.begin(),
                        t.members.end(), std::back_inserter(entered));
    EXPECT_EQ(v.drift.left, left.size());
    EXPECT_EQ(v.drift.entered, entered.size());
  };
  const char* const countries[] = {"DE", "FR", "US"};
  for (int step = 0; step < 400; ++step) {
    const ContactId some = static_cast<ContactId>(1 + rng() % (40 + created));
    switch (rng() % 6) {
      case 0:
        ++created;
        ASSERT_THAT(ws_->CreateContact(Draft(absl::StrCat("n", step, "@x.com"),
                                             countries[rng() % 3])),
                    IsOk());
        break;
      case 1:
      case 2:  // NOT_FOUND once deleted: fine
        (void)ws_->UpdateContact(some, Draft("", countries[rng() % 3]),
                                 {"country"});
        break;
      case 3:
        (void)ws_->DeleteContact(some);
        break;
      case 4: {
        // The rules change too: DE, or DE and FR.
        SegmentDraft d = SegmentOf(
            "de", {Cond("country", Operator::kIn,
                        rng() % 2 ? std::vector<RawValue>{"DE"}
                                  : std::vector<RawValue>{"DE", "FR"})});
        ASSERT_THAT(ws_->UpdateSegment(seg, d, {"filter"}), IsOk());
        break;
      }
      default: {
        Taken t;
        t.members = SegmentMembers(seg);
        ASSERT_OK_AND_ASSIGN(MemberCount count, ws_->CountMembers(seg));
        t.as_of = count.as_of_sequence;
        ASSERT_OK_AND_ASSIGN(SnapshotView v, ws_->CreateSnapshot(Of(seg)));
        taken[v.record.id] = std::move(t);
        break;
      }
    }
    if (!taken.empty()) {
      auto it = taken.begin();
      std::advance(it, rng() % taken.size());
      check(it->first, it->second);
    }
  }
  ASSERT_GT(taken.size(), 10u);
  for (const auto& [id, t] : taken) check(id, t);
  Reopen();
  for (const auto& [id, t] : taken) check(id, t);
}

// Polls `done` until it holds; false after 10 s.
bool Eventually(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

TEST_F(WorkspaceSnapshotsTest, TheTimerDeletesExpiredSnapshotsInOneWrite) {
  FlipScheduler scheduler(&clock_);
  Reopen(&scheduler);
  const SegmentId seg = Populate(2);
  ASSERT_THAT(ws_->CreateSnapshot(Of(seg, 30)), IsOk());
  ASSERT_THAT(ws_->CreateSnapshot(Of(seg, 30)), IsOk());
  ASSERT_THAT(ws_->CreateSnapshot(Of(seg, 90)), IsOk());
  const int commits = storage_->commit_count();
  clock_.Advance(30);
  scheduler.Wake();
  // Memory is applied after the commit: once it shows the deletion, the
  // store has it too.
  EXPECT_TRUE(
      Eventually([&] { return ws_->next_snapshot_expiry() == kNow + 90; }));
  EXPECT_THAT(StoredSnapshots(), ElementsAre(3));
  EXPECT_EQ(storage_->commit_count(), commits + 1);
  clock_.Advance(60);
  scheduler.Wake();
  EXPECT_TRUE(Eventually([&] { return StoredSnapshots().empty(); }));
  ws_.reset();  // removes its tasks before the scheduler goes
}

TEST_F(WorkspaceSnapshotsTest, SnapshotsExpiredWhileDownGoAtStart) {
  const SegmentId seg = Populate(2);
  ASSERT_THAT(ws_->CreateSnapshot(Of(seg, 30)), IsOk());
  ws_.reset();
  clock_.Advance(40);
  FlipScheduler scheduler(&clock_);
  Reopen(&scheduler);
  EXPECT_THAT(ws_->GetSnapshot(1), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_TRUE(Eventually([&] { return StoredSnapshots().empty(); }));
  ws_.reset();
}

}  // namespace
}  // namespace segments
