// The workspaces of this server: their records (name, plan, key hash) and
// their open engines. Authentication maps a key hash to a workspace.
//
// Thread-safety: thread-safe. Workspaces are handed out as shared_ptr so a
// call in flight keeps its workspace alive while it is being deleted.
#ifndef SEGMENTS_CORE_ENGINE_REGISTRY_H_
#define SEGMENTS_CORE_ENGINE_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/workspace.h"
#include "core/store/store.h"

namespace segments {

class Registry {
 public:
  // Loads every workspace of `catalog` and opens its engine.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(
      std::unique_ptr<CatalogStore> catalog, const Clock* clock,
      const Limits& limits);

  // `key_hash` is the SHA-256 of the new workspace's key. Violations are
  // reported under "workspace". Plan unspecified means FREE.
  absl::StatusOr<WorkspaceRecord> CreateWorkspace(std::string_view display_name,
                                                  Plan plan,
                                                  std::string key_hash);
  absl::StatusOr<WorkspaceRecord> GetWorkspace(WorkspaceId id) const;
  absl::StatusOr<WorkspaceRecord> SetPlan(WorkspaceId id, Plan plan);
  absl::Status SetKeyHash(WorkspaceId id, std::string key_hash);
  absl::Status DeleteWorkspace(WorkspaceId id);

  // The workspace whose key hashes to `key_hash` (compared in constant
  // time); UNAUTHENTICATED when none does.
  absl::StatusOr<std::shared_ptr<Workspace>> Authenticate(
      std::string_view key_hash) const;
  // NOT_FOUND when absent.
  absl::StatusOr<std::shared_ptr<Workspace>> Find(WorkspaceId id) const;

 private:
  struct Entry {
    WorkspaceRecord record;
    std::shared_ptr<Workspace> workspace;
  };
  Registry(std::unique_ptr<CatalogStore> catalog, const Clock* clock,
           const Limits& limits);

  const std::unique_ptr<CatalogStore> catalog_;
  const Clock* const clock_;
  const Limits limits_;

  // Serializes admin writes (create, plan, key, delete).
  absl::Mutex admin_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<WorkspaceId, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, WorkspaceId> id_by_key_hash_
      ABSL_GUARDED_BY(mu_);
  WorkspaceId next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

// Constant-time equality of two byte strings of equal length (false when the
// lengths differ; the length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace segments

#endif  // SEGMENTS_CORE_ENGINE_REGISTRY_H_
