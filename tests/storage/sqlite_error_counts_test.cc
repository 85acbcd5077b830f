// SQLite errors by result code (storage/sqlite_error_counts.h): counted when
// storage turns a result code into a status, with their primary code's name.
#include "storage/sqlite_error_counts.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "gtest/gtest.h"
#include "storage/sqlite_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::StatusIs;

uint64_t CountOf(int rc) {
  for (const auto& [code, count] : SqliteErrorCounts()) {
    if (code == rc) return count;
  }
  return 0;
}

TEST(SqliteErrorCounts, AFailedOpenIsCountedByItsCode) {
  const uint64_t before = CountOf(SQLITE_CANTOPEN);
  // No such directory: SQLite cannot create the file.
  EXPECT_THAT(SqliteDb::Open("/nonexistent-segments-dir/x.db",
                             /*create=*/true, /*busy_timeout_ms=*/0)
                  .status(),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(CountOf(SQLITE_CANTOPEN), before + 1);
}

TEST(SqliteErrorCounts, AFailedStatementIsCounted) {
  testing::TempDir dir;
  auto db = SqliteDb::Open(dir.path() + "/x.db", true, 0);
  ASSERT_TRUE(db.ok());
  const uint64_t before = CountOf(SQLITE_ERROR);
  EXPECT_FALSE((*db)->Exec("SELECT * FROM no_such_table").ok());
  EXPECT_EQ(CountOf(SQLITE_ERROR), before + 1);
}

TEST(SqliteErrorCounts, NamesThePrimaryCode) {
  EXPECT_STREQ(SqlitePrimaryCodeName(SQLITE_IOERR_FSYNC), "SQLITE_IOERR");
  EXPECT_STREQ(SqlitePrimaryCodeName(SQLITE_FULL), "SQLITE_FULL");
  EXPECT_STREQ(SqlitePrimaryCodeName(SQLITE_BUSY_SNAPSHOT), "SQLITE_BUSY");
  EXPECT_STREQ(SqlitePrimaryCodeName(SQLITE_CORRUPT), "SQLITE_CORRUPT");
  EXPECT_STREQ(SqlitePrimaryCodeName(200), "SQLITE_UNKNOWN");
}

}  // namespace
}  // namespace segments
