#include "core/engine/registry.h"

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

// The engine of existing workspace `id`, over its store.
absl::StatusOr<std::unique_ptr<Workspace>> OpenEngine(CatalogStore& catalog,
                                                      WorkspaceId id, Plan plan,
                                                      const Clock* clock,
                                                      const Limits& limits,
                                                      FlipScheduler* timer) {
  ASSIGN_OR_RETURN(std::unique_ptr<WorkspaceStore> store,
                   catalog.OpenWorkspace(id));
  return Workspace::Open(id, plan, std::move(store), clock, limits, timer);
}

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

Registry::Registry(std::unique_ptr<CatalogStore> catalog, const Clock* clock,
                   const Limits& limits)
    : catalog_(std::move(catalog)),
      clock_(clock),
      limits_(limits),
      timer_(std::make_unique<FlipScheduler>(clock)) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    std::unique_ptr<CatalogStore> catalog, const Clock* clock,
    const Limits& limits) {
  std::unique_ptr<Registry> r(new Registry(std::move(catalog), clock, limits));
  ASSIGN_OR_RETURN(std::vector<LoadedWorkspaceRecord> records,
                   r->catalog_->LoadWorkspaces());
  absl::MutexLock l(&r->mu_);
  for (LoadedWorkspaceRecord& loaded : records) {
    const WorkspaceId id = loaded.record.id;
    Entry entry{std::move(loaded.record), nullptr, absl::OkStatus()};
    if (!loaded.problem.empty()) {
      entry.load_error = absl::DataLossError(loaded.problem);
    } else {
      absl::StatusOr<std::unique_ptr<Workspace>> ws = OpenEngine(
          *r->catalog_, id, entry.record.plan, clock, limits, r->timer_.get());
      if (ws.ok()) {
        entry.workspace = *std::move(ws);
      } else {
        entry.load_error = ws.status();
      }
    }
    const std::string& hash = entry.record.key_hash;
    if (!hash.empty()) {
      auto [it, inserted] = r->id_by_key_hash_.try_emplace(hash, id);
      if (!inserted) {
        // Which one the key belongs to is unknowable: neither serves.
        Entry& other = r->entries_[it->second];
        const absl::Status shared = absl::DataLossError(absl::StrCat(
            "workspaces ", it->second, " and ", id, " have the same key hash"));
        if (other.load_error.ok()) {
          other.load_error = shared;
          other.workspace.reset();
        }
        if (entry.load_error.ok()) {
          entry.load_error = shared;
          entry.workspace.reset();
        }
      }
    }
    r->entries_[id] = std::move(entry);
  }
  return r;
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
            "the server started); an operator must restore it from a backup "
            "or delete the workspace")),
        info);
  }
  return WithErrorInfo(
      absl::FailedPreconditionError(absl::StrCat(
          "workspace ", id,
          " is not serving: its stored data could not be loaded when the "
          "server started; an operator must repair it and restart the server, "
          "or delete the workspace")),
      info);
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
    if (!e.load_error.ok()) out.emplace_back(id, e.load_error);
  }
  return out;
}

absl::StatusOr<WorkspaceRecord> Registry::CreateWorkspace(
    std::string_view display_name, Plan plan, std::string key_hash) {
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

  absl::MutexLock admin(&admin_mu_);
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = id_by_key_hash_.find(key_hash);
    if (!key_hash.empty() && it != id_by_key_hash_.end()) {
      // Only a fixed key (the demo's) can repeat: one key, one workspace.
      return absl::FailedPreconditionError(
          absl::StrCat("the key is already the key of workspace ", it->second));
    }
  }
  // The catalog hands out the id: one no workspace ever had.
  ASSIGN_OR_RETURN(NewWorkspaceStore created, catalog_->CreateWorkspaceStore());
  WorkspaceRecord record;
  record.id = created.id;
  record.display_name = std::string(name);
  record.plan = plan;
  record.key_hash = std::move(key_hash);
  record.create_time = clock_->Now();
  absl::StatusOr<std::unique_ptr<Workspace>> ws = Workspace::Open(
      record.id, plan, std::move(created.store), clock_, limits_, timer_.get());
  absl::Status s = ws.status();
  if (s.ok()) s = catalog_->PutWorkspace(record);
  if (!s.ok()) {
    // The id stays used; its new files go (or at the next start).
    ws = nullptr;
    catalog_->DeleteWorkspace(record.id).IgnoreError();
    return s;
  }
  absl::MutexLock l(&mu_);
  id_by_key_hash_[record.key_hash] = record.id;
  entries_[record.id] = Entry{record, *std::move(ws), absl::OkStatus()};
  return record;
}

absl::StatusOr<WorkspaceRecord> Registry::GetWorkspace(WorkspaceId id) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return WorkspaceNotFound(id);
  return it->second.record;
}

absl::StatusOr<WorkspaceRecord> Registry::SetPlan(WorkspaceId id, Plan plan) {
  RETURN_IF_ERROR(ValidatePlan(plan, "plan"));
  if (plan == Plan::kUnspecified)
    return InvalidFieldError("plan", "is required");
  absl::MutexLock admin(&admin_mu_);
  WorkspaceRecord before, after;
  std::shared_ptr<Workspace> ws;
  {
    absl::ReaderMutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return WorkspaceNotFound(id);
    if (!it->second.load_error.ok()) return NotServing(it->second);
    before = after = it->second.record;
    ws = it->second.workspace;
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
  entries_[id].record = after;
  return after;
}

absl::Status Registry::SetKeyHash(WorkspaceId id, std::string key_hash) {
  absl::MutexLock admin(&admin_mu_);
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
  Entry removed;
  {
    absl::MutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return WorkspaceNotFound(id);
    removed = std::move(it->second);
    entries_.erase(it);
    id_by_key_hash_.erase(removed.record.key_hash);
  }
  // Calls in flight hold their own reference; the store closes when the last
  // one ends. Deleting the files underneath them is safe on POSIX.
  std::shared_ptr<Workspace> deleted = std::move(removed.workspace);
  absl::Status s = catalog_->DeleteWorkspace(id);
  if (s.ok() && deleted != nullptr) {
    // Its feed never moves again: open streams end now instead of idling
    // (each holds the workspace) until their clients go.
    deleted->feed().Close(
        absl::NotFoundError(absl::StrCat("workspace ", id, " was deleted")));
  }
  deleted.reset();
  if (!s.ok()) {
    // Put it back so memory matches the catalog, which still has it; as a
    // failed workspace if it failed before or cannot be opened again.
    if (removed.load_error.ok()) {
      absl::StatusOr<std::unique_ptr<Workspace>> ws = OpenEngine(
          *catalog_, id, removed.record.plan, clock_, limits_, timer_.get());
      if (ws.ok()) {
        removed.workspace = *std::move(ws);
      } else {
        removed.load_error = ws.status();
      }
    }
    absl::MutexLock l(&mu_);
    if (!removed.record.key_hash.empty()) {
      id_by_key_hash_[removed.record.key_hash] = id;
    }
    entries_[id] = std::move(removed);
  }
  return s;
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::Authenticate(
    std::string_view key_hash) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = id_by_key_hash_.find(std::string(key_hash));
  // The lookup is keyed by a hash of a 256-bit random key, so its timing
  // reveals nothing usable; the final comparison is constant-time anyway.
  if (it != id_by_key_hash_.end()) {
    const Entry& e = entries_.at(it->second);
    if (ConstantTimeEquals(e.record.key_hash, key_hash)) {
      if (!e.load_error.ok()) return NotServing(e);
      return e.workspace;
    }
  }
  return absl::UnauthenticatedError("invalid API key");
}

std::vector<std::shared_ptr<Workspace>> Registry::OpenWorkspaces() const {
  absl::ReaderMutexLock l(&mu_);
  std::vector<std::shared_ptr<Workspace>> open;
  open.reserve(entries_.size());
  for (const auto& [id, e] : entries_) {
    if (e.workspace != nullptr) open.push_back(e.workspace);
  }
  return open;
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::Find(
    WorkspaceId id) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return WorkspaceNotFound(id);
  if (!it->second.load_error.ok()) return NotServing(it->second);
  return it->second.workspace;
}

}  // namespace segments
