#include "storage/postgres/pg_leases.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"

namespace segments {

PgLeases::PgLeases(std::shared_ptr<PgPool> pool, std::string node_id,
                   absl::Duration ttl, bool renew)
    : pool_(std::move(pool)), node_id_(std::move(node_id)), ttl_(ttl) {
  if (renew) renewer_ = std::thread([this] { RenewLoop(); });
}

PgLeases::~PgLeases() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (renewer_.joinable()) renewer_.join();
}

absl::StatusOr<int64_t> PgLeases::Take(WorkspaceId id) {
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  p.Bytes(node_id_);
  p.Int(absl::ToInt64Milliseconds(ttl_));
  // A lease this node already holds keeps its epoch (a reopen); a free or
  // expired one goes up by one.
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Query(
          "INSERT INTO workspace_leases (workspace_id, owner, epoch, "
          "expires_at) VALUES ($1, $2, 1, "
          "clock_timestamp() + $3 * interval '1 millisecond') "
          "ON CONFLICT (workspace_id) DO UPDATE SET owner = excluded.owner, "
          "epoch = workspace_leases.epoch + CASE WHEN workspace_leases.owner "
          "= excluded.owner AND workspace_leases.expires_at > "
          "clock_timestamp() THEN 0 ELSE 1 END, expires_at = "
          "excluded.expires_at WHERE workspace_leases.owner = excluded.owner "
          "OR workspace_leases.expires_at <= clock_timestamp() "
          "RETURNING epoch",
          p));
  if (r.rows() == 0) {
    ASSIGN_OR_RETURN(PgResult owner,
                     conn->Query("SELECT owner FROM workspace_leases "
                                 "WHERE workspace_id = $1",
                                 [&] {
                                   PgParams q;
                                   q.Int(static_cast<int64_t>(id));
                                   return q;
                                 }()));
    return WithStorageFailure(
        absl::UnavailableError(absl::StrCat(
            "workspace ", id, " is served by node ",
            owner.rows() > 0 ? std::string(owner.Bytes(0, 0)) : "(gone)",
            "; retry")),
        StorageFailure::kBusy);
  }
  const int64_t epoch = r.Int(0, 0);
  absl::MutexLock l(&mu_);
  held_[id] = epoch;
  return epoch;
}

absl::Status PgLeases::TakeNew(PgConn* conn, WorkspaceId id) {
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  p.Bytes(node_id_);
  p.Int(absl::ToInt64Milliseconds(ttl_));
  RETURN_IF_ERROR(
      conn->Query("INSERT INTO workspace_leases (workspace_id, owner, epoch, "
                  "expires_at) VALUES ($1, $2, 1, "
                  "clock_timestamp() + $3 * interval '1 millisecond')",
                  p)
          .status());
  absl::MutexLock l(&mu_);
  held_[id] = 1;
  return absl::OkStatus();
}

void PgLeases::Release(WorkspaceId id, int64_t epoch) {
  {
    absl::MutexLock l(&mu_);
    auto it = held_.find(id);
    if (it != held_.end() && it->second == epoch) held_.erase(it);
  }
  absl::StatusOr<PgPool::Lease> conn = pool_->Acquire();
  if (!conn.ok()) return;  // it lapses by itself
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  p.Bytes(node_id_);
  p.Int(epoch);
  (*conn)
      ->Query(
          "UPDATE workspace_leases SET expires_at = clock_timestamp() "
          "WHERE workspace_id = $1 AND owner = $2 "
          "AND epoch = $3",
          p)
      .status()
      .IgnoreError();
}

absl::Status PgLeases::RenewNow() {
  std::vector<int64_t> ids;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, epoch] : held_) {
      ids.push_back(static_cast<int64_t>(id));
    }
  }
  if (ids.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgParams p;
  p.Bytes(node_id_);
  p.Int(absl::ToInt64Milliseconds(ttl_));
  p.IntArray(ids);
  // Only unexpired leases are renewed: one that lapsed may already be
  // another node's, and this node must not take it back by renewing.
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Query("UPDATE workspace_leases SET expires_at = clock_timestamp() "
                  "+ $2 * interval '1 millisecond' WHERE owner = "
                  "$1 AND workspace_id = ANY($3) AND "
                  "expires_at > clock_timestamp() RETURNING workspace_id",
                  p));
  absl::flat_hash_map<WorkspaceId, bool> renewed;
  for (int i = 0; i < r.rows(); ++i) {
    renewed[static_cast<WorkspaceId>(r.Int(i, 0))] = true;
  }
  absl::MutexLock l(&mu_);
  // A lease not renewed is lost: its store's commits fail the fence.
  for (auto it = held_.begin(); it != held_.end();) {
    if (renewed.count(it->first) == 0) {
      held_.erase(it++);
    } else {
      ++it;
    }
  }
  return absl::OkStatus();
}

void PgLeases::RenewLoop() {
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto stopping = [this]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), ttl_ / 3)) return;
    }
    RenewNow().IgnoreError();  // retried next period; fencing stays exact
  }
}

}  // namespace segments
