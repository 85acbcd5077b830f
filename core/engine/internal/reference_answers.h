// The memberships a filter's references (IN_SEGMENT / NOT_IN_SEGMENT) are
// answered with while a write is prepared, and the evaluation of a filter
// among some contacts only (what a change of the segments it refers to can
// move).
//
// Thread-safety: none; each is used by one thread, under the workspace's
// mutex (at least shared) for the memory it reads.
#ifndef SEGMENTS_CORE_ENGINE_INTERNAL_REFERENCE_ANSWERS_H_
#define SEGMENTS_CORE_ENGINE_INTERNAL_REFERENCE_ANSWERS_H_

#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "core/engine/internal/memory.h"
#include "core/engine/internal/segment_set.h"
#include "core/index/references.h"
#include "roaring/roaring.hh"

namespace segments::engine {

// For one contact as it is (before or after a write): an active segment's
// membership is its filter's answer for the contact at `now`, evaluated in
// turn. Every active segment's members are exactly that (the write applied
// the flips due first), and it stays right in a commit group, where the
// contact may come from an earlier write whose bitmaps are not applied yet.
// A PLAN_RESTRICTED segment answers from its frozen members. Each segment
// is evaluated once per contact (a diamond does not evaluate its tip twice).
class ContactReferences : public ReferenceAnswers {
 public:
  ContactReferences(const SegmentSet& segments, const Contact& contact,
                    UnixSeconds now)
      : segments_(segments), contact_(contact), now_(now) {}
  bool IsMember(SegmentId segment) const override;

 private:
  const SegmentSet& segments_;
  const Contact& contact_;
  const UnixSeconds now_;
  mutable absl::InlinedVector<std::pair<SegmentId, bool>, 8> memo_;
};

// The members of the installed segments, except the ones a write being
// prepared gives new members (Override) or has computed for contacts not
// indexed yet.
class MemberBitmaps : public ReferenceBitmaps {
 public:
  explicit MemberBitmaps(const SegmentSet& segments) : segments_(segments) {}
  // `members` (not owned) must outlive this.
  void Override(SegmentId segment, const Roaring* members) {
    overrides_[segment] = members;
  }
  const Roaring& Members(SegmentId segment) const override;

 private:
  const SegmentSet& segments_;
  absl::flat_hash_map<SegmentId, const Roaring*> overrides_;
};

// One contact's answers read from bitmaps.
class BitmapAnswers : public ReferenceAnswers {
 public:
  BitmapAnswers(const ReferenceBitmaps& bitmaps, ContactId id)
      : bitmaps_(bitmaps), id_(id) {}
  bool IsMember(SegmentId segment) const override {
    return bitmaps_.Members(segment).contains(id_);
  }

 private:
  const ReferenceBitmaps& bitmaps_;
  const ContactId id_;
};

// The contacts of `candidates` that `filter` matches at `now`, references
// answered by `refs`: one by one when they are few, else by bitmap algebra
// over the whole index, intersected with them (a whole-index evaluation
// costs about as much as a few thousand contacts').
Roaring MatchAmong(const WorkspaceMemory& memory, const Filter& filter,
                   const Roaring& candidates, UnixSeconds now,
                   const ReferenceBitmaps& refs);

// Above this many candidates MatchAmong evaluates over the whole index.
uint64_t WholeIndexThreshold(const WorkspaceMemory& memory);

}  // namespace segments::engine

#endif  // SEGMENTS_CORE_ENGINE_INTERNAL_REFERENCE_ANSWERS_H_
