// How a filter's references to other segments (IN_SEGMENT / NOT_IN_SEGMENT)
// are answered while it is evaluated. The index and the evaluator know no
// segments: the engine answers for them, with the memberships the write
// being prepared leaves (core/engine/internal/reference_answers.h).
#ifndef SEGMENTS_CORE_INDEX_REFERENCES_H_
#define SEGMENTS_CORE_INDEX_REFERENCES_H_

#include "core/base/ids.h"
#include "roaring/roaring.hh"

namespace segments {

// For one contact: whether it is a member of a segment.
class ReferenceAnswers {
 public:
  virtual ~ReferenceAnswers() = default;
  virtual bool IsMember(SegmentId segment) const = 0;
};

// For a whole index: a segment's members among the contacts it indexes
// (ids outside them are ignored). The reference stays valid while the
// filter is evaluated.
class ReferenceBitmaps {
 public:
  virtual ~ReferenceBitmaps() = default;
  virtual const Roaring& Members(SegmentId segment) const = 0;
};

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_REFERENCES_H_
