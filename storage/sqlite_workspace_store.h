// One workspace's data in its own SQLite database file (WAL mode): tables
// contacts (a column per field; unset optional fields are NULL; tags as a
// JSON array, see tags_codec.h), segments (filter via EncodeFilter),
// change_runs (the membership change log, a row per run of consecutive events
// of one segment, see change_runs.h), indexed_runs (the history index) and
// meta (the counters); see workspace_rows.h.
//
// Commit writes a whole WorkspaceWrite in one BEGIN IMMEDIATE transaction:
// puts first, then deletes (so an id both put and deleted by one write ends
// deleted), then the change log, the history index once enough runs wait
// for it (SqliteOptions::unindexed_runs_limit), and the counters; on any
// error it rolls back.
// CommitCompleting finds the change log on a second thread while the first
// writes the contacts.
//
// Thread-safety: thread-safe. LoadStreaming and Commit use the write connection
// (under write_mu_); ReadChanges and the history queries use a second,
// read-only connection (under read_mu_), so change-feed and history readers
// never wait for a commit's fsync; a
// WalCheckpointer checkpoints through a third, in the background, on the
// CheckpointPool of SqliteOptions (shared by all of a catalog's workspaces).
// So an open store holds three connections: about seven file descriptors
// (each connection its database and WAL file, one -shm mapping shared).
#ifndef SEGMENTS_STORAGE_SQLITE_WORKSPACE_STORE_H_
#define SEGMENTS_STORAGE_SQLITE_WORKSPACE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/store/store.h"
#include "storage/file_util.h"
#include "storage/sqlite_db.h"
#include "storage/wal_checkpointer.h"

namespace segments {

class SqliteWorkspaceStore : public WorkspaceStore {
 public:
  // The schema version this binary writes (PRAGMA user_version).
  static int SchemaVersion();

  // Opens (creating and migrating if needed) the database at `path`.
  // FAILED_PRECONDITION for a file of another application or a newer schema;
  // DATA_LOSS for a file that is not an SQLite database. For tests and tools:
  // the catalog uses Create and OpenExisting, which tell a new workspace
  // from a lost one.
  static absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> Open(
      const std::string& path, const SqliteOptions& options);
  // Creates the database of new workspace `workspace_id` at `path` (mode
  // 0600, so its -wal and -shm files are 0600 too) and records the id in it.
  // ALREADY_EXISTS when a file is at `path`: it is never adopted.
  static absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> Create(
      const std::string& path, const SqliteOptions& options,
      WorkspaceId workspace_id);
  // Opens the existing database of workspace `workspace_id` (migrating an
  // older schema) and restricts its files to their owner. DATA_LOSS when the
  // file is missing, empty (0 bytes), has no schema or records another
  // workspace's id; otherwise the errors of Open. Never creates anything.
  static absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> OpenExisting(
      const std::string& path, const SqliteOptions& options,
      WorkspaceId workspace_id);

  ~SqliteWorkspaceStore() override;

  // DATA_LOSS naming the table and row when a row does not decode or breaks
  // the model: a contact or segment that fails record_checks.h, two
  // contacts with one email, two segments with one name, an id at or above
  // its stored next id, a change log beyond the stored last sequence.
  absl::StatusOr<WorkspaceData> LoadStreaming(const ContactSink& sink) override;
  // INTERNAL (nothing stored) when a record breaks a storage invariant (see
  // record_checks.h) or a change's sequence number is already stored;
  // FAILED_PRECONDITION when the database file was deleted (or replaced)
  // since Open, e.g. by CatalogStore::DeleteWorkspace.
  absl::Status Commit(const WorkspaceWrite& write) override;
  // Runs `complete` on a second thread while this one writes the contacts
  // and segments, in the same transaction.
  absl::Status CommitCompleting(WorkspaceWrite* write,
                                absl::FunctionRef<void()> complete) override;
  absl::StatusOr<std::vector<MembershipChange>> ReadChanges(
      uint64_t after_sequence, size_t limit) override;
  // On the read connection, like ReadChanges.
  absl::StatusOr<std::vector<ChangeRun>> ReadChangeRuns(
      uint64_t after_sequence, size_t max_events) override;
  absl::StatusOr<LogRetention> ReadRetention() override;
  // One transaction on the write connection; the runs to delete are found
  // from the oldest on (by primary key), never by scanning for their time.
  absl::StatusOr<LogRetention> PruneChanges(UnixSeconds before,
                                            size_t max_runs) override;
  // On the read connection, each in one read transaction with the
  // retention horizon (storage/history_queries.h).
  absl::StatusOr<SegmentChangeCounts> CountSegmentChanges(
      const SegmentChangeCountsQuery& query) override;
  absl::StatusOr<ContactChanges> ReadContactChanges(
      SegmentId segment_id, ContactId contact_id,
      uint64_t up_to_sequence) override;

  const std::string& path() const { return path_; }
  // The value of `PRAGMA <name>` on the write connection, e.g. "wal" for
  // journal_mode, "2" (FULL) or "1" (NORMAL) for synchronous. For tests and
  // diagnostics.
  absl::StatusOr<std::string> QueryPragma(const std::string& name);

 private:
  struct WriteStatements;

  // The store over `write_db`, open and migrated on `path`.
  static absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> FromDb(
      const std::string& path, const SqliteOptions& options,
      std::unique_ptr<SqliteDb> write_db);

  SqliteWorkspaceStore(std::string path, FileId file,
                       const SqliteOptions& options,
                       std::unique_ptr<SqliteDb> write_db,
                       std::unique_ptr<WriteStatements> write_stmts,
                       std::unique_ptr<SqliteDb> read_db,
                       std::unique_ptr<SqliteStatement> read_changes);

  // DATA_LOSS naming two contacts rows with the same email, among the rows
  // whose emails' hashes are in `repeated` (found repeated by the load).
  absl::Status CheckRepeatedEmailHashes(const std::vector<uint64_t>& repeated)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Reads the snapshots rows into data->snapshots (after the counters);
  // DATA_LOSS naming a row that breaks the model.
  absl::Status LoadSnapshots(WorkspaceData* data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // FAILED_PRECONDITION when path_ no longer names the file opened.
  absl::Status CheckFileUnchanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The two parts of a commit, inside its transaction: contacts, segments
  // and snapshots; then the change log and counters.
  absl::Status WriteRows(const WorkspaceWrite& write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteChanges(const WorkspaceWrite& write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Inside a commit's transaction, after its `new_runs` change runs: adds
  // every waiting run to the history index once unindexed_runs_limit_ wait.
  absl::Status IndexRunsIfEnoughWait(size_t new_runs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Commits `txn`, which wrote `write`; then its counters are the stored ones.
  absl::Status CommitWrite(SqliteTransaction& txn, const WorkspaceWrite& write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Inside PruneChanges' transaction: deletes the runs and records the new
  // changes_pruned_before.
  absl::Status DeleteOldRuns(UnixSeconds before, size_t max_runs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // kSelectRetentionSql on `db`.
  absl::StatusOr<LogRetention> QueryRetention(SqliteDb* db);

  // Constant after construction.
  const std::string path_;
  const size_t unindexed_runs_limit_;
  // The file opened. In WAL mode SQLite keeps writing to a database file that
  // was unlinked, so Commit checks that path_ still names this file.
  const FileId file_;

  absl::Mutex write_mu_;
  // Declared before the statements: they must be finalized first.
  const std::unique_ptr<SqliteDb> write_db_ ABSL_GUARDED_BY(write_mu_);
  const std::unique_ptr<WriteStatements> write_ ABSL_GUARDED_BY(write_mu_);
  // Reused by Commit for the tags of each contact.
  std::string tags_buffer_ ABSL_GUARDED_BY(write_mu_);
  std::string blob_buffer_ ABSL_GUARDED_BY(write_mu_);  // change-run ids
  // The counters the meta table holds, once known (after LoadStreaming or a
  // commit): a commit writes only those that differ. A single update moves
  // at most last_sequence, and five upserts of the meta row cost about as
  // much as the update's own engine work (issue 18).
  std::optional<WorkspaceCounters> stored_counters_ ABSL_GUARDED_BY(write_mu_);
  // The change runs not yet in the history index, once known (after
  // LoadStreaming; until then the next commit indexes every waiting run),
  // and what they will be when the transaction in progress commits.
  std::optional<size_t> waiting_runs_ ABSL_GUARDED_BY(write_mu_);
  size_t waiting_runs_after_commit_ ABSL_GUARDED_BY(write_mu_) = 0;

  // Declared after write_db_, so they are destroyed first, and the pool
  // after the checkpointer that uses it.
  std::shared_ptr<CheckpointPool> checkpoint_pool_;
  std::unique_ptr<WalCheckpointer> checkpointer_;

  absl::Mutex read_mu_;
  const std::unique_ptr<SqliteDb> read_db_ ABSL_GUARDED_BY(read_mu_);
  const std::unique_ptr<SqliteStatement> read_changes_
      ABSL_GUARDED_BY(read_mu_);
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_SQLITE_WORKSPACE_STORE_H_
