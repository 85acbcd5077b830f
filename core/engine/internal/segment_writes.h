// The preparation of segment writes: create, update (name and/or rules),
// delete, and the state changes a plan change brings (downgrades freeze a
// segment the plan no longer allows, upgrades rebuild it). A segment whose
// rules are new is evaluated over all contacts now, and who entered and
// left is logged. Its references read the referenced segments' bitmaps,
// never their rules. The segments that refer to a rebuilt one, directly or
// through others, move in the same write, in dependency order: each is
// evaluated only for the contacts that entered or left the segments it
// refers to (Propagate).
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
#include "core/engine/internal/reference_answers.h"
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
  // evaluated now (REQUIRES: the segments it refers to are installed); a
  // restricted one keeps its frozen members.
  absl::StatusOr<std::unique_ptr<SegmentEntry>> Load(SegmentRecord record,
                                                     UnixSeconds now) const;

 private:
  // The contacts that entered or left each segment rebuilt so far in one
  // write, and the new members every later evaluation reads.
  struct Moves {
    explicit Moves(const SegmentSet& segments) : bitmaps(segments) {}
    MemberBitmaps bitmaps;
    absl::flat_hash_map<SegmentId, Roaring> moved;
    absl::flat_hash_map<SegmentId, Plan> plans;  // plans needed, as rewritten
  };
  // The active entry of `record`, evaluated at `now` (references read
  // `refs`); when `previous` is given, who entered and left since is logged
  // in `p` with `cause`.
  std::unique_ptr<SegmentEntry> Build(SegmentRecord record,
                                      const Roaring* previous,
                                      ChangeCause cause, UnixSeconds now,
                                      const ReferenceBitmaps& refs,
                                      PreparedWrite* p) const;
  // Queues `entry`, which replaces segment `previous` (null: a new one),
  // recording its moves for the segments that refer to it.
  static void PutMoved(std::unique_ptr<SegmentEntry> entry,
                       const Roaring* previous, Moves* moves, PreparedWrite* p);
  // Moves every segment referring (directly or not) to `changed` as
  // `moves` says it moved, in dependency order: an active one is evaluated
  // for the contacts that moved in the segments it refers to; a restricted
  // one that the plan now allows (a segment it refers to no longer needs
  // more) is rebuilt.
  void Propagate(SegmentId changed, ChangeCause cause, UnixSeconds now,
                 Moves* moves, PreparedWrite* p) const;
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
