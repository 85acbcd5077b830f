// A thin RAII layer over the SQLite C API: a connection, prepared
// statements and transactions, each reporting errors as
// absl::Status carrying SQLite's own message, marked as a storage failure
// (core/base/errors.h: the message is for the server log, not for
// clients). Error codes map as follows (docs/api.md says what a client does):
//   SQLITE_BUSY, LOCKED                  -> UNAVAILABLE, kBusy
//   SQLITE_IOERR, CANTOPEN, PROTOCOL,
//   FULL (disk full), NOMEM              -> UNAVAILABLE, kUnavailable
//   SQLITE_CORRUPT, NOTADB               -> DATA_LOSS, kCorrupt; but
//     UNAVAILABLE, kUnavailable when an I/O failure happened during the call
//     (a short read leaves a zero-filled page that looks damaged; see
//     checked_vfs.h)
//   SQLITE_READONLY_DBMOVED (deleted)    -> FAILED_PRECONDITION, kOther
//   anything else                        -> INTERNAL, kOther
// Never UNKNOWN. Connections are opened through the checked VFS.
//
// Thread-safety: none. A SqliteDb and its statements are used by one thread
// at a time (the owner holds a mutex); connections are opened NOMUTEX.
#ifndef SEGMENTS_STORAGE_SQLITE_DB_H_
#define SEGMENTS_STORAGE_SQLITE_DB_H_

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace segments {

class CheckpointPool;

struct SqliteOptions {
  // FULL: a commit is on disk when it returns (survives power loss).
  // NORMAL: in WAL mode, survives a process crash but may lose the last
  // commits on power loss; faster.
  enum class Synchronous { kFull, kNormal };
  Synchronous synchronous = Synchronous::kFull;
  // How long a connection waits for a lock held by another connection.
  int busy_timeout_ms = 5000;
  // A workspace database is checkpointed in the background once its WAL
  // holds this many pages after a commit (SQLite's own default threshold);
  // see WalCheckpointer.
  int checkpoint_pages = 1000;
  // The threads that run those checkpoints, shared by every database opened
  // with these options (SqliteCatalogStore::Open sets one for all its
  // workspaces); null: a store opened alone makes its own, of one thread.
  std::shared_ptr<CheckpointPool> checkpoint_pool;
  // The history queries find a segment's change runs through an index of
  // their own (indexed_runs, workspace_rows.h). A commit adds runs to it only
  // once at least this many wait, all of them at once, and the queries read
  // the waiting ones from the log. An index entry per changed segment and
  // commit put a leaf page per segment into every commit: about 80 us of a
  // single update's 250 us commit with 6 segments changing (issue 18). At
  // 2,048 a history query reads at most a few thousand log rows more. 1: every
  // commit indexes its own runs.
  int unindexed_runs_limit = 2048;
};

// The status for SQLite result code `rc` (primary or extended), with
// `context` and `detail` (usually sqlite3_errmsg) in the message.
absl::Status SqliteStatus(int rc, std::string_view context,
                          std::string_view detail);

class SqliteStatement;

class SqliteDb {
 public:
  // Opens (creating if `create`) the database file at `path` with extended
  // result codes and a busy timeout. Nothing is read from the file yet: a
  // foreign file is detected by the first statement (DATA_LOSS).
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path,
                                                        bool create,
                                                        int busy_timeout_ms);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more SQL statements that return no rows of interest.
  absl::Status Exec(const std::string& sql);
  // A transaction's BEGIN, BEGIN IMMEDIATE or COMMIT, compiled on first use
  // and kept: Exec compiles its SQL on every call, which took 4-5 us of a
  // single-contact update's commit (issue 18).
  enum class TransactionVerb { kBegin, kBeginImmediate, kCommit };
  absl::Status Run(TransactionVerb verb);
  // Compiles one statement, to be destroyed before this connection.
  absl::StatusOr<std::unique_ptr<SqliteStatement>> Prepare(
      std::string_view sql);
  // Runs `sql`, which must yield a single integer (e.g. PRAGMA user_version).
  absl::StatusOr<int64_t> QueryInt(const std::string& sql);
  // Runs `sql` and returns the first column of its first row as text.
  absl::StatusOr<std::string> QueryText(const std::string& sql);
  // Sets WAL mode and synchronous, turns foreign keys off (the schemas have
  // none) and caps the WAL file kept after a checkpoint at 64 MiB.
  // FAILED_PRECONDITION if WAL cannot be enabled.
  absl::Status Configure(const SqliteOptions& options);

  // The status of the last failed call on this connection.
  absl::Status Error(int rc, std::string_view context) const;
  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_; }

 private:
  friend class SqliteStatement;
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  // Notes IoFailureCount() at the start of a call into SQLite, for Error.
  void MarkCallStart() const;
  sqlite3* const db_;
  const std::string path_;
  mutable uint64_t io_failures_at_start_ = 0;
  std::array<sqlite3_stmt*, 3> verbs_{};  // by TransactionVerb; finalized first
};

// A prepared statement. Binding errors are remembered and returned by the
// next Step(). Use a SqliteStatement::Scope so the statement is reset (and
// its read transaction ended) on every path out of the code that runs it.
class SqliteStatement {
 public:
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Parameters are 1-based, as in SQLite.
  void BindInt(int index, int64_t value);
  void BindNull(int index);
  // Text and blobs are copied (SQLITE_TRANSIENT) so the caller's buffer may
  // be reused before Step.
  void BindText(int index, std::string_view value);
  void BindBlob(int index, std::string_view value);
  // Binds without a copy (SQLITE_STATIC), for the hot path of writing
  // contacts. REQUIRES: `value` stays as it is until the statement's next
  // Run or Reset.
  void BindTextUncopied(int index, std::string_view value);

  // true: a row is available; false: done.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows, then resets it.
  absl::Status Run();
  // Ends the current execution and clears the bindings.
  void Reset();

  // Columns are 0-based. The views are valid until the next Step or Reset.
  int64_t ColumnInt(int column) const;
  bool ColumnIsNull(int column) const;
  std::string_view ColumnText(int column) const;
  std::string_view ColumnBlob(int column) const;

  // Resets the statement when it goes out of scope.
  class Scope {
   public:
    explicit Scope(SqliteStatement& s) : s_(s) {}
    ~Scope() { s_.Reset(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    SqliteStatement& s_;
  };

 private:
  friend class SqliteDb;
  SqliteStatement(const SqliteDb* db, sqlite3_stmt* stmt)
      : db_(db), stmt_(stmt) {}
  void NoteBind(int rc, int index);

  const SqliteDb* const db_;
  sqlite3_stmt* const stmt_;
  int bind_rc_ = SQLITE_OK;
  int bind_index_ = 0;
};

// A transaction on `db`: Begin starts it, Commit ends it; destruction rolls
// back one that was begun and not committed (unless SQLite already did).
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  // `immediate`: take the write lock now (BEGIN IMMEDIATE), so the
  // transaction cannot fail later for want of it; else a read snapshot.
  absl::Status Begin(bool immediate);
  absl::Status Commit();

 private:
  SqliteDb* const db_;
  bool open_ = false;
};

// Checks that `db` is empty or one of ours: FAILED_PRECONDITION when it has
// a schema but another application id (a foreign SQLite file), or a newer
// user_version than `latest_version` (written by a newer binary). Only reads,
// so it can run before Configure changes the file's journal mode.
absl::Status CheckSchemaOwner(SqliteDb* db, int32_t application_id,
                              int64_t latest_version);

// Brings the schema of `db` up to date: `migrations[i]` is the SQL that
// takes the schema from user_version i to i + 1. All pending steps run in one
// IMMEDIATE transaction that also sets PRAGMA user_version and
// application_id, after CheckSchemaOwner passes inside that transaction.
absl::Status MigrateSchema(SqliteDb* db, int32_t application_id,
                           const std::vector<const char*>& migrations);

// Opens (creating) the database at `path` for read and write: Open,
// CheckSchemaOwner, Configure, MigrateSchema.
absl::StatusOr<std::unique_ptr<SqliteDb>> OpenAndMigrate(
    const std::string& path, const SqliteOptions& options,
    int32_t application_id, const std::vector<const char*>& migrations);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_SQLITE_DB_H_
