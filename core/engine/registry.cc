#include "core/engine/registry.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/errors.h"
#include "core/base/status_macros.h"
#include "core/base/utf8.h"

namespace segments {
namespace {

constexpr size_t kMaxWorkspaceNameBytes = 200;

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
    : catalog_(std::move(catalog)), clock_(clock), limits_(limits) {}

absl::StatusOr<std::unique_ptr<Registry>> Registry::Open(
    std::unique_ptr<CatalogStore> catalog, const Clock* clock,
    const Limits& limits) {
  std::unique_ptr<Registry> r(new Registry(std::move(catalog), clock, limits));
  ASSIGN_OR_RETURN(std::vector<WorkspaceRecord> records,
                   r->catalog_->LoadWorkspaces());
  absl::MutexLock l(&r->mu_);
  for (WorkspaceRecord& record : records) {
    ASSIGN_OR_RETURN(std::unique_ptr<WorkspaceStore> store,
                     r->catalog_->OpenWorkspace(record.id));
    ASSIGN_OR_RETURN(std::unique_ptr<Workspace> ws,
                     Workspace::Open(record.id, record.plan, std::move(store),
                                     clock, limits));
    r->next_id_ = std::max(r->next_id_, record.id + 1);
    r->id_by_key_hash_[record.key_hash] = record.id;
    const WorkspaceId id = record.id;
    r->entries_[id] = Entry{std::move(record), std::move(ws)};
  }
  return r;
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
  WorkspaceRecord record;
  {
    absl::ReaderMutexLock l(&mu_);
    record.id = next_id_;
  }
  record.display_name = std::string(name);
  record.plan = plan;
  record.key_hash = std::move(key_hash);
  record.create_time = clock_->Now();
  ASSIGN_OR_RETURN(std::unique_ptr<WorkspaceStore> store,
                   catalog_->OpenWorkspace(record.id));
  ASSIGN_OR_RETURN(
      std::unique_ptr<Workspace> ws,
      Workspace::Open(record.id, plan, std::move(store), clock_, limits_));
  RETURN_IF_ERROR(catalog_->PutWorkspace(record));
  absl::MutexLock l(&mu_);
  next_id_ = record.id + 1;
  id_by_key_hash_[record.key_hash] = record.id;
  entries_[record.id] = Entry{record, std::move(ws)};
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
  removed.workspace.reset();
  absl::Status s = catalog_->DeleteWorkspace(id);
  if (!s.ok()) {
    // Put it back so memory matches the catalog, which still has it.
    ASSIGN_OR_RETURN(std::unique_ptr<WorkspaceStore> store,
                     catalog_->OpenWorkspace(id));
    ASSIGN_OR_RETURN(std::unique_ptr<Workspace> ws,
                     Workspace::Open(id, removed.record.plan, std::move(store),
                                     clock_, limits_));
    absl::MutexLock l(&mu_);
    id_by_key_hash_[removed.record.key_hash] = id;
    entries_[id] = Entry{removed.record, std::move(ws)};
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
    if (ConstantTimeEquals(e.record.key_hash, key_hash)) return e.workspace;
  }
  return absl::UnauthenticatedError("invalid API key");
}

absl::StatusOr<std::shared_ptr<Workspace>> Registry::Find(
    WorkspaceId id) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return WorkspaceNotFound(id);
  return it->second.workspace;
}

}  // namespace segments
