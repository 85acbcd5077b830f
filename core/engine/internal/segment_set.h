// The segments of a workspace in memory: each one's stored record, what is
// derived from it, and its members; the index of names; and, for each
// contact field, the active segments whose rules read it.
//
// Thread-safety: none; the owner (Workspace) guards it with its mutex.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_SET_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_SET_H_

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/base/ids.h"
#include "core/base/limits.h"
#include "core/model/contact.h"
#include "core/model/filter.h"
#include "core/store/store.h"
#include "core/time/time_window.h"
#include "roaring/roaring.hh"

namespace segments::engine {

// A segment in memory. Made only by MakeSegmentEntry, so that everything it
// derives from its record is derived in one place.
struct SegmentEntry {
  SegmentRecord record;  // frozen_members is kept only while restricted
  SegmentKind kind = SegmentKind::kStandard;
  ContactFieldSet fields_read = 0;
  // The windows of its relative date rules (ascending; none for a segment
  // that does not read the clock). Like every active segment's, its members
  // are its filter's answer at the workspace's time
  // (counters.time_applied_until).
  std::vector<TimeWindow> windows;
  Roaring members;
  uint64_t count = 0;  // members.cardinality(), cached so Count is O(1)
};

// The entry of `record` with `members`: kind, fields read and windows
// from its filter, the count from `members`.
std::unique_ptr<SegmentEntry> MakeSegmentEntry(SegmentRecord record,
                                               Roaring members);

// FAILED_PRECONDITION (ErrorInfo SEGMENT_PLAN_RESTRICTED) for using
// PLAN_RESTRICTED segment `id` as an audience: listing its members or
// snapshotting it.
absl::Status PlanRestrictedError(SegmentId id);

// A segment name's key for uniqueness: trimmed, ASCII-lowercased.
std::string SegmentNameKey(absl::string_view name);

class SegmentSet {
 public:
  using Entries = std::map<SegmentId, std::unique_ptr<SegmentEntry>>;

  // nullptr when absent.
  const SegmentEntry* Find(SegmentId id) const;
  // NOT_FOUND naming the segment when absent.
  absl::StatusOr<const SegmentEntry*> Get(SegmentId id) const;
  // By ascending id.
  const Entries& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // The segment named `name` (compared as SegmentNameKey), or 0.
  SegmentId IdByName(absl::string_view name) const;
  // The active segments reading any of `fields`, each once, by ascending id.
  std::vector<const SegmentEntry*> Reading(ContactFieldSet fields) const;
  // Every window of the active segments' relative date rules, with the
  // segments using it (ascending id): what time moves.
  using ByWindow = std::map<TimeWindow, std::vector<const SegmentEntry*>>;
  const ByWindow& by_window() const { return by_window_; }

  // The members of an installed segment, for applying a write's changes.
  SegmentEntry* Mutable(SegmentId id) { return entries_.at(id).get(); }
  // Inserts or replaces by id. Readers and windows are stale until
  // RebuildReaders.
  void Install(std::unique_ptr<SegmentEntry> entry);
  void Remove(SegmentId id);
  void RebuildReaders();

 private:
  Entries entries_;
  absl::flat_hash_map<std::string, SegmentId> id_by_name_;
  std::array<std::vector<const SegmentEntry*>, kContactFieldCount> readers_;
  ByWindow by_window_;
};

// Validates a segment draft's name (when `check_name`) and filter (when
// `check_filter`) against `limits`, the names of `segments` other than
// `self`, and `plan`; every violation at once, under "segment".
absl::StatusOr<Filter> ValidateSegmentDraft(const SegmentSet& segments,
                                            const std::string& display_name,
                                            const FilterSpec& filter,
                                            bool check_name, bool check_filter,
                                            SegmentId self, Plan plan,
                                            const Limits& limits);

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_SET_H_
