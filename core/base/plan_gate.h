// What a plan allows (SPEC §5), and the one error for what it does not:
// rule fields, analytics dimensions and features all answer the same way.
#ifndef SEGMENTS_CORE_BASE_PLAN_GATE_H_
#define SEGMENTS_CORE_BASE_PLAN_GATE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "core/base/types.h"

namespace segments {

// Plans are ordered: each allows everything the ones below it do.
inline bool PlanAllows(Plan plan, Plan required) {
  return static_cast<int>(plan) >= static_cast<int>(required);
}

// PERMISSION_DENIED "<what_needs> the <required> plan; this workspace's plan
// is <plan>" with ErrorInfo PLAN_UPGRADE_REQUIRED (metadata required_plan,
// and `detail_key`: `detail_value`, e.g. the field that needs the plan).
absl::Status PlanUpgradeRequiredError(std::string_view what_needs,
                                      Plan required, Plan plan,
                                      std::string detail_key,
                                      std::string detail_value);

}  // namespace segments

#endif  // SEGMENTS_CORE_BASE_PLAN_GATE_H_
