// storage/history_queries.h through SqliteWorkspaceStore: bucket sums from
// SQL aggregates over runs (checked against the store interface's event by
// event default over ReadChanges), the sequence bound, a contact's events
// inside multi-contact runs, the changes_pruned_before horizon; each with
// every run in the history index and with some still waiting for it
// (SqliteOptions::unindexed_runs_limit); the index's catch-up, pruning and
// the migration to it (schema version 6).
#include "storage/history_queries.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_workspace_store.h"
#include "storage/workspace_rows.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"
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

SqliteOptions WithLimit(int unindexed_runs_limit) {
  SqliteOptions options;
  options.unindexed_runs_limit = unindexed_runs_limit;
  return options;
}

// The number of rows of `table` in the database at `path`.
int64_t Rows(const std::string& path, const std::string& table) {
  auto db = SqliteDb::Open(path, false, 1000);
  if (!db.ok()) return -1;
  return (*db)->QueryInt("SELECT COUNT(*) FROM " + table).value_or(-1);
}

// The parameter: SqliteOptions::unindexed_runs_limit. At 1 every run is in
// the history index; at 2,048 the second commit's runs wait for it, so the
// queries join the index and the log.
class HistoryQueriesTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(
        store_, SqliteWorkspaceStore::Open(path(), WithLimit(GetParam())));
    ASSERT_OK(LoadAll(*store_).status());
    WorkspaceWrite w;
    w.changes = {
        MakeRun(1, 1, ChangeKind::kEntered, kT0 + 10, {5, 9, 7}),
        MakeRun(4, 1, ChangeKind::kLeft, kT0 + 3700, {7}),
    };
    w.counters.next_contact_id = 12;
    w.counters.last_sequence = 4;
    ASSERT_OK(store_->Commit(w));
    w.changes = {
        MakeRun(5, 2, ChangeKind::kEntered, kT0 + 20, {7, 8}),
        MakeRun(7, 1, ChangeKind::kEntered, kT0 + 7300, {11}),
    };
    w.counters.last_sequence = 7;
    ASSERT_OK(store_->Commit(w));
    ASSERT_EQ(Rows(path(), "indexed_runs"), GetParam() == 1 ? 4 : 0);
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

TEST_P(HistoryQueriesTest, BucketSumsCountEveryEventOfEachRun) {
  ASSERT_OK_AND_ASSIGN(SegmentChangeCounts c,
                       store_->CountSegmentChanges(Query(kT0, 2, 7)));
  EXPECT_THAT(c.entered, ElementsAre(3, 0));
  EXPECT_THAT(c.left, ElementsAre(0, 1));
  EXPECT_EQ(c.entered_after, 1u);  // kT0 + 7300 is past the two hours
  EXPECT_EQ(c.left_after, 0u);
  EXPECT_EQ(c.pruned_before, 0);
}

TEST_P(HistoryQueriesTest, SqlAggregatesEqualTheEventByEventDefault) {
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

TEST_P(HistoryQueriesTest, EventsAfterTheSequenceBoundAreNotCounted) {
  ASSERT_OK_AND_ASSIGN(SegmentChangeCounts c,
                       store_->CountSegmentChanges(Query(kT0, 2, 4)));
  EXPECT_EQ(c.entered_after, 0u);
  ASSERT_OK_AND_ASSIGN(c, store_->CountSegmentChanges(Query(kT0, 2, 3)));
  EXPECT_THAT(c.left, ElementsAre(0, 0));
}

TEST_P(HistoryQueriesTest, ContactEventsAreFoundInsideRuns) {
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

TEST_P(HistoryQueriesTest, PrunedHorizonIsReadWithTheAnswer) {
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

INSTANTIATE_TEST_SUITE_P(IndexedAndWaiting, HistoryQueriesTest,
                         ::testing::Values(1, 2048),
                         [](const ::testing::TestParamInfo<int>& param) {
                           return param.param == 1 ? "AllIndexed"
                                                   : "SomeWaiting";
                         });

// Commits `n` runs of one event each, sequences `first` .. `first + n - 1`,
// alternating between segments 1 and 2, a second apart from kT0 + `first`.
absl::Status CommitRuns(SqliteWorkspaceStore& store, uint64_t first, int n) {
  WorkspaceWrite w;
  for (int i = 0; i < n; ++i) {
    const uint64_t seq = first + static_cast<uint64_t>(i);
    w.changes.push_back(MakeRun(seq, 1 + seq % 2, ChangeKind::kEntered,
                                kT0 + static_cast<UnixSeconds>(seq),
                                {static_cast<ContactId>(seq)}));
  }
  w.counters.next_contact_id = static_cast<ContactId>(first + n + 1);
  w.counters.last_sequence = first + static_cast<uint64_t>(n) - 1;
  return store.Commit(w);
}

// Every count of both segments, the index's answer against the event by
// event default over ReadChanges.
void ExpectCountsEqualTheDefault(SqliteWorkspaceStore& store, uint64_t up_to) {
  for (SegmentId segment : {1, 2}) {
    SegmentChangeCountsQuery q;
    q.segment_id = segment;
    q.start = kT0;
    q.bucket_seconds = 2;
    q.buckets = 10;
    q.up_to_sequence = up_to;
    ASSERT_OK_AND_ASSIGN(SegmentChangeCounts sql, store.CountSegmentChanges(q));
    ASSERT_OK_AND_ASSIGN(SegmentChangeCounts naive,
                         store.WorkspaceStore::CountSegmentChanges(q));
    EXPECT_EQ(sql.entered, naive.entered) << "segment " << segment;
    EXPECT_EQ(sql.entered_after, naive.entered_after);
  }
}

class HistoryIndexTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/ws.db"; }
  testing::TempDir dir_;
};

// Runs wait until the limit is reached, then that commit indexes all of them;
// a reopened store counts the waiting ones from the file.
TEST_F(HistoryIndexTest, RunsAreIndexedOnceTheLimitWaits) {
  {
    ASSERT_OK_AND_ASSIGN(auto store,
                         SqliteWorkspaceStore::Open(path(), WithLimit(5)));
    ASSERT_OK(LoadAll(*store).status());
    ASSERT_OK(CommitRuns(*store, 1, 2));
    ASSERT_OK(CommitRuns(*store, 3, 2));
    EXPECT_EQ(Rows(path(), "indexed_runs"), 0);
    ExpectCountsEqualTheDefault(*store, 4);
  }
  ASSERT_OK_AND_ASSIGN(auto store,
                       SqliteWorkspaceStore::Open(path(), WithLimit(5)));
  ASSERT_OK(LoadAll(*store).status());
  ASSERT_OK(CommitRuns(*store, 5, 1));  // the fifth waiting run
  EXPECT_EQ(Rows(path(), "indexed_runs"), 5);
  ASSERT_OK(CommitRuns(*store, 6, 3));
  EXPECT_EQ(Rows(path(), "indexed_runs"), 5);
  ExpectCountsEqualTheDefault(*store, 8);
  ExpectCountsEqualTheDefault(*store, 3);
}

// A store that has not loaded does not know how many wait: its first commit
// indexes them all.
TEST_F(HistoryIndexTest, TheFirstCommitBeforeALoadIndexesEveryRun) {
  ASSERT_OK_AND_ASSIGN(auto store,
                       SqliteWorkspaceStore::Open(path(), WithLimit(100)));
  ASSERT_OK(CommitRuns(*store, 1, 2));
  EXPECT_EQ(Rows(path(), "indexed_runs"), 2);
  ASSERT_OK(CommitRuns(*store, 3, 2));
  EXPECT_EQ(Rows(path(), "indexed_runs"), 2);
}

// Pruning deletes the same prefix from the log and the index, whether it
// ends among the indexed runs or among the waiting ones.
TEST_F(HistoryIndexTest, PruningKeepsTheIndexAPrefixOfTheLog) {
  ASSERT_OK_AND_ASSIGN(auto store,
                       SqliteWorkspaceStore::Open(path(), WithLimit(4)));
  ASSERT_OK(LoadAll(*store).status());
  ASSERT_OK(CommitRuns(*store, 1, 4));                    // indexed
  ASSERT_OK(CommitRuns(*store, 5, 2));                    // waiting
  ASSERT_OK(store->PruneChanges(kT0 + 3, 100).status());  // runs 1 and 2
  EXPECT_EQ(Rows(path(), "indexed_runs"), 2);
  ExpectCountsEqualTheDefault(*store, 6);
  ASSERT_OK(store->PruneChanges(kT0 + 6, 100).status());  // through 5
  EXPECT_EQ(Rows(path(), "indexed_runs"), 0);
  EXPECT_EQ(Rows(path(), "change_runs"), 1);
  ExpectCountsEqualTheDefault(*store, 6);
  // Run 6 still waits: three more reach the limit of 4.
  ASSERT_OK(CommitRuns(*store, 7, 2));
  EXPECT_EQ(Rows(path(), "indexed_runs"), 0);
  ASSERT_OK(CommitRuns(*store, 9, 1));
  EXPECT_EQ(Rows(path(), "indexed_runs"), 4);
  ExpectCountsEqualTheDefault(*store, 9);
}

// A schema 5 database keeps its history: its runs move into the index, and
// the index on change_runs is gone (it cost every commit a page per segment).
TEST_F(HistoryIndexTest, MigratesTheSchema5IndexIntoItsTable) {
  {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), true, 1000));
    const std::vector<const char*>& all = WorkspaceMigrations();
    ASSERT_OK(
        MigrateSchema(db.get(), kWorkspaceAppId,
                      std::vector<const char*>(all.begin(), all.begin() + 5)));
    ASSERT_OK(db->Exec(
        "INSERT INTO change_runs VALUES (1, 2, 1, 1, 1, 1699999210, 5, x'02'),"
        " (3, 3, 2, 1, 1, 1699999220, 6, x'');"
        "UPDATE meta SET value = 3 WHERE key = 'last_sequence'"));
  }
  ASSERT_OK_AND_ASSIGN(auto store, SqliteWorkspaceStore::Open(path(), {}));
  EXPECT_THAT(
      store->QueryPragma("user_version"),
      IsOkAndHolds(std::to_string(SqliteWorkspaceStore::SchemaVersion())));
  ASSERT_OK(LoadAll(*store).status());
  EXPECT_EQ(Rows(path(), "indexed_runs"), 2);
  ExpectCountsEqualTheDefault(*store, 3);
  ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), false, 1000));
  EXPECT_THAT(db->QueryText("SELECT group_concat(name) FROM sqlite_master "
                            "WHERE type = 'index' AND tbl_name IN "
                            "('change_runs', 'indexed_runs')"),
              IsOkAndHolds("indexed_runs_by_segment_time"));
}

// The bucket sums read the index alone (covering), and the waiting runs by
// rowid: neither part scans a table.
TEST_F(HistoryIndexTest, CountsUseTheCoveringIndexAndTheRowidRange) {
  ASSERT_OK_AND_ASSIGN(auto store, SqliteWorkspaceStore::Open(path(), {}));
  ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), false, 1000));
  std::string plan;
  ASSERT_OK_AND_ASSIGN(auto explain,
                       db->Prepare(std::string("EXPLAIN QUERY PLAN ") +
                                   kCountSegmentChangesSql));
  while (true) {
    ASSERT_OK_AND_ASSIGN(bool row, explain->Step());
    if (!row) break;
    plan += std::string(explain->ColumnText(3)) + "\n";
  }
  EXPECT_THAT(plan, ::testing::HasSubstr(
                        "USING COVERING INDEX indexed_runs_by_segment_time"));
  EXPECT_THAT(plan, ::testing::HasSubstr(
                        "SEARCH change_runs USING INTEGER PRIMARY KEY"));
  // The one SCAN is of the union's co-routine, not of a table.
  EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("SCAN indexed_runs")));
  EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("SCAN change_runs")));
}

}  // namespace
}  // namespace segments
