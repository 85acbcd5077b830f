#include "core/engine/internal/reference_answers.h"

#include <algorithm>
#include <vector>

#include "core/index/evaluator.h"

namespace segments::engine {
namespace {

const Roaring& EmptyBitmap() {
  static const Roaring* const empty = new Roaring();
  return *empty;
}

}  // namespace

bool ContactReferences::IsMember(SegmentId segment) const {
  for (const auto& [id, member] : memo_) {
    if (id == segment) return member;
  }
  const SegmentEntry* s = segments_.Find(segment);
  bool member = false;
  if (s == nullptr) {
    member = false;  // validation never lets a missing reference in
  } else if (s->record.state == SegmentState::kPlanRestricted) {
    member = s->members.contains(contact_.id);
  } else {
    member = FilterMatches(s->record.filter, contact_, now_, this);
  }
  memo_.emplace_back(segment, member);
  return member;
}

const Roaring& MemberBitmaps::Members(SegmentId segment) const {
  auto it = overrides_.find(segment);
  if (it != overrides_.end()) return *it->second;
  const SegmentEntry* s = segments_.Find(segment);
  return s == nullptr ? EmptyBitmap() : s->members;
}

uint64_t WholeIndexThreshold(const WorkspaceMemory& memory) {
  return std::max<uint64_t>(64, memory.contacts.size() / 256);
}

Roaring MatchAmong(const WorkspaceMemory& memory, const Filter& filter,
                   const Roaring& candidates, UnixSeconds now,
                   const ReferenceBitmaps& refs) {
  if (candidates.cardinality() > WholeIndexThreshold(memory)) {
    return memory.index.Evaluate(filter, now, memory.contacts, &refs) &
           candidates;
  }
  std::vector<ContactId> matching;
  for (ContactId id : candidates) {
    const std::optional<Contact> c = memory.contacts.Get(id);
    if (!c.has_value()) continue;
    const BitmapAnswers answers(refs, id);
    if (FilterMatches(filter, *c, now, &answers)) matching.push_back(id);
  }
  Roaring out;
  out.addMany(matching.size(), matching.data());
  return out;
}

}  // namespace segments::engine
