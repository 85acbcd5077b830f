// The PostgreSQL CatalogStore (`--store postgres://...`): the catalog and
// every workspace's data in one database (pg_schema.h), reached through a
// pool of connections shared with the workspace stores it opens.
//
// Workspace ids are never reused: catalog_meta's next_workspace_id is taken
// and raised in the transaction that creates the new workspace's
// workspace_state row (provisional until PutWorkspace stores its record in
// the same transaction that clears the flag). Open removes the data of
// provisional workspaces a crash left behind; DeleteWorkspace removes the
// record and all of the workspace's rows in one transaction, so unlike the
// SQLite catalog there is nothing to finish at the next start. A store
// still open on a deleted workspace fails its later commits with
// FAILED_PRECONDITION (its workspace_state row is gone).
//
// Thread-safety: thread-safe.
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_CATALOG_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_CATALOG_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/store/store.h"
#include "storage/postgres/pg_conn.h"
#include "storage/postgres/pg_leases.h"

namespace segments {

struct PgOptions {
  // A libpq connection string or URI: "postgres://user@host/db",
  // "host=/run/postgresql dbname=segments".
  std::string conninfo;
  // Connections to the database, shared by the catalog and its workspaces.
  int pool_size = 8;
  // This node's name in workspace_leases (docs/scale-out.md). Empty: no
  // leases (one node, as with SQLite). Else a workspace's store is handed
  // out only with its lease, and every commit is fenced by it.
  std::string node_id;
  absl::Duration lease_ttl = absl::Seconds(10);
  // Renew held leases every lease_ttl / 3 (off: tests of a paused node).
  bool renew_leases = true;
};

class PgCatalogStore : public CatalogStore {
 public:
  // Connects, migrates the schema (pg_schema.h) and removes provisional
  // workspaces. UNAVAILABLE when the database cannot be reached;
  // FAILED_PRECONDITION when its schema is newer than this binary's.
  static absl::StatusOr<std::unique_ptr<PgCatalogStore>> Open(
      const PgOptions& options);

  absl::StatusOr<std::vector<LoadedWorkspaceRecord>> LoadWorkspaces() override;
  absl::Status PutWorkspace(const WorkspaceRecord& record) override;
  absl::Status DeleteWorkspace(WorkspaceId id) override;
  absl::Status PutWakeTimes(
      const std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>>&
          wake_times) override;
  // With leases, a wake time other than kWakeAtOnce is stored only while
  // this node holds the workspace's live lease (skipped otherwise).
  absl::StatusOr<NewWorkspaceStore> CreateWorkspaceStore() override;
  // DATA_LOSS when the workspace's data (its workspace_state row) is
  // missing; with leases, UNAVAILABLE when another node holds its lease.
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> OpenWorkspace(
      WorkspaceId id) override;

  // Ownership (store.h), with leases: shared, the lost and wanted handlers
  // called by the lease renewal (PgLeases::SetLostHandler,
  // SetWantedHandler), the retry delay one renewal period (ttl / 3), and
  // the due workspaces those with wake_time <= now and no live lease.
  // Without a node id: the defaults.
  bool Shared() const override { return leases_ != nullptr; }
  absl::StatusOr<std::optional<LoadedWorkspaceRecord>> LoadWorkspace(
      WorkspaceId id) override;
  absl::StatusOr<std::optional<LoadedWorkspaceRecord>> FindWorkspaceByKeyHash(
      std::string_view key_hash) override;
  void SetOwnershipLostHandler(std::function<void(WorkspaceId)> lost) override;
  void SetOwnershipWantedHandler(
      std::function<void(WorkspaceId)> wanted) override;
  absl::StatusOr<std::vector<WorkspaceId>> UnownedDueWorkspaces(
      UnixSeconds now, size_t limit) override;
  absl::Duration OwnershipRetryDelay() const override;

  PgPool* pool() { return pool_.get(); }
  // nullptr without a node_id.
  PgLeases* leases() { return leases_.get(); }

 private:
  PgCatalogStore(std::shared_ptr<PgPool> pool, std::shared_ptr<PgLeases> leases)
      : pool_(std::move(pool)), leases_(std::move(leases)) {}
  absl::Status RemoveProvisional();

  const std::shared_ptr<PgPool> pool_;
  const std::shared_ptr<PgLeases> leases_;
};

// "workspace_id, ..." tables holding a workspace's rows, workspace_state
// last.
const std::vector<const char*>& PgWorkspaceTables();

// One commit that changes nothing (a row of segments_schema updated to
// itself), on a connection of its own, answered within a few seconds:
// whether the database takes writes now (the server's storage health
// probe). UNAVAILABLE when it does not.
absl::Status PgCommitProbe(const std::string& conninfo);

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_CATALOG_H_
