#include "storage/sqlite_db.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/base/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::segments::testing::TempDir;
using ::testing::HasSubstr;

constexpr int32_t kAppId = 0x54455354;  // "TEST"

std::unique_ptr<SqliteDb> MustOpen(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteDb>> db =
      SqliteDb::Open(path, true, 1000);
  EXPECT_OK(db);
  return db.ok() ? *std::move(db) : nullptr;
}

TEST(SqliteStatus, MapsCodesAndNeverUnknown) {
  EXPECT_THAT(
      SqliteStatus(SQLITE_BUSY, "ctx", "locked"),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("ctx: locked")));
  EXPECT_THAT(SqliteStatus(SQLITE_BUSY_SNAPSHOT, "", ""),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(SqliteStatus(SQLITE_IOERR_FSYNC, "", ""),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(SqliteStatus(SQLITE_CORRUPT, "", ""),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(SqliteStatus(SQLITE_NOTADB, "", ""),
              StatusIs(absl::StatusCode::kDataLoss));
  // A full disk clears when an operator frees space: retry later, as for
  // an I/O error (RESOURCE_EXHAUSTED is kept for requests over a limit).
  EXPECT_THAT(SqliteStatus(SQLITE_FULL, "", ""),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(GetStorageFailure(SqliteStatus(SQLITE_FULL, "", "")),
            StorageFailure::kUnavailable);
  EXPECT_EQ(GetStorageFailure(SqliteStatus(SQLITE_BUSY, "", "")),
            StorageFailure::kBusy);
  EXPECT_EQ(GetStorageFailure(SqliteStatus(SQLITE_CORRUPT, "", "")),
            StorageFailure::kCorrupt);
  EXPECT_THAT(SqliteStatus(SQLITE_READONLY_DBMOVED, "", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(SqliteStatus(SQLITE_CONSTRAINT_PRIMARYKEY, "", ""),
              StatusIs(absl::StatusCode::kInternal));
  for (int rc = 1; rc <= SQLITE_NOTADB; ++rc) {
    const absl::Status s = SqliteStatus(rc, "", "");
    EXPECT_NE(s.code(), absl::StatusCode::kUnknown) << rc;
    EXPECT_NE(s.code(), absl::StatusCode::kOk) << rc;
  }
}

TEST(SqliteDb, StatementsBindStepAndReadColumns) {
  TempDir dir;
  auto db = MustOpen(dir.path() + "/t.db");
  ASSERT_OK(db->Exec("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)"));
  ASSERT_OK_AND_ASSIGN(auto insert,
                       db->Prepare("INSERT INTO t VALUES (?1, ?2, ?3)"));
  const std::string blob("\0\1\xff", 3);
  insert->BindInt(1, -7);
  insert->BindText(2, std::string("x\0y", 3));
  insert->BindBlob(3, blob);
  ASSERT_OK(insert->Run());
  insert->BindNull(1);
  insert->BindText(2, "");
  insert->BindBlob(3, "");
  ASSERT_OK(insert->Run());

  ASSERT_OK_AND_ASSIGN(auto select,
                       db->Prepare("SELECT a, b, c FROM t ORDER BY rowid"));
  SqliteStatement::Scope scope(*select);
  ASSERT_OK_AND_ASSIGN(bool row, select->Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(select->ColumnInt(0), -7);
  EXPECT_EQ(select->ColumnText(1), std::string_view("x\0y", 3));
  EXPECT_EQ(select->ColumnBlob(2), blob);
  ASSERT_OK_AND_ASSIGN(row, select->Step());
  ASSERT_TRUE(row);
  EXPECT_TRUE(select->ColumnIsNull(0));
  EXPECT_EQ(select->ColumnText(1), "");
  EXPECT_FALSE(select->ColumnIsNull(2));  // an empty blob, not NULL
  EXPECT_EQ(select->ColumnBlob(2), "");
  ASSERT_OK_AND_ASSIGN(row, select->Step());
  EXPECT_FALSE(row);
}

TEST(SqliteDb, ErrorsCarrySqliteMessages) {
  TempDir dir;
  auto db = MustOpen(dir.path() + "/t.db");
  EXPECT_THAT(db->Prepare("SELEC nonsense"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("syntax error")));
  ASSERT_OK(db->Exec("CREATE TABLE t (a INTEGER PRIMARY KEY)"));
  ASSERT_OK_AND_ASSIGN(auto insert, db->Prepare("INSERT INTO t VALUES (?1)"));
  insert->BindInt(1, 1);
  ASSERT_OK(insert->Run());
  insert->BindInt(1, 1);
  EXPECT_THAT(insert->Run(), StatusIs(absl::StatusCode::kInternal,
                                      HasSubstr("UNIQUE constraint failed")));
  // A bad parameter index is reported by the next Step, not lost.
  insert->BindInt(5, 1);
  EXPECT_THAT(insert->Run(), StatusIs(absl::StatusCode::kInternal,
                                      HasSubstr("bind parameter 5")));
  // The statement is usable again afterwards.
  insert->BindInt(1, 2);
  EXPECT_OK(insert->Run());
}

TEST(SqliteDb, TransactionRollsBackUnlessCommitted) {
  TempDir dir;
  auto db = MustOpen(dir.path() + "/t.db");
  ASSERT_OK(db->Exec("CREATE TABLE t (a INTEGER)"));
  {
    SqliteTransaction txn(db.get());
    ASSERT_OK(txn.Begin(/*immediate=*/true));
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (1)"));
  }
  EXPECT_THAT(db->QueryInt("SELECT count(*) FROM t"), IsOkAndHolds(0));
  {
    SqliteTransaction txn(db.get());
    ASSERT_OK(txn.Begin(/*immediate=*/true));
    ASSERT_OK(db->Exec("INSERT INTO t VALUES (1)"));
    ASSERT_OK(txn.Commit());
  }
  ASSERT_OK_AND_ASSIGN(int64_t n, db->QueryInt("SELECT count(*) FROM t"));
  EXPECT_EQ(n, 1);
}

TEST(SqliteDb, ConfigureSetsWalAndSynchronous) {
  TempDir dir;
  for (auto sync : {SqliteOptions::Synchronous::kFull,
                    SqliteOptions::Synchronous::kNormal}) {
    auto db = MustOpen(dir.path() + "/t.db");
    SqliteOptions options;
    options.synchronous = sync;
    ASSERT_OK(db->Configure(options));
    ASSERT_OK_AND_ASSIGN(std::string mode,
                         db->QueryText("PRAGMA journal_mode"));
    EXPECT_EQ(mode, "wal");
    ASSERT_OK_AND_ASSIGN(int64_t level, db->QueryInt("PRAGMA synchronous"));
    EXPECT_EQ(level, sync == SqliteOptions::Synchronous::kFull ? 2 : 1);
    ASSERT_OK_AND_ASSIGN(int64_t fk, db->QueryInt("PRAGMA foreign_keys"));
    EXPECT_EQ(fk, 0);
  }
}

TEST(MigrateSchema, AppliesStepsInOrderAndRecordsVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  std::vector<const char*> steps = {
      "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"};
  {
    ASSERT_OK_AND_ASSIGN(auto db, OpenAndMigrate(path, {}, kAppId, steps));
    EXPECT_THAT(db->QueryInt("PRAGMA user_version"), IsOkAndHolds(1));
    EXPECT_THAT(db->QueryInt("PRAGMA application_id"), IsOkAndHolds(kAppId));
  }
  {
    // Reopening with the same steps changes nothing.
    ASSERT_OK_AND_ASSIGN(auto db, OpenAndMigrate(path, {}, kAppId, steps));
    EXPECT_THAT(db->QueryInt("SELECT count(*) FROM a"), IsOkAndHolds(1));
  }
  steps.push_back("ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 5;");
  steps.push_back("UPDATE a SET y = y + x;");
  {
    ASSERT_OK_AND_ASSIGN(auto db, OpenAndMigrate(path, {}, kAppId, steps));
    EXPECT_THAT(db->QueryInt("PRAGMA user_version"), IsOkAndHolds(3));
    EXPECT_THAT(db->QueryInt("SELECT y FROM a"), IsOkAndHolds(6));
  }
}

TEST(MigrateSchema, FailingStepLeavesSchemaAsItWas) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  std::vector<const char*> steps = {"CREATE TABLE a (x INTEGER);"};
  ASSERT_OK(OpenAndMigrate(path, {}, kAppId, steps).status());
  steps.push_back("CREATE TABLE b (x INTEGER);");
  steps.push_back("CREATE TABLE a (x INTEGER);");  // fails: a exists
  EXPECT_THAT(
      OpenAndMigrate(path, {}, kAppId, steps).status(),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("already exists")));
  auto db = MustOpen(path);
  EXPECT_THAT(db->QueryInt("PRAGMA user_version"), IsOkAndHolds(1));
  EXPECT_THAT(
      db->QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'b'"),
      IsOkAndHolds(0));
}

TEST(MigrateSchema, RefusesNewerVersion) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  const std::vector<const char*> steps = {"CREATE TABLE a (x INTEGER);"};
  ASSERT_OK(OpenAndMigrate(path, {}, kAppId, steps).status());
  ASSERT_OK(MustOpen(path)->Exec("PRAGMA user_version = 2"));
  EXPECT_THAT(
      OpenAndMigrate(path, {}, kAppId, steps).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(MigrateSchema, RefusesForeignDatabaseWithoutTouchingIt) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  ASSERT_OK(MustOpen(path)->Exec("CREATE TABLE theirs (x INTEGER)"));
  EXPECT_THAT(OpenAndMigrate(path, {}, kAppId, {"CREATE TABLE a (x INTEGER);"})
                  .status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a database of this kind")));
  // Still in its own journal mode: the refusal happened before Configure.
  EXPECT_THAT(MustOpen(path)->QueryText("PRAGMA journal_mode"),
              IsOkAndHolds(std::string("delete")));
}

TEST(MigrateSchema, NonSqliteFileIsDataLoss) {
  TempDir dir;
  const std::string path = dir.path() + "/t.db";
  std::ofstream(path)
      << "this is certainly not an SQLite database, but it is long enough "
         "to have a header of one hundred bytes or more, which SQLite reads "
         "first when it opens a file.";
  EXPECT_THAT(OpenAndMigrate(path, {}, kAppId, {"CREATE TABLE a (x INTEGER);"})
                  .status(),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SqliteDb, OpenMissingWithoutCreateFails) {
  TempDir dir;
  EXPECT_THAT(SqliteDb::Open(dir.path() + "/missing.db", /*create=*/false, 0),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace segments
