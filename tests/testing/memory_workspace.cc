#include "tests/testing/memory_workspace.h"

#include <utility>

#include "core/base/status_macros.h"

namespace segments::testing {

absl::StatusOr<std::unique_ptr<Workspace>> OpenMemoryWorkspace(
    std::shared_ptr<MemoryStorage> storage, Plan plan, const Clock* clock,
    const Limits& limits, FlipScheduler* scheduler) {
  MemoryCatalogStore catalog(std::move(storage));
  ASSIGN_OR_RETURN(std::unique_ptr<WorkspaceStore> store,
                   catalog.OpenWorkspace(1));
  return Workspace::Open(1, plan, std::move(store), clock, limits, scheduler);
}

}  // namespace segments::testing
