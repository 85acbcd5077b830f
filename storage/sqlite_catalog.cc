#include "storage/sqlite_catalog.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"
#include "storage/record_checks.h"
#include "storage/sqlite_workspace_store.h"
#include "storage/wal_checkpointer.h"

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
      // 1 -> 2: the next workspace id, so that no id is ever handed out
      // twice (version 1 took one more than the highest existing id).
      R"sql(
        CREATE TABLE meta (
          key TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('next_workspace_id',
          1 + MAX(IFNULL((SELECT MAX(id) FROM workspaces), 0),
                  IFNULL((SELECT MAX(id) FROM deleted_workspaces), 0)));
      )sql",
      // 2 -> 3: when a closed workspace must be opened for its next
      // relative date rule flip (NULL: none is due); 0, at once, for every
      // workspace written before (each was opened at every start).
      R"sql(
        ALTER TABLE workspaces ADD COLUMN wake_time INTEGER DEFAULT 0;
      )sql",
  };
  return *kMigrations;
}

// The id of a workspace file name ("12.db", "12.db-wal", ...), if it is one.
std::optional<WorkspaceId> WorkspaceFileId(absl::string_view name) {
  const size_t dot = name.find(".db");
  if (dot == 0 || dot == absl::string_view::npos) return std::nullopt;
  const absl::string_view suffix = name.substr(dot + 3);
  if (suffix != "" && suffix != "-wal" && suffix != "-shm" &&
      suffix != "-journal") {
    return std::nullopt;
  }
  const absl::string_view digits = name.substr(0, dot);
  for (char c : digits) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
  }
  uint64_t id = 0;
  if (!absl::SimpleAtoi(digits, &id) || id == 0 || id > kMaxStoredUint) {
    return std::nullopt;
  }
  return id;
}

// The workspace files in `dir`, by id; names sorted.
absl::StatusOr<std::map<WorkspaceId, std::vector<std::string>>>
ListWorkspaceFiles(const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  std::sort(names.begin(), names.end());
  std::map<WorkspaceId, std::vector<std::string>> out;
  for (std::string& name : names) {
    if (std::optional<WorkspaceId> id = WorkspaceFileId(name)) {
      out[*id].push_back(std::move(name));
    }
  }
  return out;
}

// The refusal to start over workspace files the catalog does not list.
absl::Status UnknownFilesError(
    const std::string& data_dir, absl::string_view why,
    const std::map<WorkspaceId, std::vector<std::string>>& files) {
  constexpr size_t kMaxNamed = 20;
  std::vector<std::string> named;
  size_t total = 0;
  for (const auto& [id, names] : files) {
    for (const std::string& name : names) {
      if (++total <= kMaxNamed) named.push_back("workspaces/" + name);
    }
  }
  std::string list = absl::StrJoin(named, ", ");
  if (total > kMaxNamed)
    absl::StrAppend(&list, " and ", total - kMaxNamed, " more");
  return absl::FailedPreconditionError(absl::StrCat(
      "data directory ", data_dir,
      " holds workspace files that catalog.db does not list (", why,
      "): ", list,
      ". Refusing to start, so that no new workspace can take over their "
      "data: restore the catalog.db that lists them, or move these files out "
      "of ",
      data_dir, "/workspaces"));
}

}  // namespace

struct SqliteCatalogStore::Statements {
  std::unique_ptr<SqliteStatement> load;
  std::unique_ptr<SqliteStatement> put;
  std::unique_ptr<SqliteStatement> remove;
  std::unique_ptr<SqliteStatement> add_tombstone;
  std::unique_ptr<SqliteStatement> remove_tombstone;
  std::unique_ptr<SqliteStatement> put_next_id;
  std::unique_ptr<SqliteStatement> put_wake_time;
};

int SqliteCatalogStore::SchemaVersion() {
  return static_cast<int>(Migrations().size());
}

absl::StatusOr<std::unique_ptr<SqliteCatalogStore>> SqliteCatalogStore::Open(
    const std::string& data_dir, const SqliteOptions& options) {
  RETURN_IF_ERROR(MakePrivateDir(data_dir));
  RETURN_IF_ERROR(MakePrivateDir(data_dir + "/workspaces"));
  ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock,
                   FileLock::Acquire(data_dir + "/LOCK"));
  RETURN_IF_ERROR(RestrictToOwner(data_dir + "/LOCK"));
  const std::string catalog_path = data_dir + "/catalog.db";
  absl::StatusOr<uint64_t> catalog_size = FileSize(catalog_path);
  if (!catalog_size.ok() && !absl::IsNotFound(catalog_size.status())) {
    return catalog_size.status();
  }
  if (!catalog_size.ok() || *catalog_size == 0) {
    // A new catalog, or a lost one: nothing in workspaces/ may be adopted.
    ASSIGN_OR_RETURN(auto files, ListWorkspaceFiles(data_dir + "/workspaces"));
    if (!files.empty()) {
      return UnknownFilesError(
          data_dir,
          catalog_size.ok() ? "catalog.db is empty" : "catalog.db is missing",
          files);
    }
    // A WAL without its database must not be replayed into a new one.
    RETURN_IF_ERROR(RemoveFileIfExists(catalog_path + "-wal"));
    RETURN_IF_ERROR(RemoveFileIfExists(catalog_path + "-shm"));
    if (!catalog_size.ok()) RETURN_IF_ERROR(CreatePrivateFile(catalog_path));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    RETURN_IF_ERROR(RestrictToOwner(catalog_path + suffix));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteDb> db,
      OpenAndMigrate(catalog_path, options, kCatalogAppId, Migrations()));
  // New directory entries (catalog.db, workspaces/) must survive power loss.
  RETURN_IF_ERROR(SyncDir(data_dir));

  auto s = std::make_unique<Statements>();
  ASSIGN_OR_RETURN(s->load,
                   db->Prepare("SELECT id, display_name, plan, key_hash, "
                               "create_time, wake_time FROM workspaces "
                               "ORDER BY id"));
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
  ASSIGN_OR_RETURN(
      s->put_wake_time,
      db->Prepare("UPDATE workspaces SET wake_time = ?2 WHERE id = ?1"));
  ASSIGN_OR_RETURN(s->put_next_id,
                   db->Prepare("INSERT INTO meta (key, value) VALUES "
                               "('next_workspace_id', ?1) ON CONFLICT (key) "
                               "DO UPDATE SET value = excluded.value"));
  // A lost row counts as 1: CheckWorkspaceFiles raises it above every id
  // still in the catalog or in workspaces/.
  ASSIGN_OR_RETURN(const int64_t stored_next_id,
                   db->QueryInt("SELECT IFNULL((SELECT value FROM meta WHERE "
                                "key = 'next_workspace_id'), 1)"));
  if (stored_next_id < 1 ||
      static_cast<uint64_t>(stored_next_id) > kMaxStoredUint) {
    return absl::DataLossError(
        absl::StrCat(catalog_path, ": next_workspace_id ", stored_next_id,
                     " is out of range"));
  }

  // One pool of checkpoint threads for every workspace it opens.
  SqliteOptions workspace_options = options;
  if (workspace_options.checkpoint_pool == nullptr) {
    workspace_options.checkpoint_pool = std::make_shared<CheckpointPool>();
  }
  std::unique_ptr<SqliteCatalogStore> store(
      new SqliteCatalogStore(data_dir, workspace_options, std::move(lock),
                             std::move(db), std::move(s)));
  {
    absl::MutexLock l(&store->mu_);
    store->next_id_ = static_cast<WorkspaceId>(stored_next_id);
    RETURN_IF_ERROR(store->RemovePendingDeletions());
    RETURN_IF_ERROR(store->CheckWorkspaceFiles());
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

absl::StatusOr<std::vector<LoadedWorkspaceRecord>>
SqliteCatalogStore::LoadWorkspaces() {
  absl::MutexLock l(&mu_);
  std::vector<LoadedWorkspaceRecord> out;
  SqliteStatement& s = *stmts_->load;
  SqliteStatement::Scope scope(s);
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    const int64_t id = s.ColumnInt(0);
    const int64_t plan = s.ColumnInt(2);
    if (id < 1) {
      return absl::DataLossError(absl::StrCat(
          db_->path(), ": workspaces row id=", id, ": id is out of range"));
    }
    LoadedWorkspaceRecord& loaded = out.emplace_back();
    WorkspaceRecord& w = loaded.record;
    w.id = static_cast<WorkspaceId>(id);
    w.display_name = std::string(s.ColumnText(1));
    w.key_hash = std::string(s.ColumnBlob(3));
    w.create_time = s.ColumnInt(4);
    CompleteLoadedWorkspace(plan,
                            s.ColumnIsNull(5)
                                ? std::nullopt
                                : std::optional<int64_t>(s.ColumnInt(5)),
                            "catalog.db", &loaded);
  }
  return out;
}

absl::Status SqliteCatalogStore::PutWorkspace(const WorkspaceRecord& record) {
  if (std::string p = WorkspaceProblem(record); !p.empty()) {
    return absl::InternalError(
        absl::StrCat("refusing to store workspace ", record.id, ": ", p));
  }
  absl::MutexLock l(&mu_);
  // The record and the end of a creation's tombstone commit together.
  SqliteTransaction txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  SqliteStatement& s = *stmts_->put;
  s.BindInt(1, static_cast<int64_t>(record.id));
  s.BindText(2, record.display_name);
  s.BindInt(3, static_cast<int>(record.plan));
  s.BindBlob(4, record.key_hash);
  s.BindInt(5, record.create_time);
  RETURN_IF_ERROR(s.Run());
  stmts_->remove_tombstone->BindInt(1, static_cast<int64_t>(record.id));
  RETURN_IF_ERROR(stmts_->remove_tombstone->Run());
  RETURN_IF_ERROR(txn.Commit());
  next_id_ = std::max(next_id_, record.id + 1);
  return absl::OkStatus();
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

absl::Status SqliteCatalogStore::PutWakeTimes(
    const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
        wake_times) {
  if (wake_times.empty()) return absl::OkStatus();
  absl::MutexLock l(&mu_);
  SqliteTransaction txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  SqliteStatement& s = *stmts_->put_wake_time;
  for (const auto& [id, wake] : wake_times) {
    if (id == 0 || id > kMaxStoredUint) continue;  // cannot exist
    s.BindInt(1, static_cast<int64_t>(id));
    if (wake.has_value()) {
      s.BindInt(2, *wake);
    } else {
      s.BindNull(2);
    }
    RETURN_IF_ERROR(s.Run());
  }
  return txn.Commit();
}

absl::StatusOr<NewWorkspaceStore> SqliteCatalogStore::CreateWorkspaceStore() {
  absl::MutexLock l(&mu_);
  if (next_id_ > kMaxStoredUint) {
    return absl::ResourceExhaustedError("no workspace id is left");
  }
  const WorkspaceId id = next_id_;
  const std::string path = WorkspacePath(id);
  if (FileExists(path)) {
    // Not ours to open: skip the id, leave the file for an operator (the
    // next Open refuses to start over it).
    RETURN_IF_ERROR(StoreNextId(id + 1, 0));
    return absl::FailedPreconditionError(
        absl::StrCat("the file workspaces/", id,
                     ".db exists but the catalog does not list workspace ", id,
                     "; the id is skipped and the file left alone (an "
                     "operator should look at it)"));
  }
  RETURN_IF_ERROR(StoreNextId(id + 1, id));
  // A WAL without its database must not be replayed into the new one.
  absl::Status created = RemoveWorkspaceFiles(id);
  absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> store;
  if (created.ok()) {
    store = SqliteWorkspaceStore::Create(path, options_, id);
    created = store.status();
  }
  if (created.ok()) created = SyncDir(data_dir_ + "/workspaces");
  if (!created.ok()) {
    store = nullptr;
    // The tombstone finishes the removal at the next Open if this fails.
    RemoveWorkspaceFiles(id).IgnoreError();
    return created;
  }
  NewWorkspaceStore out;
  out.id = id;
  out.store = *std::move(store);
  return out;
}

absl::StatusOr<std::unique_ptr<WorkspaceStore>>
SqliteCatalogStore::OpenWorkspace(WorkspaceId id) {
  if (id == 0 || id > kMaxStoredUint) {
    return absl::InvalidArgumentError(
        absl::StrCat("workspace id ", id, " is out of range"));
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<SqliteWorkspaceStore> store,
      SqliteWorkspaceStore::OpenExisting(WorkspacePath(id), options_, id));
  return std::unique_ptr<WorkspaceStore>(std::move(store));
}

absl::Status SqliteCatalogStore::StoreNextId(WorkspaceId next,
                                             WorkspaceId tombstone) {
  SqliteTransaction txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  stmts_->put_next_id->BindInt(1, static_cast<int64_t>(next));
  RETURN_IF_ERROR(stmts_->put_next_id->Run());
  if (tombstone != 0) {
    stmts_->add_tombstone->BindInt(1, static_cast<int64_t>(tombstone));
    RETURN_IF_ERROR(stmts_->add_tombstone->Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  next_id_ = next;
  return absl::OkStatus();
}

absl::Status SqliteCatalogStore::CheckWorkspaceFiles() {
  ASSIGN_OR_RETURN(auto files, ListWorkspaceFiles(data_dir_ + "/workspaces"));
  // Listed workspaces, and tombstoned ones whose removal is still pending
  // (their files are ours; the next Open retries).
  std::set<WorkspaceId> known;
  {
    ASSIGN_OR_RETURN(auto stmt,
                     db_->Prepare("SELECT id FROM workspaces UNION "
                                  "SELECT id FROM deleted_workspaces"));
    SqliteStatement::Scope scope(*stmt);
    while (true) {
      ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      const int64_t id = stmt->ColumnInt(0);
      if (id > 0) known.insert(static_cast<WorkspaceId>(id));
    }
  }
  WorkspaceId next = next_id_;
  for (WorkspaceId id : known) next = std::max(next, id + 1);
  std::map<WorkspaceId, std::vector<std::string>> unknown;
  for (auto& [id, names] : files) {
    next = std::max(next, id + 1);
    if (known.count(id) == 0) unknown[id] = std::move(names);
  }
  if (!unknown.empty()) {
    return UnknownFilesError(
        data_dir_, "was catalog.db replaced, or restored from an older backup?",
        unknown);
  }
  if (next != next_id_) RETURN_IF_ERROR(StoreNextId(next, 0));
  return absl::OkStatus();
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
