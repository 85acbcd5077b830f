// SQLite errors by result code, counted where storage turns a result code
// into a status (sqlite_db.cc), so that an operator sees a failing disk
// (SQLITE_IOERR_*), a full one (SQLITE_FULL) or lock contention
// (SQLITE_BUSY) as it happens; the server exports them (server/metrics.h).
// Process-wide, as SQLite itself is; no database or workspace is recorded.
//
// Thread-safety: thread-safe.
#ifndef SEGMENTS_STORAGE_SQLITE_ERROR_COUNTS_H_
#define SEGMENTS_STORAGE_SQLITE_ERROR_COUNTS_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace segments {

// Counts one error with extended result code `rc`.
void RecordSqliteError(int rc);

// Every extended result code counted so far with its count, ascending by
// code.
std::vector<std::pair<int, uint64_t>> SqliteErrorCounts();

// The name of `rc`'s primary result code ("SQLITE_IOERR" for
// SQLITE_IOERR_FSYNC); "SQLITE_UNKNOWN" for one SQLite 3.40 does not define.
const char* SqlitePrimaryCodeName(int rc);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_SQLITE_ERROR_COUNTS_H_
