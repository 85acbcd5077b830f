#include "storage/sqlite_db.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "storage/checked_vfs.h"
#include "storage/sqlite_error_counts.h"

namespace segments {
namespace {

absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

absl::StatusCode CodeFor(int rc) {
  if (rc == SQLITE_READONLY_DBMOVED)
    return absl::StatusCode::kFailedPrecondition;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kInternal;
  }
}

StorageFailure FailureFor(int rc) {
  if (rc == SQLITE_READONLY_DBMOVED) return StorageFailure::kOther;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StorageFailure::kBusy;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return StorageFailure::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StorageFailure::kCorrupt;
    default:
      return StorageFailure::kOther;
  }
}

bool IsCorruption(int rc) {
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

// The start of a statement's SQL, to say which statement failed.
std::string SqlPrefix(sqlite3_stmt* stmt) {
  const char* sql = sqlite3_sql(stmt);
  std::string s = sql == nullptr ? "" : sql;
  constexpr size_t kMax = 60;
  if (s.size() > kMax) s = s.substr(0, kMax) + "...";
  return s;
}

}  // namespace

absl::Status SqliteStatus(int rc, std::string_view context,
                          std::string_view detail) {
  RecordSqliteError(rc);
  return WithStorageFailure(
      absl::Status(CodeFor(rc), absl::StrCat(AV(context), ": ", AV(detail),
                                             " (SQLite result code ", rc, ")")),
      FailureFor(rc));
}

// ---------------------------------------------------------------- SqliteDb

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(
    const std::string& path, bool create, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                    (create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, CheckedVfsName());
  if (rc != SQLITE_OK) {
    const std::string detail =
        db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return SqliteStatus(rc, absl::StrCat("cannot open ", path), detail);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
}

SqliteDb::~SqliteDb() {
  for (sqlite3_stmt* verb : verbs_) sqlite3_finalize(verb);  // null: a no-op
  // Owners finalize their statements first; close_v2 would still wait for a
  // straggler instead of leaking the connection.
  sqlite3_close_v2(db_);
}

void SqliteDb::MarkCallStart() const {
  io_failures_at_start_ = IoFailureCount();
}

absl::Status SqliteDb::Error(int rc, std::string_view context) const {
  if (IsCorruption(rc) && IoFailureCount() != io_failures_at_start_) {
    // Most likely a page a failing read left zero-filled, not a damaged
    // file: report the I/O error it is.
    return WithStorageFailure(
        absl::UnavailableError(absl::StrCat(
            path_, ": ", AV(context), ": ", sqlite3_errmsg(db_),
            " (SQLite result code ", rc,
            ") after an I/O error during the call: the file may be intact")),
        StorageFailure::kUnavailable);
  }
  return SqliteStatus(rc, absl::StrCat(path_, ": ", AV(context)),
                      sqlite3_errmsg(db_));
}

absl::Status SqliteDb::Exec(const std::string& sql) {
  MarkCallStart();
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return Error(rc, sql.size() > 60 ? sql.substr(0, 60) : sql);
  return absl::OkStatus();
}

absl::Status SqliteDb::Run(TransactionVerb verb) {
  static constexpr const char* kSql[] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"};
  const char* const sql = kSql[static_cast<int>(verb)];
  sqlite3_stmt*& stmt = verbs_[static_cast<int>(verb)];
  MarkCallStart();
  if (stmt == nullptr) {
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, sql);
  }
  const int rc = sqlite3_step(stmt);
  // The status first: it reads the connection's error message.
  absl::Status status = rc == SQLITE_DONE ? absl::OkStatus() : Error(rc, sql);
  sqlite3_reset(stmt);
  return status;
}

absl::StatusOr<std::unique_ptr<SqliteStatement>> SqliteDb::Prepare(
    std::string_view sql) {
  MarkCallStart();
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK)
    return Error(rc, absl::StrCat("prepare `", AV(sql), "`"));
  if (stmt == nullptr) {
    return absl::InternalError(
        absl::StrCat("empty SQL statement: `", AV(sql), "`"));
  }
  return std::unique_ptr<SqliteStatement>(new SqliteStatement(this, stmt));
}

absl::StatusOr<int64_t> SqliteDb::QueryInt(const std::string& sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> stmt, Prepare(sql));
  SqliteStatement::Scope scope(*stmt);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row)
    return absl::InternalError(absl::StrCat(path_, ": no result for ", sql));
  return stmt->ColumnInt(0);
}

absl::StatusOr<std::string> SqliteDb::QueryText(const std::string& sql) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> stmt, Prepare(sql));
  SqliteStatement::Scope scope(*stmt);
  ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row)
    return absl::InternalError(absl::StrCat(path_, ": no result for ", sql));
  return std::string(stmt->ColumnText(0));
}

absl::Status SqliteDb::Configure(const SqliteOptions& options) {
  {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> stmt,
                     Prepare("PRAGMA journal_mode=WAL"));
    SqliteStatement::Scope scope(*stmt);
    ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row || stmt->ColumnText(0) != "wal") {
      return WithStorageFailure(
          absl::FailedPreconditionError(
              absl::StrCat(path_, ": cannot switch to WAL journal mode")),
          StorageFailure::kOther);
    }
  }
  return Exec(absl::StrCat(
      "PRAGMA synchronous=",
      options.synchronous == SqliteOptions::Synchronous::kFull ? "FULL"
                                                               : "NORMAL",
      // A large batch grows the WAL; truncate it back after checkpoints.
      "; PRAGMA foreign_keys=OFF; PRAGMA journal_size_limit=67108864;"));
}

// --------------------------------------------------------- SqliteStatement

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::NoteBind(int rc, int index) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
    bind_index_ = index;
  }
}

void SqliteStatement::BindInt(int index, int64_t value) {
  NoteBind(sqlite3_bind_int64(stmt_, index, value), index);
}

void SqliteStatement::BindNull(int index) {
  NoteBind(sqlite3_bind_null(stmt_, index), index);
}

void SqliteStatement::BindText(int index, std::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                               SQLITE_TRANSIENT, SQLITE_UTF8),
           index);
}

void SqliteStatement::BindTextUncopied(int index, std::string_view value) {
  NoteBind(sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                               SQLITE_STATIC, SQLITE_UTF8),
           index);
}

void SqliteStatement::BindBlob(int index, std::string_view value) {
  // A null pointer would bind NULL; an empty blob must stay a blob.
  static const char kEmpty = 0;
  NoteBind(
      sqlite3_bind_blob64(stmt_, index, value.empty() ? &kEmpty : value.data(),
                          value.size(), SQLITE_TRANSIENT),
      index);
}

absl::StatusOr<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    return SqliteStatus(
        bind_rc_,
        absl::StrCat(db_->path(), ": bind parameter ", bind_index_, " of `",
                     SqlPrefix(stmt_), "`"),
        sqlite3_errstr(bind_rc_));
  }
  db_->MarkCallStart();
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, absl::StrCat("`", SqlPrefix(stmt_), "`"));
}

absl::Status SqliteStatement::Run() {
  Scope scope(*this);
  // Rows, if the statement yields any, are not wanted.
  return Step().status();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
  bind_index_ = 0;
}

int64_t SqliteStatement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string_view SqliteStatement::ColumnText(int column) const {
  const unsigned char* p = sqlite3_column_text(stmt_, column);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p),
          static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

std::string_view SqliteStatement::ColumnBlob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  if (p == nullptr) return {};
  return {static_cast<const char*>(p),
          static_cast<size_t>(sqlite3_column_bytes(stmt_, column))};
}

// ------------------------------------------------------- SqliteTransaction

SqliteTransaction::~SqliteTransaction() {
  if (!open_) return;
  // SQLite rolls back by itself after some errors (e.g. SQLITE_FULL); a
  // second ROLLBACK would then fail, so ask first.
  if (!sqlite3_get_autocommit(db_->raw())) {
    sqlite3_exec(db_->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  // A transaction left open here failed. A failing read may have left a
  // page zero-filled in the connection's cache, and SQLite keeps clean
  // pages across transactions while the file is unchanged, so the retry
  // would read the same zeros and report a corruption the file does not
  // have: the cache is dropped (tests/storage/fault_every_n_test.cc, read
  // IOERR_SHORT_READ, met once change_runs had an index).
  sqlite3_db_release_memory(db_->raw());
}

absl::Status SqliteTransaction::Begin(bool immediate) {
  if (absl::Status s =
          db_->Run(immediate ? SqliteDb::TransactionVerb::kBeginImmediate
                             : SqliteDb::TransactionVerb::kBegin);
      !s.ok()) {
    // BEGIN reads the first page when the cache lacks it (the load's
    // connection drops its cache after a load): a failed read there leaves
    // the same zero-filled page as one inside the transaction (see the
    // destructor).
    sqlite3_db_release_memory(db_->raw());
    return s;
  }
  open_ = true;
  return absl::OkStatus();
}

absl::Status SqliteTransaction::Commit() {
  const absl::Status status = db_->Run(SqliteDb::TransactionVerb::kCommit);
  if (status.ok()) {
    open_ = false;
    return status;
  }
  // In WAL mode a COMMIT whose sync fails has already written its frames,
  // the last marked as a commit: the connection rolls back, but the frames
  // stay in the -wal file, beyond what the wal-index calls committed, and a
  // crash's recovery would replay them, so a write its caller was told had
  // failed would be there after a restart. Truncating the WAL (a checkpoint
  // copies only what the wal-index calls committed) removes them. If the
  // disk still fails, so does this, and they stay until the next commit
  // makes them unreachable (tests/storage/fault_every_n_test.cc).
  if (!sqlite3_get_autocommit(db_->raw())) {
    sqlite3_exec(db_->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  open_ = false;
  sqlite3_exec(db_->raw(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr,
               nullptr);
  return status;
}

// ------------------------------------------------------------- migrations

absl::Status CheckSchemaOwner(SqliteDb* db, int32_t application_id,
                              int64_t latest_version) {
  ASSIGN_OR_RETURN(int64_t app, db->QueryInt("PRAGMA application_id"));
  ASSIGN_OR_RETURN(int64_t version, db->QueryInt("PRAGMA user_version"));
  ASSIGN_OR_RETURN(int64_t objects,
                   db->QueryInt("SELECT count(*) FROM sqlite_master"));
  if (app != application_id && (version != 0 || objects != 0)) {
    return WithStorageFailure(
        absl::FailedPreconditionError(absl::StrCat(
            db->path(), ": not a database of this kind (SQLite application_id ",
            app, ", expected ", application_id, ")")),
        StorageFailure::kOther);
  }
  if (version < 0 || version > latest_version) {
    return WithStorageFailure(absl::FailedPreconditionError(absl::StrCat(
                                  db->path(), ": schema version ", version,
                                  " is newer than this binary supports (",
                                  latest_version, "); upgrade the binary")),
                              StorageFailure::kOther);
  }
  return absl::OkStatus();
}

absl::Status MigrateSchema(SqliteDb* db, int32_t application_id,
                           const std::vector<const char*>& migrations) {
  const int64_t latest = static_cast<int64_t>(migrations.size());
  SqliteTransaction txn(db);
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  // Checked again under the write lock: another process may have migrated.
  RETURN_IF_ERROR(CheckSchemaOwner(db, application_id, latest));
  ASSIGN_OR_RETURN(int64_t version, db->QueryInt("PRAGMA user_version"));
  if (version == latest) return txn.Commit();
  for (int64_t v = version; v < latest; ++v) {
    RETURN_IF_ERROR(db->Exec(migrations[static_cast<size_t>(v)]));
  }
  RETURN_IF_ERROR(
      db->Exec(absl::StrCat("PRAGMA application_id=", application_id,
                            "; PRAGMA user_version=", latest, ";")));
  return txn.Commit();
}

absl::StatusOr<std::unique_ptr<SqliteDb>> OpenAndMigrate(
    const std::string& path, const SqliteOptions& options,
    int32_t application_id, const std::vector<const char*>& migrations) {
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> db,
      SqliteDb::Open(path, /*create=*/true, options.busy_timeout_ms));
  RETURN_IF_ERROR(CheckSchemaOwner(db.get(), application_id,
                                   static_cast<int64_t>(migrations.size())));
  RETURN_IF_ERROR(db->Configure(options));
  RETURN_IF_ERROR(MigrateSchema(db.get(), application_id, migrations));
  return db;
}

}  // namespace segments
