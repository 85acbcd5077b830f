// The preparation of time writes: the membership changes that relative date
// rules' flips bring as the workspace's time moves from one moment to a
// later one. The contacts that flip under each window are read from the
// ordered timestamp index (core/time/flip_finder.h), and only the segments
// using that window are evaluated, only for them; each change is logged
// with cause TIME at the second it fell due, so the log reads the same
// whether the flips were applied on time or caught up later (at start, or
// after a slow write).
//
// Thread-safety: reads the memory it is given; the caller holds the
// workspace's mutex (at least shared) while it is used.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_TIME_WRITES_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_TIME_WRITES_H_

#include <cstddef>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/prepared_write.h"
#include "core/index/references.h"
#include "core/model/contact.h"
#include "core/time/time_window.h"

namespace segments::engine {

class TimeWrites {
 public:
  explicit TimeWrites(const WorkspaceMemory& memory);

  // Where one write of a catch-up from `after` towards `until` ends:
  // `until`, unless more than `max_flips` (contact, window) flips fall due
  // by then; then the latest moment by which at most that many do, but
  // never before the first flip's moment: the flips of one second are
  // never split (a burst is one write).
  UnixSeconds StepEnd(UnixSeconds after, UnixSeconds until,
                      size_t max_flips) const;
  // The flips due in (after, until] as one write: at each due moment in
  // turn, each affected segment's entries, then its exits; counters with
  // time_applied_until = until.
  void Prepare(UnixSeconds after, UnixSeconds until, PreparedWrite* p) const;

  // The first moment after `after` at which some contact flips under a
  // window in use.
  std::optional<UnixSeconds> NextDue(UnixSeconds after) const;
  // The same, under only the windows no active segment but `segment` uses
  // (just created: the windows it brought into use). nullopt when it
  // brought none.
  std::optional<UnixSeconds> NextDueOfWindowsNewWith(SegmentId segment,
                                                     UnixSeconds after) const;
  // The same, among `contacts` only (a write that set their timestamps).
  std::optional<UnixSeconds> NextDueOf(absl::Span<const Contact> contacts,
                                       UnixSeconds after) const;

 private:
  // How many (contact, window) flips fall due in (after, until].
  size_t CountDue(UnixSeconds after, UnixSeconds until) const;
  // Whole-index results of the conditions evaluated at one moment, shared
  // by the segments that moment touches (a burst's segments usually share
  // their relative date rule, the costly part of an evaluation).
  struct ConditionMemo;
  // The contacts of `candidates` that `s`'s filter matches at `at`; `refs`
  // holds the members at `at` of the segments it refers to, `memo` the
  // field rules already evaluated at `at`.
  Roaring Matching(const SegmentEntry& s, const Roaring& candidates,
                   UnixSeconds at, const ReferenceBitmaps& refs,
                   ConditionMemo* memo) const;

  const WorkspaceMemory& memory_;
  const std::vector<TimeWindow> windows_;  // every window in use, ascending
};

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_TIME_WRITES_H_
