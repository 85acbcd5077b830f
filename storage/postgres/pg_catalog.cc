#include "storage/postgres/pg_catalog.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "storage/postgres/pg_schema.h"
#include "storage/postgres/pg_workspace_store.h"
#include "storage/record_checks.h"

namespace segments {
namespace {

// Deletes every row of workspace `id` (inside the caller's transaction).
absl::Status DeleteWorkspaceRows(PgConn* conn, WorkspaceId id) {
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  for (const char* table : PgWorkspaceTables()) {
    RETURN_IF_ERROR(conn->Query(absl::StrCat("DELETE FROM ", table,
                                             " WHERE workspace_id = $1"),
                                p)
                        .status());
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<const char*>& PgWorkspaceTables() {
  static const auto* const kTables = new std::vector<const char*>{
      "contacts",    "segments",         "snapshots",
      "change_runs", "workspace_leases", "workspace_state"};
  return *kTables;
}

absl::StatusOr<std::unique_ptr<PgCatalogStore>> PgCatalogStore::Open(
    const PgOptions& options) {
  auto pool = std::make_shared<PgPool>(options.conninfo, options.pool_size);
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool->Acquire());
    RETURN_IF_ERROR(MigratePgSchema(conn.get()));
  }
  std::shared_ptr<PgLeases> leases;
  if (!options.node_id.empty()) {
    leases = std::make_shared<PgLeases>(
        pool, options.node_id, options.lease_ttl, options.renew_leases);
  }
  std::unique_ptr<PgCatalogStore> store(
      new PgCatalogStore(std::move(pool), std::move(leases)));
  RETURN_IF_ERROR(store->RemoveProvisional());
  return store;
}

absl::Status PgCatalogStore::RemoveProvisional() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Query("SELECT workspace_id FROM workspace_state s "
                               "WHERE provisional AND workspace_id NOT IN "
                               "(SELECT id FROM workspaces) AND NOT EXISTS "
                               "(SELECT 1 FROM workspace_leases l WHERE "
                               "l.workspace_id = s.workspace_id AND "
                               "l.expires_at > clock_timestamp()) "
                               "FOR UPDATE"));
  for (int i = 0; i < r.rows(); ++i) {
    RETURN_IF_ERROR(
        DeleteWorkspaceRows(conn.get(), static_cast<WorkspaceId>(r.Int(i, 0))));
  }
  return txn.Commit();
}

// The columns DecodeWorkspaceRow reads, in its order.
constexpr char kWorkspaceColumns[] =
    "id, display_name, plan, key_hash, create_time, wake_time";

// Row `i` of `r` (kWorkspaceColumns) as a loaded record; DATA_LOSS for an
// id out of range (the row cannot even name its workspace).
absl::StatusOr<LoadedWorkspaceRecord> DecodeWorkspaceRow(const PgResult& r,
                                                         int i) {
  const int64_t id = r.Int(i, 0);
  const int64_t plan = r.Int(i, 2);
  if (id < 1) {
    return absl::DataLossError(absl::StrCat(
        "PostgreSQL: workspaces row id=", id, ": id is out of range"));
  }
  LoadedWorkspaceRecord loaded;
  WorkspaceRecord& w = loaded.record;
  w.id = static_cast<WorkspaceId>(id);
  w.display_name = std::string(r.Bytes(i, 1));
  w.key_hash = std::string(r.Bytes(i, 3));
  w.create_time = r.Int(i, 4);
  CompleteLoadedWorkspace(
      plan, r.IsNull(i, 5) ? std::nullopt : std::optional<int64_t>(r.Int(i, 5)),
      "PostgreSQL", &loaded);
  return loaded;
}

absl::StatusOr<std::vector<LoadedWorkspaceRecord>>
PgCatalogStore::LoadWorkspaces() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Query(absl::StrCat("SELECT ", kWorkspaceColumns,
                                            " FROM workspaces ORDER BY id")));
  std::vector<LoadedWorkspaceRecord> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(LoadedWorkspaceRecord loaded, DecodeWorkspaceRow(r, i));
    out.push_back(std::move(loaded));
  }
  return out;
}

absl::StatusOr<std::optional<LoadedWorkspaceRecord>>
PgCatalogStore::LoadWorkspace(WorkspaceId id) {
  if (id == 0 || id > kMaxStoredUint) return std::nullopt;  // cannot exist
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Query(absl::StrCat("SELECT ", kWorkspaceColumns,
                                            " FROM workspaces WHERE id = $1"),
                               p));
  if (r.rows() == 0) return std::nullopt;
  ASSIGN_OR_RETURN(LoadedWorkspaceRecord loaded, DecodeWorkspaceRow(r, 0));
  return std::optional<LoadedWorkspaceRecord>(std::move(loaded));
}

absl::StatusOr<std::optional<LoadedWorkspaceRecord>>
PgCatalogStore::FindWorkspaceByKeyHash(std::string_view key_hash) {
  if (key_hash.empty()) return std::nullopt;  // no key authenticates
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgParams p;
  p.Bytes(key_hash);
  // workspaces_by_key_hash (schema step 3); two rows would be two
  // workspaces with one key: the lowest id answers, and the registry finds
  // the other damaged when it reads it.
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Query(absl::StrCat("SELECT ", kWorkspaceColumns,
                               " FROM workspaces WHERE key_hash = $1 "
                               "ORDER BY id LIMIT 1"),
                  p));
  if (r.rows() == 0) return std::nullopt;
  ASSIGN_OR_RETURN(LoadedWorkspaceRecord loaded, DecodeWorkspaceRow(r, 0));
  return std::optional<LoadedWorkspaceRecord>(std::move(loaded));
}

absl::StatusOr<std::vector<WorkspaceId>> PgCatalogStore::UnownedDueWorkspaces(
    UnixSeconds now, size_t limit) {
  if (leases_ == nullptr) return std::vector<WorkspaceId>{};
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgParams p;
  p.Int(now);
  p.Int(static_cast<int64_t>(std::min<size_t>(limit, INT32_MAX)));
  // Open workspaces store kWakeAtOnce (0) and hold a live lease: the join
  // leaves them out; a dead node's have a lapsed lease and are due at once.
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Query("SELECT w.id FROM workspaces w LEFT JOIN workspace_leases l "
                  "ON l.workspace_id = w.id WHERE w.wake_time <= $1 AND "
                  "(l.workspace_id IS NULL OR l.expires_at <= "
                  "clock_timestamp()) ORDER BY w.wake_time, w.id LIMIT $2",
                  p));
  std::vector<WorkspaceId> due;
  due.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    due.push_back(static_cast<WorkspaceId>(r.Int(i, 0)));
  }
  return due;
}

void PgCatalogStore::SetOwnershipLostHandler(
    std::function<void(WorkspaceId)> lost) {
  if (leases_ != nullptr) leases_->SetLostHandler(std::move(lost));
}

void PgCatalogStore::SetOwnershipWantedHandler(
    std::function<void(WorkspaceId)> wanted) {
  if (leases_ != nullptr) leases_->SetWantedHandler(std::move(wanted));
}

absl::Duration PgCatalogStore::OwnershipRetryDelay() const {
  return leases_ != nullptr ? leases_->ttl() / 3 : absl::Seconds(1);
}

absl::Status PgCatalogStore::PutWorkspace(const WorkspaceRecord& record) {
  if (std::string p = WorkspaceProblem(record); !p.empty()) {
    return absl::InternalError(
        absl::StrCat("refusing to store workspace ", record.id, ": ", p));
  }
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  PgParams p;
  p.Int(static_cast<int64_t>(record.id));
  p.Bytes(record.display_name);
  p.Int(static_cast<int>(record.plan));
  p.Bytes(record.key_hash);
  p.Int(record.create_time);
  RETURN_IF_ERROR(
      conn->Query("INSERT INTO workspaces (id, display_name, plan, key_hash, "
                  "create_time) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) "
                  "DO UPDATE SET display_name = excluded.display_name, plan = "
                  "excluded.plan, key_hash = excluded.key_hash, create_time = "
                  "excluded.create_time",
                  p)
          .status());
  PgParams id;
  id.Int(static_cast<int64_t>(record.id));
  // The end of the creation, and no later id below this one.
  RETURN_IF_ERROR(conn->Query("UPDATE workspace_state SET provisional = false "
                              "WHERE workspace_id = $1",
                              id)
                      .status());
  RETURN_IF_ERROR(
      conn->Query("UPDATE catalog_meta SET value = GREATEST(value, $1 + 1) "
                  "WHERE key = 'next_workspace_id'",
                  id)
          .status());
  return txn.Commit();
}

absl::Status PgCatalogStore::DeleteWorkspace(WorkspaceId id) {
  if (id == 0 || id > kMaxStoredUint) return absl::OkStatus();  // cannot exist
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  // The state row first: it waits for a commit in flight (which holds it
  // FOR UPDATE), and later commits find it gone.
  RETURN_IF_ERROR(conn->Query("SELECT 1 FROM workspace_state WHERE "
                              "workspace_id = $1 FOR UPDATE",
                              p)
                      .status());
  RETURN_IF_ERROR(
      conn->Query("DELETE FROM workspaces WHERE id = $1", p).status());
  RETURN_IF_ERROR(DeleteWorkspaceRows(conn.get(), id));
  return txn.Commit();
}

absl::Status PgCatalogStore::PutWakeTimes(
    const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
        wake_times) {
  if (wake_times.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  for (const auto& [id, wake] : wake_times) {
    if (id == 0 || id > kMaxStoredUint) continue;  // cannot exist
    PgParams p;
    p.Int(static_cast<int64_t>(id));
    if (wake.has_value()) {
      p.Int(*wake);
    } else {
      p.NullInt();
    }
    if (leases_ == nullptr || wake == kWakeAtOnce) {
      // kWakeAtOnce needs no lease: at worst it wakes a workspace early,
      // and an open only applies what is due.
      RETURN_IF_ERROR(
          conn->Query("UPDATE workspaces SET wake_time = $2 WHERE id = $1", p)
              .status());
      continue;
    }
    // Fenced: a later wake time only from the node holding the lease, so a
    // node that lost it cannot put off the flips of the next owner's data.
    // (Nothing stored otherwise: the row keeps kWakeAtOnce or the owner's.)
    p.Bytes(leases_->node_id());
    RETURN_IF_ERROR(
        conn->Query("UPDATE workspaces SET wake_time = $2 WHERE id = $1 AND "
                    "EXISTS (SELECT 1 FROM workspace_leases WHERE "
                    "workspace_id = $1 AND owner = $3 AND expires_at > "
                    "clock_timestamp())",
                    p)
            .status());
  }
  return txn.Commit();
}

absl::StatusOr<NewWorkspaceStore> PgCatalogStore::CreateWorkspaceStore() {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgTransaction txn(conn.get());
  RETURN_IF_ERROR(txn.Begin());
  // The row lock serializes creations of every node.
  ASSIGN_OR_RETURN(PgResult r,
                   conn->Query("UPDATE catalog_meta SET value = value + 1 "
                               "WHERE key = 'next_workspace_id' "
                               "RETURNING value - 1"));
  if (r.rows() != 1 || r.Int(0, 0) < 1) {
    return absl::DataLossError(
        "PostgreSQL: catalog_meta lacks a valid "
        "next_workspace_id");
  }
  const WorkspaceId id = static_cast<WorkspaceId>(r.Int(0, 0));
  if (id > kMaxStoredUint - 1) {
    return absl::ResourceExhaustedError("no workspace id is left");
  }
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  RETURN_IF_ERROR(conn->Query("INSERT INTO workspace_state (workspace_id, "
                              "provisional) VALUES ($1, true)",
                              p)
                      .status());
  // With leases, the creator holds the new workspace's lease (another
  // node's start then leaves the provisional workspace alone).
  if (leases_ != nullptr) RETURN_IF_ERROR(leases_->TakeNew(conn.get(), id));
  RETURN_IF_ERROR(txn.Commit());
  NewWorkspaceStore out;
  out.id = id;
  out.store = std::make_unique<PgWorkspaceStore>(pool_, id, leases_,
                                                 leases_ != nullptr ? 1 : 0);
  return out;
}

absl::StatusOr<std::unique_ptr<WorkspaceStore>> PgCatalogStore::OpenWorkspace(
    WorkspaceId id) {
  if (id == 0 || id > kMaxStoredUint) {
    return absl::InvalidArgumentError(
        absl::StrCat("workspace id ", id, " is out of range"));
  }
  bool exists = false;
  {
    ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
    PgParams p;
    p.Int(static_cast<int64_t>(id));
    ASSIGN_OR_RETURN(
        PgResult r,
        conn->Query("SELECT 1 FROM workspace_state WHERE workspace_id = $1",
                    p));
    exists = r.rows() > 0;
  }  // the connection back to the pool before Take takes one
  if (!exists) {
    return absl::DataLossError(absl::StrCat(
        "PostgreSQL holds no data of workspace ", id,
        " (its workspace_state row is missing): its data is lost"));
  }
  if (leases_ == nullptr) {
    return std::unique_ptr<WorkspaceStore>(
        std::make_unique<PgWorkspaceStore>(pool_, id));
  }
  ASSIGN_OR_RETURN(const int64_t epoch, leases_->Take(id));
  return std::unique_ptr<WorkspaceStore>(
      std::make_unique<PgWorkspaceStore>(pool_, id, leases_, epoch));
}

absl::Status PgCommitProbe(const std::string& conninfo) {
  constexpr absl::Duration kProbeTimeout = absl::Seconds(5);
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn,
                   PgConn::Connect(conninfo, {{"connect_timeout", "5"}}));
  return conn
      ->QueryWithin(
          "UPDATE segments_schema SET version = version "
          "WHERE app = 'segments'",
          PgParams(), kProbeTimeout)
      .status();
}

}  // namespace segments
