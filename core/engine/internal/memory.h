// A workspace's state in memory, which every write is prepared against and
// applied to.
//
// Thread-safety: none; the owner (Workspace) guards it with its mutex,
// shared to read and prepare, exclusive to apply.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_MEMORY_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_MEMORY_H_

#include "core/base/types.h"
#include "core/engine/internal/segment_set.h"
#include "core/index/attribute_index.h"
#include "core/index/contact_table.h"
#include "core/snapshots/snapshot_set.h"
#include "core/store/store.h"
#include "roaring/roaring.hh"

namespace segments::engine {

struct WorkspaceMemory {
  explicit WorkspaceMemory(Plan p) : plan(p) {}

  // The contacts `filter` matches at `now`, by bitmap algebra over `index`;
  // references read `refs` (which a filter with references needs).
  Roaring Evaluate(const Filter& filter, UnixSeconds now,
                   const ReferenceBitmaps* refs = nullptr) const {
    return index.Evaluate(filter, now, contacts, refs);
  }

  Plan plan;
  ContactTable contacts;
  AttributeIndex index;
  SegmentSet segments;
  SnapshotSet snapshots;
  WorkspaceCounters counters;
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_MEMORY_H_
