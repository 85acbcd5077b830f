// tests/core/differential_history_test.cc over SQLite: the same random
// sequences (restarts included), so the answers come from the SQL
// aggregates over change_runs and the contact scan of history_queries.h,
// each compared with a forward replay of the full log, with the history
// index filled by every commit (limit 1) and with every run waiting for it
// (the default limit, beyond this test's runs). Then the log is
// pruned as the retention would (runs deleted, changes_pruned_before set)
// and moments before the horizon must be OUT_OF_RANGE.
#include <cstdint>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "storage/sqlite_catalog.h"
#include "storage/sqlite_db.h"
#include "tests/testing/differential_util.h"
#include "tests/testing/history_replay.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/workspace_harness.h"
#include "tests/testing/workspace_ops.h"

namespace segments::testing {
namespace {

class DifferentialHistorySqlite : public ::testing::TestWithParam<int> {};

TEST_P(DifferentialHistorySqlite, EveryAnswerMatchesAReplayOfTheLog) {
  const uint64_t seed = Seed(1311);
  SCOPED_TRACE(SeedTrace(seed));
  TempDir dir("differential_history");
  ASSERT_FALSE(dir.path().empty());
  SqliteOptions options;
  options.synchronous = SqliteOptions::Synchronous::kNormal;
  options.unindexed_runs_limit = GetParam();
  std::unique_ptr<SqliteCatalogStore> catalog;
  auto open_catalog = [&]() -> CatalogStore* {
    catalog.reset();  // its directory lock first
    absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> opened =
        SqliteCatalogStore::Open(dir.path(), options);
    if (!opened.ok()) {
      ADD_FAILURE() << "SqliteCatalogStore::Open: " << opened.status();
      return nullptr;
    }
    catalog = std::move(*opened);
    return catalog.get();
  };
  ASSERT_NE(open_catalog(), nullptr);
  {
    absl::StatusOr<NewWorkspaceStore> created = catalog->CreateWorkspaceStore();
    ASSERT_TRUE(created.ok()) << created.status();
    ASSERT_EQ(created->id, Harness::kWorkspace);
    WorkspaceRecord record;
    record.id = created->id;
    record.display_name = "history";
    record.plan = Plan::kPro;
    record.key_hash = std::string(32, 'k');
    ASSERT_TRUE(catalog->PutWorkspace(record).ok());
  }
  Harness h(seed, kBase, SegmentShape(), catalog.get(), open_catalog);
  HistoryReplay replay;
  ASSERT_TRUE(h.Open());
  ASSERT_TRUE(h.BatchUpsert(false, 300));
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(h.CreateSegment(false));
  ASSERT_TRUE(replay.Observe(h.ws()));
  SequenceOptions sequence;
  for (int i = 0; i < 400; ++i) {
    const Op op = RandomOp(h, sequence);
    ASSERT_TRUE(Do(h, op, /*fail=*/false)) << "step " << i << " " << OpName(op);
    ASSERT_TRUE(replay.Observe(h.ws()));
  }
  ASSERT_TRUE(replay.LoadLog(*catalog, Harness::kWorkspace));
  ASSERT_TRUE(replay.Check(h.ws(), h.now(), seed, 250));
  EXPECT_GT(replay.stats().nonempty_buckets, 50);

  ASSERT_FALSE(replay.log().empty());
  const UnixSeconds horizon =
      replay.log().front().time +
      (replay.log().back().time - replay.log().front().time) / 2;
  {
    // What the retention's pruning does, in one transaction: the same prefix
    // of the log from the history index (times grow with the sequence).
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(dir.path() + "/workspaces/1.db", /*create=*/false, 5000);
    ASSERT_TRUE(db.ok()) << db.status();
    // The limit reached the workspace's store through the catalog.
    absl::StatusOr<std::string> not_indexed = (*db)->QueryText(
        "SELECT COUNT(*) FROM change_runs WHERE first_sequence NOT IN "
        "(SELECT first_sequence FROM indexed_runs)");
    ASSERT_TRUE(not_indexed.ok()) << not_indexed.status();
    EXPECT_EQ(*not_indexed == "0", GetParam() == 1) << *not_indexed;
    const std::string t = std::to_string(horizon);
    ASSERT_TRUE((*db)
                    ->Exec("BEGIN; DELETE FROM change_runs WHERE time < " + t +
                           "; DELETE FROM indexed_runs WHERE time < " + t +
                           "; INSERT INTO meta (key, value) VALUES "
                           "('changes_pruned_before', " +
                           t + "); COMMIT;")
                    .ok());
  }
  ASSERT_TRUE(replay.Check(h.ws(), h.now(), seed + 1, 200, horizon));
  EXPECT_GT(replay.stats().not_retained, 10);
}

INSTANTIATE_TEST_SUITE_P(IndexedAndWaiting, DifferentialHistorySqlite,
                         ::testing::Values(1, 2048));

}  // namespace
}  // namespace segments::testing
