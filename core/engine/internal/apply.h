// The last step of every write: moving an already-committed prepared write
// into memory (contact table, attribute index, segment bitmaps, segment
// set, plan, counters).
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_APPLY_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_APPLY_H_

#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"

namespace segments::engine {

// Applies `p` to `memory`; what is left of `p` is only to destroy. Big
// writes (kParallelMinItems contacts or more) are applied on two threads.
// REQUIRES: the caller holds the workspace's mutex exclusively.
//
// noexcept: the write is committed, so an allocation failure here cannot be
// rolled back; it ends the process, and a restart loads the committed state
// (docs/engine.md, "Allocation failure").
void Apply(PreparedWrite* p, WorkspaceMemory* memory) noexcept;

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_APPLY_H_
