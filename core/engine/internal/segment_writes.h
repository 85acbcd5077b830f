// The preparation of segment writes: create, update (name and/or rules),
// delete, and the state changes a plan change brings (downgrades freeze a
// segment the plan no longer allows, upgrades rebuild it). A segment whose
// rules are new is evaluated over all contacts now, and who entered and
// left is logged.
//
// Thread-safety: reads the memory it is given; the caller holds the
// workspace's mutex (at least shared) while it is used.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_WRITES_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_WRITES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/base/limits.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "core/engine/workspace.h"

namespace segments::engine {

// Which parts of a segment an update replaces.
struct SegmentMask {
  bool display_name = false;
  bool filter = false;
};
// Resolves an update mask's paths ("display_name", "filter"; none means
// both), reporting unknown ones under "update_mask.paths[i]".
absl::StatusOr<SegmentMask> ParseSegmentMask(
    const std::vector<std::string>& paths);

class SegmentWrites {
 public:
  SegmentWrites(const WorkspaceMemory& memory, const Limits& limits)
      : memory_(memory), limits_(limits) {}

  // Each Prepare* fills `p` as a write made at `now` (the caller has
  // applied the flips due by then). These two return the id of the segment
  // they write.
  absl::StatusOr<SegmentId> PrepareCreate(const SegmentDraft& draft,
                                          UnixSeconds now,
                                          PreparedWrite* p) const;
  absl::StatusOr<SegmentId> PrepareUpdate(SegmentId id,
                                          const SegmentDraft& draft,
                                          SegmentMask mask, UnixSeconds now,
                                          PreparedWrite* p) const;
  absl::Status PrepareDelete(SegmentId id, UnixSeconds now,
                             PreparedWrite* p) const;
  // The segments whose state `plan` changes (for SetPlan, and for Open: a
  // crash may have fallen between a plan change's two commits).
  void PreparePlanChange(Plan plan, UnixSeconds now, PreparedWrite* p) const;

  // The entry of a stored segment, as a restart finds it: an active one is
  // evaluated now; a restricted one keeps its frozen members.
  absl::StatusOr<std::unique_ptr<SegmentEntry>> Load(SegmentRecord record,
                                                     UnixSeconds now) const;

 private:
  // The active entry of `record`, evaluated at `now`; when `previous` is
  // given, who entered and left since is logged in `p` with `cause`.
  std::unique_ptr<SegmentEntry> Build(SegmentRecord record,
                                      const Roaring* previous,
                                      ChangeCause cause, UnixSeconds now,
                                      PreparedWrite* p) const;
  // Starts `p` as a write made at `now`: the counters as they are, with
  // time applied up to `now` (the caller has applied the flips due by
  // then).
  void StartWrite(UnixSeconds now, PreparedWrite* p) const;
  // Queues `entry` to be installed, with its record to be stored.
  static void Put(std::unique_ptr<SegmentEntry> entry, PreparedWrite* p);

  const WorkspaceMemory& memory_;
  const Limits& limits_;
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_WRITES_H_
