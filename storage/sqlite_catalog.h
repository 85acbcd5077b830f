// The SQLite CatalogStore. A data directory holds:
//   LOCK                   flock'ed while a catalog is open on the directory
//   catalog.db             the workspaces table (id, display_name, plan,
//                          key_hash, create_time, wake_time), pending file
//                          deletions and the next workspace id (meta)
//   workspaces/<id>.db     one SqliteWorkspaceStore database per workspace
//                          (plus its -wal and -shm files while open)
// The directories are 0700 and the files 0600 (tightened when older).
//
// Workspace ids are never reused: the next id is stored in catalog.db and is
// at least one more than every id in the catalog and every workspace file.
// A file in workspaces/ whose workspace the catalog does not know is never
// adopted: Open refuses to start (FAILED_PRECONDITION naming the files), so a
// lost or truncated catalog.db cannot hand an old tenant's data to a new
// workspace. A new workspace's file is created only where none exists, and is
// provisional (a tombstone, see below) until PutWorkspace stores its record.
//
// DeleteWorkspace removes the record and the workspace's files. It does not
// close stores it handed out: a WorkspaceStore still open on a deleted
// workspace keeps reading the unlinked file, and its commits fail with
// FAILED_PRECONDITION (it checks its file is still in place), so the caller
// should drop its store first. A crash midway through a delete is finished at
// the next Open: the record goes first, together with a tombstone, and the
// files are removed afterwards. CreateWorkspaceStore commits a tombstone
// before it creates the file and PutWorkspace removes it with the record's
// insertion, so a creation a crash interrupted is undone the same way.
//
// Thread-safety: thread-safe (one mutex around the catalog connection).
#ifndef SEGMENTS_STORAGE_SQLITE_CATALOG_H_
#define SEGMENTS_STORAGE_SQLITE_CATALOG_H_

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

namespace segments {

class SqliteCatalogStore : public CatalogStore {
 public:
  // The schema version of catalog.db this binary writes.
  static int SchemaVersion();

  // Opens the catalog in `data_dir`, creating the directory and its files if
  // missing. FAILED_PRECONDITION when the directory is in use by another
  // catalog (in this or another process), when catalog.db belongs to
  // another application or a newer binary, or when workspaces/ holds files
  // of workspaces the catalog does not list (e.g. catalog.db was deleted or
  // truncated); DATA_LOSS when catalog.db is not an SQLite database.
  static absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> Open(
      const std::string& data_dir, const SqliteOptions& options);

  ~SqliteCatalogStore() override;

  // Ascending id. A row that breaks record_checks.h comes with its problem;
  // DATA_LOSS naming the row when its id itself is out of range.
  absl::StatusOr<std::vector<LoadedWorkspaceRecord>> LoadWorkspaces() override;
  absl::Status PutWorkspace(const WorkspaceRecord& record) override;
  // OK when the workspace does not exist.
  absl::Status DeleteWorkspace(WorkspaceId id) override;
  // Stored in the workspaces row's wake_time column (NULL for nullopt).
  absl::Status PutWakeTimes(
      const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
          wake_times) override;
  // FAILED_PRECONDITION when a file already holds the next id's name (a file
  // the catalog does not know): that id is skipped, the file left alone.
  absl::StatusOr<NewWorkspaceStore> CreateWorkspaceStore() override;
  // SqliteWorkspaceStore::OpenExisting: DATA_LOSS when the file is missing
  // or empty.
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> OpenWorkspace(
      WorkspaceId id) override;

  // Where workspace `id`'s database lives.
  std::string WorkspacePath(WorkspaceId id) const;
  // The value of `PRAGMA <name>` on catalog.db's connection (see
  // SqliteWorkspaceStore::QueryPragma).
  absl::StatusOr<std::string> QueryPragma(const std::string& name);

 private:
  struct Statements;

  SqliteCatalogStore(std::string data_dir, const SqliteOptions& options,
                     std::unique_ptr<FileLock> lock,
                     std::unique_ptr<SqliteDb> db,
                     std::unique_ptr<Statements> stmts);

  // Removes the files of workspace `id`, the WAL first: a WAL left beside a
  // later database of the same name would be replayed into it.
  absl::Status RemoveWorkspaceFiles(WorkspaceId id) const;
  // Finishes deletions (and creations) a crash interrupted.
  absl::Status RemovePendingDeletions() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Refuses files of workspaces the catalog does not list; raises next_id_
  // above every id in the catalog and in workspaces/.
  absl::Status CheckWorkspaceFiles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores next_id_ = `next`, with a tombstone for `tombstone` when not 0,
  // in one transaction.
  absl::Status StoreNextId(WorkspaceId next, WorkspaceId tombstone)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string data_dir_;
  const SqliteOptions options_;
  const std::unique_ptr<FileLock> lock_;

  absl::Mutex mu_;
  // Declared before the statements: they must be finalized first.
  const std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  const std::unique_ptr<Statements> stmts_ ABSL_GUARDED_BY(mu_);
  // The id the next CreateWorkspaceStore takes (as stored in meta).
  WorkspaceId next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_SQLITE_CATALOG_H_
