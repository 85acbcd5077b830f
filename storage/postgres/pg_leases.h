// Workspace leases (docs/scale-out.md): which node serves a workspace. A
// lease is a row of workspace_leases (owner, epoch, expires_at), taken
// before a workspace's store is handed out, renewed in the background, and
// released when the store goes. Every commit of a leased store is fenced
// by its epoch in the commit's own transaction (PgWorkspaceStore), so a
// node that lost its lease (paused, partitioned, or simply late) cannot
// write after another node took the workspace over.
//
// Times are the database's now(): nodes' clocks never compare.
//
// Thread-safety: thread-safe.
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_LEASES_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_LEASES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/base/ids.h"
#include "storage/postgres/pg_conn.h"

namespace segments {

class PgLeases {
 public:
  // `renew`: renew held leases every ttl / 3 (tests turn it off to play a
  // paused node).
  PgLeases(std::shared_ptr<PgPool> pool, std::string node_id,
           absl::Duration ttl, bool renew);
  ~PgLeases();  // stops renewing (does not release: stores do)

  // Takes workspace `id`'s lease for this node (free, expired, or already
  // this node's) and returns its epoch, one more than the last owner's.
  // UNAVAILABLE naming the owner when another node holds it.
  absl::StatusOr<int64_t> Take(WorkspaceId id);
  // Takes the lease of a workspace being created, inside `conn`'s open
  // transaction (epoch 1).
  absl::Status TakeNew(PgConn* conn, WorkspaceId id);
  // Ends this node's lease of `id` at `epoch` now (the next node need not
  // wait for the ttl); stops renewing it.
  void Release(WorkspaceId id, int64_t epoch);

  const std::string& node_id() const { return node_id_; }
  // One renewal round, as the background thread runs it (for tests).
  absl::Status RenewNow();

 private:
  void RenewLoop();

  const std::shared_ptr<PgPool> pool_;
  const std::string node_id_;
  const absl::Duration ttl_;

  absl::Mutex mu_;
  // The leases this node holds: workspace -> epoch.
  absl::flat_hash_map<WorkspaceId, int64_t> held_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread renewer_;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_LEASES_H_
