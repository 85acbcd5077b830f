#include "storage/sqlite_error_counts.h"

#include <sqlite3.h>

#include <map>

#include "absl/synchronization/mutex.h"

namespace segments {
namespace {

// Errors are rare (a healthy server has none), so a mutex costs nothing
// where it matters, and the map holds only the codes seen (a handful).
struct Counts {
  absl::Mutex mu;
  std::map<int, uint64_t> by_code ABSL_GUARDED_BY(mu);
};

Counts& TheCounts() {
  // Never destroyed: a storage thread may record while the process exits.
  static Counts* const counts = new Counts();
  return *counts;
}

}  // namespace

void RecordSqliteError(int rc) {
  Counts& c = TheCounts();
  absl::MutexLock l(&c.mu);
  ++c.by_code[rc];
}

std::vector<std::pair<int, uint64_t>> SqliteErrorCounts() {
  Counts& c = TheCounts();
  absl::MutexLock l(&c.mu);
  return {c.by_code.begin(), c.by_code.end()};
}

const char* SqlitePrimaryCodeName(int rc) {
  switch (rc & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND:
      return "SQLITE_NOTFOUND";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_EMPTY:
      return "SQLITE_EMPTY";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_NOLFS:
      return "SQLITE_NOLFS";
    case SQLITE_AUTH:
      return "SQLITE_AUTH";
    case SQLITE_FORMAT:
      return "SQLITE_FORMAT";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    case SQLITE_NOTICE:
      return "SQLITE_NOTICE";
    case SQLITE_WARNING:
      return "SQLITE_WARNING";
    default:
      return "SQLITE_UNKNOWN";
  }
}

}  // namespace segments
