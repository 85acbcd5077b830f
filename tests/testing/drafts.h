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
