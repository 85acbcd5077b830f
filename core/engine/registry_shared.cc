// The registry over a catalog that other nodes share (CatalogStore::Shared,
// docs/scale-out.md): records read on demand, ownership lost, and the scan
// for due workspaces no node owns. The rest of the registry is registry.cc
// (and registry_keys.cc).
#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "core/engine/registry.h"

namespace segments {

absl::Status Registry::Discover(WorkspaceId id) {
  {
    absl::ReaderMutexLock l(&mu_);
    if (entries_.count(id) > 0) return absl::OkStatus();
  }
  // Created by another node since this one read the catalog.
  ASSIGN_OR_RETURN(std::optional<LoadedWorkspaceRecord> loaded,
                   catalog_->LoadWorkspace(id));
  if (loaded.has_value()) {
    absl::MutexLock l(&mu_);
    Adopt(*std::move(loaded));
  }
  return absl::OkStatus();
}

void Registry::Adopt(LoadedWorkspaceRecord loaded) {
  const WorkspaceId id = loaded.record.id;
  auto it = entries_.find(id);
  if (it != entries_.end()) {
    // Known: a closed one takes the record as stored now (an open one's is
    // this node's, the owner's).
    if (it->second.state == State::kClosed && loaded.problem.empty()) {
      UpdateRecord(it->second, loaded.record);
    }
    return;
  }
  Entry& e = entries_[id];
  e.record = std::move(loaded.record);
  if (!loaded.problem.empty()) {
    e.state = State::kFailed;
    e.load_error = absl::DataLossError(loaded.problem);
  } else {
    SetClosed(e, loaded.wake_time);
  }
  // A key another entry has (it was re-keyed elsewhere): left to the
  // entry that has it until that one is read again.
  if (!e.record.key_hash.empty())
    id_by_key_hash_.try_emplace(e.record.key_hash, id);
}

void Registry::UpdateRecord(Entry& e, const WorkspaceRecord& record) {
  const WorkspaceId id = e.record.id;
  if (record.key_hash != e.record.key_hash) {
    auto old = id_by_key_hash_.find(e.record.key_hash);
    if (old != id_by_key_hash_.end() && old->second == id) {
      id_by_key_hash_.erase(old);
    }
    if (!record.key_hash.empty()) id_by_key_hash_[record.key_hash] = id;
  }
  e.record = record;
}

void Registry::Forget(WorkspaceId id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Unwake(it->second);
  auto key = id_by_key_hash_.find(it->second.record.key_hash);
  if (key != id_by_key_hash_.end() && key->second == id) {
    id_by_key_hash_.erase(key);
  }
  entries_.erase(it);
}

void Registry::OnOwnershipLost(WorkspaceId id) {
  std::shared_ptr<Workspace> ws;
  {
    absl::MutexLock l(&mu_);
    auto it = entries_.find(id);
    // Opening or closing: that open fails its commits (the fence), and the
    // next loss report or open settles it.
    if (it == entries_.end() || it->second.state != State::kOpen) return;
    Entry& e = it->second;
    ws = std::move(e.workspace);
    --open_;
    open_memory_bytes_ -= e.memory_bytes;
    e.memory_bytes = 0;
    // Its wake time is the new owner's to store; the next open here stores
    // kWakeAtOnce again.
    SetClosed(e, std::nullopt);
    settled_.SignalAll();
  }
  // Feed streams resume on the node that serves it next, from their last
  // sequence (the log is in the shared store).
  ws->feed().Close(WorkspaceNotOwnedError(
      id, "is no longer served by this node (its ownership was lost)",
      catalog_->OwnershipRetryDelay()));
  // Calls in flight keep their hold until they end (their commits fail).
  ws.reset();
}

void Registry::OnOwnershipWanted(WorkspaceId id) {
  std::shared_ptr<Workspace> held;
  {
    absl::MutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.state != State::kOpen) return;
    Entry& e = it->second;
    // A call since the previous report: this node is still asked for it
    // too (a proxy's routing is moving, or a client calls this node
    // directly); it keeps it for now, and the other node retries.
    const uint64_t used = e.last_use.load(std::memory_order_relaxed);
    if (e.use_when_wanted != used) {
      e.use_when_wanted = used;
      return;
    }
    if (e.workspace.use_count() != 1) {
      held = e.workspace;
      e.leaving = true;
    }
  }
  if (held == nullptr) {
    CloseIfUnused(id);
    return;
  }
  // Held by streams (or a long call): it serves no new call (Leaving), its
  // feed streams end now, to resume on the node that is asked for it, and
  // the next report closes it once the holds are gone. (Closing it before
  // would let a new call here open a second engine under the same lease
  // beside the one still held.)
  held->feed().Close(Leaving(id));
}

absl::Status Registry::Leaving(WorkspaceId id) const {
  return WorkspaceNotOwnedError(
      id, "is moving to another node (calls for it go there now)",
      catalog_->OwnershipRetryDelay());
}

int64_t Registry::ScanSeconds() const {
  const int64_t ms = absl::ToInt64Milliseconds(catalog_->OwnershipRetryDelay());
  return std::max<int64_t>(1, (ms + 999) / 1000);
}

void Registry::OnScan() {
  // Wake-ups no node has queued: a dead node's sleeping workspaces, and
  // those whose owner stopped while they were open (kWakeAtOnce, lease
  // lapsed). Opening takes ownership (one node wins; the others are told
  // it is owned) and applies the flips due.
  absl::StatusOr<std::vector<WorkspaceId>> due =
      catalog_->UnownedDueWorkspaces(clock_->Now(), kWakesPerTurn);
  if (due.ok()) {
    for (WorkspaceId id : *due) Acquire(id).status().IgnoreError();
  }
  timer_->Schedule(scanner_, clock_->Now() + ScanSeconds());
}

}  // namespace segments
