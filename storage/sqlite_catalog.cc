#include "storage/sqlite_catalog.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "storage/record_checks.h"
#include "storage/sqlite_workspace_store.h"

namespace segments {
namespace {

// PRAGMA application_id of catalog.db: "SGCT".
constexpr int32_t kCatalogAppId = 0x53474354;

// migrations[i] takes the schema from user_version i to i + 1. Append only.
const std::vector<const char*>& Migrations() {
  static const auto* const kMigrations = new std::vector<const char*>{
      // 0 -> 1: the initial schema. deleted_workspaces holds the ids whose
      // files are still to be removed (see DeleteWorkspace).
      R"sql(
        CREATE TABLE workspaces (
          id INTEGER PRIMARY KEY,
          display_name TEXT NOT NULL,
          plan INTEGER NOT NULL,
          key_hash BLOB NOT NULL,
          create_time INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE deleted_workspaces (
          id INTEGER PRIMARY KEY
        ) STRICT;
      )sql",
  };
  return *kMigrations;
}

}  // namespace

struct SqliteCatalogStore::Statements {
  std::unique_ptr<SqliteStatement> load;
  std::unique_ptr<SqliteStatement> put;
  std::unique_ptr<SqliteStatement> remove;
  std::unique_ptr<SqliteStatement> add_tombstone;
  std::unique_ptr<SqliteStatement> remove_tombstone;
};

int SqliteCatalogStore::SchemaVersion() {
  return static_cast<int>(Migrations().size());
}

absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> SqliteCatalogStore::Open(
    const std::string& data_dir, const SqliteOptions& options) {
  RETURN_IF_ERROR(MakeDirs(data_dir));
  RETURN_IF_ERROR(MakeDirs(data_dir + "/workspaces"));
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock,
                   FileLock::Acquire(data_dir + "/LOCK"));
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db,
                   OpenAndMigrate(data_dir + "/catalog.db", options,
                                  kCatalogAppId, Migrations()));
  // New directory entries (catalog.db, workspaces/) must survive power loss.
  RETURN_IF_ERROR(SyncDir(data_dir));

  auto s = std::make_unique<Statements>();
  ASSIGN_OR_RETURN(s->load,
                   db->Prepare("SELECT id, display_name, plan, key_hash, "
                               "create_time FROM workspaces ORDER BY id"));
  ASSIGN_OR_RETURN(
      s->put,
      db->Prepare("INSERT INTO workspaces (id, display_name, plan, key_hash, "
                  "create_time) VALUES (?1, ?2, ?3, ?4, ?5) "
                  "ON CONFLICT (id) DO UPDATE SET display_name = "
                  "excluded.display_name, plan = excluded.plan, key_hash = "
                  "excluded.key_hash, create_time = excluded.create_time"));
  ASSIGN_OR_RETURN(s->remove,
                   db->Prepare("DELETE FROM workspaces WHERE id = ?1"));
  ASSIGN_OR_RETURN(
      s->add_tombstone,
      db->Prepare("INSERT OR IGNORE INTO deleted_workspaces (id) VALUES (?1)"));
  ASSIGN_OR_RETURN(s->remove_tombstone,
                   db->Prepare("DELETE FROM deleted_workspaces WHERE id = ?1"));

  std::unique_ptr<SqliteCatalogStore> store(new SqliteCatalogStore(
      data_dir, options, std::move(lock), std::move(db), std::move(s)));
  {
    absl::MutexLock l(&store->mu_);
    RETURN_IF_ERROR(store->RemovePendingDeletions());
  }
  return store;
}

SqliteCatalogStore::SqliteCatalogStore(std::string data_dir,
                                       const SqliteOptions& options,
                                       std::unique_ptr<FileLock> lock,
                                       std::unique_ptr<SqliteDb> db,
                                       std::unique_ptr<Statements> stmts)
    : data_dir_(std::move(data_dir)),
      options_(options),
      lock_(std::move(lock)),
      db_(std::move(db)),
      stmts_(std::move(stmts)) {}

SqliteCatalogStore::~SqliteCatalogStore() = default;

std::string SqliteCatalogStore::WorkspacePath(WorkspaceId id) const {
  return absl::StrCat(data_dir_, "/workspaces/", id, ".db");
}

absl::StatusOr<std::string> SqliteCatalogStore::QueryPragma(
    const std::string& name) {
  absl::MutexLock l(&mu_);
  return db_->QueryText("PRAGMA " + name);
}

absl::StatusOr<std::vector<WorkspaceRecord>>
SqliteCatalogStore::LoadWorkspaces() {
  absl::MutexLock l(&mu_);
  std::vector<WorkspaceRecord> out;
  SqliteStatement& s = *stmts_->load;
  SqliteStatement::Scope scope(s);
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const int64_t id = s.ColumnInt(0);
    const int64_t plan = s.ColumnInt(2);
    std::string problem;
    if (id < 1) {
      problem = "id is out of range";
    } else if (plan < 0 || plan > std::numeric_limits<int>::max()) {
      problem = "plan is out of range";
    } else {
      WorkspaceRecord& w = out.emplace_back();
      w.id = static_cast<WorkspaceId>(id);
      w.display_name = std::string(s.ColumnText(1));
      w.plan = static_cast<Plan>(plan);
      w.key_hash = std::string(s.ColumnBlob(3));
      w.create_time = s.ColumnInt(4);
      problem = WorkspaceProblem(w);
    }
    if (!problem.empty()) {
      return absl::DataLossError(
          absl::StrCat(db_->path(), ": workspaces row id=", id, ": ", problem));
    }
  }
  return out;
}

absl::Status SqliteCatalogStore::PutWorkspace(const WorkspaceRecord& record) {
  if (std::string p = WorkspaceProblem(record); !p.empty()) {
    return absl::InternalError(
        absl::StrCat("refusing to store workspace ", record.id, ": ", p));
  }
  absl::MutexLock l(&mu_);
  SqliteStatement& s = *stmts_->put;
  s.BindInt(1, static_cast<int64_t>(record.id));
  s.BindText(2, record.display_name);
  s.BindInt(3, static_cast<int>(record.plan));
  s.BindBlob(4, record.key_hash);
  s.BindInt(5, record.create_time);
  return s.Run();
}

absl::Status SqliteCatalogStore::DeleteWorkspace(WorkspaceId id) {
  if (id == 0 || id > kMaxStoredUint) return absl::OkStatus();  // cannot exist
  absl::MutexLock l(&mu_);
  {
    // The record and the tombstone commit together: once the record is
    // gone, the files are certain to be removed, now or at the next Open.
    SqliteTransaction txn(db_.get());
    RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
    stmts_->remove->BindInt(1, static_cast<int64_t>(id));
    RETURN_IF_ERROR(stmts_->remove->Run());
    stmts_->add_tombstone->BindInt(1, static_cast<int64_t>(id));
    RETURN_IF_ERROR(stmts_->add_tombstone->Run());
    RETURN_IF_ERROR(txn.Commit());
  }
  // The delete is durable from here on; a file that cannot be removed now is
  // retried at the next Open, so it is not the caller's error.
  if (RemoveWorkspaceFiles(id).ok()) {
    stmts_->remove_tombstone->BindInt(1, static_cast<int64_t>(id));
    stmts_->remove_tombstone->Run().IgnoreError();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WorkspaceStore>>
SqliteCatalogStore::OpenWorkspace(WorkspaceId id) {
  if (id == 0 || id > kMaxStoredUint) {
    return absl::InvalidArgumentError(
        absl::StrCat("workspace id ", id, " is out of range"));
  }
  absl::MutexLock l(&mu_);
  const std::string path = WorkspacePath(id);
  const bool created = !FileExists(path);
  if (created) {
    // A WAL without its database is left over from a deleted workspace and
    // must not be replayed into the new one.
    RETURN_IF_ERROR(RemoveWorkspaceFiles(id));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteWorkspaceStore> store,
                   SqliteWorkspaceStore::Open(path, options_));
  if (created) RETURN_IF_ERROR(SyncDir(data_dir_ + "/workspaces"));
  return std::unique_ptr<WorkspaceStore>(std::move(store));
}

absl::Status SqliteCatalogStore::RemoveWorkspaceFiles(WorkspaceId id) const {
  const std::string path = WorkspacePath(id);
  for (const char* suffix : {"-wal", "-shm", "-journal", ""}) {
    RETURN_IF_ERROR(RemoveFileIfExists(path + suffix));
  }
  return SyncDir(data_dir_ + "/workspaces");
}

absl::Status SqliteCatalogStore::RemovePendingDeletions() {
  std::vector<WorkspaceId> pending;
  {
    ASSIGN_OR_RETURN(auto stmt,
                     db_->Prepare("SELECT id FROM deleted_workspaces WHERE id "
                                  "NOT IN (SELECT id FROM workspaces)"));
    SqliteStatement::Scope scope(*stmt);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      const int64_t id = stmt->ColumnInt(0);
      if (id > 0) pending.push_back(static_cast<WorkspaceId>(id));
    }
  }
  for (WorkspaceId id : pending) {
    if (!RemoveWorkspaceFiles(id).ok()) continue;  // kept for the next Open
    stmts_->remove_tombstone->BindInt(1, static_cast<int64_t>(id));
    RETURN_IF_ERROR(stmts_->remove_tombstone->Run());
  }
  // A tombstone whose id was put again belongs to the live workspace now.
  return db_->Exec(
      "DELETE FROM deleted_workspaces WHERE id IN (SELECT id FROM workspaces)");
}

}  // namespace segments
