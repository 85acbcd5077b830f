// The fault VFS (tests/testing/fault_vfs.h) fails the calls it is told to,
// and SqliteDb reports them with codes that say what a caller should do:
// UNAVAILABLE for I/O errors and a full disk, DATA_LOSS only for a damaged
// file, the file intact afterwards.
#include "tests/testing/fault_vfs.h"

#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::FaultVfs;
using ::segments::testing::IsOk;
using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::segments::testing::TempDir;

class FaultVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/f.db";
    db_ = Open();
    ASSERT_THAT(db_->Configure(SqliteOptions()), IsOk());
    ASSERT_THAT(db_->Exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)"),
                IsOk());
  }
  void TearDown() override { faults_.Clear(); }
  std::unique_ptr<SqliteDb> Open() {
    absl::StatusOr<std::unique_ptr<SqliteDb>> db =
        SqliteDb::Open(path_, /*create=*/true, 1000);
    EXPECT_THAT(db, IsOk());
    return db.ok() ? *std::move(db) : nullptr;
  }
  absl::Status Insert() { return db_->Exec("INSERT INTO t VALUES (2)"); }

  FaultVfs& faults_ = FaultVfs::Install(/*make_default=*/true);
  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteDb> db_;
};

TEST_F(FaultVfsTest, WriteErrorIsUnavailableAndChangesNothing) {
  faults_.Fail(FaultVfs::Op::kWrite, SQLITE_IOERR_WRITE, "f.db-wal");
  EXPECT_THAT(Insert(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_GT(faults_.injected(), 0);
  faults_.Clear();
  EXPECT_THAT(db_->QueryInt("SELECT count(*) FROM t"), IsOkAndHolds(1));
  EXPECT_THAT(Insert(), IsOk());
  EXPECT_THAT(db_->QueryText("PRAGMA integrity_check"), IsOkAndHolds("ok"));
}

TEST_F(FaultVfsTest, SyncErrorIsUnavailable) {
  faults_.Fail(FaultVfs::Op::kSync, SQLITE_IOERR_FSYNC);
  EXPECT_THAT(Insert(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(FaultVfsTest, FullDiskIsUnavailable) {
  faults_.Fail(FaultVfs::Op::kWrite, SQLITE_FULL, "f.db");
  EXPECT_THAT(Insert(), StatusIs(absl::StatusCode::kUnavailable));
  faults_.Clear();
  EXPECT_THAT(db_->QueryInt("SELECT count(*) FROM t"), IsOkAndHolds(1));
}

// A read that fails as a dying disk's does (EIO: SQLite's unix VFS reports
// SQLITE_IOERR_CORRUPTFS for it) is UNAVAILABLE, not "malformed".
TEST_F(FaultVfsTest, ReadErrorsAreUnavailable) {
  db_.reset();
  for (int rc :
       {SQLITE_IOERR_READ, SQLITE_IOERR_CORRUPTFS, SQLITE_IOERR_SHORT_READ}) {
    SCOPED_TRACE(rc);
    std::unique_ptr<SqliteDb> db = Open();
    faults_.Fail(FaultVfs::Op::kRead, rc, "f.db");
    EXPECT_THAT(db->QueryInt("SELECT count(*) FROM t"),
                StatusIs(absl::StatusCode::kUnavailable));
    faults_.Clear();
    EXPECT_THAT(db->QueryInt("SELECT count(*) FROM t"), IsOkAndHolds(1));
  }
}

// A COMMIT whose WAL sync fails has written its frames already; a crash
// right after (the files copied as they are, without the -shm index, so that
// opening them recovers the WAL) must not bring the failed transaction back.
// Before the fix in SqliteTransaction::Commit the copy held 2 rows.
TEST_F(FaultVfsTest, FailedCommitSyncLeavesNothingForRecovery) {
  ASSERT_THAT(db_->Exec("PRAGMA synchronous=FULL"), IsOk());
  SqliteTransaction txn(db_.get());
  ASSERT_THAT(txn.Begin(/*immediate=*/true), IsOk());
  ASSERT_THAT(db_->Exec("INSERT INTO t VALUES (2)"), IsOk());
  faults_.Fail(FaultVfs::Op::kSync, SQLITE_IOERR_FSYNC, "f.db-wal",
               /*count=*/1);
  EXPECT_THAT(txn.Commit(), StatusIs(absl::StatusCode::kUnavailable));
  faults_.Clear();
  EXPECT_THAT(db_->QueryInt("SELECT count(*) FROM t"), IsOkAndHolds(1));
  const std::string image = dir_.path() + "/image.db";
  std::filesystem::copy_file(path_, image);
  if (std::filesystem::exists(path_ + "-wal")) {
    std::filesystem::copy_file(path_ + "-wal", image + "-wal");
  }
  absl::StatusOr<std::unique_ptr<SqliteDb>> copy =
      SqliteDb::Open(image, /*create=*/false, 1000);
  ASSERT_THAT(copy, IsOk());
  EXPECT_THAT((*copy)->QueryInt("SELECT count(*) FROM t"), IsOkAndHolds(1));
  EXPECT_THAT((*copy)->QueryText("PRAGMA integrity_check"), IsOkAndHolds("ok"));
}

TEST_F(FaultVfsTest, SkipAndCountChooseTheCallsThatFail) {
  const int before = faults_.injected();
  faults_.Fail(FaultVfs::Op::kWrite, SQLITE_IOERR_WRITE, "", /*count=*/1,
               /*skip=*/0);
  EXPECT_THAT(Insert(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Insert(), IsOk());
  EXPECT_EQ(faults_.injected() - before, 1);
}

}  // namespace
}  // namespace segments
