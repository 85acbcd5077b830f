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
//
// A segment reaches the segments its filter refers to, and what they reach
// (never itself: references form no cycle). What it reads through them
// counts as its own: a segment is smart if anything it reaches is (SPEC
// §5), a contact change of a field any of them reads re-evaluates it, and
// the windows of their relative date rules move it. MakeSegmentEntry
// derives these from its own filter; SegmentSet::RebuildReaders adds what
// the installed segments it reaches bring.
struct SegmentEntry {
  SegmentRecord record;  // frozen_members is kept only while restricted
  std::vector<SegmentId> references;  // direct, ascending
  SegmentKind kind = SegmentKind::kStandard;
  // The lowest plan that allows it, and the first field needing that plan.
  Plan required_plan = Plan::kStarter;
  std::string_view plan_field;
  ContactFieldSet fields_read = 0;
  // The windows of its relative date rules (ascending; none for a segment
  // that does not read the clock). Like every active segment's, its members
  // are its filter's answer at the workspace's time
  // (counters.time_applied_until).
  std::vector<TimeWindow> windows;
  // The longest chain of references below it (0: it refers to none). A
  // segment's references have lower depths, so (depth, id) order evaluates
  // every segment after the ones it reads.
  int depth = 0;
  Roaring members;
  uint64_t count = 0;  // members.cardinality(), cached so Count is O(1)
};

// Whether `a` comes before `b` in dependency order: (depth, id).
bool DependencyOrder(const SegmentEntry* a, const SegmentEntry* b);

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
  // The active segments reading any of `fields` (themselves or through the
  // segments they reach), each once, by ascending id.
  std::vector<const SegmentEntry*> Reading(ContactFieldSet fields) const;
  // The active segments whose answer for a contact can differ between
  // `before` and `after`, two versions of it that differ in the fields
  // `changed` only (DiffFields), at `now`: of the segments reading a changed
  // field, those that refer to no other segment and have a rule on a
  // changed field whose truth differs between the two, and every one that
  // refers to others. Each once, by ascending id. A filter is a function of
  // its rules' truths, and a rule on an unchanged field (or on the clock,
  // the same `now` for both) has the same truth for both versions, so a
  // segment left out answers both alike: a single update's diff evaluates
  // the few segments a change can move, not every segment reading the
  // field (issue 16: about 220 of 1,000 read lead_score).
  std::vector<const SegmentEntry*> MayChange(ContactFieldSet changed,
                                             const Contact& before,
                                             const Contact& after,
                                             UnixSeconds now) const;
  // Every segment in dependency order (depth, id).
  const std::vector<const SegmentEntry*>& in_order() const { return order_; }
  // The segments that refer to `id`, directly or through others, in
  // dependency order.
  std::vector<const SegmentEntry*> ReferrersOf(SegmentId id) const;
  // The segments that refer to `id` directly, ascending.
  std::vector<SegmentId> DirectReferrersOf(SegmentId id) const;
  // Whether `from` is `to` or reaches it through references.
  bool Reaches(SegmentId from, SegmentId to) const;
  // Every window of the active segments' relative date rules, with the
  // segments using it (ascending id): what time moves.
  using ByWindow = std::map<TimeWindow, std::vector<const SegmentEntry*>>;
  const ByWindow& by_window() const { return by_window_; }

  // The members of an installed segment, for applying a write's changes.
  SegmentEntry* Mutable(SegmentId id) { return entries_.at(id).get(); }
  // Inserts or replaces by id. Readers, windows, the dependency order and
  // what each segment reaches are stale until RebuildReaders.
  void Install(std::unique_ptr<SegmentEntry> entry);
  void Remove(SegmentId id);
  void RebuildReaders();

 private:
  // Derives what `s` reaches from its references (done first); `state`
  // marks the entries visited (1) and done (2).
  void Derive(SegmentEntry* s, absl::flat_hash_map<SegmentId, int>* state);

  Entries entries_;
  absl::flat_hash_map<SegmentId, std::vector<SegmentId>> referrers_;
  std::vector<const SegmentEntry*> order_;
  absl::flat_hash_map<std::string, SegmentId> id_by_name_;
  std::array<std::vector<const SegmentEntry*>, kContactFieldCount> readers_;
  // A field rule of an active segment that refers to no other, under the
  // field it reads (MayChange); and, per field, the active segments that
  // refer to others and read it.
  struct FieldRule {
    const SegmentEntry* segment;
    const Condition* condition;  // in segment->record.filter
    // A comparison of a number or enum field, as the range [lo, hi] its
    // value must be set and in (then negated for a negative operator):
    // answered from here, without reading the condition (a cache miss or
    // two per rule, a few hundred rules per update).
    Field field = Field::kEmail;  // condition->field, kept here
    bool in_range = false;
    bool negate = false;
    int64_t lo = 0, hi = 0;
  };
  static FieldRule MakeFieldRule(const SegmentEntry* segment,
                                 const Condition& c);
  static bool RuleMatches(const FieldRule& rule, const Contact& contact,
                          UnixSeconds now);
  std::array<std::vector<FieldRule>, kContactFieldCount> rules_;
  std::array<std::vector<const SegmentEntry*>, kContactFieldCount>
      referring_readers_;
  ByWindow by_window_;
};

// The plan a filter needs through everything it reaches, the first field
// needing it, and the segment it was reached through (0: its own rules).
struct PlanNeed {
  Plan plan = Plan::kStarter;
  std::string_view field;
  SegmentId via = 0;
};
PlanNeed PlanNeedOf(const Filter& filter, const SegmentSet& segments);
// Smart when `filter`'s own rules are, or a segment of `segments` it refers
// to is (SPEC §5), as SegmentSet derives an installed segment's kind.
SegmentKind KindThrough(const Filter& filter, const SegmentSet& segments);
// PERMISSION_DENIED PLAN_UPGRADE_REQUIRED when `plan` does not allow what
// `filter` reaches in `segments`.
absl::Status CheckPlanAllows(const Filter& filter, const SegmentSet& segments,
                             Plan plan);
// INVALID_ARGUMENT at each reference of `filter` (under `path`) to a
// segment `segments` does not hold, or (self != 0) that would close a cycle
// back to `self`.
absl::Status CheckReferences(const Filter& filter, std::string_view path,
                             const SegmentSet& segments, SegmentId self);

// Sorts stored segments so that each comes after the segments it refers to
// (what a restart builds them in). DATA_LOSS when one refers to a segment
// not among them, or they refer to each other in a cycle: rows no write
// could have made.
absl::Status SortForLoad(std::vector<SegmentRecord>* records);

// Validates a segment draft's name (when `check_name`) and filter (when
// `check_filter`) against `limits`, the names of `segments` other than
// `self`, the segments it refers to, and `plan`; every violation at once,
// under "segment".
absl::StatusOr<Filter> ValidateSegmentDraft(const SegmentSet& segments,
                                            const std::string& display_name,
                                            const FilterSpec& filter,
                                            bool check_name, bool check_filter,
                                            SegmentId self, Plan plan,
                                            const Limits& limits);

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_SEGMENT_SET_H_
