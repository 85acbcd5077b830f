#include "core/engine/internal/time_writes.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/engine/internal/reference_answers.h"
#include "core/index/evaluator.h"
#include "core/time/flip_finder.h"

namespace segments::engine {
namespace {

std::vector<TimeWindow> WindowsInUse(const SegmentSet& segments) {
  std::vector<TimeWindow> windows;
  for (const auto& [w, unused] : segments.by_window()) windows.push_back(w);
  return windows;
}

// The contacts whose truth may change at one moment, for one segment.
struct Candidates {
  const SegmentEntry* segment = nullptr;
  Roaring contacts;
};

// Each segment's members as a time write's earlier moments (and, within a
// moment, the segments before it in dependency order) leave them: the
// installed members with the contacts in `toggled` flipped.
class ToggledBitmaps : public ReferenceBitmaps {
 public:
  ToggledBitmaps(const SegmentSet& segments,
                 const absl::flat_hash_map<SegmentId, Roaring>& toggled)
      : installed_(segments), toggled_(toggled) {}
  const Roaring& Members(SegmentId segment) const override {
    const Roaring& members = installed_.Members(segment);
    auto it = toggled_.find(segment);
    if (it == toggled_.end() || it->second.isEmpty()) return members;
    return made_.emplace_back(members ^ it->second);
  }

 private:
  const MemberBitmaps installed_;
  const absl::flat_hash_map<SegmentId, Roaring>& toggled_;
  mutable std::deque<Roaring> made_;  // stable references
};

}  // namespace

struct TimeWrites::ConditionMemo {
  // Linear: a moment touches a few segments' conditions at most.
  std::vector<std::pair<const Condition*, Roaring>> entries;

  const Roaring& Get(const Condition& c, UnixSeconds at,
                     const WorkspaceMemory& memory) {
    for (const auto& [known, result] : entries) {
      if (*known == c) return result;
    }
    entries.emplace_back(
        &c, memory.index.EvaluateCondition(c, at, memory.contacts));
    return entries.back().second;
  }
};

TimeWrites::TimeWrites(const WorkspaceMemory& memory)
    : memory_(memory), windows_(WindowsInUse(memory.segments)) {}

UnixSeconds TimeWrites::StepEnd(UnixSeconds after, UnixSeconds until,
                                size_t max_flips) const {
  if (CountDue(after, until) <= max_flips) return until;
  // Some flip is due by `until`, so there is a first one.
  UnixSeconds lo = NextDue(after).value_or(until);
  if (CountDue(after, lo) > max_flips) return lo;
  UnixSeconds hi = until - 1;
  while (lo < hi) {
    const UnixSeconds mid = lo + (hi - lo + 1) / 2;
    if (CountDue(after, mid) <= max_flips) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

void TimeWrites::Prepare(UnixSeconds after, UnixSeconds until,
                         PreparedWrite* p) const {
  p->time_flips = true;
  p->write.counters = memory_.counters;
  p->write.counters.time_applied_until = until;
  const std::map<UnixSeconds, FlipsByWindow> flips =
      FindFlips(memory_.index, memory_.contacts, windows_, after, until);
  const SegmentSet::ByWindow& by_window = memory_.segments.by_window();
  // Each segment's members as this write's earlier moments leave them:
  // `members` with the contacts in `toggled` flipped.
  absl::flat_hash_map<SegmentId, Roaring> toggled;
  for (const auto& [at, due] : flips) {
    absl::flat_hash_map<SegmentId, Candidates> by_segment;
    ConditionMemo memo;  // conditions at `at`
    for (const auto& [window, contacts] : due) {
      for (const SegmentEntry* s : by_window.at(window)) {
        Candidates& c = by_segment[s->record.id];
        c.segment = s;
        c.contacts |= contacts;
      }
    }
    // A segment referring to others flips with them (it uses their windows
    // too), so it goes after them: dependency order.
    std::vector<const Candidates*> candidates;
    for (const auto& [sid, c] : by_segment) candidates.push_back(&c);
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidates* a, const Candidates* b) {
                return DependencyOrder(a->segment, b->segment);
              });
    for (const Candidates* cp : candidates) {
      const Candidates& c = *cp;
      const SegmentId sid = c.segment->record.id;
      Roaring& flipped = toggled[sid];
      const Roaring was =
          (c.segment->members & c.contacts) ^ (flipped & c.contacts);
      const ToggledBitmaps refs(memory_.segments, toggled);
      const Roaring is = Matching(*c.segment, c.contacts, at, refs, &memo);
      const Roaring changed = was ^ is;
      if (changed.isEmpty()) continue;
      AppendRun(changed & is, sid, ChangeKind::kEntered, ChangeCause::kTime, at,
                &p->write);
      AppendRun(changed - is, sid, ChangeKind::kLeft, ChangeCause::kTime, at,
                &p->write);
      flipped ^= changed;
    }
  }
}

std::optional<UnixSeconds> TimeWrites::NextDue(UnixSeconds after) const {
  return NextFlip(memory_.index, memory_.contacts, windows_, after);
}

std::optional<UnixSeconds> TimeWrites::NextDueOfWindowsNewWith(
    SegmentId segment, UnixSeconds after) const {
  std::vector<TimeWindow> only_its;
  for (const auto& [w, users] : memory_.segments.by_window()) {
    if (users.size() == 1 && users.front()->record.id == segment) {
      only_its.push_back(w);
    }
  }
  if (only_its.empty()) return std::nullopt;
  return NextFlip(memory_.index, memory_.contacts, only_its, after);
}

std::optional<UnixSeconds> TimeWrites::NextDueOf(
    absl::Span<const Contact> contacts, UnixSeconds after) const {
  std::optional<UnixSeconds> next;
  for (const Contact& c : contacts) {
    for (const TimeWindow& w : windows_) {
      const std::optional<UnixSeconds> t =
          w.field == Field::kCreatedAt ? c.created_at : c.last_engaged_at;
      if (!t.has_value()) continue;  // an unset timestamp never flips
      const UnixSeconds at = w.FlipMoment(*t);
      if (at > after && (!next.has_value() || at < *next)) next = at;
    }
  }
  return next;
}

size_t TimeWrites::CountDue(UnixSeconds after, UnixSeconds until) const {
  size_t count = 0;
  for (const TimeWindow& w : windows_) {
    count += memory_.index
                 .ContactsWithTimestampIn(w.field, w.FlipsFrom(after),
                                          w.FlipsTo(until), memory_.contacts)
                 .cardinality();
  }
  return count;
}

Roaring TimeWrites::Matching(const SegmentEntry& s, const Roaring& candidates,
                             UnixSeconds at, const ReferenceBitmaps& refs,
                             ConditionMemo* memo) const {
  // A few contacts are evaluated one by one; a burst (an import's contacts
  // all engaged in the same second) by bitmap algebra over the whole index,
  // which costs about as much as evaluating a few thousand contacts. Each
  // condition is evaluated over the index once per moment, whichever
  // segments use it: the segments a burst touches share the rule it flips
  // under, whose evaluation (the whole days inside its range, and its
  // boundary days, which hold the burst, contact by contact) is most of the
  // cost.
  // References read the referenced segments' members at `at` (`refs`)
  // over the whole index, and their filters, evaluated in turn, for one
  // contact (ContactReferences); groups and references are not kept in the
  // memo, since what they read moves within the moment.
  const uint64_t n = candidates.cardinality();
  if (n > WholeIndexThreshold(memory_)) {
    const Filter& f = s.record.filter;
    auto evaluate = [&](const Condition& c) -> Roaring {
      if (c.is_field_rule()) return memo->Get(c, at, memory_);
      return memory_.index.EvaluateCondition(c, at, memory_.contacts, &refs);
    };
    if (f.match == Match::kAny) {
      Roaring any;
      for (const Condition& c : f.conditions) any |= evaluate(c) & candidates;
      return any;
    }
    if (f.conditions.empty()) return Roaring();  // as AttributeIndex::Evaluate
    Roaring all = candidates;
    for (const Condition& c : f.conditions) {
      if (all.isEmpty()) break;
      all &= evaluate(c);
    }
    return all;
  }
  std::vector<ContactId> matching;
  for (ContactId id : candidates) {
    const Contact contact = *memory_.contacts.Get(id);
    const ContactReferences answers(memory_.segments, contact, at);
    if (FilterMatches(s.record.filter, contact, at, &answers)) {
      matching.push_back(id);
    }
  }
  Roaring out;
  out.addMany(matching.size(), matching.data());
  return out;
}

}  // namespace segments::engine
