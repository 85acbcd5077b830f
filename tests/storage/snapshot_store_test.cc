// Audience snapshots in a workspace database: the rows round-trip, the
// migration from schema 3 (the table comes with version 5), damaged rows are
// DATA_LOSS naming the row, and through a Workspace over SQLite, pages are
// identical after reopening.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/engine/workspace.h"
#include "core/index/bitmap_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_workspace_store.h"
#include "storage/workspace_rows.h"
#include "tests/testing/drafts.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::Cond;
using ::segments::testing::IsOk;
using ::segments::testing::SegmentOf;
using ::segments::testing::StatusIs;
using ::segments::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr UnixSeconds kNow = 1'800'000'000;

void RawExec(const std::string& path, const std::string& sql) {
  ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path, false, 1000));
  ASSERT_OK(db->Exec(sql));
}

SnapshotRecord MakeRecord(SnapshotId id, std::vector<uint32_t> members) {
  Roaring bitmap;
  bitmap.addMany(members.size(), members.data());
  SnapshotRecord r;
  r.id = id;
  r.segment_id = 3;
  r.as_of_sequence = 2;
  r.member_count = bitmap.cardinality();
  r.create_time = kNow;
  r.expire_time = kNow + 600;
  r.members = SerializeBitmap(bitmap);
  return r;
}

class SnapshotStoreTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/ws.db"; }
  std::unique_ptr<SqliteWorkspaceStore> Open() {
    absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> s =
        SqliteWorkspaceStore::Open(path(), {});
    EXPECT_OK(s);
    return s.ok() ? *std::move(s) : nullptr;
  }
  // Two snapshots (ids 1, 2) with counters that cover them.
  void StoreTwo() {
    WorkspaceWrite w;
    w.put_snapshots = {MakeRecord(1, {1, 2, 70000}), MakeRecord(2, {5})};
    w.counters.next_contact_id = 70001;
    w.counters.last_sequence = 2;
    w.counters.next_snapshot_id = 3;
    ASSERT_OK(Open()->Commit(w));
  }
  absl::Status LoadStatus() {
    auto store = SqliteWorkspaceStore::Open(path(), {});
    if (!store.ok()) return store.status();
    return LoadAll(**store).status();
  }

  TempDir dir_;
};

TEST_F(SnapshotStoreTest, RowsAndCounterRoundTripAcrossReopen) {
  StoreTwo();
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_THAT(data.snapshots,
              ElementsAre(MakeRecord(1, {1, 2, 70000}), MakeRecord(2, {5})));
  EXPECT_EQ(data.counters.next_snapshot_id, 3u);

  WorkspaceWrite del;
  del.deleted_snapshots = {1};
  del.counters = data.counters;
  ASSERT_OK(Open()->Commit(del));
  ASSERT_OK_AND_ASSIGN(WorkspaceData after, LoadAll(*Open()));
  EXPECT_THAT(after.snapshots, ElementsAre(MakeRecord(2, {5})));
}

TEST_F(SnapshotStoreTest, RefusesARecordThatCouldNotBeLoaded) {
  WorkspaceWrite w;
  w.put_snapshots = {MakeRecord(1, {1})};
  w.put_snapshots[0].expire_time = w.put_snapshots[0].create_time;
  w.counters.next_snapshot_id = 2;
  EXPECT_THAT(Open()->Commit(w), StatusIs(absl::StatusCode::kInternal));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_THAT(data.snapshots, IsEmpty());
  EXPECT_EQ(data.counters.next_snapshot_id, 1u);
}

// A schema 3 database gains the table and the counter.
TEST_F(SnapshotStoreTest, MigratesFromSchema3) {
  {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), true, 1000));
    const std::vector<const char*>& all = WorkspaceMigrations();
    ASSERT_OK(
        MigrateSchema(db.get(), kWorkspaceAppId,
                      std::vector<const char*>(all.begin(), all.begin() + 3)));
  }
  auto store = Open();
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.snapshots, IsEmpty());
  EXPECT_EQ(data.counters.next_snapshot_id, 1u);
  EXPECT_THAT(store->QueryPragma("user_version"),
              ::segments::testing::IsOkAndHolds(
                  std::to_string(SqliteWorkspaceStore::SchemaVersion())));
}

TEST_F(SnapshotStoreTest, DamagedRowsAreDataLossNamingTheRow) {
  StoreTwo();
  const std::pair<const char*, const char*> damages[] = {
      {"UPDATE snapshots SET expire_time = create_time WHERE id = 2",
       "expire_time"},
      {"UPDATE snapshots SET id = 7 WHERE id = 2", "next_snapshot_id"},
      {"UPDATE snapshots SET as_of_sequence = 9 WHERE id = 2", "last_sequence"},
      {"UPDATE snapshots SET member_count = -1 WHERE id = 2", "member_count"},
      {"UPDATE snapshots SET segment_id = 0 WHERE id = 2", "segment_id"},
  };
  // The good rows, to put back after each damage.
  RawExec(path(), "CREATE TABLE saved AS SELECT * FROM snapshots");
  for (const auto& [damage, problem] : damages) {
    SCOPED_TRACE(damage);
    RawExec(path(), damage);
    EXPECT_THAT(LoadStatus(),
                StatusIs(absl::StatusCode::kDataLoss,
                         ::testing::AllOf(HasSubstr("snapshots row id="),
                                          HasSubstr(problem))));
    RawExec(path(),
            "DELETE FROM snapshots; INSERT INTO snapshots SELECT * FROM saved");
    EXPECT_OK(LoadStatus());
  }
  RawExec(path(), "DELETE FROM meta WHERE key = 'next_snapshot_id'");
  EXPECT_THAT(LoadStatus(), StatusIs(absl::StatusCode::kDataLoss,
                                     HasSubstr("lacks counters")));
}

// The members' bytes are checked by the engine when the workspace opens.
TEST_F(SnapshotStoreTest, DamagedMembersAreDataLossAtOpen) {
  StoreTwo();
  RawExec(path(), "UPDATE snapshots SET members = x'3a30' WHERE id = 1");
  ASSERT_OK_AND_ASSIGN(auto store, SqliteWorkspaceStore::Open(path(), {}));
  FakeClock clock(kNow);
  EXPECT_THAT(
      Workspace::Open(1, Plan::kGrowth, std::move(store), &clock, Limits()),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("snapshots row id=1")));
}

// What a sender pages through before a restart it pages through after.
TEST_F(SnapshotStoreTest, PagesAreIdenticalAfterReopening) {
  FakeClock clock(kNow);
  auto open = [&] {
    auto store = SqliteWorkspaceStore::Open(path(), {});
    EXPECT_OK(store);
    auto ws =
        Workspace::Open(1, Plan::kGrowth, *std::move(store), &clock, Limits());
    EXPECT_OK(ws);
    return *std::move(ws);
  };
  auto pages = [](Workspace& ws, SnapshotId id) {
    std::vector<std::vector<ContactId>> all;
    ContactId after = 0;
    while (true) {
      auto page = ws.ListSnapshotMembers(id, after, 7, ContactView::kId);
      EXPECT_OK(page);
      if (!page.ok()) return all;
      std::vector<ContactId>& ids = all.emplace_back();
      for (const Contact& c : page->members.items) ids.push_back(c.id);
      if (!page->members.more) return all;
      after = ids.back();
    }
  };
  std::vector<std::vector<ContactId>> before;
  SnapshotView view;
  {
    std::unique_ptr<Workspace> ws = open();
    std::vector<ContactDraft> drafts(50);
    for (int i = 0; i < 50; ++i) {
      drafts[i].email = absl::StrCat("p", i, "@x.com");
      drafts[i].country = i % 3 == 0 ? "DE" : "FR";
    }
    ASSERT_OK(ws->BatchUpsertContacts(drafts, {}).status());
    ASSERT_OK_AND_ASSIGN(
        SegmentView seg,
        ws->CreateSegment(
            SegmentOf("de", {Cond("country", Operator::kEquals, {"DE"})})));
    SnapshotDraft draft;
    draft.segment_id = seg.record.id;
    ASSERT_OK_AND_ASSIGN(view, ws->CreateSnapshot(draft));
    ASSERT_OK(ws->DeleteContact(1));
    ContactDraft moved;
    moved.country = "FR";
    ASSERT_OK(ws->UpdateContact(4, moved, {"country"}).status());
    before = pages(*ws, view.record.id);
  }
  ASSERT_EQ(before.size(), 3u);  // 17 members, 7 a page
  std::unique_ptr<Workspace> ws = open();
  EXPECT_THAT(pages(*ws, view.record.id), ElementsAreArray(before));
  ASSERT_OK_AND_ASSIGN(SnapshotView back, ws->GetSnapshot(view.record.id));
  EXPECT_EQ(back.record, view.record);
  EXPECT_EQ(back.drift.left, 2u);
}

}  // namespace
}  // namespace segments
