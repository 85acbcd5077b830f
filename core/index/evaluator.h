// Evaluates a validated filter against one contact at time `now`: the
// per-contact predicate used for incremental updates (SPEC §4 semantics).
#ifndef SEGMENTS_CORE_INDEX_EVALUATOR_H_
#define SEGMENTS_CORE_INDEX_EVALUATOR_H_

#include "core/base/types.h"
#include "core/model/contact.h"
#include "core/model/filter.h"

namespace segments {

bool ConditionMatches(const Condition& condition, const Contact& contact,
                      UnixSeconds now);
bool FilterMatches(const Filter& filter, const Contact& contact,
                   UnixSeconds now);

}  // namespace segments

#endif  // SEGMENTS_CORE_INDEX_EVALUATOR_H_
