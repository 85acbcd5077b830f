// Short builders for the segment drafts engine tests create.
#ifndef SEGMENTS_TESTS_TESTING_DRAFTS_H_
#define SEGMENTS_TESTS_TESTING_DRAFTS_H_

#include <string>
#include <utility>
#include <vector>

#include "core/engine/workspace.h"
#include "core/model/filter.h"

namespace segments::testing {

inline ConditionSpec Cond(std::string field, Operator op,
                          std::vector<RawValue> values) {
  return ConditionSpec{std::move(field), static_cast<int>(op),
                       std::move(values)};
}

// IN_SEGMENT `id`, or NOT_IN_SEGMENT when !in.
inline ConditionSpec Ref(SegmentId id, bool in = true) {
  ConditionSpec c;
  c.op = static_cast<int>(in ? Operator::kInSegment : Operator::kNotInSegment);
  c.segment_id = id;
  return c;
}

inline SegmentDraft SegmentOf(std::string name,
                              std::vector<ConditionSpec> conditions,
                              Match match = Match::kAll) {
  SegmentDraft d;
  d.display_name = std::move(name);
  d.filter.match = static_cast<int>(match);
  d.filter.conditions = std::move(conditions);
  return d;
}

}  // namespace segments::testing

#endif  // SEGMENTS_TESTS_TESTING_DRAFTS_H_
