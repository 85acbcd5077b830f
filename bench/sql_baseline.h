// The SQL baseline of the segment-build benchmark: the same generated
// contacts in a plain SQLite table (a column per field, string columns
// lowercased as the service compares them, unset values NULL) plus a tags side
// table, with no index beyond the primary keys; and, for each kind of filter
// the benchmark builds, the filter both as a FilterSpec and as the equivalent
// SQL `SELECT COUNT(*)`.
//
//   contacts(id INTEGER PRIMARY KEY, email, company, job_title, country, city,
//            source, lifecycle_stage, lead_score, engagement_score,
//            engagement_trend, conversion_likelihood, created_at,
//            last_engaged_at)
//   contact_tags(contact_id, tag, PRIMARY KEY (contact_id, tag))
//     WITHOUT ROWID
//
// Thread-safety: none.
#ifndef SEGMENTS_BENCH_SQL_BASELINE_H_
#define SEGMENTS_BENCH_SQL_BASELINE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/filter.h"

namespace segments::bench {

struct BuildCase {
  std::string name;  // e.g. "string_equals"
  FilterSpec filter;
  std::string sql;  // SELECT COUNT(*) ... selecting the same contacts
};

// One case per kind of filter, in a fixed order (the benchmark's Arg is the
// index): string EQUALS, IN, CONTAINS, ENDS_WITH on email, tags HAS_ANY,
// HAS_ALL, enum >=, number range, timestamp WITHIN_LAST_DAYS, ALL of 3,
// ANY of 3.
const std::vector<BuildCase>& BuildCases();

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using SqliteHandle = std::unique_ptr<sqlite3, SqliteCloser>;

// Opens the cached plain database of `contacts` generated contacts, building
// it first when missing. The connection gets a page cache large enough for
// the whole database, so warm queries are CPU-bound, not I/O-bound.
absl::StatusOr<SqliteHandle> OpenPlainDatabase(size_t contacts);

// Runs a query yielding one integer.
absl::StatusOr<int64_t> QueryCount(sqlite3* db, const std::string& sql);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_SQL_BASELINE_H_
