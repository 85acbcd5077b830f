// The workspaces of this server: their records (name, plan, key hash) and
// their open engines. Authentication maps a key hash to a workspace.
//
// A workspace whose record is damaged or whose data failed to load (a
// missing, empty or corrupt file, rows that break the model) is kept as a
// failed workspace: its record is known (GetWorkspace), its engine absent,
// its load error kept (LoadError). It does not serve, while the others do:
// calls with its key, and admin calls that need its engine, get DATA_LOSS
// (FAILED_PRECONDITION when the error was not a data loss) with a message
// that names the workspace but no file. It can be deleted.
//
// Thread-safety: thread-safe. Workspaces are handed out as shared_ptr so a
// call in flight keeps its workspace alive while it is being deleted.
#ifndef SEGMENTS_CORE_ENGINE_REGISTRY_H_
#define SEGMENTS_CORE_ENGINE_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/workspace.h"
#include "core/store/store.h"
#include "core/time/flip_scheduler.h"

namespace segments {

// A workspace's display name: trimmed, 1..200 bytes of UTF-8.
inline constexpr size_t kMaxWorkspaceNameBytes = 200;
// A key hash is a SHA-256 (or empty: no key authenticates).
inline constexpr size_t kKeyHashBytes = 32;

class Registry {
 public:
  // Loads every workspace of `catalog` and opens its engine. Fails only when
  // the catalog cannot be read; a workspace that fails to load is kept as
  // failed (see above). Two records with the same key hash both fail.
  static absl::StatusOr<std::unique_ptr<Registry>> Open(
      std::unique_ptr<CatalogStore> catalog, const Clock* clock,
      const Limits& limits);

  // `key_hash` is the SHA-256 of the new workspace's key. Violations are
  // reported under "workspace". Plan unspecified means FREE.
  absl::StatusOr<WorkspaceRecord> CreateWorkspace(std::string_view display_name,
                                                  Plan plan,
                                                  std::string key_hash);
  // Also the record of a failed workspace.
  absl::StatusOr<WorkspaceRecord> GetWorkspace(WorkspaceId id) const;
  // Not for a failed workspace (see above).
  absl::StatusOr<WorkspaceRecord> SetPlan(WorkspaceId id, Plan plan);
  absl::Status SetKeyHash(WorkspaceId id, std::string key_hash);
  absl::Status DeleteWorkspace(WorkspaceId id);

  // The workspace whose key hashes to `key_hash` (compared in constant
  // time); UNAUTHENTICATED when none does; DATA_LOSS or FAILED_PRECONDITION
  // when it is a failed workspace.
  absl::StatusOr<std::shared_ptr<Workspace>> Authenticate(
      std::string_view key_hash) const;
  // NOT_FOUND when absent; as Authenticate for a failed workspace.
  absl::StatusOr<std::shared_ptr<Workspace>> Find(WorkspaceId id) const;

  // OK when workspace `id` serves or does not exist; else the error that
  // kept it from loading, as storage reported it (with file paths: for the
  // server log, not for callers).
  absl::Status LoadError(WorkspaceId id) const;
  // The failed workspaces and their load errors, ascending id.
  std::vector<std::pair<WorkspaceId, absl::Status>> FailedWorkspaces() const;
  // The engines of the serving workspaces, ascending id, as of the call (for
  // the server's metrics: what is open, and what it holds).
  std::vector<std::shared_ptr<Workspace>> OpenWorkspaces() const;

 private:
  struct Entry {
    WorkspaceRecord record;
    std::shared_ptr<Workspace> workspace;  // nullptr when failed
    absl::Status load_error;               // OK unless failed
  };
  // The error calls to failed entry `e` get.
  static absl::Status NotServing(const Entry& e);
  Registry(std::unique_ptr<CatalogStore> catalog, const Clock* clock,
           const Limits& limits);

  const std::unique_ptr<CatalogStore> catalog_;
  const Clock* const clock_;
  const Limits limits_;
  // Wakes every workspace when its next relative date rule flip falls due.
  // Declared before entries_, so it outlives the workspaces it calls, as
  // long as nothing else holds a Workspace when the Registry is destroyed
  // (a Workspace's destructor unregisters from it): the server waits until
  // every feed stream, each holding its workspace, is deleted.
  const std::unique_ptr<FlipScheduler> timer_;

  // Serializes admin writes (create, plan, key, delete).
  absl::Mutex admin_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<WorkspaceId, Entry> entries_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, WorkspaceId> id_by_key_hash_
      ABSL_GUARDED_BY(mu_);
};

// Constant-time equality of two byte strings of equal length (false when the
// lengths differ; the length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace segments

#endif  // SEGMENTS_CORE_ENGINE_REGISTRY_H_
