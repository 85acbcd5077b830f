#include "storage/postgres/pg_leases.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"

namespace segments {

PgLeases::PgLeases(std::shared_ptr<PgPool> pool, std::string node_id,
                   absl::Duration ttl, bool renew)
    : pool_(std::move(pool)),
      node_id_(std::move(node_id)),
      ttl_(ttl),
      renew_(renew) {
  renewer_ = std::thread([this] { RenewLoop(); });
}

PgLeases::~PgLeases() {
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  if (renewer_.joinable()) renewer_.join();
}

void PgLeases::SetLostHandler(std::function<void(WorkspaceId)> lost) {
  absl::MutexLock l(&handler_mu_);
  lost_handler_ = std::move(lost);
}

void PgLeases::SetWantedHandler(std::function<void(WorkspaceId)> wanted) {
  absl::MutexLock l(&handler_mu_);
  wanted_handler_ = std::move(wanted);
}

void PgLeases::Report(const std::vector<WorkspaceId>& ids,
                      std::function<void(WorkspaceId)> PgLeases::*handler) {
  if (ids.empty()) return;
  absl::MutexLock l(&handler_mu_);
  const std::function<void(WorkspaceId)>& f = this->*handler;
  if (!f) return;
  for (WorkspaceId id : ids) f(id);
}

absl::StatusOr<int64_t> PgLeases::Take(WorkspaceId id) {
  const SteadyTime sent = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(PgPool::Lease conn, pool_->Acquire());
  PgParams p;
  p.Int(static_cast<int64_t>(id));
  p.Bytes(node_id_);
  p.Int(absl::ToInt64Milliseconds(ttl_));
  // A lease this node already holds keeps its epoch (a reopen) and its
  // wanted mark; a free or expired one goes up by one, unmarked.
  ASSIGN_OR_RETURN(
      PgResult r,
      conn->Query(
          "INSERT INTO workspace_leases (workspace_id, owner, epoch, "
          "expires_at) VALUES ($1, $2, 1, "
          "clock_timestamp() + $3 * interval '1 millisecond') "
          "ON CONFLICT (workspace_id) DO UPDATE SET owner = excluded.owner, "
          "epoch = workspace_leases.epoch + CASE WHEN workspace_leases.owner "
          "= excluded.owner AND workspace_leases.expires_at > "
          "clock_timestamp() THEN 0 ELSE 1 END, wanted_by = CASE WHEN "
          "workspace_leases.owner = excluded.owner AND "
          "workspace_leases.expires_at > clock_timestamp() THEN "
          "workspace_leases.wanted_by END, expires_at = "
          "excluded.expires_at WHERE workspace_leases.owner = excluded.owner "
          "OR workspace_leases.expires_at <= clock_timestamp() "
          "RETURNING epoch",
          p));
  if (r.rows() == 0) {
    // The holder hears at its next renewal that this node was asked.
    PgParams q;
    q.Int(static_cast<int64_t>(id));
    q.Bytes(node_id_);
    ASSIGN_OR_RETURN(PgResult owner,
                     conn->Query("UPDATE workspace_leases SET wanted_by = $2 "
                                 "WHERE workspace_id = $1 AND owner <> $2 "
                                 "RETURNING owner",
                                 q));
    // Not a storage failure: the call is for another node; its client
    // retries after about one renewal period (docs/scale-out.md).
    return WorkspaceNotOwnedError(
        id,
        absl::StrCat("is served by node ", owner.rows() > 0
                                               ? std::string(owner.Bytes(0, 0))
                                               : "(none: released meanwhile)"),
        ttl_ / 3);
  }
  const int64_t epoch = r.Int(0, 0);
  absl::MutexLock l(&mu_);
  held_[id] = Held{epoch, sent};
  return epoch;
}

absl::Status PgLeases::TakeNew(PgConn* conn, WorkspaceId id) {
  const SteadyTime sent = std::chrono::steady_clock::now();
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
  held_[id] = Held{1, sent};
  return absl::OkStatus();
}

void PgLeases::Release(WorkspaceId id, int64_t epoch) {
  {
    absl::MutexLock l(&mu_);
    auto it = held_.find(id);
    if (it != held_.end() && it->second.epoch == epoch) held_.erase(it);
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

absl::Status PgLeases::RenewNow() { return Renew(renew_); }

absl::StatusOr<PgResult> PgLeases::SendRenewal(
    const std::vector<int64_t>& ids) {
  const absl::Duration period = ttl_ / 3;
  if (renewal_conn_ == nullptr || !renewal_conn_->healthy()) {
    renewal_conn_.reset();
    // libpq's connect_timeout is whole seconds, at least 2.
    ASSIGN_OR_RETURN(
        renewal_conn_,
        PgConn::Connect(
            pool_->conninfo(),
            {{"connect_timeout", absl::StrCat(std::max<int64_t>(
                                     2, absl::ToInt64Seconds(absl::Ceil(
                                            period, absl::Seconds(1)))))}}));
  }
  PgParams p;
  p.Bytes(node_id_);
  p.Int(absl::ToInt64Milliseconds(ttl_));
  p.IntArray(ids);
  // Only unexpired leases are renewed: one that lapsed may already be
  // another node's, and this node must not take it back by renewing.
  return renewal_conn_->QueryWithin(
      "UPDATE workspace_leases SET expires_at = clock_timestamp() "
      "+ $2 * interval '1 millisecond' WHERE owner = "
      "$1 AND workspace_id = ANY($3) AND "
      "expires_at > clock_timestamp() "
      "RETURNING workspace_id, wanted_by IS NOT NULL",
      p, period);
}

absl::Status PgLeases::Renew(bool send) {
  absl::MutexLock round(&renew_mu_);
  const SteadyTime sent = std::chrono::steady_clock::now();
  absl::flat_hash_map<WorkspaceId, int64_t> asked;  // id -> epoch
  std::vector<int64_t> ids;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, held] : held_) {
      asked[id] = held.epoch;
      ids.push_back(static_cast<int64_t>(id));
    }
  }
  if (ids.empty()) return absl::OkStatus();
  absl::StatusOr<PgResult> r =
      send ? SendRenewal(ids) : absl::UnavailableError("renewals are off");
  // Judged from when the answer (or its absence) is known: a failed round
  // extended nothing, however long it took.
  const SteadyTime judged = std::chrono::steady_clock::now();
  absl::flat_hash_map<WorkspaceId, bool> renewed;  // id -> wanted
  if (r.ok()) {
    for (int i = 0; i < r->rows(); ++i) {
      renewed[static_cast<WorkspaceId>(r->Int(i, 0))] = r->Bool(i, 1);
    }
  }
  const auto ttl = absl::ToChronoNanoseconds(ttl_);
  const auto period = absl::ToChronoNanoseconds(ttl_ / 3);
  std::vector<WorkspaceId> lost, wanted;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, epoch] : asked) {
      auto it = held_.find(id);
      // Released or taken again meanwhile: not this round's to judge.
      if (it == held_.end() || it->second.epoch != epoch) continue;
      if (auto renewal = r.ok() ? renewed.find(id) : renewed.end();
          renewal != renewed.end()) {
        it->second.extended_at = sent;
        if (renewal->second) wanted.push_back(id);
        continue;
      }
      // A renewal that answered without it: lost (lapsed, or deleted). No
      // answer: lost once the next round would come after the ttl since
      // the last extension was sent, by this node's clock: the node stops
      // serving before the database's expiry (which counts from when that
      // extension arrived), so no other node serves it meanwhile.
      if (r.ok() || judged - it->second.extended_at >= ttl - period) {
        held_.erase(it);
        lost.push_back(id);
      }
    }
  }
  // Its store's commits fail the fence; the handler stops serving it.
  Report(lost, &PgLeases::lost_handler_);
  Report(wanted, &PgLeases::wanted_handler_);
  return r.status();
}

void PgLeases::RenewLoop() {
  while (true) {
    {
      absl::MutexLock l(&mu_);
      auto stopping = [this]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), ttl_ / 3)) return;
    }
    // Retried next period; fencing stays exact.
    Renew(renew_).IgnoreError();
  }
}

}  // namespace segments
