// What the work behind a benchmarked figure cannot avoid (issue 18), measured
// in the same binary and run as the figure, so that the figure can be read as
// a ratio to it: SQLite inserts into an empty copy of the workspace schema,
// the disk's fsyncs per second, and the same bytes through a loopback socket.
// The CRoaring algebra of segment builds is in bitmap_floor.h.
//
// Thread-safety: none; each function runs on the calling thread (the socket
// transfer starts and joins its own reader thread).
#ifndef SEGMENTS_BENCH_FLOORS_H_
#define SEGMENTS_BENCH_FLOORS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "core/model/contact.h"
#include "storage/sqlite_db.h"

namespace segments::bench {

// An empty workspace database (the service's schema, storage/
// workspace_rows.h) at `path`, configured as the service configures its own:
// WAL, `sync`.
absl::StatusOr<std::unique_ptr<SqliteDb>> OpenEmptyWorkspaceDb(
    const std::string& path, SqliteOptions::Synchronous sync);

// Upserts `contacts` with the store's prepared statement (prepared before
// the clock starts) in one IMMEDIATE transaction; the wall time from BEGIN
// to the end of COMMIT, in ns.
absl::StatusOr<int64_t> TimedContactInserts(SqliteDb& db,
                                            absl::Span<const Contact> contacts);

// Reads every row of `queries` (each a SELECT) on a new read-only
// connection to the database at `path`, every column as the decoders would
// (text and blobs as bytes, the rest as integers), and nothing else; the
// wall time from the open to the last row, in ns. `*rows` counts the rows.
absl::StatusOr<int64_t> TimedSequentialRead(
    const std::string& path, const std::vector<std::string>& queries,
    uint64_t* rows);

// Generated contacts [first, first + count) as the service stores them
// (NormalizeNewContact), with ids first + 1, first + 2, ...
std::vector<Contact> NormalizedContacts(uint64_t first, size_t count);

// What the disk allows: 4 KiB writes over a preallocated file in `dir`,
// each followed by fdatasync (what a WAL commit at synchronous=FULL does),
// for about `seconds`; syncs per second.
absl::StatusOr<double> FsyncsPerSecond(const std::string& dir, double seconds);

// Writes messages of `sizes` bytes, one write() each, through a loopback TCP
// connection to a thread that reads until it has them all; the wall time
// from the first write to the last byte read, in ns (the connection is made
// before).
absl::StatusOr<int64_t> TimedSocketTransfer(const std::vector<size_t>& sizes);

// Sets counter `name` to figure / baseline (0 when the baseline is 0).
void ReportRatio(benchmark::State& state, const char* name, double figure,
                 double baseline);

}  // namespace segments::bench

#endif  // SEGMENTS_BENCH_FLOORS_H_
