// The preparation of snapshot writes: create (a copy of a segment's
// members as they are), delete, and the deletion of expired snapshots.
// Each write also deletes the snapshots expired by its `now`, so the
// stored ones stay bounded even while the expiry timer cannot commit.
//
// Thread-safety: reads the memory it is given; the caller holds the
// workspace's writer mutex (so no write moves the segment between the copy
// and the commit) and its memory mutex at least shared.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_SNAPSHOT_WRITES_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_SNAPSHOT_WRITES_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/limits.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "core/snapshots/snapshot.h"

namespace segments::engine {

class SnapshotWrites {
 public:
  SnapshotWrites(const WorkspaceMemory& memory, const Limits& limits)
      : memory_(memory), limits_(limits) {}

  // Fills `p` as a write made at `now` (the caller has applied the flips
  // due by then). Violations under "snapshot"; an unknown segment is
  // NOT_FOUND, a PLAN_RESTRICTED one FAILED_PRECONDITION, one snapshot over
  // limits.max_snapshots live ones RESOURCE_EXHAUSTED. Returns the new id.
  absl::StatusOr<SnapshotId> PrepareCreate(const SnapshotDraft& draft,
                                           UnixSeconds now,
                                           PreparedWrite* p) const;
  // NOT_FOUND unless `id` is live at `now`.
  absl::Status PrepareDelete(SnapshotId id, UnixSeconds now,
                             PreparedWrite* p) const;
  // Only the deletion of the snapshots expired at `now`; false (and `p`
  // untouched) when there are none.
  bool PrepareExpiry(UnixSeconds now, PreparedWrite* p) const;

 private:
  // Starts `p` as a write made at `now` that deletes the expired snapshots.
  void StartWrite(UnixSeconds now, PreparedWrite* p) const;

  const WorkspaceMemory& memory_;
  const Limits& limits_;
};

// NOT_FOUND naming snapshot `id`.
absl::Status SnapshotNotFound(SnapshotId id);

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_SNAPSHOT_WRITES_H_
