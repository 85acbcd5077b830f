#include "core/engine/registry.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "core/base/utf8.h"

namespace segments {
namespace {

absl::Status WorkspaceNotFound(WorkspaceId id) {
  return absl::NotFoundError(absl::StrCat("workspace ", id, " not found"));
}

absl::Status ValidatePlan(Plan plan, std::string_view path) {
  if (plan < Plan::kUnspecified || plan > Plan::kPro) {
    return InvalidFieldError(std::string(path),
                             "unknown plan; one of FREE, STARTER, GROWTH, PRO");
  }
  return absl::OkStatus();
}

// Each check of the memory budget re-estimates this many open workspaces,
// those estimated longest ago, so that a check costs the same with 10 or
// 1,000 open (an estimate walks the workspace's strings and bitmaps: with
// every open one re-estimated, the 1,000th open of a node of small
// workspaces took 50 ms, bench_workspaces). A workspace that grew since its
// estimate is counted at its new size within open / kEstimatesPerCheck
// checks.
constexpr size_t kEstimatesPerCheck = 16;

}  // namespace

Registry::Registry(std::unique_ptr<CatalogStore> catalog, const Clock* clock,
                   const Limits& limits, RegistryOptions options)
    : catalog_(std::move(catalog)),
      clock_(clock),
      limits_(limits),
      options_(std::move(options)),
      shared_(catalog_->Shared()),
      timer_(std::make_unique<FlipScheduler>(clock)) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    std::unique_ptr<CatalogStore> catalog, const Clock* clock,
    const Limits& limits, RegistryOptions options) {
  std::unique_ptr<Registry> r(
      new Registry(std::move(catalog), clock, limits, std::move(options)));
  ASSIGN_OR_RETURN(std::vector<LoadedWorkspaceRecord> records,
                   r->catalog_->LoadWorkspaces());
  Registry* const self = r.get();
  r->waker_ = r->timer_->Add([self] { self->OnWake(); });
  if (r->shared_) {
    r->catalog_->SetOwnershipLostHandler(
        [self](WorkspaceId id) { self->OnOwnershipLost(id); });
    r->catalog_->SetOwnershipWantedHandler(
        [self](WorkspaceId id) { self->OnOwnershipWanted(id); });
    r->scanner_ = r->timer_->Add([self] { self->OnScan(); });
    r->timer_->Schedule(r->scanner_, clock->Now() + r->ScanSeconds());
  }
  absl::MutexLock l(&r->mu_);
  for (LoadedWorkspaceRecord& loaded : records) {
    const WorkspaceId id = loaded.record.id;
    Entry& entry = r->entries_[id];
    entry.record = std::move(loaded.record);
    if (!loaded.problem.empty()) {
      entry.state = State::kFailed;
      entry.load_error = absl::DataLossError(loaded.problem);
    } else {
      r->SetClosed(entry, loaded.wake_time);
    }
    const std::string& hash = entry.record.key_hash;
    if (!hash.empty()) {
      auto [it, inserted] = r->id_by_key_hash_.try_emplace(hash, id);
      if (!inserted) {
        // Which one the key belongs to is unknowable: neither serves.
        const absl::Status shared = absl::DataLossError(absl::StrCat(
            "workspaces ", it->second, " and ", id, " have the same key hash"));
        for (Entry* e : {&r->entries_[it->second], &entry}) {
          if (e->state == State::kFailed) continue;
          r->Unwake(*e);
          e->state = State::kFailed;
          e->load_error = shared;
        }
      }
    }
  }
  r->ScheduleWaker();
  return r;
}

Registry::~Registry() {
  // No wake-up opens a workspace from here on, and no loss closes one.
  timer_->Remove(waker_);
  if (shared_) {
    timer_->Remove(scanner_);
    catalog_->SetOwnershipLostHandler(nullptr);
    catalog_->SetOwnershipWantedHandler(nullptr);
  }
  std::vector<std::pair<WorkspaceId, std::optional<UnixSeconds>>> wakes;
  {
    absl::MutexLock l(&mu_);
    for (const auto& [id, e] : entries_) {
      if (e.state == State::kOpen) {
        wakes.emplace_back(id, e.workspace->next_flip_due());
      }
    }
  }
  // Not stored: they stay kWakeAtOnce, so the next start opens them.
  catalog_->PutWakeTimes(wakes).IgnoreError();
  // entries_ goes before timer_, taking the workspaces' tasks with it.
}

absl::Status Registry::NotServing(const Entry& e) {
  const WorkspaceId id = e.record.id;
  // Written for the client (no path, no storage text), so it carries a
  // reason of its own and the server passes it on as it is.
  const ErrorInfo info{"WORKSPACE_NOT_SERVING",
                       {{"workspace_id", absl::StrCat(id)}}};
  if (absl::IsDataLoss(e.load_error)) {
    return WithErrorInfo(
        absl::DataLossError(absl::StrCat(
            "workspace ", id,
            " is not serving: its stored data is lost or damaged (found when "
            "the server opened it); an operator must restore it from a backup "
            "or delete the workspace")),
        info);
  }
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "workspace ", id,
          " is not serving: its stored data could not be loaded when the "
          "server opened it; an operator must repair it and restart the "
          "server, or delete the workspace")),
      info);
}

void Registry::Touch(const Entry& e) const {
  e.last_use.store(use_clock_.fetch_add(1, std::memory_order_relaxed) + 1,
                   std::memory_order_relaxed);
}

void Registry::SetClosed(Entry& e, std::optional<UnixSeconds> wake) {
  e.state = State::kClosed;
  e.workspace.reset();
  e.wake_time = wake;
  // Shared: the scan (OnScan) wakes it, on whichever node gets there first,
  // since another node may change its wake time meanwhile.
  if (!wake.has_value() || shared_) return;
  const bool head = wakes_.empty() || *wake < wakes_.begin()->first;
  wakes_.insert({*wake, e.record.id});
  if (head) ScheduleWaker();
}

void Registry::SetOpen(Entry& e, std::shared_ptr<Workspace> ws,
                       size_t memory_bytes) {
  e.state = State::kOpen;
  e.workspace = std::move(ws);
  e.wake_time = kWakeAtOnce;  // what the catalog holds while it is open
  e.memory_bytes = memory_bytes;
  e.estimated_at = ++estimate_clock_;
  e.use_when_wanted.reset();
  e.leaving = false;
  ++open_;
  open_memory_bytes_ += memory_bytes;
}

void Registry::Unwake(const Entry& e) {
  if (e.state == State::kClosed && e.wake_time.has_value()) {
    wakes_.erase({*e.wake_time, e.record.id});
  }
}

void Registry::ScheduleWaker() {
  if (waker_ == 0) return;  // Open schedules it once the catalog is read
  timer_->Schedule(waker_, wakes_.empty() ? std::nullopt
                                          : std::optional<UnixSeconds>(
                                                wakes_.begin()->first));
}

void Registry::OnWake() {
  std::vector<WorkspaceId> due;
  const UnixSeconds now = clock_->Now();
  {
    absl::ReaderMutexLock l(&mu_);
    for (auto it = wakes_.begin();
         it != wakes_.end() && it->first <= now && due.size() < kWakesPerTurn;
         ++it) {
      due.push_back(it->second);
    }
  }
  // Opening applies the flips due (Workspace::Open); the workspace then
  // keeps its own timer until it is closed again. A failure is kept with
  // the entry (failed) or leaves it closed (its wake time not stored).
  for (WorkspaceId id : due) Acquire(id).status().IgnoreError();
  absl::MutexLock l(&mu_);
  ScheduleWaker();
  if (!wakes_.empty() && wakes_.begin()->first <= now &&
      std::find(due.begin(), due.end(), wakes_.begin()->second) != due.end()) {
    // One that could not be opened (the catalog failing): in a second.
    timer_->Schedule(waker_, now + 1);
  }
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::Acquire(WorkspaceId id) {
  if (shared_) RETURN_IF_ERROR(Discover(id));
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return WorkspaceNotFound(id);
    const Entry& e = it->second;
    if (e.state == State::kOpen) {
      if (e.leaving) return Leaving(id);
      Touch(e);
      return e.workspace;
    }
    if (e.state == State::kFailed) return NotServing(e);
  }
  {
    absl::MutexLock l(&mu_);
    while (true) {
      auto it = entries_.find(id);
      if (it == entries_.end()) return WorkspaceNotFound(id);
      Entry& e = it->second;
      if (e.state == State::kOpen) {
        if (e.leaving) return Leaving(id);
        Touch(e);
        return e.workspace;
      }
      if (e.state == State::kFailed) return NotServing(e);
      if (e.state == State::kClosed) {
        Unwake(e);
        e.state = State::kOpening;
        break;
      }
      settled_.Wait(&mu_);
    }
  }
  return OpenEntry(id);
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::OpenEntry(WorkspaceId id) {
  Plan plan;
  std::optional<UnixSeconds> stored;
  {
    // A kOpening entry stays: DeleteWorkspace waits for it to settle.
    absl::ReaderMutexLock l(&mu_);
    const Entry& e = entries_.at(id);
    plan = e.record.plan;
    stored = e.wake_time;
  }
  // The store first: from a shared catalog it comes with ownership, so
  // nothing below is written for a workspace another node serves.
  absl::StatusOr<std::unique_ptr<WorkspaceStore>> store =
      catalog_->OpenWorkspace(id);
  if (shared_ && !absl::IsUnavailable(store.status())) {
    // Another node may have changed the record (plan, key) or deleted the
    // workspace since this node read it; now the owner, this node reads it
    // again.
    absl::StatusOr<std::optional<LoadedWorkspaceRecord>> fresh =
        catalog_->LoadWorkspace(id);
    if (!fresh.ok()) {
      store = fresh.status();
    } else if (!fresh->has_value()) {
      store = nullptr;
      absl::MutexLock l(&mu_);
      Forget(id);
      settled_.SignalAll();
      return WorkspaceNotFound(id);
    } else if (!(*fresh)->problem.empty()) {
      store = absl::DataLossError((*fresh)->problem);
    } else if (store.ok()) {
      plan = (*fresh)->record.plan;
      absl::MutexLock l(&mu_);
      UpdateRecord(entries_.at(id), (*fresh)->record);
    }
  }
  // Stored before the workspace can change: should the server stop without
  // closing it, the next start opens it and applies what fell due.
  if (store.ok() && stored != kWakeAtOnce) {
    if (absl::Status s = catalog_->PutWakeTimes({{id, kWakeAtOnce}}); !s.ok()) {
      store = nullptr;  // gives ownership up
      absl::MutexLock l(&mu_);
      SetClosed(entries_.at(id), stored);
      settled_.SignalAll();
      return s;
    }
    stored = kWakeAtOnce;
  }
  absl::StatusOr<std::unique_ptr<Workspace>> opened =
      store.ok() ? Workspace::Open(id, plan, *std::move(store), clock_, limits_,
                                   timer_.get())
                 : absl::StatusOr<std::unique_ptr<Workspace>>(store.status());
  const size_t bytes = opened.ok() ? (*opened)->ApproximateMemoryBytes() : 0;
  std::shared_ptr<Workspace> ws;
  absl::Status failed;
  {
    absl::MutexLock l(&mu_);
    Entry& e = entries_.at(id);
    ++opened_total_;
    settled_.SignalAll();
    if (absl::IsUnavailable(opened.status())) {
      // Transient (a failing disk, descriptors run out, another node
      // serving it): the call may be retried, and the next one tries to
      // open it again.
      SetClosed(e, stored);
      return opened.status();
    }
    if (!opened.ok()) {
      e.state = State::kFailed;
      e.load_error = opened.status();
      failed = NotServing(e);
    } else {
      SetOpen(e, *std::move(opened), bytes);
      Touch(e);
      ws = e.workspace;
    }
  }
  if (!failed.ok()) {
    if (options_.on_load_failure) options_.on_load_failure(id, opened.status());
    return failed;
  }
  EvictOverBudget();
  return ws;
}

std::vector<std::pair<WorkspaceId, std::shared_ptr<Workspace>>>
Registry::StalestEstimates() const {
  absl::ReaderMutexLock l(&mu_);
  std::vector<std::pair<uint64_t, WorkspaceId>> by_age;
  by_age.reserve(open_);
  for (const auto& [id, e] : entries_) {
    if (e.state == State::kOpen) by_age.emplace_back(e.estimated_at, id);
  }
  const size_t n = std::min(kEstimatesPerCheck, by_age.size());
  std::partial_sort(by_age.begin(), by_age.begin() + n, by_age.end());
  std::vector<std::pair<WorkspaceId, std::shared_ptr<Workspace>>> stalest;
  stalest.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const WorkspaceId id = by_age[i].second;
    stalest.emplace_back(id, entries_.at(id).workspace);
  }
  return stalest;
}

void Registry::EvictOverBudget() {
  // The estimates first, as the workspaces stand now (outside mu_: each
  // takes its workspace's reader lock).
  std::vector<std::pair<WorkspaceId, std::shared_ptr<Workspace>>> open =
      StalestEstimates();
  std::vector<size_t> bytes(open.size());
  for (size_t i = 0; i < open.size(); ++i) {
    bytes[i] = open[i].second->ApproximateMemoryBytes();
  }
  {
    absl::MutexLock l(&mu_);
    for (size_t i = 0; i < open.size(); ++i) {
      auto it = entries_.find(open[i].first);
      if (it == entries_.end() || it->second.workspace != open[i].second) {
        continue;  // closed or deleted meanwhile
      }
      open_memory_bytes_ += bytes[i];
      open_memory_bytes_ -= it->second.memory_bytes;
      it->second.memory_bytes = bytes[i];
      it->second.estimated_at = ++estimate_clock_;
    }
  }
  open.clear();  // the registry's hold alone tells an idle workspace
  while (true) {
    WorkspaceId victim = 0;
    std::shared_ptr<Workspace> ws;
    {
      absl::MutexLock l(&mu_);
      if (open_ <= options_.max_open_workspaces &&
          open_memory_bytes_ <= options_.memory_budget_bytes) {
        return;
      }
      uint64_t oldest = UINT64_MAX;
      for (const auto& [id, e] : entries_) {
        // use_count() is exact here: copies are made only under mu_, or by
        // holders of a copy.
        if (e.state != State::kOpen || e.workspace.use_count() != 1) continue;
        const uint64_t used = e.last_use.load(std::memory_order_relaxed);
        if (used < oldest) {
          oldest = used;
          victim = id;
        }
      }
      if (victim == 0) return;  // every open one is in use
      ws = StartClosing(entries_.at(victim));
    }
    if (!Close(victim, std::move(ws), /*evicted=*/true)) return;
  }
}

std::shared_ptr<Workspace> Registry::StartClosing(Entry& e) {
  e.state = State::kClosing;
  --open_;
  open_memory_bytes_ -= e.memory_bytes;
  e.memory_bytes = 0;
  return std::move(e.workspace);
}

bool Registry::CloseIfUnused(WorkspaceId id) {
  std::shared_ptr<Workspace> ws;
  {
    absl::MutexLock l(&mu_);
    auto it = entries_.find(id);
    // use_count() is exact under mu_ (see EvictOverBudget).
    if (it == entries_.end() || it->second.state != State::kOpen ||
        it->second.workspace.use_count() != 1) {
      return false;
    }
    ws = StartClosing(it->second);
  }
  return Close(id, std::move(ws), /*evicted=*/false);
}

bool Registry::Close(WorkspaceId id, std::shared_ptr<Workspace> ws,
                     bool evicted) {
  // A lower bound: the workspace's own timer may still apply flips (which
  // only moves it later) until the workspace is destroyed below.
  const std::optional<UnixSeconds> wake = ws->next_flip_due();
  if (!catalog_->PutWakeTimes({{id, wake}}).ok()) {
    // It stays open rather than lose its flips; the next open retries.
    absl::MutexLock l(&mu_);
    const size_t bytes = ws->ApproximateMemoryBytes();
    SetOpen(entries_.at(id), std::move(ws), bytes);
    settled_.SignalAll();
    return false;
  }
  // The last hold: the engine closes (its tasks removed, its store closed)
  // before the entry can be opened again.
  ws.reset();
  absl::MutexLock l(&mu_);
  SetClosed(entries_.at(id), wake);
  if (evicted) ++evicted_total_;
  settled_.SignalAll();
  return true;
}

absl::Status Registry::LoadError(WorkspaceId id) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return absl::OkStatus();
  return it->second.load_error;
}

std::vector<std::pair<WorkspaceId, absl::Status>> Registry::FailedWorkspaces()
    const {
  absl::ReaderMutexLock l(&mu_);
  std::vector<std::pair<WorkspaceId, absl::Status>> out;
  for (const auto& [id, e] : entries_) {
    if (e.state == State::kFailed) out.emplace_back(id, e.load_error);
  }
  return out;
}

absl::StatusOr<WorkspaceRecord> Registry::CreateWorkspace(
    std::string_view display_name, Plan plan, std::string key_hash) {
  return CreateWorkspace(
      display_name, plan,
      [&](WorkspaceId) -> absl::StatusOr<std::string> { return key_hash; });
}

absl::StatusOr<WorkspaceRecord> Registry::CreateWorkspace(
    std::string_view display_name, Plan plan,
    const std::function<absl::StatusOr<std::string>(WorkspaceId)>&
        key_hash_for) {
  Violations v;
  absl::string_view name = absl::StripAsciiWhitespace(
      absl::string_view(display_name.data(), display_name.size()));
  if (name.empty()) {
    v.Add("workspace.display_name", "is required");
  } else if (name.size() > kMaxWorkspaceNameBytes) {
    v.Add("workspace.display_name",
          absl::StrCat("at most ", kMaxWorkspaceNameBytes, " bytes"));
  } else if (!IsValidUtf8(std::string_view(name.data(), name.size()))) {
    v.Add("workspace.display_name", "must be valid UTF-8");
  }
  if (!ValidatePlan(plan, "workspace.plan").ok()) {
    v.Add("workspace.plan", "unknown plan; one of FREE, STARTER, GROWTH, PRO");
  }
  RETURN_IF_ERROR(v.ToStatus());
  if (plan == Plan::kUnspecified) plan = Plan::kFree;

  WorkspaceRecord created_record;
  {
    absl::MutexLock admin(&admin_mu_);
    // The catalog hands out the id: one no workspace ever had.
    ASSIGN_OR_RETURN(NewWorkspaceStore created,
                     catalog_->CreateWorkspaceStore());
    absl::StatusOr<std::string> key_hash = key_hash_for(created.id);
    if (key_hash.ok()) {
      absl::ReaderMutexLock l(&mu_);
      auto it = id_by_key_hash_.find(*key_hash);
      if (!key_hash->empty() && it != id_by_key_hash_.end()) {
        // Only a fixed key (the demo's) can repeat: one key, one workspace.
        key_hash = absl::FailedPreconditionError(absl::StrCat(
            "the key is already the key of workspace ", it->second));
      }
    }
    if (!key_hash.ok()) {
      created.store.reset();
      catalog_->DeleteWorkspace(created.id).IgnoreError();
      return key_hash.status();
    }
    WorkspaceRecord record;
    record.id = created.id;
    record.display_name = std::string(name);
    record.plan = plan;
    record.key_hash = *std::move(key_hash);
    record.create_time = clock_->Now();
    absl::StatusOr<std::unique_ptr<Workspace>> ws =
        Workspace::Open(record.id, plan, std::move(created.store), clock_,
                        limits_, timer_.get());
    absl::Status s = ws.status();
    // A new record's wake time is kWakeAtOnce: it is open.
    if (s.ok()) s = catalog_->PutWorkspace(record);
    if (!s.ok()) {
      // The id stays used; its new files go (or at the next start).
      ws = nullptr;
      catalog_->DeleteWorkspace(record.id).IgnoreError();
      return s;
    }
    const size_t bytes = (*ws)->ApproximateMemoryBytes();
    const WorkspaceId id = record.id;
    {
      absl::MutexLock l(&mu_);
      id_by_key_hash_[record.key_hash] = id;
      Entry& e = entries_[id];
      e.record = record;
      SetOpen(e, *std::move(ws), bytes);
      Touch(e);
      created_record = std::move(record);
    }
    // Shared: the node that creates a workspace is the one the admin key
    // reached, not the one its own key routes to; it gives the new one up
    // at once, and the first call takes it where it lands.
    if (shared_) CloseIfUnused(id);
  }
  EvictOverBudget();
  return created_record;
}

absl::StatusOr<WorkspaceRecord> Registry::GetWorkspace(WorkspaceId id) const {
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = entries_.find(id);
    // Open: this node owns it, and its record is the current one.
    if (it != entries_.end() &&
        (!shared_ || it->second.state == State::kOpen)) {
      return it->second.record;
    }
  }
  if (!shared_) return WorkspaceNotFound(id);
  // Another node may have created or changed it: the catalog's record.
  ASSIGN_OR_RETURN(std::optional<LoadedWorkspaceRecord> loaded,
                   catalog_->LoadWorkspace(id));
  if (!loaded.has_value()) return WorkspaceNotFound(id);
  return loaded->record;
}

absl::StatusOr<WorkspaceRecord> Registry::SetPlan(WorkspaceId id, Plan plan) {
  RETURN_IF_ERROR(ValidatePlan(plan, "plan"));
  if (plan == Plan::kUnspecified)
    return InvalidFieldError("plan", "is required");
  absl::MutexLock admin(&admin_mu_);
  // Held until the end, so it stays open (a closed one would be opened with
  // the catalog's plan, which is about to change).
  ASSIGN_OR_RETURN(std::shared_ptr<Workspace> ws, Acquire(id));
  WorkspaceRecord before, after;
  {
    absl::ReaderMutexLock l(&mu_);
    before = after = entries_.at(id).record;  // admin_mu_: not deleted
  }
  after.plan = plan;
  // The catalog first: if the workspace's own commit then fails, the catalog
  // is put back; if the process dies in between, Workspace::Load reconciles
  // its segments with the catalog's plan.
  RETURN_IF_ERROR(catalog_->PutWorkspace(after));
  if (absl::Status s = ws->SetPlan(plan); !s.ok()) {
    catalog_->PutWorkspace(before).IgnoreError();
    return s;
  }
  absl::MutexLock l(&mu_);
  entries_.at(id).record = after;
  return after;
}

absl::Status Registry::SetKeyHash(WorkspaceId id, std::string key_hash) {
  absl::MutexLock admin(&admin_mu_);
  // Shared: only the owner changes the key, so that no node keeps
  // accepting the old one from memory (held until the end).
  std::shared_ptr<Workspace> owned;
  if (shared_) {
    ASSIGN_OR_RETURN(owned, Acquire(id));
  }
  WorkspaceRecord record;
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return WorkspaceNotFound(id);
    record = it->second.record;
  }
  const std::string old_hash = record.key_hash;
  record.key_hash = std::move(key_hash);
  RETURN_IF_ERROR(catalog_->PutWorkspace(record));
  absl::MutexLock l(&mu_);
  id_by_key_hash_.erase(old_hash);
  id_by_key_hash_[record.key_hash] = id;
  entries_[id].record = std::move(record);
  return absl::OkStatus();
}

absl::Status Registry::DeleteWorkspace(WorkspaceId id) {
  absl::MutexLock admin(&admin_mu_);
  if (shared_) RETURN_IF_ERROR(Discover(id));
  WorkspaceRecord record;
  State state;
  std::shared_ptr<Workspace> deleted;
  absl::Status load_error;
  std::optional<UnixSeconds> wake;
  size_t memory_bytes = 0;
  {
    absl::MutexLock l(&mu_);
    auto it = entries_.find(id);
    while (it != entries_.end() && Busy(it->second)) {
      settled_.Wait(&mu_);
      it = entries_.find(id);
    }
    if (it == entries_.end()) return WorkspaceNotFound(id);
    Entry& e = it->second;
    Unwake(e);
    record = e.record;
    state = e.state;
    deleted = std::move(e.workspace);
    load_error = e.load_error;
    wake = e.wake_time;
    if (state == State::kOpen) {
      --open_;
      open_memory_bytes_ -= e.memory_bytes;
      memory_bytes = e.memory_bytes;
    }
    entries_.erase(it);
    id_by_key_hash_.erase(record.key_hash);
  }
  // Calls in flight hold their own reference; the store closes when the last
  // one ends. Deleting the files underneath them is safe on POSIX.
  absl::Status s = catalog_->DeleteWorkspace(id);
  if (s.ok()) {
    if (deleted != nullptr) {
      // Its feed never moves again: open streams end now instead of idling
      // (each holds the workspace) until their clients go.
      deleted->feed().Close(
          absl::NotFoundError(absl::StrCat("workspace ", id, " was deleted")));
    }
    deleted.reset();
    return s;
  }
  // Put it back as it was, so memory matches the catalog, which still has
  // it.
  absl::MutexLock l(&mu_);
  if (!record.key_hash.empty()) id_by_key_hash_[record.key_hash] = id;
  Entry& e = entries_[id];
  e.record = std::move(record);
  e.load_error = load_error;
  if (state == State::kOpen) {
    SetOpen(e, std::move(deleted), memory_bytes);
    Touch(e);
  } else if (state == State::kFailed) {
    e.state = State::kFailed;
  } else {
    SetClosed(e, wake);
  }
  return s;
}

std::vector<std::shared_ptr<Workspace>> Registry::OpenWorkspaces() const {
  absl::ReaderMutexLock l(&mu_);
  std::vector<std::shared_ptr<Workspace>> open;
  open.reserve(open_);
  for (const auto& [id, e] : entries_) {
    if (e.state == State::kOpen) open.push_back(e.workspace);
  }
  return open;
}

RegistryStats Registry::Stats() const {
  absl::ReaderMutexLock l(&mu_);
  RegistryStats stats;
  stats.workspaces = entries_.size();
  stats.open = open_;
  for (const auto& [id, e] : entries_) {
    if (e.state == State::kFailed) ++stats.failed;
  }
  stats.opened_total = opened_total_;
  stats.evicted_total = evicted_total_;
  stats.open_memory_bytes = open_memory_bytes_;
  return stats;
}

bool Registry::IsOpen(WorkspaceId id) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = entries_.find(id);
  return it != entries_.end() && it->second.state == State::kOpen;
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::Find(WorkspaceId id) {
  return Acquire(id);
}

}  // namespace segments
