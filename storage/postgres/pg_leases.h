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
// A node refused a lease marks it wanted (wanted_by): the holder hears of
// it at its next renewal (SetWantedHandler) and may give the workspace up,
// so that the node a proxy routes the workspace's calls to gets it. The
// mark goes when the lease changes hands.
//
// Thread-safety: thread-safe.
#ifndef SEGMENTS_STORAGE_POSTGRES_PG_LEASES_H_
#define SEGMENTS_STORAGE_POSTGRES_PG_LEASES_H_

#include <chrono>
#include <cstdint>
#include <functional>
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
  // Held leases are renewed every ttl / 3. `renew` false sends no
  // renewals, as if each failed (tests of a partitioned node): the leases
  // then lapse, and are reported lost, after a ttl.
  PgLeases(std::shared_ptr<PgPool> pool, std::string node_id,
           absl::Duration ttl, bool renew);
  ~PgLeases();  // stops renewing (does not release: stores do)

  // Called with a workspace id when this node lost its lease: a renewal
  // did not return it (it lapsed, or the workspace was deleted), or
  // renewals failed for long enough that the next would come after the
  // ttl, by this node's monotonic clock from when the last successful one
  // was sent (so before the database's expiry: another node cannot have
  // it yet). Runs on the renewal thread. nullptr: no calls; when it
  // returns, no call of the previous handler is running.
  void SetLostHandler(std::function<void(WorkspaceId)> lost);
  // Called with a workspace id, on the renewal thread, at every renewal
  // that finds another node was refused the lease this node holds (see
  // above); the same nullptr rule.
  void SetWantedHandler(std::function<void(WorkspaceId)> wanted);
  absl::Duration ttl() const { return ttl_; }

  // Takes workspace `id`'s lease for this node (free, expired, or already
  // this node's) and returns its epoch, one more than the last owner's.
  // UNAVAILABLE naming the owner when another node holds it; the lease is
  // then marked wanted by this node.
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
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Held {
    int64_t epoch = 0;
    // When the take or renewal that last extended it was sent.
    SteadyTime extended_at;
  };
  void RenewLoop();
  // Renews (unless `send` is false) and drops the leases that are lost.
  absl::Status Renew(bool send) ABSL_LOCKS_EXCLUDED(renew_mu_);
  // Sends one renewal of `ids` on the renewal connection, answered within
  // a renewal period (QueryWithin), so that a hung server or network
  // cannot keep the clock from judging the leases lost.
  absl::StatusOr<PgResult> SendRenewal(const std::vector<int64_t>& ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(renew_mu_);
  // Calls `handler` (lost_handler_ or wanted_handler_) with each id.
  void Report(const std::vector<WorkspaceId>& ids,
              std::function<void(WorkspaceId)> PgLeases::*handler)
      ABSL_LOCKS_EXCLUDED(mu_, handler_mu_);

  const std::shared_ptr<PgPool> pool_;
  const std::string node_id_;
  const absl::Duration ttl_;
  const bool renew_;

  // Held while a handler runs, so that setting one can wait it out.
  absl::Mutex handler_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::function<void(WorkspaceId)> lost_handler_ ABSL_GUARDED_BY(handler_mu_);
  std::function<void(WorkspaceId)> wanted_handler_ ABSL_GUARDED_BY(handler_mu_);
  // Serializes renewal rounds (the thread's and RenewNow's) and guards the
  // renewal's own connection: not the pool's, whose connections a hung
  // commit may all hold.
  absl::Mutex renew_mu_ ABSL_ACQUIRED_BEFORE(handler_mu_);
  std::unique_ptr<PgConn> renewal_conn_ ABSL_GUARDED_BY(renew_mu_);
  absl::Mutex mu_;
  // The leases this node holds, by workspace.
  absl::flat_hash_map<WorkspaceId, Held> held_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread renewer_;
};

}  // namespace segments

#endif  // SEGMENTS_STORAGE_POSTGRES_PG_LEASES_H_
