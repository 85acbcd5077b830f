// Evaluates a validated filter against one contact at time `now`: the
// per-contact predicate used for incremental updates (SPEC §4 semantics).
// Nested groups are evaluated in place; a reference to another segment is
// asked of `refs` (false without one: such a filter needs it).
#ifndef SEGMENTS_CORE_INDEX_EVALUATOR_H_
#define SEGMENTS_CORE_INDEX_EVALUATOR_H_

#include "core/base/types.h"
#include "core/index/references.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments {

bool ConditionMatches(const Condition& condition, const Contact& contact,
                      UnixSeconds now, const ReferenceAnswers* refs = nullptr);
bool FilterMatches(const Filter& filter, const Contact& contact,
                   UnixSeconds now, const ReferenceAnswers* refs = nullptr);

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_EVALUATOR_H_
