// Helpers over the persistence interface (core/store/store.h) that only
// tests need: reading a whole workspace back at once, and converting between
// change events and the runs a store keeps them in.
#ifndef SEGMENTS_TESTS_TESTING_STORE_HELPERS_H_
#define SEGMENTS_TESTS_TESTING_STORE_HELPERS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "core/store/store.h"

namespace segments {

// store.LoadStreaming, with the contacts collected into the result.
absl::StatusOr<WorkspaceData> LoadAll(WorkspaceStore& store);

// The events of `runs`, in order.
std::vector<MembershipChange> ExpandRuns(const std::vector<ChangeRun>& runs);
// GroupIntoRuns is in core/store/store.h.

}  // namespace segments

#endif  // SEGMENTS_TESTS_TESTING_STORE_HELPERS_H_
