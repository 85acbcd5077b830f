// storage/history_queries.h through SqliteWorkspaceStore: bucket sums from
// SQL aggregates over runs (checked against the store interface's event by
// event default over ReadChanges), the sequence bound, a contact's events
// inside multi-contact runs, the changes_pruned_before horizon, and the
// covering index of schema version 4.
#include "storage/history_queries.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_workspace_store.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;

constexpr UnixSeconds kT0 = 1'699'999'200;  // on an hour

ChangeRun MakeRun(uint64_t first, SegmentId segment, ChangeKind kind,
                  UnixSeconds time, std::vector<ContactId> contacts) {
  ChangeRun r;
  r.first_sequence = first;
  r.segment_id = segment;
  r.kind = kind;
  r.cause = ChangeCause::kContactChanged;
  r.time = time;
  r.contact_ids = std::move(contacts);
  return r;
}

class HistoryQueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, SqliteWorkspaceStore::Open(path(), {}));
    WorkspaceWrite w;
    w.changes = {
        MakeRun(1, 1, ChangeKind::kEntered, kT0 + 10, {5, 9, 7}),
        MakeRun(4, 1, ChangeKind::kLeft, kT0 + 3700, {7}),
        MakeRun(5, 2, ChangeKind::kEntered, kT0 + 20, {7, 8}),
        MakeRun(7, 1, ChangeKind::kEntered, kT0 + 7300, {11}),
    };
    w.counters.next_contact_id = 12;
    w.counters.last_sequence = 7;
    ASSERT_OK(store_->Commit(w));
  }
  std::string path() const { return dir_.path() + "/ws.db"; }
  void SetMeta(const std::string& value) {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), false, 1000));
    ASSERT_OK(db->Exec(
        "INSERT INTO meta (key, value) VALUES ('changes_pruned_before', " +
        value + ") ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  }
  static SegmentChangeCountsQuery Query(UnixSeconds start, size_t buckets,
                                        uint64_t up_to) {
    SegmentChangeCountsQuery q;
    q.segment_id = 1;
    q.start = start;
    q.bucket_seconds = 3600;
    q.buckets = buckets;
    q.up_to_sequence = up_to;
    return q;
  }

  testing::TempDir dir_;
  std::unique_ptr<SqliteWorkspaceStore> store_;
};

TEST_F(HistoryQueriesTest, BucketSumsCountEveryEventOfEachRun) {
  ASSERT_OK_AND_ASSIGN(SegmentChangeCounts c,
                       store_->CountSegmentChanges(Query(kT0, 2, 7)));
  EXPECT_THAT(c.entered, ElementsAre(3, 0));
  EXPECT_THAT(c.left, ElementsAre(0, 1));
  EXPECT_EQ(c.entered_after, 1u);  // kT0 + 7300 is past the two hours
  EXPECT_EQ(c.left_after, 0u);
  EXPECT_EQ(c.pruned_before, 0);
}

TEST_F(HistoryQueriesTest, SqlAggregatesEqualTheEventByEventDefault) {
  for (const SegmentChangeCountsQuery& q :
       {Query(kT0, 2, 7), Query(kT0 + 3600, 1, 7), Query(kT0, 3, 4),
        Query(kT0 - 7200, 5, 7), Query(kT0 + 20, 1, 6)}) {
    ASSERT_OK_AND_ASSIGN(SegmentChangeCounts sql,
                         store_->CountSegmentChanges(q));
    ASSERT_OK_AND_ASSIGN(SegmentChangeCounts naive,
                         store_->WorkspaceStore::CountSegmentChanges(q));
    EXPECT_EQ(sql.entered, naive.entered) << q.start << " " << q.buckets;
    EXPECT_EQ(sql.left, naive.left);
    EXPECT_EQ(sql.entered_after, naive.entered_after);
    EXPECT_EQ(sql.left_after, naive.left_after);
  }
}

TEST_F(HistoryQueriesTest, EventsAfterTheSequenceBoundAreNotCounted) {
  ASSERT_OK_AND_ASSIGN(SegmentChangeCounts c,
                       store_->CountSegmentChanges(Query(kT0, 2, 4)));
  EXPECT_EQ(c.entered_after, 0u);
  ASSERT_OK_AND_ASSIGN(c, store_->CountSegmentChanges(Query(kT0, 2, 3)));
  EXPECT_THAT(c.left, ElementsAre(0, 0));
}

TEST_F(HistoryQueriesTest, ContactEventsAreFoundInsideRuns) {
  ASSERT_OK_AND_ASSIGN(ContactChanges c, store_->ReadContactChanges(1, 7, 7));
  ASSERT_EQ(c.changes.size(), 2u);
  EXPECT_EQ(c.changes[0].sequence, 3u);  // third of run 1..3
  EXPECT_EQ(c.changes[0].kind, ChangeKind::kEntered);
  EXPECT_EQ(c.changes[1].sequence, 4u);
  EXPECT_EQ(c.changes[1].time, kT0 + 3700);
  ASSERT_OK_AND_ASSIGN(c, store_->ReadContactChanges(1, 7, 3));
  EXPECT_EQ(c.changes.size(), 1u);
  ASSERT_OK_AND_ASSIGN(c, store_->ReadContactChanges(1, 8, 7));
  EXPECT_TRUE(c.changes.empty());  // 8 entered segment 2 only
  ASSERT_OK_AND_ASSIGN(c, store_->ReadContactChanges(1, 11, 7));
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_EQ(c.changes[0].sequence, 7u);
  ASSERT_OK_AND_ASSIGN(ContactChanges naive,
                       store_->WorkspaceStore::ReadContactChanges(1, 7, 7));
  ASSERT_OK_AND_ASSIGN(c, store_->ReadContactChanges(1, 7, 7));
  EXPECT_EQ(c.changes, naive.changes);
}

TEST_F(HistoryQueriesTest, PrunedHorizonIsReadWithTheAnswer) {
  SetMeta("1700003000");
  ASSERT_OK_AND_ASSIGN(SegmentChangeCounts c,
                       store_->CountSegmentChanges(Query(kT0, 2, 7)));
  EXPECT_EQ(c.pruned_before, 1'700'003'000);
  ASSERT_OK_AND_ASSIGN(ContactChanges e, store_->ReadContactChanges(1, 7, 7));
  EXPECT_EQ(e.pruned_before, 1'700'003'000);
  SetMeta("-1");
  EXPECT_THAT(store_->CountSegmentChanges(Query(kT0, 2, 7)).status(),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(HistoryQueriesTest, SchemaHasTheCoveringIndex) {
  ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), false, 1000));
  EXPECT_THAT(db->QueryText("SELECT name FROM sqlite_master WHERE type = "
                            "'index' AND tbl_name = 'change_runs'"),
              IsOkAndHolds("change_runs_by_segment_time"));
  EXPECT_THAT(db->QueryInt("PRAGMA user_version"),
              IsOkAndHolds(SqliteWorkspaceStore::SchemaVersion()));
}

}  // namespace
}  // namespace segments
