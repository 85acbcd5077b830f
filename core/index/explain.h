// Why a filter matches one contact, or not (issue 14, "why is this contact
// in"): the value of every condition and group of the tree for the contact,
// with the contact's value of each field a rule reads. Each leaf's value is
// ConditionMatches' own and each group combines its children as
// FilterMatches does, so an explanation never disagrees with the
// evaluation that keeps memberships.
#ifndef SEGMENTS_CORE_INDEX_EXPLAIN_H_
#define SEGMENTS_CORE_INDEX_EXPLAIN_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"
#include "core/index/references.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments {

// One node of the tree: the root (path "filter"), a nested group, a field
// rule or a reference.
struct ExplainedCondition {
  // "filter", "filter.conditions[1].group.conditions[0]", ...
  std::string path;
  bool matches = false;
  // A field rule or a reference as validated (without a group); none for a
  // group and the root.
  std::optional<Condition> condition;
  // A field rule: the contact's value of its field (FieldValues).
  std::vector<RawValue> field_values;
  // A group and the root: its match and one node per condition.
  Match match = Match::kAll;
  std::vector<ExplainedCondition> conditions;
};

// `filter` evaluated for `contact` at `now`, node by node; references are
// asked of `refs` (false without one, as FilterMatches does).
ExplainedCondition ExplainFilter(const Filter& filter, const Contact& contact,
                                 UnixSeconds now,
                                 const ReferenceAnswers* refs = nullptr);

// The contact's value of `field` as rule values are written: the string of
// a string field, one string per tag, the enum name of an enum, the number
// of a score, the timestamp of a date; empty when the field is unset.
std::vector<RawValue> FieldValues(const Contact& contact, Field field);

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_EXPLAIN_H_
