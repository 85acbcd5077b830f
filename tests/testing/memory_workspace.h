// A Workspace over MemoryStorage, as the core tests open (and reopen, as
// after a restart) it.
#ifndef SEGMENTS_TESTS_TESTING_MEMORY_WORKSPACE_H_
#define SEGMENTS_TESTS_TESTING_MEMORY_WORKSPACE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "core/base/clock.h"
#include "core/base/limits.h"
#include "core/engine/workspace.h"
#include "tests/testing/memory_store.h"

namespace segments::testing {

// Workspace 1 of `storage`, loaded from what the storage holds.
absl::StatusOr<std::unique_ptr<Workspace>> OpenMemoryWorkspace(
    std::shared_ptr<MemoryStorage> storage, Plan plan, const Clock* clock,
    const Limits& limits, FlipScheduler* scheduler = nullptr);

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_MEMORY_WORKSPACE_H_
