// The commit of a commit group's prepared writes: one store transaction for
// the whole group, durable when it returns OK; on error nothing of it is
// stored and memory has not been touched.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_COMMIT_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_COMMIT_H_

#include <vector>

#include "absl/status/status.h"
#include "core/engine/internal/membership_diff.h"
#include "core/engine/internal/prepared_write.h"
#include "core/store/store.h"

namespace segments::engine {

// Commits `prepared` (in order) to `store` in one transaction. A write
// alone in its group is completed by `diff` here, while the store writes
// its rows when it has a batch of new contacts to match; a group of several
// was completed write by write while it was prepared. REQUIRES: the
// memory `diff` reads is held (at least shared) throughout.
absl::Status CommitPrepared(WorkspaceStore& store, const MembershipDiff& diff,
                            std::vector<PreparedWrite>* prepared);

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_COMMIT_H_
